"""The list function reads its cursor key from Secrets Manager once, at cold start, or not at all."""

from __future__ import annotations

import json
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest

from image_service.config import Settings
from image_service.secret_store import SecretUnavailable, endpoint_of, with_cursor_secret
from tests.support.environment import FUNCTIONS, TEST_CURSOR_SECRET
from tests.support.functions import FakeContext, fresh_function


def _fresh_list_function(name: str) -> ModuleType:
    """Import the list handler as a new container would (not the tests' cached module)."""
    return fresh_function("ListFunction", name)


def _count_calls(operation: str) -> dict[str, int]:
    """Count ``operation`` requests sent through the default boto3 session from now on.

    ``before-send`` is what a boto3 client and the layer's signed request both emit.
    """
    calls = {"n": 0}
    boto3.setup_default_session()

    def seen(**_: Any) -> None:
        calls["n"] += 1

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register(f"before-send.secrets-manager.{operation}", seen)
    return calls


def test_the_key_comes_from_secrets_manager(aws: SimpleNamespace) -> None:
    settings = Settings.from_env()
    assert settings.cursor_secret == b""  # nothing from the environment
    assert with_cursor_secret(settings, aws.secretsmanager).cursor_secret == TEST_CURSOR_SECRET.encode()


def test_the_list_function_reads_the_secret_once_per_container(aws: SimpleNamespace) -> None:
    calls = _count_calls("GetSecretValue")
    module = _fresh_list_function("list_function_secret_once")
    assert calls["n"] == 1  # during init, before any request
    assert module.SETTINGS.cursor_secret == TEST_CURSOR_SECRET.encode()
    event = {"httpMethod": "GET", "resource": "/images", "queryStringParameters": {"user_id": "alice"}}
    for _ in range(3):
        assert module.lambda_handler(event, FakeContext())["statusCode"] == 200
    assert calls["n"] == 1


def test_a_missing_secret_fails_the_cold_start(aws: SimpleNamespace) -> None:
    aws.secretsmanager.delete_secret(
        SecretId=FUNCTIONS["ListFunction"].environment["CURSOR_SECRET_ARN"], ForceDeleteWithoutRecovery=True
    )
    with pytest.raises(SecretUnavailable, match="ResourceNotFound"):
        _fresh_list_function("list_function_no_secret")


def test_no_secret_arn_fails_the_cold_start(aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CURSOR_SECRET_ARN")
    with pytest.raises(SecretUnavailable, match="CURSOR_SECRET_ARN"):
        _fresh_list_function("list_function_no_arn")


def test_an_empty_or_short_secret_fails_the_cold_start(aws: SimpleNamespace) -> None:
    arn = FUNCTIONS["ListFunction"].environment["CURSOR_SECRET_ARN"]
    aws.secretsmanager.put_secret_value(SecretId=arn, SecretString="short")
    with pytest.raises(ValueError, match="at least"):
        _fresh_list_function("list_function_short_secret")


def _answer_with(statuses: list[int]) -> list[int]:
    """Answer the next GetSecretValue requests of the default session with ``statuses`` (then moto's)."""
    from botocore.awsrequest import AWSResponse
    from moto.core.botocore_stubber import MockRawResponse

    boto3.setup_default_session()
    sent: list[int] = []

    def answer(request: Any, **_: Any) -> AWSResponse | None:
        sent.append(len(sent))
        if len(sent) > len(statuses):
            return None  # through to moto
        status = statuses[len(sent) - 1]
        body = json.dumps({"__type": "InternalServiceError" if status >= 500 else "AccessDeniedException"})
        return AWSResponse(request.url, status, {}, MockRawResponse(body))

    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register_first("before-send.secrets-manager.GetSecretValue", answer)
    return sent


def test_a_server_error_at_cold_start_is_tried_again(aws: SimpleNamespace) -> None:
    sent = _answer_with([500, 503])
    assert with_cursor_secret(Settings.from_env()).cursor_secret == TEST_CURSOR_SECRET.encode()
    assert len(sent) == 3  # two server errors, then the answer


def test_a_refused_read_fails_the_cold_start_at_once(aws: SimpleNamespace) -> None:
    sent = _answer_with([400])
    with pytest.raises(SecretUnavailable, match="AccessDeniedException"):
        with_cursor_secret(Settings.from_env())
    assert len(sent) == 1  # a refusal is not retried


def test_the_signed_request_goes_to_the_configured_endpoint() -> None:
    bucket = {"S3_BUCKET_NAME": "photos"}
    local = Settings.from_env({**bucket, "AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    assert endpoint_of(local) == "http://127.0.0.1:4566"
    deployed = Settings.from_env({**bucket, "AWS_REGION": "eu-west-1"})
    assert endpoint_of(deployed) == "https://secretsmanager.eu-west-1.amazonaws.com"


def test_the_services_own_endpoint_variable_wins_as_in_the_sdks() -> None:
    """AWS_ENDPOINT_URL_SECRETS_MANAGER before AWS_ENDPOINT_URL, as boto3's clients resolve it;
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true sends the read to the region's endpoint."""
    environment = {
        "S3_BUCKET_NAME": "photos",
        "AWS_REGION": "eu-west-1",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:4566",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:4599",
    }
    assert endpoint_of(Settings.from_env(environment)) == "http://127.0.0.1:4599"
    ignored = Settings.from_env({**environment, "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"})
    assert endpoint_of(ignored) == "https://secretsmanager.eu-west-1.amazonaws.com"
