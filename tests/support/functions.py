"""The four functions as Lambda runs them: each handler module imported once from its folder."""

from __future__ import annotations

import importlib.util
from types import ModuleType
from typing import Any

from tests.support.environment import FUNCTIONS

_loaded: dict[str, ModuleType] = {}


def fresh_function(logical_id: str, name: str) -> ModuleType:
    """Import a function's handler module as a new container would (not ``load_function``'s cache)."""
    spec = FUNCTIONS[logical_id]
    module_name, _ = spec.handler.rsplit(".", 1)
    module_spec = importlib.util.spec_from_file_location(name, spec.code_dir / f"{module_name}.py")
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def load_function(logical_id: str) -> ModuleType:
    """Import a function's handler module from its folder, once (a warm container)."""
    if logical_id not in _loaded:
        _loaded[logical_id] = fresh_function(logical_id, f"function_{logical_id}")
    return _loaded[logical_id]


class FakeContext:
    aws_request_id = "test-request-id"
    function_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def invoke(logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    handler_name = FUNCTIONS[logical_id].handler.rsplit(".", 1)[1]
    return getattr(load_function(logical_id), handler_name)(event, FakeContext())
