"""Lambda's Invoke API on the local mode, driven by boto3's own Lambda client (endpoint_url)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from localapi.app import LocalApp
from localapi.lambda_api import function_arn


@pytest.fixture(scope="module")
def lambda_client(fixture_app: LocalApp) -> Any:
    return boto3.client(
        "lambda",
        endpoint_url=fixture_app.url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local-secret",
        config=Config(retries={"max_attempts": 1}, read_timeout=30),
    )


def test_request_response_returns_the_functions_result(lambda_client: Any) -> None:
    response = lambda_client.invoke(FunctionName="EchoFunction", Payload=json.dumps({"a": 1}))
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    result = json.loads(response["Payload"].read())
    assert json.loads(result["body"])["event"] == {"a": 1}


def test_a_function_arn_and_latest_qualifier_name_the_same_function(lambda_client: Any) -> None:
    for name in (function_arn("EchoFunction"), function_arn("EchoFunction") + ":$LATEST"):
        assert lambda_client.invoke(FunctionName=name, Payload=b"{}")["StatusCode"] == 200


def test_function_error_is_a_200_with_x_amz_function_error(lambda_client: Any) -> None:
    response = lambda_client.invoke(FunctionName="CrashFunction", Payload=b"{}")
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error == {"errorMessage": "boom with a secret detail", "errorType": "RuntimeError"}


def test_timeout_is_a_function_error(lambda_client: Any) -> None:
    response = lambda_client.invoke(FunctionName="SlowFunction", Payload=b"{}")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Sandbox.Timedout"


def test_dry_run_is_a_204_and_runs_nothing(lambda_client: Any) -> None:
    response = lambda_client.invoke(FunctionName="EchoFunction", InvocationType="DryRun", Payload=b"{}")
    assert response["StatusCode"] == 204


def test_event_is_accepted_at_once_and_delivered_asynchronously(fixture_app: LocalApp, lambda_client: Any) -> None:
    invoker = fixture_app.async_invoker
    assert invoker is not None
    before = invoker.stats["succeeded"]
    response = lambda_client.invoke(FunctionName="EchoFunction", InvocationType="Event", Payload=b'{"async": true}')
    assert response["StatusCode"] == 202
    assert invoker.wait_idle(20)
    assert invoker.stats["succeeded"] == before + 1


def test_unknown_function_is_resource_not_found(fixture_app: LocalApp, lambda_client: Any) -> None:
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName="NoSuchFunction", Payload=b"{}")
    error = raised.value.response
    assert error["Error"]["Code"] == "ResourceNotFoundException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert "function:NoSuchFunction" in error["Error"]["Message"]
    raw = requests.post(fixture_app.url + "/2015-03-31/functions/NoSuchFunction/invocations", timeout=20)
    assert raw.status_code == 404 and raw.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as versioned:
        lambda_client.invoke(FunctionName="EchoFunction", Qualifier="7", Payload=b"{}")
    assert versioned.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_payload_that_is_not_json_is_invalid_request_content(lambda_client: Any) -> None:
    with pytest.raises(ClientError) as raised:
        lambda_client.invoke(FunctionName="EchoFunction", Payload=b"{not json")
    assert raised.value.response["Error"]["Code"] == "InvalidRequestContentException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_the_invoke_path_is_no_api_route_for_other_methods(fixture_app: LocalApp) -> None:
    response = requests.get(fixture_app.url + "/2015-03-31/functions/EchoFunction/invocations", timeout=20)
    assert response.status_code == 403
