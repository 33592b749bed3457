"""Structured JSON logs, one object per line, with the request id on every line.

Only fields named in ``_FIELDS`` are written: image bytes, bodies and user-entered text never
reach the logs, even if a caller passes them by mistake.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

_FIELDS = (
    "route",
    "status",
    "code",
    "duration_ms",
    "image_id",
    "size_bytes",
    "object_key",
    "cold_start",
    "item_count",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": request_id_var.get(),
        }
        for name in _FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info and record.exc_info[0] is not None:
            # The exception type and the file/line it came from; not its message, which may
            # quote input.
            entry["error"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info).splitlines()[-12:-1]
        return json.dumps(entry, ensure_ascii=False)


@contextmanager
def request_context(context: Any) -> Iterator[str]:
    """Tag every log line written inside with the invocation's request id."""
    request_id = getattr(context, "aws_request_id", None) or "-"
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


def configure(level: str = "INFO") -> logging.Logger:
    """Send the ``image_service`` logger's records to stdout as JSON (idempotent)."""
    logger = logging.getLogger("image_service")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
        logger.propagate = False
    logger.setLevel(level)
    return logger
