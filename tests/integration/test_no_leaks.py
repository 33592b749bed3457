"""Nothing leaks: not through error responses, not through the logs.

- An error response is ``{"message", "code"}`` and nothing else: no stack trace, no file path,
  no exception class, no table, bucket or object name, no text of an AWS error.
- Logs are one JSON object per line, each with the request id, and never contain the image's
  bytes or base64, nor what the user wrote (titles, descriptions).

Proved twice: in-process with faults injected into the handlers (every 5xx path), and out of
process on the local mode's real worker output (what CloudWatch would receive).
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import requests

from localapi.events import build_proxy_event
from tests.support.environment import FUNCTIONS, ROOT
from tests.support.faults import fail_call, lose_response
from tests.support.functions import load_function
from tests.support.layer import wire_handlers
from tests.support.leaks import internal_names, leaks_in


def distinctive_png() -> bytes:
    """A PNG of random pixels: its base64 occurs nowhere by chance."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (40, 30), os.urandom(40 * 30 * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def slices(text: str, width: int = 24, step: int = 97) -> list[str]:
    """Overlapping windows of ``text``: a partial copy of it in a log shows up in one of them."""
    return [text[i : i + width] for i in range(0, max(1, len(text) - width), step)]


SECRET_TITLE = "Holiday at Grandma's 7f3a"  # user-entered text: must stay out of the logs
SECRET_DESCRIPTION = "the spare key is under the mat c41d"


def upload_body(image: bytes, **changes: Any) -> dict[str, Any]:
    return {
        "user_id": "leaky",
        "title": SECRET_TITLE,
        "description": SECRET_DESCRIPTION,
        "tags": ["private"],
        "content_type": "image/png",
        "image_base64": base64.b64encode(image).decode(),
        **changes,
    }


def assert_clean_log(text: str, image: bytes, request_ids: set[str]) -> list[dict[str, Any]]:
    """Every line is a JSON object with a known request id; no image data or user text anywhere."""
    encoded = base64.b64encode(image).decode()
    entries = []
    for line in text.splitlines():
        entry = json.loads(line)  # a non-JSON line fails here
        assert isinstance(entry, dict)
        assert {"time", "level", "message", "request_id"} <= set(entry), entry
        assert entry["request_id"] in request_ids, entry
        entries.append(entry)
    for secret in [encoded, *slices(encoded), SECRET_TITLE, SECRET_DESCRIPTION]:
        assert secret not in text
    assert image[:64].decode("latin-1") not in text  # raw bytes, however they were written
    return entries


# -- in process: every error path of the handlers --------------------------------------------------


class Context:
    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """The layer's real JSON log handler, writing into a buffer for the test."""
    from image_service.log import JsonFormatter

    logger = logging.getLogger("image_service")
    handlers = [h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)]
    assert handlers, "the image_service logger has no JSON handler"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers if isinstance(h, logging.StreamHandler)]
    yield buffer
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


