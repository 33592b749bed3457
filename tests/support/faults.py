"""Faults injected through botocore's public hooks: a call that fails, or one whose response is lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any


def fail_call(
    client: Any,
    operation: str,
    code: str = "InternalServerError",
    status: int = 500,
    *,
    skip: int = 0,
    fields: dict[str, Any] | None = None,
) -> Callable[[], None]:
    """Make ``client``'s ``operation`` (e.g. ``"TransactWriteItems"``) fail with ``code``.

    Uses botocore's public ``before-call`` hook, which short-circuits the request. ``skip`` lets
    that many calls through first (to fail a later step that uses the same operation), and
    ``fields`` adds to the error response (e.g. ``CancellationReasons``). Returns a function that
    removes the fault again.
    """
    service = client.meta.service_model.service_id.hyphenize()
    calls = {"seen": 0}

    def short_circuit(**_: Any) -> tuple[Any, dict[str, Any]] | None:
        calls["seen"] += 1
        if calls["seen"] <= skip:
            return None  # no short circuit: this call goes through
        return SimpleNamespace(status_code=status), {
            "Error": {"Code": code, "Message": "injected fault"},
            "ResponseMetadata": {"HTTPStatusCode": status},
            **(fields or {}),
        }

    event_name = f"before-call.{service}.{operation}"
    client.meta.events.register(event_name, short_circuit, unique_id=f"fault-{operation}")
    return lambda: client.meta.events.unregister(event_name, unique_id=f"fault-{operation}")


def lose_response(client: Any, operation: str) -> Callable[[], None]:
    """Let ``operation`` really happen, then fail as if its response was lost (a read timeout).

    The same botocore hook mechanism as ``fail_call``, on ``after-call``: the service has done the
    work, the caller sees ``ReadTimeoutError`` and cannot know it succeeded.
    """
    from botocore.exceptions import ReadTimeoutError

    service = client.meta.service_model.service_id.hyphenize()

    def lost(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="injected-fault")

    event_name = f"after-call.{service}.{operation}"
    client.meta.events.register(event_name, lost, unique_id=f"lost-{operation}")
    return lambda: client.meta.events.unregister(event_name, unique_id=f"lost-{operation}")


def before_call(client: Any, operation: str, action: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
    """Run ``action(api_params)`` just before each ``operation`` request of ``client`` is sent
    (another writer landing between a read and a write, say), then send the request as it was.
    The same botocore hook as ``fail_call``; ``api_params`` are the operation's parameters."""
    service = client.meta.service_model.service_id.hyphenize()

    def run(params: dict[str, Any], **_: Any) -> None:
        # Returns nothing: no short circuit, the request is sent. The body: the JSON protocols'.
        action(json.loads(params["body"] or b"{}"))

    event_name = f"before-call.{service}.{operation}"
    client.meta.events.register(event_name, run, unique_id=f"before-{operation}")
    return lambda: client.meta.events.unregister(event_name, unique_id=f"before-{operation}")


def answer_call(
    client: Any, operation: str, response: dict[str, Any], *, when: Callable[[dict[str, Any]], bool]
) -> Callable[[], None]:
    """Answer ``operation`` with ``response`` instead of sending it, for the calls whose parameters
    satisfy ``when`` (e.g. a Query of one index: what an eventually consistent index shows before
    it catches up); the others go through."""
    service = client.meta.service_model.service_id.hyphenize()

    def short_circuit(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if not when(json.loads(params["body"] or b"{}")):
            return None
        return SimpleNamespace(status_code=200), {**response, "ResponseMetadata": {"HTTPStatusCode": 200}}

    event_name = f"before-call.{service}.{operation}"
    client.meta.events.register(event_name, short_circuit, unique_id=f"answer-{operation}")
    return lambda: client.meta.events.unregister(event_name, unique_id=f"answer-{operation}")
