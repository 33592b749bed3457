"""SigV4 signatures, pre-signed URLs and POST forms, checked as S3 checks them.

moto stores whatever a pre-signed URL or an upload form sends (or fails with a 500 when IAM is
enforced). S3 first checks the signature, the expiry and, for a POST form, every condition of
its policy. The AWS emulation (``moto_auth``) calls these checks before moto sees the request;
a violation becomes S3's XML error and nothing is stored.

Signatures are recomputed with botocore's own SigV4 signer and compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
MAX_PRESIGNED_EXPIRES = 7 * 24 * 3600  # S3: "X-Amz-Expires must be less than a week"
# Form fields that no policy condition has to name (S3's documented exceptions).
_UNCONDITIONED_FIELDS = frozenset({"policy", "x-amz-signature", "file"})


@dataclass
class S3Error(Exception):
    """An S3 error response: status, code, message and extra elements of its XML body."""

    status: int
    code: str
    message: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Credential:
    """The parts of a SigV4 credential scope: ``AKID/20260101/us-east-1/s3/aws4_request``."""

    access_key: str
    date: str
    region: str
    service: str

    @classmethod
    def parse(cls, scope: str) -> Credential:
        parts = scope.split("/")
        if len(parts) != 5 or parts[4] != "aws4_request":
            raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
        return cls(parts[0], parts[1], parts[2], parts[3])


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii", "replace"), given.encode("ascii", "replace"))


def parse_authorization(header: str) -> dict[str, str]:
    """``AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`` as a dict."""
    algorithm, _, rest = header.partition(" ")
    if algorithm != "AWS4-HMAC-SHA256":
        raise S3Error(400, "InvalidArgument", "Unsupported Authorization Type")
    parts = {}
    for item in rest.split(","):
        name, _, value = item.strip().partition("=")
        parts[name] = value
    if not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
        raise S3Error(400, "AuthorizationHeaderMalformed", "The authorization header is malformed.")
    return parts


def header_signature(
    credentials: Credentials,
    credential: Credential,
    *,
    method: str,
    raw_uri: str,
    headers: Mapping[str, str],
    signed_headers: list[str],
    body: bytes,
) -> str:
    """The signature of a request signed in its ``Authorization`` header (what the SDKs send)."""
    auth_class = S3SigV4Auth if credential.service == "s3" else SigV4Auth
    auth = auth_class(credentials, credential.service, credential.region)
    lowered = {name.lower(): value for name, value in headers.items()}
    request = AWSRequest(
        method=method,
        url=f"http://{lowered.get('host', 'localhost')}{raw_uri}",
        headers={name: lowered.get(name, "") for name in signed_headers},
        data=body,
    )
    request.context["timestamp"] = lowered.get("x-amz-date", "")
    return str(auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request))


def query_signature(
    credentials: Credentials,
    credential: Credential,
    *,
    method: str,
    raw_uri: str,
    host: str,
    headers: Mapping[str, str],
) -> tuple[str, dict[str, str]]:
    """The signature of a pre-signed URL, and its query parameters."""
    path, _, query = raw_uri.partition("?")
    pairs = [pair for pair in query.split("&") if pair and not pair.startswith("X-Amz-Signature=")]
    params = dict(parse_qsl(query, keep_blank_values=True))
    lowered = {name.lower(): value for name, value in headers.items()}
    lowered["host"] = host
    signed = params.get("X-Amz-SignedHeaders", "host").split(";")
    auth = S3SigV4QueryAuth(credentials, credential.service, credential.region)
    request = AWSRequest(
        method=method,
        url=f"http://{host}{path}?{'&'.join(pairs)}",
        headers={name: lowered.get(name, "") for name in signed},
    )
    request.context["timestamp"] = params.get("X-Amz-Date", "")
    return str(auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)), params


def check_presigned_url_times(params: Mapping[str, str], now: datetime | None = None) -> None:
    """S3's expiry rules for a pre-signed URL (``X-Amz-Date`` + ``X-Amz-Expires``)."""
    now = now or datetime.now(UTC)
    try:
        expires = int(params.get("X-Amz-Expires", ""))
        signed_at = datetime.strptime(params.get("X-Amz-Date", ""), SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise S3Error(
            400, "AuthorizationQueryParametersError", "X-Amz-Date and X-Amz-Expires must be present and valid."
        ) from None
    if expires < 1 or expires > MAX_PRESIGNED_EXPIRES:
        raise S3Error(
            400,
            "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is; 604800",
        )
    if now.timestamp() > signed_at.timestamp() + expires:
        expired_at = datetime.fromtimestamp(signed_at.timestamp() + expires, UTC)
        raise S3Error(
            403,
            "AccessDenied",
            "Request has expired",
            {
                "X-Amz-Expires": str(expires),
                "Expires": expired_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )


def post_signature(credentials: Credentials, credential: Credential, policy_b64: str, amz_date: str) -> str:
    """The signature S3 expects on a POST form: the policy signed with the form's credential."""
    auth = SigV4Auth(credentials, credential.service, credential.region)
    request = AWSRequest()
    request.context["timestamp"] = amz_date
    return str(auth.signature(policy_b64, request))


def decode_policy(policy_b64: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError):
        raise S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if not isinstance(policy, dict) or "expiration" not in policy or not isinstance(policy.get("conditions"), list):
        raise S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Policy missing expiration or conditions.")
    return policy


def _policy_failed(condition: Any) -> S3Error:
    message = f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}"
    return S3Error(403, "AccessDenied", message)


def check_post_policy(  # noqa: PLR0912 - one branch per kind of condition, as S3's documentation lists them
    policy: dict[str, Any], fields: Mapping[str, str], bucket: str, file_size: int, now: datetime | None = None
) -> None:
    """Every rule S3 applies to a POST form's policy: expiry, each condition, no unconditioned field.

    ``fields`` are the form's fields with lower-case names (S3 matches them case-insensitively),
    ``key`` already with ``${filename}`` replaced.
    """
    now = now or datetime.now(UTC)
    try:
        expiration = datetime.fromisoformat(str(policy["expiration"]).replace("Z", "+00:00"))
    except ValueError:
        raise S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value.") from None
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    if now >= expiration:
        raise S3Error(403, "AccessDenied", "Invalid according to Policy: Policy expired.")

    values = {**fields, "bucket": bucket}
    covered: set[str] = {"bucket"}
    for condition in policy["conditions"]:
        if isinstance(condition, dict):
            for name, expected in condition.items():
                covered.add(name.lower())
                if values.get(name.lower()) != expected:
                    raise _policy_failed(["eq", f"${name}", expected])
        elif isinstance(condition, list) and len(condition) == 3 and condition[0] == "content-length-range":
            low, high = int(condition[1]), int(condition[2])
            if file_size > high:
                raise S3Error(
                    400,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                    {"ProposedSize": str(file_size), "MaxSizeAllowed": str(high)},
                )
            if file_size < low:
                raise S3Error(
                    400,
                    "EntityTooSmall",
                    "Your proposed upload is smaller than the minimum allowed size",
                    {"ProposedSize": str(file_size), "MinSizeAllowed": str(low)},
                )
        elif isinstance(condition, list) and len(condition) == 3 and condition[0] in ("eq", "starts-with"):
            operator, name, expected = condition
            name = str(name).lstrip("$").lower()
            covered.add(name)
            actual = values.get(name)
            if actual is None:
                raise _policy_failed(condition)
            if operator == "eq" and actual != expected:
                raise _policy_failed(condition)
            # Content-Type may list several values; each must start with the prefix.
            candidates = actual.split(",") if name == "content-type" else [actual]
            if operator == "starts-with" and not all(value.strip().startswith(expected) for value in candidates):
                raise _policy_failed(condition)
        else:
            raise S3Error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition.")
    free = covered | _UNCONDITIONED_FIELDS
    extra = sorted(name for name in fields if name not in free and not name.startswith("x-ignore-"))
    if extra:
        raise S3Error(403, "AccessDenied", f"Invalid according to Policy: Extra input fields: {', '.join(extra)}")


def s3_error_xml(error: S3Error, request_id: str, resource: str = "") -> bytes:
    parts = [f"<Code>{escape(error.code)}</Code>", f"<Message>{escape(error.message)}</Message>"]
    parts += [f"<{name}>{escape(value)}</{name}>" for name, value in error.extra.items()]
    if resource:
        parts.append(f"<Resource>{escape(resource)}</Resource>")
    parts += [f"<RequestId>{request_id}</RequestId>", f"<HostId>{request_id}</HostId>"]
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>").encode()
