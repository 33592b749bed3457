"""API Gateway (REST, proxy integration) requests and responses, and the error shape.

``api_handler`` is the single place where exceptions become HTTP: a ``ServiceError`` becomes
its status with ``{"message", "code"}``; anything else becomes a generic 500 whose details go to
the log only. It is built once per container from ``Settings`` (log level, CORS origin) and keeps
the container's one piece of state: whether its first request is still to come (``cold_start``).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson

from . import log, metrics
from .config import Settings
from .errors import BadRequest, ServiceError
from .validation import query_lists, single_query_values

LambdaResponse = dict[str, Any]
Handler = Callable[[dict[str, Any], Any], LambdaResponse]

logger = logging.getLogger("image_service")


def _headers() -> dict[str, str]:
    # Access-Control-Allow-Origin is the deployment's: api_handler adds it to every response.
    return {
        "Content-Type": "application/json",
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        # A browser on another origin may read only the headers named here (the gallery: ETag).
        "Access-Control-Expose-Headers": "ETag",
    }


def json_response(status: int, body: Any) -> LambdaResponse:
    return {"statusCode": status, "headers": _headers(), "body": json_text(body)}


def json_text(value: Any) -> str:
    """``value`` as compact JSON, UTF-8 characters unescaped. orjson makes a page of 20 photos in
    ~7 µs where ``json.dumps`` took ~110 (a third of the list function's own time); what orjson
    refuses (a lone surrogate from a client's ``\\ud800``, an int past 64 bits) takes ``json``'s way."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def no_content() -> LambdaResponse:
    headers = _headers()
    del headers["Content-Type"]
    return {"statusCode": 204, "headers": headers, "body": ""}


def error_response(status: int, code: str, message: str) -> LambdaResponse:
    return json_response(status, {"message": message, "code": code})


def request_body(event: dict[str, Any]) -> str | None:
    """The body as text, undoing API Gateway's base64 for binary media types."""
    body = event.get("body")
    if body is None or not event.get("isBase64Encoded"):
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise BadRequest("request body must be UTF-8 JSON", code="invalid_json") from exc


def request_bytes(event: dict[str, Any]) -> bytes:
    """The raw body: API Gateway base64-encodes bodies of its binary media types (image/*)."""
    body = event.get("body") or ""
    if not event.get("isBase64Encoded"):
        return body.encode("utf-8")
    try:
        # a2b_base64 reads an ASCII str in place; base64.b64decode would first copy it to bytes.
        return binascii.a2b_base64(body, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("request body is not valid base64", code="invalid_body") from exc


def header(event: dict[str, Any], name: str) -> str | None:
    """A request header, whatever its case (HTTP headers are case-insensitive)."""
    wanted = name.lower()
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == wanted:
            return str(value)
    return None


def query_parameters(event: dict[str, Any]) -> dict[str, str]:
    return single_query_values(event.get("multiValueQueryStringParameters"), event.get("queryStringParameters"))


def query_as_sent(event: dict[str, Any]) -> dict[str, list[str]]:
    """Every value of every query parameter, unchecked: what names a request, or refuses its query
    whole. Reading one value is ``query_parameters``, which refuses a repeated parameter."""
    return query_lists(event.get("multiValueQueryStringParameters"), event.get("queryStringParameters"))


def api_handler(settings: Settings) -> Callable[[Handler], Handler]:
    """A decorator for the container's handler: request-id logging, one access line per request
    (``cold_start`` true on the first), errors to HTTP, the CORS origin on every response.

    Called once, at cold start: it configures the JSON logs at ``settings.log_level``."""
    log.configure(settings.log_level)

    def decorate(func: Handler) -> Handler:
        return functools.wraps(func)(_ApiHandler(func, settings.cors_allow_origin))

    return decorate


class _ApiHandler:
    def __init__(self, func: Handler, cors_allow_origin: str) -> None:
        self._func = func
        self._cors_allow_origin = cors_allow_origin
        self._cold = True  # until the container's first request

    def __call__(self, event: dict[str, Any], context: Any) -> LambdaResponse:
        started = time.perf_counter()
        route = f"{event.get('httpMethod', '?')} {event.get('resource', '?')}"
        cold, self._cold = self._cold, False
        with log.request_context(context):
            try:
                response = self._func(event, context)
            except ServiceError as exc:
                level = 40 if exc.status >= 500 else 20
                logger.log(level, "request failed", extra={"code": exc.code}, exc_info=exc.status >= 500)
                if exc.status < 500:  # the one place every 4xx passes: count it by code
                    metrics.rejected(exc.code)
                response = error_response(exc.status, exc.code, exc.message)
            except Exception:
                logger.exception("unhandled error")
                response = error_response(500, "internal_error", "Internal server error")
            logger.info(
                "request",
                extra={
                    "route": route,
                    "status": response["statusCode"],
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "cold_start": cold,
                },
            )
        response["headers"]["Access-Control-Allow-Origin"] = self._cors_allow_origin
        return response


def with_etag(response: LambdaResponse, etag: str) -> LambdaResponse:
    """``response`` carrying the ETag of the photo it describes."""
    response["headers"]["ETag"] = etag
    return response


def not_modified(etag: str) -> LambdaResponse:
    """304: the client's copy (``If-None-Match``) is current; no body (RFC 9110 15.4.5)."""
    return with_etag({**no_content(), "statusCode": 304}, etag)
