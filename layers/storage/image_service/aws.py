"""boto3 clients, created once per container, and the translation of SDK failures.

Clients are created at cold start and reused while the container is warm. Retries use the SDK's
``standard`` mode with short timeouts: a function answers 503 quickly rather than hanging until
its own timeout.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from .config import Settings
from .errors import ServiceUnavailable

if TYPE_CHECKING:  # the stubs are a development tool: nothing is imported at run time
    from types_boto3_dynamodb.client import DynamoDBClient
    from types_boto3_s3.client import S3Client

# Error codes after which the same request may well succeed later.
RETRYABLE_ERROR_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "Throttling",
        "RequestLimitExceeded",
        "InternalServerError",
        "InternalError",
        "ServiceUnavailable",
        "SlowDown",
        "TransactionConflictException",
        "TransactionInProgressException",
        "RequestTimeout",
    }
)


# Every call to AWS (these clients, secret_store's signed request): attempts and timeouts (s).
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT = 2
READ_TIMEOUT = 5


class Clients(NamedTuple):
    """The low-level clients a container shares between its use cases."""

    dynamodb: DynamoDBClient
    s3: S3Client


def make_clients(settings: Settings) -> Clients:
    """The ``dynamodb`` and ``s3`` low-level clients for ``settings``."""
    common: dict[str, Any] = {
        "retries": {"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        "connect_timeout": CONNECT_TIMEOUT,
        "read_timeout": READ_TIMEOUT,
    }
    s3_options: dict[str, Any] = {"signature_version": "s3v4"}
    # Every object is put with its SHA-256 in x-amz-checksum-sha256, which S3 checks against the
    # bytes: signing the payload too made botocore hash each object again, in 1 MB chunks (a
    # 25 MB original: ~25 ms of CPU and 0.8x the object held at once). botocore skips that by
    # itself only for checksums it adds, not for one given (UNSIGNED-PAYLOAD is SigV4's own value).
    payload: dict[str, Any] = {"payload_signing_enabled": False}
    dynamodb_endpoint, s3_endpoint = settings.endpoint_for("dynamodb"), settings.endpoint_for("s3")
    if s3_endpoint:
        # An emulator on an IP or localhost has no per-bucket host names.
        s3_options["s3"] = {**payload, "addressing_style": "path"}
    else:
        # The bucket's own regional host (https://BUCKET.s3.REGION.amazonaws.com/), resolved from
        # the region by botocore itself (no network call). Left to its default, botocore signs
        # pre-signed URLs and upload forms for the global host https://BUCKET.s3.amazonaws.com/,
        # which S3 answers with a 307 redirect for a new bucket outside us-east-1 (a browser's
        # direct upload then fails CORS, a GET its signature) and refuses in regions opened
        # since 2019.
        s3_options["s3"] = {**payload, "addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"}
    dynamodb = boto3.client(
        "dynamodb", region_name=settings.region, endpoint_url=dynamodb_endpoint, config=Config(**common)
    )
    s3 = boto3.client(
        "s3", region_name=settings.region, endpoint_url=s3_endpoint, config=Config(**common, **s3_options)
    )
    return Clients(dynamodb, s3)


# A transaction cancelled only for these reasons may succeed if sent again.
TRANSIENT_CANCELLATION_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


def is_transient(exc: ClientError) -> bool:
    code = error_code(exc)
    if code in RETRYABLE_ERROR_CODES:
        return True
    if code == "TransactionCanceledException":
        reasons = {reason.get("Code") for reason in exc.response.get("CancellationReasons", [])}
        return bool(reasons & TRANSIENT_CANCELLATION_REASONS) and "ConditionalCheckFailed" not in reasons
    return False


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def translate_aws_errors(what: str) -> Iterator[None]:
    """Turn transient SDK failures into ``ServiceUnavailable``; let anything else propagate."""
    try:
        yield
    except ClientError as exc:
        if is_transient(exc):
            raise ServiceUnavailable(f"{what} is temporarily unavailable, please retry") from exc
        raise
    except BotoCoreError as exc:  # connection refused, timeouts, broken responses
        raise ServiceUnavailable(f"{what} is temporarily unavailable, please retry") from exc
