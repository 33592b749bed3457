"""Child process of the memory benchmark: one upload through the real upload handler.

Usage: python bench/memory_probe.py {tracemalloc|rss} IMAGE CONTENT_TYPE CODE_DIR LAYER_DIR

AWS is answered at botocore's ``before-send`` hook with canned success responses, so the figure
is the function's own memory: botocore still builds and signs the real requests, but no
emulator (moto would copy the object several times) adds to the peak. The clients point at a
closed port on 127.0.0.1, so even a stub failure could never send anything off this machine.
Prints one JSON object.
"""

from __future__ import annotations

import base64
import gc
import io
import json
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body


class StubAws:
    """Answers every request with a 200, as DynamoDB and S3 answer a successful write."""

    def __init__(self) -> None:
        self.requests: list[str] = []

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HeadersDict  # noqa: PLC0415 - after the path setup

        if not request.url.startswith("https://127.0.0.1:"):
            raise RuntimeError(f"refusing to answer a request for {request.url}")
        self.requests.append(event_name.split(".", 1)[1])
        if ".dynamodb." in f".{event_name}.":
            headers, body = {"Content-Type": "application/x-amz-json-1.0"}, b"{}"
        else:
            headers, body = {"ETag": '"stub"'}, b""
        return AWSResponse(request.url, 200, HeadersDict(headers), _Raw(body))


def upload_event(data: bytes, content_type: str, user_id: str = "bench") -> dict[str, Any]:
    body = json.dumps(
        {
            "user_id": user_id,
            "title": "largest allowed photo",
            "tags": ["bench"],
            "content_type": content_type,
            "image_base64": base64.b64encode(data).decode("ascii"),
        }
    )
    return {
        "resource": "/images",
        "path": "/images",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"authorizer": {"claims": {"cognito:username": user_id, "token_use": "id"}}},
    }


class Context:
    aws_request_id = "bench-memory"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def main(argv: list[str]) -> int:
    mode, image_path, content_type, code_dir, layer_dir = argv[1:6]
    sys.path[:0] = [code_dir, layer_dir]
    import boto3  # noqa: PLC0415 - the child imports from the paths it was given

    boto3.setup_default_session()
    stub = StubAws()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register_first("before-send", stub)
    import app  # noqa: PLC0415 - the handler module; creates its clients on the stubbed session
    from PIL import Image  # noqa: PLC0415 - the layer's Pillow

    small = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(small, format=content_type.split("/")[1].upper())
    warm = app.lambda_handler(upload_event(small.getvalue(), content_type), Context())  # first-request loading
    if warm["statusCode"] != 201:
        raise RuntimeError(f"warm-up upload failed: {warm}")

    data = Path(image_path).read_bytes()
    image_bytes = len(data)
    event = upload_event(data, content_type)
    body_chars = len(event["body"])
    del data
    stub.requests.clear()
    gc.collect()
    result: dict[str, Any] = {"mode": mode, "image_bytes": image_bytes, "body_chars": body_chars}
    if mode == "tracemalloc":
        tracemalloc.start()
        response = app.lambda_handler(event, Context())
        result["peak_bytes"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    else:
        result["hwm_reset"] = _reset_peak_rss()
        result["rss_before_bytes"] = _status_kb("VmRSS")
        started = time.perf_counter()
        response = app.lambda_handler(event, Context())
        result["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
        result["rss_peak_bytes"] = _status_kb("VmHWM")
    result["status"] = response["statusCode"]
    result["aws_requests"] = stub.requests
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
