"""Settings, read once per container from the environment into a typed, frozen object.

Only the endpoint differs between AWS and a local emulation: everything else is the same.
"""

from __future__ import annotations

import os
from typing import NamedTuple

# A request body must fit Lambda's 6 MB (6,291,456 bytes) synchronous payload together with
# the rest of the API Gateway event. Base64 inflates by 4/3: 4,500,000 bytes become a
# 6,000,000-character string, leaving ~290 KB for the JSON fields and the event envelope.
DEFAULT_MAX_IMAGE_BYTES = 4_500_000
MAX_DOWNLOAD_URL_TTL_SECONDS = 3600
# Photos sent straight to S3 (POST /images/uploads) skip Lambda's payload limit.
DEFAULT_MAX_DIRECT_UPLOAD_BYTES = 25 * 1024 * 1024
# ...but the finaliser reads the whole file into memory and decodes it for the thumbnail:
# the template's MaxDirectUploadBytes stops here too (see its description).
MAX_DIRECT_UPLOAD_BYTES = 100 * 1024 * 1024


class Settings(NamedTuple):
    bucket_name: str
    images_table: str
    image_tags_table: str
    region: str
    endpoint_url: str | None
    max_image_bytes: int
    download_url_ttl_seconds: int
    # The list function's key for next_token, read from Secrets Manager at cold start
    # (secret_store.with_cursor_secret), never from the environment.
    cursor_secret: bytes = b""
    # "cognito": writes need an authenticated caller; "none": the open demo mode.
    auth_mode: str = "cognito"
    max_direct_upload_bytes: int = DEFAULT_MAX_DIRECT_UPLOAD_BYTES
    upload_url_ttl_seconds: int = 900
    # A direct upload that never arrives is forgotten after this long (DynamoDB TTL).
    pending_upload_ttl_seconds: int = 86_400
    thumbnail_max_side: int = 320
    # The viewer's variant: sharp on a phone or laptop screen, a fraction of a 12 MP original.
    display_max_side: int = 1600
    # The ARN of that secret (only the list function has it).
    cursor_secret_id: str = ""
    # Idempotency-Key records (only the upload function has the table).
    idempotency_table: str = ""
    # The API's responses: the origin a browser may read them from (the gallery's, or *).
    cors_allow_origin: str = "*"
    # The layer's JSON logger (``log``): a name ``logging`` knows, checked when it is configured.
    log_level: str = "INFO"
    # Per-service endpoints (AWS_ENDPOINT_URL_DYNAMODB, _S3, _SECRETS_MANAGER), by service name:
    # they win over ``endpoint_url`` for their service, as in every AWS SDK (``endpoint_for``).
    service_endpoint_urls: tuple[tuple[str, str], ...] = ()

    def endpoint_for(self, service: str) -> str | None:
        """The endpoint of ``service`` ("dynamodb", "s3", "secretsmanager"): its own variable's,
        else ``AWS_ENDPOINT_URL``'s, else none (the service's regional endpoint)."""
        return dict(self.service_endpoint_urls).get(service, self.endpoint_url)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ) if env is None else env
        ttl = int(env.get("DOWNLOAD_URL_TTL_SECONDS", "300"))
        if not 1 <= ttl <= MAX_DOWNLOAD_URL_TTL_SECONDS:
            raise ValueError(f"DOWNLOAD_URL_TTL_SECONDS must be 1..{MAX_DOWNLOAD_URL_TTL_SECONDS}")
        max_bytes = int(env.get("MAX_IMAGE_BYTES", str(DEFAULT_MAX_IMAGE_BYTES)))
        if not 1 <= max_bytes <= DEFAULT_MAX_IMAGE_BYTES:
            raise ValueError(f"MAX_IMAGE_BYTES must be 1..{DEFAULT_MAX_IMAGE_BYTES}")
        bucket_name = env.get("S3_BUCKET_NAME", "")
        if not bucket_name:
            # Every function reads or writes the bucket: without it, fail the init, not a request.
            raise ValueError("S3_BUCKET_NAME is not set")
        return cls(
            bucket_name=bucket_name,
            images_table=env.get("IMAGES_TABLE_NAME", "images"),
            image_tags_table=env.get("IMAGE_TAGS_TABLE_NAME", "image_tags"),
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            endpoint_url=None if _endpoints_ignored(env) else env.get("AWS_ENDPOINT_URL") or None,
            service_endpoint_urls=_service_endpoints(env),
            max_image_bytes=max_bytes,
            download_url_ttl_seconds=ttl,
            auth_mode=_auth_mode(env.get("AUTH_MODE", "cognito")),
            max_direct_upload_bytes=_bounded(
                env, "MAX_DIRECT_UPLOAD_BYTES", DEFAULT_MAX_DIRECT_UPLOAD_BYTES, 1, MAX_DIRECT_UPLOAD_BYTES
            ),
            upload_url_ttl_seconds=_bounded(env, "UPLOAD_URL_TTL_SECONDS", 900, 1, 3600),
            pending_upload_ttl_seconds=_bounded(env, "PENDING_UPLOAD_TTL_SECONDS", 86_400, 60, 7 * 86_400),
            thumbnail_max_side=_bounded(env, "THUMBNAIL_MAX_SIDE", 320, 16, 2048),
            display_max_side=_bounded(env, "DISPLAY_MAX_SIDE", 1600, 320, 4096),
            # Only the list function signs cursors; the others have no such variable.
            cursor_secret_id=env.get("CURSOR_SECRET_ARN", ""),
            idempotency_table=env.get("IDEMPOTENCY_TABLE_NAME", ""),
            cors_allow_origin=env.get("CORS_ALLOW_ORIGIN", "*"),
            log_level=env.get("LOG_LEVEL", "INFO"),
        )

    def __repr__(self) -> str:
        # The cursor key is a secret: a traceback or a log line shows whether it is set, not it.
        shown = self._replace(cursor_secret=b"<set>" if self.cursor_secret else b"")
        return (
            "Settings(" + ", ".join(f"{name}={value!r}" for name, value in zip(self._fields, shown, strict=True)) + ")"
        )


def _bounded(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    value = int(env.get(name, str(default)))
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low}..{high}")
    return value


def _auth_mode(value: str) -> str:
    if value not in ("cognito", "none"):
        raise ValueError("AUTH_MODE must be cognito or none")
    return value


# The services the layer calls, by the name of their endpoint variable (the SDKs' rule: the
# service id in capitals, spaces as underscores).
_ENDPOINT_VARIABLES = {
    "dynamodb": "AWS_ENDPOINT_URL_DYNAMODB",
    "s3": "AWS_ENDPOINT_URL_S3",
    "secretsmanager": "AWS_ENDPOINT_URL_SECRETS_MANAGER",
}


def _endpoints_ignored(env: dict[str, str]) -> bool:
    """AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true: the SDKs use the services' own endpoints."""
    return env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").strip().lower() == "true"


def _service_endpoints(env: dict[str, str]) -> tuple[tuple[str, str], ...]:
    if _endpoints_ignored(env):
        return ()
    return tuple((service, env[name]) for service, name in _ENDPOINT_VARIABLES.items() if env.get(name))
