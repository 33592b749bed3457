"""One function's "container": a process that imports the handler once and serves invocations.

Started by ``functions.FunctionPool`` with Lambda's runtime variables and import path (the
function's code first, then its layers); the function's own environment (its variables and its
role's credentials) is the first line on stdin. Requests arrive as JSON lines on stdin; replies go
out as JSON lines on a private copy of the original stdout. The handler's own prints and logs go
to stderr, which the local server shows, as Lambda sends them to CloudWatch.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

from localapi.emf import MetricsPrinter


class LambdaContext:
    def __init__(self, request_id: str, deadline_ms: float) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.invoked_function_arn = f"arn:aws:lambda:local:000000000000:function:{self.function_name}"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "local"
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int(self._deadline_ms - time.time() * 1000))


def main() -> int:
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the handler's stdout joins stderr
    sys.stdout = MetricsPrinter(sys.stdout)  # EMF lines shown as the metrics they would publish
    module_name, function_name = sys.argv[1].rsplit(".", 1)

    # What every Python function imports, before the function's environment is known: a worker
    # started in advance does it while the AWS emulation starts. It counts in the init time.
    started = time.perf_counter()
    import boto3  # noqa: F401, PLC0415

    preload_ms = (time.perf_counter() - started) * 1000
    os.environ.update(json.loads(sys.stdin.readline() or "{}").get("environment", {}))

    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        init_error = None
    except Exception as exc:  # an init failure is reported on every invocation, as Lambda does
        handler, init_error = None, exc
        traceback.print_exc()
    init_ms = round(preload_ms + (time.perf_counter() - started) * 1000, 1)
    replies.write(json.dumps({"ready": True, "init_ms": init_ms}) + "\n")

    for line in sys.stdin:
        request = json.loads(line)
        reply: dict[str, Any]
        if init_error is not None or handler is None:
            reply = {"ok": False, "errorType": type(init_error).__name__, "errorMessage": "init failed"}
        else:
            context = LambdaContext(request["request_id"], request["deadline_ms"])
            try:
                reply = {"ok": True, "result": handler(request["event"], context)}
            except Exception as exc:
                traceback.print_exc()
                reply = {"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc)[:200]}
        try:
            replies.write(json.dumps(reply) + "\n")
        except (TypeError, ValueError):
            replies.write(json.dumps({"ok": False, "errorType": "Runtime.MarshalError", "errorMessage": ""}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
