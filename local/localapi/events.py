"""API Gateway REST (v1) proxy events, built the way API Gateway builds them.

See "Input format of a Lambda function for proxy integration" in the API Gateway developer guide:
single-value maps keep the last value of a repeated header or query parameter, the multi-value
maps keep all of them, and a body is base64-encoded when its content type is a binary media type.
"""

from __future__ import annotations

import base64
import fnmatch
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from .template import ACCOUNT_ID

API_ID = "local"


def _single(multi: dict[str, list[str]]) -> dict[str, str] | None:
    return {name: values[-1] for name, values in multi.items()} or None


def is_binary(content_type: str | None, binary_media_types: list[str]) -> bool:
    if not content_type:
        return False
    media_type = content_type.split(";", 1)[0].strip().lower()
    return any(fnmatch.fnmatch(media_type, pattern.lower()) for pattern in binary_media_types)


def build_proxy_event(
    *,
    method: str,
    resource: str,
    path: str,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, list[str]] | None = None,
    headers: dict[str, list[str]] | None = None,
    body: bytes | None = None,
    binary_media_types: list[str] | None = None,
    stage: str = "dev",
    source_ip: str = "127.0.0.1",
    request_id: str | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = headers or {}
    query = query or {}
    request_id = request_id or str(uuid.uuid4())
    now = datetime.now(UTC)
    content_type = next((values[-1] for name, values in headers.items() if name.lower() == "content-type"), None)
    encoded = body is not None and is_binary(content_type, binary_media_types or [])
    if body is None:
        body_text = None
    elif encoded:
        body_text = base64.b64encode(body).decode("ascii")
    else:
        body_text = body.decode("utf-8", errors="replace")
    request_context: dict[str, Any] = {
        "resourceId": "local",
        "resourcePath": resource,
        "httpMethod": method,
        "extendedRequestId": request_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "path": f"/{stage}{path}",
        "accountId": ACCOUNT_ID,
        "protocol": "HTTP/1.1",
        "stage": stage,
        "domainPrefix": "localhost",
        "requestTimeEpoch": int(time.time() * 1000),
        "requestId": request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "sourceIp": source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": next((v[-1] for n, v in headers.items() if n.lower() == "user-agent"), None),
            "user": None,
        },
        "domainName": "localhost",
        "apiId": API_ID,
    }
    if authorizer is not None:
        request_context["authorizer"] = authorizer
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": _single(headers),
        "multiValueHeaders": headers or None,
        "queryStringParameters": _single(query),
        "multiValueQueryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": request_context,
        "body": body_text,
        "isBase64Encoded": encoded,
    }
