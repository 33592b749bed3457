"""Lambda's Invoke API on the local mode, like ``sam local start-lambda``:
``POST /2015-03-31/functions/{FunctionName}/invocations``, so boto3's Lambda client and
``aws lambda invoke --endpoint-url http://127.0.0.1:3000`` reach the template's functions.

Invocation types as Lambda has them (``X-Amz-Invocation-Type``): ``RequestResponse`` (the
payload back; a function error is a 200 with ``X-Amz-Function-Error: Unhandled``), ``Event``
(202 at once, delivered by the asynchronous invoker with Lambda's retries) and ``DryRun`` (204).
Errors are Lambda's: 404 ``ResourceNotFoundException``, 400 ``InvalidRequestContentException``,
413 ``RequestTooLargeException``, each named in ``x-amzn-ErrorType`` as boto3 reads it.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from .functions import FunctionError, FunctionPool, FunctionTimeout
from .notifications import AsyncInvoker
from .template import ACCOUNT_ID, REGION
from .worker import LAMBDA_MAX_PAYLOAD_BYTES

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<name>[^/]+)/invocations$")
ASYNC_PAYLOAD_LIMIT = 1_048_576  # bytes, Event (1 MB since October 2025; 256 KB before)

Response = tuple[int, list[tuple[str, str]], bytes]


def function_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"


def _error(status: int, error_type: str, message: str, request_id: str) -> Response:
    headers = [
        ("Content-Type", "application/json"),
        ("x-amzn-RequestId", request_id),
        ("x-amzn-ErrorType", error_type),
    ]
    body = {"Type": "User", "message": message}
    return status, headers, json.dumps(body).encode()


def _resolve(name: str, pools: dict[str, FunctionPool]) -> tuple[FunctionPool | None, str]:
    """A function by logical id, or by an ARN (or partial ``account:function:name``) ending in it;
    a qualifier other than ``$LATEST`` names a version the local mode does not have."""
    parts = name.split(":")
    if "function" in parts:  # arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER] or ACCOUNT:function:NAME
        parts = parts[parts.index("function") + 1 :]
    base = parts[0] if parts else ""
    qualifier = parts[1] if len(parts) > 1 else None
    if qualifier not in (None, "$LATEST"):
        return None, base
    return pools.get(base), base


def handle_invoke(  # noqa: PLR0911 - one return per answer Lambda's Invoke API can give
    name: str,
    query: dict[str, list[str]],
    headers: dict[str, list[str]],
    body: bytes | None,
    pools: dict[str, FunctionPool],
    invoker: AsyncInvoker | None,
    request_id: str,
) -> Response:
    lowered = {key.lower(): values[-1] for key, values in headers.items()}
    name = unquote(name)
    qualifier = (query.get("Qualifier") or [None])[-1]
    pool, base = _resolve(name if not qualifier else f"{name}:{qualifier}", pools)
    if pool is None:
        shown = function_arn(base) + (f":{qualifier}" if qualifier else "")
        return _error(404, "ResourceNotFoundException", f"Function not found: {shown}", request_id)
    invocation_type = lowered.get("x-amz-invocation-type", "RequestResponse")
    if invocation_type not in ("RequestResponse", "Event", "DryRun"):
        return _error(
            400,
            "InvalidParameterValueException",
            f"Unsupported invocation type: {invocation_type}",
            request_id,
        )
    payload_bytes = body or b""
    limit = ASYNC_PAYLOAD_LIMIT if invocation_type == "Event" else LAMBDA_MAX_PAYLOAD_BYTES
    if len(payload_bytes) > limit:
        message = (
            f"{len(payload_bytes)} byte payload is too large for the {invocation_type} invocation type "
            f"(limit {limit} bytes)"
        )
        return _error(413, "RequestTooLargeException", message, request_id)
    try:
        event: Any = json.loads(payload_bytes) if payload_bytes.strip() else {}
    except ValueError as exc:
        return _error(
            400, "InvalidRequestContentException", f"Could not parse request body into json: {exc}", request_id
        )
    common = [("x-amzn-RequestId", request_id), ("X-Amz-Executed-Version", "$LATEST")]
    if invocation_type == "DryRun":
        return 204, common, b""
    if invocation_type == "Event":
        if invoker is None:
            return _error(500, "ServiceException", "asynchronous invocation is not available", request_id)
        invoker.submit(pool, event, f"Invoke {base}")
        return 202, [("x-amzn-RequestId", request_id)], b""
    try:
        result = pool.invoke(event, request_id)
    except FunctionTimeout:
        error = {
            "errorMessage": f"Task timed out after {float(pool.spec.timeout):.2f} seconds",
            "errorType": "Sandbox.Timedout",
        }
        return (
            200,
            [*common, ("X-Amz-Function-Error", "Unhandled"), ("Content-Type", "application/json")],
            json.dumps(error).encode(),
        )
    except FunctionError as exc:
        error = {"errorMessage": exc.message, "errorType": exc.error_type}
        return (
            200,
            [*common, ("X-Amz-Function-Error", "Unhandled"), ("Content-Type", "application/json")],
            json.dumps(error).encode(),
        )
    return 200, [*common, ("Content-Type", "application/json")], json.dumps(result.payload).encode()
