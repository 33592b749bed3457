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

# When set (the bench sets it), each reply says how long the handler ran and how much of that
# its AWS calls took; the gateway passes both on in a Server-Timing header.
SERVER_TIMING = "LOCALAPI_SERVER_TIMING"


class AwsCallClock:
    """Wall time of the AWS calls the handler makes through boto3's default session (the one
    ``boto3.client`` uses): from botocore's first event of a call to its last."""

    def __init__(self) -> None:
        self.total_ms = 0.0
        self.calls = 0
        self._started = 0.0

    def attach(self, events: Any) -> None:
        events.register("provide-client-params", self._start)
        events.register("after-call", self._stop)
        events.register("after-call-error", self._stop)

    def _start(self, **_: Any) -> None:
        self._started = time.perf_counter()

    def _stop(self, **_: Any) -> None:
        self.total_ms += (time.perf_counter() - self._started) * 1000
        self.calls += 1


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


# Lambda's limit on a synchronous invocation's request and response payloads, each as JSON.
LAMBDA_MAX_PAYLOAD_BYTES = 6_291_456


def send(fd: int, data: bytes) -> None:
    """``data`` in as few writes as the pipe takes (one, up to 64 KiB): a buffered text stream
    wrote a 10 KB reply in two, and the reader woke for each."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def json_line(message: dict[str, Any]) -> bytes:
    return f"{json.dumps(message)}\n".encode()


def reply(result: Any, timing: dict[str, float] | None) -> bytes:
    """The reply to the gateway for a handler's ``result``: a JSON line. A proxy response's text
    body follows it as UTF-8 bytes (``body_bytes`` of them, at ``body_at`` among the result's
    keys): inside the JSON it was escaped here and unescaped by the gateway, ~0.1 ms for a page
    of 20 thumbnail URLs. The result's JSON is made once, and Lambda's payload limit checked on it."""
    extra = f', "timing": {json.dumps(timing)}' if timing is not None else ""
    body = result.get("body") if type(result) is dict else None
    beside = _body_beside(result, body) if type(body) is str else None
    if beside is not None:
        rest, at, raw = beside
        return f'{{"ok": true{extra}, "body_at": {at}, "body_bytes": {len(raw)}, "result": {rest}}}\n'.encode() + raw
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError):
        return json_line({"ok": False, "errorType": "Runtime.MarshalError", "errorMessage": ""})
    if len(payload) > LAMBDA_MAX_PAYLOAD_BYTES:  # ASCII (json.dumps escapes the rest): chars are bytes
        message = f"Response payload size ({len(payload)} bytes) exceeded maximum allowed payload size"
        return json_line({"ok": False, "errorType": "Function.ResponseSizeTooLarge", "errorMessage": message})
    return f'{{"ok": true{extra}, "result": {payload}}}\n'.encode()


def _body_beside(result: dict[str, Any], body: str) -> tuple[str, int, bytes] | None:
    """The result's JSON without its body, the body's place among its keys, and its UTF-8 bytes.
    None when the body cannot travel as UTF-8 (a lone surrogate), the rest is not JSON, or the
    whole might come near Lambda's limit: those take the JSON way, where it is checked exactly."""
    # In JSON a character takes at most 12 bytes (a surrogate pair's two \uXXXX escapes).
    if 12 * len(body) > LAMBDA_MAX_PAYLOAD_BYTES // 2:
        return None
    try:
        raw = body.encode()
        rest = json.dumps({key: value for key, value in result.items() if key != "body"})
    except (UnicodeEncodeError, TypeError, ValueError):
        return None
    if len(rest) > LAMBDA_MAX_PAYLOAD_BYTES // 2:
        return None
    return rest, list(result).index("body"), raw


def main() -> int:
    replies = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the handler's stdout joins stderr
    sys.stdout = MetricsPrinter(sys.stdout)  # EMF lines shown as the metrics they would publish
    module_name, function_name = sys.argv[1].rsplit(".", 1)

    # What every Python function imports, before the function's environment is known: a worker
    # started in advance does it while the AWS emulation starts. It counts in the init time.
    started = time.perf_counter()
    import boto3  # noqa: PLC0415

    from localapi import fast_dynamodb_parser  # noqa: PLC0415 - it subclasses botocore's parser

    fast_dynamodb_parser.install()  # DynamoDB items parsed as botocore does, faster (see the module)
    preload_ms = (time.perf_counter() - started) * 1000
    os.environ.update(json.loads(sys.stdin.readline() or "{}").get("environment", {}))
    clock = None
    if os.environ.get(SERVER_TIMING):
        clock = AwsCallClock()
        boto3.setup_default_session()  # its handlers are copied into every client made from it
        clock.attach(boto3.DEFAULT_SESSION.events)

    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
        init_error = None
    except Exception as exc:  # an init failure is reported on every invocation, as Lambda does
        handler, init_error = None, exc
        traceback.print_exc()
    init_ms = round(preload_ms + (time.perf_counter() - started) * 1000, 1)
    send(replies, json_line({"ready": True, "init_ms": init_ms}))

    for line in sys.stdin:
        request = json.loads(line)
        if init_error is not None or handler is None:
            failure = {"ok": False, "errorType": type(init_error).__name__, "errorMessage": "init failed"}
            send(replies, json_line(failure))
            continue
        context = LambdaContext(request["request_id"], request["deadline_ms"])
        aws_before = clock.total_ms if clock else 0.0
        started = time.perf_counter()
        try:
            result = handler(request["event"], context)
        except Exception as exc:
            traceback.print_exc()
            failure = {"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc)[:200]}
            send(replies, json_line(failure))
            continue
        timing = None
        if clock is not None:
            handler_ms = (time.perf_counter() - started) * 1000
            timing = {"handler_ms": round(handler_ms, 3), "aws_ms": round(clock.total_ms - aws_before, 3)}
        send(replies, reply(result, timing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
