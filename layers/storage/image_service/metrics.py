"""CloudWatch metrics in the Embedded Metric Format (EMF): one JSON line on stdout per event.

Lambda sends a function's stdout to CloudWatch Logs, and CloudWatch turns every line that carries
an ``_aws`` key into metrics. Publishing costs no API call, no network time and no dependency.

Published, in namespace ``ImageService``; every metric also has the dimension ``Stack`` (the
stack's name, so that two stacks in one account do not mix):

- ``Uploads`` (Count) and ``BytesStored`` (Bytes, the stored original's size), by ``Path``:
  ``json`` and ``raw`` (``POST /images``), ``direct`` (a pre-signed upload, once finalised);
- ``Rejections`` (Count) by ``Code``: every 4xx the functions answer (counted where errors become
  responses, ``http.api_handler``) and every direct upload refused when it is checked;
- ``FinalisationLag`` (Milliseconds): from S3's ``eventTime`` of a direct upload to the image
  being visible, what a user waits after their upload has finished;
- ``Deletes`` (Count).

No user data, as in the logs: dimension values come from fixed sets (paths, error codes) and the
stack's name; values are counts, sizes and durations. The request id is attached (a property,
not a dimension) to find the request's log lines.

Why not Powertools for AWS Lambda's ``Metrics``: it writes the same EMF line, but importing it and
creating one (``aws_lambda_powertools`` 3.37 with ``jmespath`` and ``typing_extensions``) costs
47 ms of wall clock (fastest run 25 ms) and 13 ms of CPU in a fresh interpreter that has already
imported boto3 and created its clients; this module costs 1 ms (medians of 25 interleaved runs
each, a busy 2-core machine). The upload function's cold start (367 ms, docs/performance.md)
may grow by 3% at most, 11 ms: Powertools' import alone would spend more. What else it offers
(a buffer flushed per invocation, a cold-start metric, validation) is not needed here: each
event is one line, and the JSON logs already say which request was a cold start.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from datetime import UTC, datetime

from .log import request_id_var

NAMESPACE = "ImageService"
UPLOAD_PATHS = ("json", "raw", "direct")
# A dimension value outside a fixed set is replaced, so that nothing a client sent can become one
# (each distinct value is a metric of its own, billed by the month).
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}|[A-Z][A-Z0-9_]{0,63}")


def _emit(values: dict[str, tuple[float, str]], dimensions: dict[str, str]) -> None:
    dimensions = {"Stack": os.environ.get("STACK_NAME", "image-service"), **dimensions}
    line = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [list(dimensions)],
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in values.items()],
                }
            ],
        },
        **dimensions,
        **{name: value for name, (value, _) in values.items()},
        "request_id": request_id_var.get(),
    }
    # sys.stdout at call time (not at import): Lambda's, or the local mode's readable printer.
    print(json.dumps(line, separators=(",", ":")), file=sys.stdout, flush=True)


def image_stored(path: str, size_bytes: int, *, arrived_at: str | None = None) -> None:
    """An image is stored and visible: ``path`` is json, raw or direct.

    ``arrived_at``: S3's ``eventTime`` of a direct upload (ISO 8601), for ``FinalisationLag``.
    """
    values: dict[str, tuple[float, str]] = {"Uploads": (1, "Count"), "BytesStored": (size_bytes, "Bytes")}
    lag_ms = _milliseconds_since(arrived_at)
    if lag_ms is not None:
        values["FinalisationLag"] = (lag_ms, "Milliseconds")
    _emit(values, {"Path": path if path in UPLOAD_PATHS else "other"})


def _milliseconds_since(moment: str | None) -> float | None:
    try:
        then = datetime.fromisoformat(moment or "")
    except ValueError:
        return None
    if then.tzinfo is None:  # S3 writes UTC with a "Z"; anything else is not S3's
        return None
    # Clocks differ a little between S3 and Lambda: a lag is never negative.
    return round(max(0.0, (datetime.now(UTC) - then).total_seconds() * 1000), 1)


def rejected(code: str) -> None:
    """A request (or a direct upload) was refused with the 4xx error ``code``."""
    _emit({"Rejections": (1, "Count")}, {"Code": code if _CODE.fullmatch(code) else "other"})


def deleted() -> None:
    _emit({"Deletes": (1, "Count")}, {})
