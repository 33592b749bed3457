"""Secrets read from AWS Secrets Manager once per container, at cold start.

The cursor key used to be resolved into the list function's environment at deploy time, where
anyone allowed to read the function's configuration could read it. Now the environment holds
only the secret's ARN (``CURSOR_SECRET_ARN``), and the function, whose role may call
``secretsmanager:GetSecretValue`` on that one secret, reads the value while it initialises.

A missing or unreadable secret raises here, during init: Lambda then reports the function's
init as failed (and retries it on the next request) instead of a container that starts and
answers 500 to every listing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .config import Settings


class SecretUnavailable(RuntimeError):
    """The function cannot start: a secret it needs is not configured or cannot be read."""


def read_secret(secret_id: str, settings: Settings, client: Any | None = None) -> bytes:
    """The ``SecretString`` of ``secret_id`` (an ARN or a name), as bytes."""
    if not secret_id:
        raise SecretUnavailable("no secret configured")
    if client is None:
        # The same retries and short timeouts as the other clients (aws.make_clients).
        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
        client = boto3.client(
            "secretsmanager", region_name=settings.region, endpoint_url=settings.endpoint_url, config=config
        )
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
    return replace(settings, cursor_secret=read_secret(settings.cursor_secret_id, settings, client))
