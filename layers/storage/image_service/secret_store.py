"""Secrets read from AWS Secrets Manager once per container, at cold start.

The cursor key used to be resolved into the list function's environment at deploy time, where
anyone allowed to read the function's configuration could read it. Now the environment holds
only the secret's ARN (``CURSOR_SECRET_ARN``), and the function, whose role may call
``secretsmanager:GetSecretValue`` on that one secret, reads the value while it initialises.

A missing or unreadable secret raises here, during init: Lambda then reports the function's
init as failed (and retries it on the next request) instead of a container that starts and
answers 500 to every listing.

The one call is made without a boto3 Secrets Manager client: creating one loads the service's
model and endpoint rules, about 12 ms of CPU at every cold start for a single request. The
request is signed with botocore's own SigV4 signer and the credentials of boto3's default session
(the ones the DynamoDB and S3 clients use), and sent with botocore's HTTP session to the endpoint a
client would use (``AWS_ENDPOINT_URL_SECRETS_MANAGER``, else ``AWS_ENDPOINT_URL`` as in the local
modes, else the region's). It passes botocore's ``before-send`` event as a client's request does,
so in-process stubs (moto) answer it as they answer clients.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.exceptions import BotoCoreError, ClientError
from botocore.hooks import first_non_none_response
from botocore.httpsession import URLLib3Session

from .aws import CONNECT_TIMEOUT, MAX_ATTEMPTS, READ_TIMEOUT, RETRYABLE_ERROR_CODES
from .config import Settings


class SecretUnavailable(RuntimeError):
    """The function cannot start: a secret it needs is not configured or cannot be read."""


def read_secret(secret_id: str, settings: Settings, client: Any | None = None) -> bytes:
    """The ``SecretString`` of ``secret_id`` (an ARN or a name), as bytes.

    ``client``: a boto3 Secrets Manager client to use instead of the signed request.
    """
    if not secret_id:
        raise SecretUnavailable("no secret configured")
    if client is None:
        value = _get_secret_string(secret_id, settings)
    else:
        try:
            value = client.get_secret_value(SecretId=secret_id).get("SecretString")
        except (ClientError, BotoCoreError) as exc:
            # The SDK's message names the secret and the reason (AccessDenied, ResourceNotFound...).
            raise SecretUnavailable(f"cannot read secret {secret_id}: {exc}") from exc
    if not value:
        raise SecretUnavailable(f"secret {secret_id} has no SecretString")
    return str(value).encode()


def with_cursor_secret(settings: Settings, client: Any | None = None) -> Settings:
    """``settings`` with the cursor key read from Secrets Manager (``CURSOR_SECRET_ARN``)."""
    if not settings.cursor_secret_id:
        raise SecretUnavailable("CURSOR_SECRET_ARN is not set: the list function cannot sign next_token")
    return settings._replace(cursor_secret=read_secret(settings.cursor_secret_id, settings, client))


def endpoint_of(settings: Settings) -> str:
    """Secrets Manager's endpoint for ``settings``: the configured one, else the region's."""
    configured = settings.endpoint_for("secretsmanager")
    if configured:
        return configured
    suffix = "amazonaws.com.cn" if settings.region.startswith("cn-") else "amazonaws.com"
    return f"https://secretsmanager.{settings.region}.{suffix}"


def _get_secret_string(secret_id: str, settings: Settings) -> Any:
    """GetSecretValue as one signed JSON request (the API's wire format: JSON 1.1, X-Amz-Target)."""
    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()  # the session the DynamoDB and S3 clients then use too
    session = boto3.DEFAULT_SESSION
    assert session is not None
    credentials = session.get_credentials()
    if credentials is None:
        raise SecretUnavailable(f"cannot read secret {secret_id}: no AWS credentials")
    body = json.dumps({"SecretId": secret_id})
    # botocore takes (connect, read) as a pair (its clients pass one); the stubs only say int.
    http = URLLib3Session(timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))  # type: ignore[arg-type]
    reason = ""
    for attempt in range(MAX_ATTEMPTS):  # as the clients retry: throttling, 5xx, no connection
        if attempt:
            time.sleep(random.uniform(0, 0.2 * 2**attempt))  # noqa: S311 - retry jitter, not a secret
        request = AWSRequest(
            method="POST",
            url=f"{endpoint_of(settings).rstrip('/')}/",  # the API's only path, as a client sends it
            data=body,
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"},
        )
        SigV4Auth(credentials.get_frozen_credentials(), "secretsmanager", settings.region).add_auth(request)
        prepared = request.prepare()
        try:
            hooked = session.events.emit("before-send.secrets-manager.GetSecretValue", request=prepared)
            response: AWSResponse = first_non_none_response(hooked) or http.send(prepared)
        except BotoCoreError as exc:  # could not connect, or no answer in time: try again
            reason = str(exc)
            continue
        if response.status_code == 200:
            return json.loads(response.content).get("SecretString")
        code, reason = _error_of(response)
        if response.status_code < 500 and code not in RETRYABLE_ERROR_CODES:
            break
    raise SecretUnavailable(f"cannot read secret {secret_id}: {reason}")


def _error_of(response: AWSResponse) -> tuple[str, str]:
    """(code, "code: message") of an error answer, e.g. ResourceNotFoundException."""
    try:
        error = json.loads(response.content or b"{}")
    except ValueError:
        error = {}
    code = str(error.get("__type", "")).rpartition("#")[2] or f"HTTP {response.status_code}"
    return code, f"{code}: {error.get('message') or error.get('Message') or ''}"
