"""The layer's use cases built as the functions build theirs, and a way to point the handlers at them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.functions import load_function


@dataclass(frozen=True)
class Layer:
    """The layer's use cases, each built as the functions build theirs: from ``Settings`` and the
    container's clients (here the moto ones, where faults are injected)."""

    settings: Any
    clients: Any
    uploads: Any
    reads: Any
    listing: Any
    edits: Any


def build_layer(settings: Any, clients: Any, clock_ms: Callable[[], int] | None = None) -> Layer:
    from image_service.edits import Edits
    from image_service.ids import current_ms
    from image_service.reads import Listing, Reads
    from image_service.uploads import Uploads

    clock = clock_ms or current_ms
    return Layer(
        settings=settings,
        clients=clients,
        uploads=Uploads(settings, clients, clock_ms=clock),
        reads=Reads(settings, clients, clock_ms=clock),
        listing=Listing(settings, clients, clock_ms=clock),
        edits=Edits(settings, clients, clock_ms=clock),
    )


# Each function's warm use cases: the handler module's attribute, and the ``Layer`` field it gets.
HANDLER_USE_CASES = {
    "UploadFunction": {"UPLOADS": "uploads", "EDITS": "edits"},
    "DeleteFunction": {"EDITS": "edits"},
    "GetFunction": {"READS": "reads"},
    "ListFunction": {"LISTING": "listing"},
}


def wire_handlers(monkeypatch: pytest.MonkeyPatch, layer: Layer, *logical_ids: str) -> None:
    """Point the handlers' warm use cases (all four functions', or ``logical_ids``') at ``layer``."""
    for logical_id in logical_ids or tuple(HANDLER_USE_CASES):
        module = load_function(logical_id)
        for attribute, field_name in HANDLER_USE_CASES[logical_id].items():
            monkeypatch.setattr(module, attribute, getattr(layer, field_name))
