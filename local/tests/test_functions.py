"""Function workers: a worker started in advance (before the AWS emulation has made the function's
role) does its init only once it has the function's environment, and is the one that serves; with
LOCALAPI_SERVER_TIMING, each answer says how long the handler and its AWS calls took."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from localapi import app as app_module
from localapi.app import LocalApp
from localapi.events import build_proxy_event
from localapi.functions import FunctionPool
from localapi.template import Template
from localapi.worker import LAMBDA_MAX_PAYLOAD_BYTES, SERVER_TIMING, AwsCallClock, reply

FIXTURE_TEMPLATE = Path(__file__).resolve().parent / "fixture" / "template.yaml"


def echo_event() -> dict[str, Any]:
    return build_proxy_event(method="POST", resource="/echo/{name}", path="/echo/x", path_parameters={"name": "x"})


def test_a_worker_started_in_advance_gets_its_environment_before_its_init() -> None:
    # Given a pool whose environment (credentials) is not known yet, and a worker started anyway
    pool = FunctionPool(Template(FIXTURE_TEMPLATE).function("EchoFunction"))
    pool.prestart()
    try:
        # When the environment arrives, then a call is made
        pool.configure({"GREETING": "given later", "AWS_ACCESS_KEY_ID": "role-session-key"})
        result = pool.invoke(echo_event())
        # Then the handler's module saw the environment at init, and that init was a cold start
        body = json.loads(result.payload["body"])
        assert body["at_init"] == {"GREETING": "given later", "key": "role-session-key"}
        assert result.cold_start and result.init_ms is not None and result.init_ms > 0
        assert not pool.invoke(echo_event()).cold_start
    finally:
        pool.close()


def test_a_call_before_the_environment_waits_for_it() -> None:
    pool = FunctionPool(Template(FIXTURE_TEMPLATE).function("EchoFunction"))
    results: list[object] = []
    caller = threading.Thread(target=lambda: results.append(pool.invoke(echo_event())))
    try:
        caller.start()
        caller.join(timeout=0.5)
        assert caller.is_alive() and not results  # no worker runs without the function's environment
        pool.configure({"GREETING": "now"})
        caller.join(timeout=60)
        assert results and json.loads(results[0].payload["body"])["at_init"]["GREETING"] == "now"  # type: ignore[attr-defined]
    finally:
        pool.close()


def test_the_first_calls_worker_is_started_with_the_local_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app_module, "FIRST_CALL", ("POST", "/echo/{name}"))
    app = LocalApp(port=0, template_path=FIXTURE_TEMPLATE, stage="test").start()
    try:
        echo = app.pools["EchoFunction"]
        started = [worker.process.pid for worker in echo._idle]
        assert len(started) == 1  # before any request
        assert all(not pool._idle for name, pool in app.pools.items() if name != "EchoFunction")  # on demand
        body = requests.post(app.url + "/echo/x", timeout=60).json()
        assert body["pid"] == started[0]  # the worker started in advance served the first request
    finally:
        app.stop()


def test_server_timing_says_how_long_the_handler_and_its_aws_calls_took(
    monkeypatch: pytest.MonkeyPatch, fixture_app: LocalApp
) -> None:
    assert "Server-Timing" not in requests.post(fixture_app.url + "/echo/x", timeout=60).headers  # off by default
    monkeypatch.setenv(SERVER_TIMING, "1")  # as the bench starts make serve
    app = LocalApp(port=0, template_path=FIXTURE_TEMPLATE, stage="test").start()
    try:
        response = requests.post(app.url + "/echo/x", timeout=60)
    finally:
        app.stop()
    timing = dict(part.split(";dur=") for part in response.headers["Server-Timing"].split(", "))
    assert set(timing) == {"handler", "aws"}
    assert float(timing["aws"]) == 0 <= float(timing["handler"])  # the echo function calls no AWS service


def test_the_aws_call_clock_times_each_call_of_a_client_made_after_it() -> None:
    session = boto3.session.Session()
    clock = AwsCallClock()
    clock.attach(session.events)
    s3 = session.client("s3", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    with Stubber(s3) as stub:
        stub.add_response("list_buckets", {"Buckets": []})
        stub.add_client_error("head_bucket", "404")
        s3.list_buckets()
        with pytest.raises(ClientError):
            s3.head_bucket(Bucket="missing")
    assert clock.calls == 2 and clock.total_ms > 0


def test_a_text_body_comes_back_as_the_function_returned_it_keys_in_their_order() -> None:
    """The worker sends a proxy response's body beside its JSON (worker.reply): the result the
    gateway and the Invoke API get is the function's, to the key order."""
    pool = FunctionPool(Template(FIXTURE_TEMPLATE).function("MalformedFunction"), environment={})
    try:
        event = {**echo_event(), "queryStringParameters": {"text": "1"}}
        payload = pool.invoke(event).payload
        assert payload == {
            "body": 'h\u00e9llo "w\u00f6rld"\n\U0001f600',
            "statusCode": 200,
            "headers": {"X-Kind": "text"},
        }
        assert list(payload) == ["body", "statusCode", "headers"]
    finally:
        pool.close()


@pytest.mark.parametrize(
    "result",
    [
        {"statusCode": 200, "body": "lone \ud800 surrogate"},  # no UTF-8 for it: JSON escapes it
        {"statusCode": 200, "body": "x" * (LAMBDA_MAX_PAYLOAD_BYTES // 24 + 1)},  # near the limit: checked exactly
        {"statusCode": 200, "body": b"not text"},  # not JSON at all
    ],
)
def test_bodies_that_cannot_travel_beside_take_the_json_way(result: dict[str, Any]) -> None:
    line, _, rest = reply(result, None).partition(b"\n")
    message = json.loads(line)
    assert "body_bytes" not in message and rest == b""
    if isinstance(result["body"], str):
        assert message["result"] == result
    else:
        assert message["errorType"] == "Runtime.MarshalError"


def test_a_text_body_travels_beside_the_json_as_utf8() -> None:
    line, _, raw = reply({"statusCode": 200, "body": '\u00e9t\u00e9 "', "headers": {}}, {"handler_ms": 1.0}).partition(
        b"\n"
    )
    message = json.loads(line)
    assert raw == '\u00e9t\u00e9 "'.encode() and message["body_bytes"] == len(raw) and message["body_at"] == 1
    assert message["result"] == {"statusCode": 200, "headers": {}} and message["timing"] == {"handler_ms": 1.0}
