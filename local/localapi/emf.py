"""The functions' CloudWatch metrics, shown by the local mode as the metrics they would publish.

On AWS a function prints each metric as one JSON line in the Embedded Metric Format (EMF, see
``image_service.metrics``) and CloudWatch Logs extracts it. Locally nothing extracts them, so the
worker prints those lines in a form a person reads at a glance instead, e.g.::

    metric ImageService: Uploads=1 Count, BytesStored=5120 Bytes [Stack=image-service, Path=json] request_id=...

Every other line (the JSON logs) passes through unchanged.
"""

from __future__ import annotations

import json
from typing import Any, TextIO


def readable(line: str) -> str | None:
    """The metric line for an EMF ``line``; ``None`` for any other line."""
    if not line.startswith("{") or '"_aws"' not in line:
        return None
    try:
        entry = json.loads(line)
        directives = entry["_aws"]["CloudWatchMetrics"]
        parts = []
        for directive in directives:
            values = ", ".join(
                f"{metric['Name']}={entry[metric['Name']]} {metric.get('Unit', 'None')}"
                for metric in directive["Metrics"]
            )
            dimensions = ", ".join(f"{name}={entry[name]}" for group in directive["Dimensions"] for name in group)
            parts.append(f"metric {directive['Namespace']}: {values} [{dimensions}]")
    except (ValueError, KeyError, TypeError):
        return None  # not valid EMF: shown as it is, as CloudWatch would keep it as a log line
    request_id = entry.get("request_id")
    return "; ".join(parts) + (f" request_id={request_id}" if request_id else "")


class MetricsPrinter:
    """A text stream that writes EMF lines as ``readable`` metric lines, everything else as is."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._pending = ""

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._stream.write((readable(line) or line) + "\n")
        return len(text)

    def flush(self) -> None:
        if self._pending:  # a line without its newline yet: out with it, as a plain stream would
            self._stream.write(readable(self._pending) or self._pending)
            self._pending = ""
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # fileno, encoding, isatty...: the real stream's
        return getattr(self._stream, name)
