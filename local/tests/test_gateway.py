"""The API Gateway emulator against a fixture template: event shape, warm workers and the
gateway's own answers (403, 413, 502, 504)."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from localapi.app import LocalApp

FIXTURE_TEMPLATE = Path(__file__).resolve().parent / "fixture" / "template.yaml"


def call(app: LocalApp, method: str, path: str, **kwargs: object) -> requests.Response:
    return requests.request(method, app.url + path, timeout=20, **kwargs)  # type: ignore[arg-type]


def test_proxy_event_has_api_gateways_shape(fixture_app: LocalApp) -> None:
    response = call(
        fixture_app,
        "POST",
        "/echo/a%20b?x=1&x=2&y=3",
        data=b'{"k": 1}',
        headers={"X-Multi": "v", "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    event = response.json()["event"]
    assert event["resource"] == "/echo/{name}" and event["path"] == "/echo/a b" and event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"name": "a b"}
    assert event["queryStringParameters"] == {"x": "2", "y": "3"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["3"]}
    assert event["headers"]["X-Multi"] == "v" and event["multiValueHeaders"]["X-Multi"] == ["v"]
    assert event["body"] == '{"k": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "test" and context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert context["resourcePath"] == "/echo/{name}" and context["path"] == "/test/echo/a b"


def test_binary_media_types_are_base64_encoded(fixture_app: LocalApp) -> None:
    event = call(fixture_app, "POST", "/echo/x", data=b"\x89PNG\0\1", headers={"Content-Type": "image/png"}).json()[
        "event"
    ]
    assert event["isBase64Encoded"] is True
    import base64

    assert base64.b64decode(event["body"]) == b"\x89PNG\0\1"


def test_greedy_path_parameter_receives_the_rest_of_the_path(fixture_app: LocalApp) -> None:
    event = call(fixture_app, "GET", "/files/a/b/c.txt").json()["event"]
    assert event["pathParameters"] == {"path": "a/b/c.txt"} and event["resource"] == "/files/{path+}"


def test_environment_and_layer_come_from_the_template(fixture_app: LocalApp) -> None:
    body = call(fixture_app, "POST", "/echo/x").json()
    assert body["env"] == {"GREETING": "hello", "TABLE": "image-service-things"}
    assert body["endpoint"] is None  # this fixture template declares no endpoint variable
    assert body["layer_loads"] == 1
    assert 0 < body["remaining_ms"] <= 3000


def test_function_stays_warm_between_requests(fixture_app: LocalApp) -> None:
    first = call(fixture_app, "POST", "/echo/x").json()
    second = call(fixture_app, "POST", "/echo/x").json()
    assert second["pid"] == first["pid"]
    assert second["invocations"] == first["invocations"] + 1


def test_multi_value_response_headers_are_all_sent(fixture_app: LocalApp) -> None:
    response = call(fixture_app, "POST", "/echo/x")
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]


def test_unknown_route_or_method_is_403_with_the_configured_gateway_response(fixture_app: LocalApp) -> None:
    for method, path in [("GET", "/nowhere"), ("DELETE", "/echo/x"), ("GET", "/echo")]:
        response = call(fixture_app, method, path)
        assert response.status_code == 403
        assert response.json() == {"message": "Missing Authentication Token", "code": "MISSING_AUTHENTICATION_TOKEN"}


def test_crash_is_502_without_details(fixture_app: LocalApp) -> None:
    response = call(fixture_app, "GET", "/crash")
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    assert "secret" not in response.text


def test_malformed_proxy_response_is_502(fixture_app: LocalApp) -> None:
    assert call(fixture_app, "GET", "/malformed").status_code == 502


def test_a_response_over_lambdas_6_mb_payload_limit_is_502_as_on_aws(fixture_app: LocalApp) -> None:
    """Lambda refuses a synchronous response whose JSON is over 6 MB (Function.ResponseSizeTooLarge),
    and API Gateway answers 502: the local mode sent such answers on."""
    assert call(fixture_app, "GET", "/malformed?just_fits=1").status_code == 200
    response = call(fixture_app, "GET", "/malformed?huge=1")
    assert response.status_code == 502 and response.json() == {"message": "Internal server error"}


def test_base64_proxy_response_body_is_decoded(fixture_app: LocalApp) -> None:
    response = call(fixture_app, "GET", "/malformed?binary=1")
    assert response.status_code == 200 and response.content == b"\x89PNG"


def test_function_past_its_timeout_is_504_and_the_next_call_starts_fresh(fixture_app: LocalApp) -> None:
    response = call(fixture_app, "GET", "/slow")
    assert response.status_code == 504
    assert response.json()["message"] == "Endpoint request timed out"


def test_event_over_six_megabytes_is_413(fixture_app: LocalApp) -> None:
    response = call(fixture_app, "POST", "/echo/x", data=b"a" * 6_300_000)
    assert response.status_code == 413
    assert response.json()["code"] == "REQUEST_TOO_LARGE"


def test_env_vars_file_overrides_declared_variables_only(tmp_path: Path) -> None:
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"Parameters": {"GREETING": "hi"}, "EchoFunction": {"UNDECLARED": "x"}}))
    app = LocalApp(port=0, template_path=FIXTURE_TEMPLATE, env_vars=env_file).start()
    try:
        body = call(app, "POST", "/echo/x").json()
        assert body["env"]["GREETING"] == "hi"
        assert "UNDECLARED" not in body["event"]
    finally:
        app.stop()


def test_unusual_methods_get_the_gateways_json_answer(fixture_app: LocalApp) -> None:
    for method in ("TRACE", "QUERY", "PROPFIND"):
        response = call(fixture_app, method, "/echo/x")
        assert response.status_code == 403, method
        assert response.json()["code"] == "MISSING_AUTHENTICATION_TOKEN"