@pytest.fixture
def handlers(service: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    wire_handlers(monkeypatch, service)


def call(logical_id: str, event: dict[str, Any], request_ids: set[str]) -> dict[str, Any]:
    context = Context()
    request_ids.add(context.aws_request_id)
    handler = getattr(load_function(logical_id), FUNCTIONS[logical_id].handler.rsplit(".", 1)[1])
    return dict(handler(event, context))


def post_event(body: dict[str, Any] | str) -> dict[str, Any]:
    raw = body if isinstance(body, str) else json.dumps(body)
    return build_proxy_event(
        method="POST",
        resource="/images",
        path="/images",
        headers={"Content-Type": ["application/json"]},
        body=raw.encode(),
        authorizer={"claims": {"sub": "leaky", "cognito:username": "leaky"}},
    )


def id_event(method: str, image_id: str, resource: str = "/images/{image_id}") -> dict[str, Any]:
    return build_proxy_event(
        method=method,
        resource=resource,
        path=resource.replace("{image_id}", image_id),
        path_parameters={"image_id": image_id},
        authorizer={"claims": {"sub": "leaky", "cognito:username": "leaky"}},
    )


def test_no_error_response_or_log_line_leaks_in_any_failure(
    aws: SimpleNamespace, handlers: None, log_output: io.StringIO
) -> None:
    image = distinctive_png()
    ids: set[str] = set()
    names = internal_names(FUNCTIONS["UploadFunction"].environment)
    responses = []

    # A success, so there is something to get and delete (and its log line to check)
    created = call("UploadFunction", post_event(upload_body(image)), ids)
    assert created["statusCode"] == 201
    image_id = json.loads(created["body"])["image_id"]

    # Client mistakes that quote the input back if anything does
    for body in [
        upload_body(image, image_base64=base64.b64encode(image).decode()[:-3]),
        upload_body(image, content_type="image/jpeg"),
        upload_body(image, tags=[SECRET_TITLE]),
        upload_body(image, title=SECRET_TITLE * 20),
        "{" + json.dumps(upload_body(image)),
    ]:
        responses.append(call("UploadFunction", post_event(body), ids))

    # Every kind of 5xx: retryable faults, final faults, lost responses, a missing table
    faults = [
        (aws.s3, "PutObject", "SlowDown", 503),
        (aws.s3, "PutObject", "AccessDenied", 403),
        (aws.dynamodb, "TransactWriteItems", "ValidationException", 400),
        (aws.dynamodb, "TransactWriteItems", "TransactionCanceledException", 400),
    ]
    for client, operation, code, status in faults:
        heal = fail_call(client, operation, code, status)
        responses.append(call("UploadFunction", post_event(upload_body(image)), ids))
        heal()
    heal = lose_response(aws.dynamodb, "TransactWriteItems")
    responses.append(call("UploadFunction", post_event(upload_body(image)), ids))
    heal()
    for code, status in [("InternalServerError", 500), ("AccessDeniedException", 400)]:
        heal = fail_call(aws.dynamodb, "GetItem", code, status)
        responses.append(call("GetFunction", id_event("GET", image_id), ids))
        responses.append(call("DeleteFunction", id_event("DELETE", image_id), ids))
        heal()
    aws.dynamodb.delete_table(TableName=aws.images_table)  # a broken deployment: unhandled errors
    responses.append(call("GetFunction", id_event("GET", image_id), ids))
    responses.append(call("UploadFunction", post_event(upload_body(image)), ids))

    statuses = sorted({r["statusCode"] for r in responses})
    assert {400, 500, 503} <= set(statuses), statuses  # the 4xx and both kinds of 5xx were reached
    # (a lost response may also end well: the layer checks what happened before it answers)
    for response in [r for r in responses if r["statusCode"] >= 400]:
        body = json.loads(response["body"])
        assert set(body) == {"message", "code"}, body
        assert leaks_in(response["body"], names) == [], response["body"]
        assert SECRET_TITLE not in response["body"]
        if response["statusCode"] == 500:
            assert body == {"message": "Internal server error", "code": "internal_error"}

    entries = assert_clean_log(log_output.getvalue(), image, ids)
    # Each request logged its access line under its own id; failures were logged as errors
    access = {e["request_id"]: e["status"] for e in entries if e["message"] == "request"}
    assert set(access) == ids
    assert any(e["level"] == "ERROR" and e.get("error") for e in entries)


# -- out of process: the local mode's real worker output --------------------------------------------


@pytest.fixture(scope="module")
def logged_local_mode(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    """``make serve``'s command with its output (the functions' and the gateway's) in a file."""
    log_path = tmp_path_factory.mktemp("local-mode") / "output.log"
    # Not this process's environment, which the fixtures filled with the functions' settings.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": "local", "PYTHONUNBUFFERED": "1"}
    with log_path.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "localapi", "serve", "--host", "127.0.0.1", "--port", "0", "--auth-mode", "none"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        urls = _wait_for_urls(log_path, process)
        yield SimpleNamespace(url=urls["api"], aws=urls["aws"], log=log_path, process=process)
    finally:
        process.send_signal(signal.SIGTERM)  # serve stops its workers and the emulation on SIGTERM
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_urls(log_path: Path, process: subprocess.Popen[bytes]) -> dict[str, str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log_path.read_text()
        api = re.search(r"Image service API:\s+(http://127\.0\.0\.1:\d+)", text)
        aws = re.search(r"AWS emulation \(moto\):\s+(http://127\.0\.0\.1:\d+)", text)
        if api and aws:
            return {"api": api.group(1), "aws": aws.group(1)}
        assert process.poll() is None, f"the local mode exited:\n{text[-2000:]}"
        time.sleep(0.1)
    raise AssertionError("the local mode did not start within 60 s")


def test_the_local_modes_function_logs_are_json_with_request_ids_and_no_image(
    logged_local_mode: SimpleNamespace,
) -> None:
    url = logged_local_mode.url
    image = distinctive_png()
    session = requests.Session()
    sent: dict[str, int] = {}  # request id -> status

    def send(method: str, path: str, **kwargs: Any) -> requests.Response:
        response = session.request(method, url + path, timeout=60, **kwargs)
        sent[response.headers["x-amzn-RequestId"]] = response.status_code
        return response

    created = send("POST", "/images", json=upload_body(image))
    assert created.status_code == 201, created.text
    image_id = created.json()["image_id"]
    send("POST", "/images", json=upload_body(image, content_type="image/gif"))
    send("POST", "/images", json=upload_body(image, image_base64="%%%" + base64.b64encode(image).decode()))
    send("GET", "/images", params={"user_id": "leaky", "limit": "1"})
    send("GET", f"/images/{image_id}")
    send("GET", "/images", params={"user_id": "leaky", "next_token": "forged.token"})

    # Break the deployment under the running functions: their errors must still be clean
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=logged_local_mode.aws,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local-secret",
    )
    table = FUNCTIONS["GetFunction"].environment["IMAGES_TABLE_NAME"]
    dynamodb.delete_table(TableName=table)
    broken = send("GET", f"/images/{image_id}")
    assert broken.status_code == 500
    assert broken.json() == {"message": "Internal server error", "code": "internal_error"}
    assert send("DELETE", f"/images/{image_id}").status_code == 500

    time.sleep(0.5)  # let the workers' last lines reach the file
    output = logged_local_mode.log.read_text()
    function_lines = [line for line in output.splitlines() if line.startswith("{")]
    entries = assert_clean_log("\n".join(function_lines), image, set(sent))
    # The rest is the local mode's own output (access lines, start-up): still no image, no traceback
    rest = "\n".join(line for line in output.splitlines() if not line.startswith("{"))
    assert "Traceback" not in rest
    assert base64.b64encode(image).decode()[:24] not in rest
    # The metrics the functions would publish (EMF), shown readably: no user data in them either
    shown = [line for line in output.splitlines() if line.startswith("metric ImageService: ")]
    assert any("Uploads=1 Count" in line and "Path=json" in line for line in shown), shown
    assert any("Rejections=1 Count" in line and "Code=invalid_next_token" in line for line in shown), shown
    assert not any(text in line for line in shown for text in ("leaky", image_id, SECRET_TITLE, "private"))

    # Every request the functions handled has its access line, under the id the client saw
    logged = {e["request_id"]: e["status"] for e in entries if e["message"] == "request"}
    assert logged == sent
    errors = [e for e in entries if e["level"] == "ERROR"]
    assert errors and all(e["request_id"] in sent for e in errors)


def test_logs_of_an_s3_event_carry_its_request_id(
    aws: SimpleNamespace, handlers: None, log_output: io.StringIO
) -> None:
    """The direct-upload finalisation runs on S3 events, not API requests: same logging rules."""
    from tests.support.builders import start_direct_upload

    image = distinctive_png()
    _, s3_event = start_direct_upload(aws)
    key = s3_event["Records"][0]["s3"]["object"]["key"]
    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=image, ContentType="image/png")
    log_output.seek(0)
    log_output.truncate()

    ids: set[str] = set()
    result = call("UploadFunction", s3_event, ids)

    assert len(result["finalised"]) == 1
    entries = assert_clean_log(log_output.getvalue(), image, ids)
    assert entries, "finalising a photo logged nothing"
