"""Child process of the memory benchmark: one upload through the real upload function.

Usage: python bench/memory_probe.py {tracemalloc|rss|both} {json|raw|direct} IMAGE CONTENT_TYPE CODE_DIR LAYER_DIRS
(LAYER_DIRS: the layers' import directories, joined by os.pathsep)

``both`` measures with tracemalloc, then uploads again for the RSS figures (one process instead of
two, for the smoke test; the separate runs are cleaner).

Styles: ``json`` is ``POST /images`` with the image base64-encoded in a JSON body; ``raw`` is
``POST /images`` with the image as the body (API Gateway hands it over base64-encoded); ``direct``
is the S3 event that finalises a direct upload (the function reads the file back from S3).

AWS is answered at botocore's ``before-send`` hook, so the figure is the function's own memory:
botocore still builds and signs the real requests, but no emulator (moto would copy the object
several times) adds to the peak. The stub keeps the items written with PutItem so GetItem finds
them, and serves the image for GetObject. The clients point at a closed port on 127.0.0.1, so even
a stub failure could never send anything off this machine. Prints one JSON object.
"""

from __future__ import annotations

import base64
import gc
import io
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


class _Raw(io.BytesIO):
    """What botocore reads a response body from: a new copy of the answer, as a body read off the
    network is new memory (a ``BytesIO`` of the stub's own bytes would share them, and a direct
    upload's object, read whole, would count for nothing)."""

    def __init__(self, body: bytes) -> None:
        super().__init__(bytes(memoryview(body)))  # one copy, which the BytesIO and read() share

    def stream(self, **_: Any) -> Any:
        yield self.read()


class StubAws:
    """Answers DynamoDB and S3 as they answer success; a dict stands in for the tables' rows."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.items: dict[str, dict[str, Any]] = {}
        self.objects: dict[str, bytes] = {}

    def __call__(self, request: Any, event_name: str, **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse, HeadersDict  # noqa: PLC0415 - after the path setup

        if not request.url.startswith("https://127.0.0.1:"):
            raise RuntimeError(f"refusing to answer a request for {request.url}")
        _, service, operation = event_name.split(".", 2)
        self.requests.append(f"{service}.{operation}")
        headers: dict[str, str] = {}
        body = b""
        if service == "dynamodb":
            headers["Content-Type"] = "application/x-amz-json-1.0"
            body = json.dumps(self._dynamodb(operation, json.loads(request.body or b"{}"))).encode()
        elif operation == "GetObject":
            body = self.objects[request.url.split("?", 1)[0].rsplit("/", 1)[1]]  # by the key's last part
            headers.update({"Content-Length": str(len(body)), "Content-Type": "application/octet-stream"})
        else:
            headers["ETag"] = '"stub"'
        return AWSResponse(request.url, 200, HeadersDict(headers), _Raw(body))

    def _dynamodb(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation == "PutItem":
            item = params["Item"]
            self.items[item["image_id"]["S"]] = item
        elif operation == "GetItem":
            found = self.items.get(params["Key"]["image_id"]["S"])
            return {"Item": found} if found else {}
        return {}


class Context:
    aws_request_id = "bench-memory"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def _claims(user_id: str) -> dict[str, Any]:
    return {"authorizer": {"claims": {"sub": user_id, "cognito:username": user_id, "token_use": "id"}}}


def json_event(data: bytes, content_type: str, user_id: str = "bench") -> dict[str, Any]:
    body = json.dumps(
        {
            "user_id": user_id,
            "title": "largest allowed photo",
            "tags": ["bench"],
            "content_type": content_type,
            "image_base64": base64.b64encode(data).decode("ascii"),
            "allow_duplicate": True,  # the same bytes each round: measure a store, not a duplicate
        }
    )
    return {
        "resource": "/images",
        "path": "/images",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": _claims(user_id),
    }


def raw_event(data: bytes, content_type: str, user_id: str = "bench") -> dict[str, Any]:
    return {
        "resource": "/images",
        "path": "/images",
        "httpMethod": "POST",
        "headers": {"Content-Type": content_type},
        "queryStringParameters": {"title": "largest allowed photo", "tags": "bench"},
        "body": base64.b64encode(data).decode("ascii"),
        "isBase64Encoded": True,
        "requestContext": _claims(user_id),
    }


def direct_event(handler: Any, stub: StubAws, data: bytes, content_type: str, user_id: str = "bench") -> dict[str, Any]:
    """Start a direct upload through the handler, put ``data`` where the form would, return the S3 event."""
    start = {
        "resource": "/images/uploads",
        "path": "/images/uploads",
        "httpMethod": "POST",
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"content_type": content_type, "title": "sent straight to S3", "tags": ["bench"]}),
        "isBase64Encoded": False,
        "requestContext": _claims(user_id),
    }
    started = handler(start, Context())
    if started["statusCode"] != 201:
        raise RuntimeError(f"direct upload start failed: {started}")
    key = json.loads(started["body"])["upload"]["fields"]["key"]
    stub.objects[key.rsplit("/", 1)[1]] = data
    record = {"eventSource": "aws:s3", "s3": {"bucket": {"name": "bench"}, "object": {"key": key, "size": len(data)}}}
    return {"Records": [record]}


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


def _succeeded(style: str, response: Any) -> bool:
    if style == "direct":
        return bool(response.get("finalised"))
    return response.get("statusCode") == 201


def main(argv: list[str]) -> int:
    mode, style, image_path, content_type, code_dir, layer_dirs = argv[1:7]
    sys.path[:0] = [code_dir, *layer_dirs.split(os.pathsep)]
    import boto3  # noqa: PLC0415 - the child imports from the paths it was given

    boto3.setup_default_session()
    stub = StubAws()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register_first("before-send", stub)
    import app  # noqa: PLC0415 - the handler module; creates its clients on the stubbed session
    from PIL import Image  # noqa: PLC0415 - the layer's Pillow

    def event_for(data: bytes) -> dict[str, Any]:
        if style == "json":
            return json_event(data, content_type)
        if style == "raw":
            return raw_event(data, content_type)
        return direct_event(app.lambda_handler, stub, data, content_type)

    small = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 200)).save(small, format=content_type.split("/")[1].upper())
    warm = app.lambda_handler(event_for(small.getvalue()), Context())  # what a first request loads
    if not _succeeded(style, warm):
        raise RuntimeError(f"warm-up upload failed: {warm}")

    data = Path(image_path).read_bytes()
    result: dict[str, Any] = {"mode": mode, "style": style, "image_bytes": len(data), "ok": True}
    for measure in ("tracemalloc", "rss") if mode == "both" else (mode,):
        event = event_for(data)
        stub.requests.clear()
        gc.collect()
        if measure == "tracemalloc":
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
        del event
        if not _succeeded(style, response):
            result.update(ok=False, response=str(response)[:300])
    result["aws_requests"] = stub.requests
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
