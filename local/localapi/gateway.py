"""An API Gateway (REST API, Lambda proxy integration) emulator over HTTP.

Routes come from the template's ``Api`` events. For each request it builds the proxy event API
Gateway would send, invokes the function's warm worker and maps the proxy response back. It
answers itself where API Gateway would: an unknown route or method is ``403 Missing
Authentication Token``, an event over Lambda's 6 MB payload is ``413``, a function past its
``Timeout`` is ``504``, and a crash or malformed response is ``502 Internal server error``.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .cognito import TOKEN_TTL_SECONDS, InvalidToken, LocalUserPool, is_cognito_username
from .events import build_proxy_event
from .functions import FunctionError, FunctionPool, FunctionTimeout
from .template import Template

logger = logging.getLogger("localapi")

LAMBDA_MAX_PAYLOAD_BYTES = 6_291_456  # synchronous invocation request limit
API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024  # REST API payload limit

# The gateway's own responses: type -> (status, message), as API Gateway names them.
GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "UNAUTHORIZED": (401, "Unauthorized"),
}

Response = tuple[int, list[tuple[str, str]], bytes]

# Where the local mode hands out ID tokens when AUTH_MODE=cognito (not part of the deployed API).
TOKEN_PATH = "/_local/token"  # noqa: S105 - a URL path, not a password
CORS_HEADERS = {
    "AllowOrigin": "Access-Control-Allow-Origin",
    "AllowHeaders": "Access-Control-Allow-Headers",
    "AllowMethods": "Access-Control-Allow-Methods",
    "MaxAge": "Access-Control-Max-Age",
}


@dataclass(frozen=True)
class ApiRoute:
    method: str
    resource: str
    pattern: re.Pattern[str]
    pool: FunctionPool


def _resource_pattern(resource: str) -> re.Pattern[str]:
    parts = []
    for segment in resource.strip("/").split("/"):
        greedy = re.fullmatch(r"\{(\w+)\+\}", segment)
        plain = re.fullmatch(r"\{(\w+)\}", segment)
        if greedy:
            parts.append(f"(?P<{greedy.group(1)}>.+)")
        elif plain:
            parts.append(f"(?P<{plain.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


class Gateway:
    def __init__(
        self,
        template: Template,
        pools: dict[str, FunctionPool],
        *,
        stage: str = "dev",
        user_pool: LocalUserPool | None = None,
    ) -> None:
        self.stage = stage
        self.user_pool = user_pool
        # Routes behind the Cognito authorizer (DefinitionBody "security", resolved for AuthMode).
        self.protected = template.protected_routes()
        self.routes: list[ApiRoute] = []
        for spec in template.functions():
            for route in spec.routes:
                pool = pools[spec.logical_id]
                self.routes.append(ApiRoute(route.method, route.path, _resource_pattern(route.path), pool))
        # Literal segments win over parameters, as in API Gateway.
        self.routes.sort(key=lambda r: (r.resource.count("{"), -len(r.resource)))
        api = template.api_properties()
        self.cors = {name: str(value).strip("'") for name, value in (api.get("Cors") or {}).items()}
        self.binary_media_types = [t.replace("~1", "/") for t in api.get("BinaryMediaTypes", [])]
        self.gateway_responses: dict[str, Any] = api.get("GatewayResponses", {})
        # Static pages served beside the API by the local mode (docs, web app), by path.
        self.extra_routes: dict[str, Callable[[], Response]] = {}

    # -- responses the gateway makes itself ---------------------------------------------------

    def gateway_error(self, kind: str, request_id: str) -> Response:
        status, message = GATEWAY_ERRORS[kind]
        family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
        configured = self.gateway_responses.get(kind) or self.gateway_responses.get(family) or {}
        template = configured.get("ResponseTemplates", {}).get("application/json")
        if template:
            body = template.replace("$context.error.messageString", json.dumps(message))
            body = body.replace("$context.error.responseType", kind).replace("$context.requestId", request_id)
        else:
            body = json.dumps({"message": message})
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        if kind == "MISSING_AUTHENTICATION_TOKEN":
            headers.append(("x-amzn-ErrorType", "MissingAuthenticationTokenException"))
        for name, value in configured.get("ResponseParameters", {}).get("Headers", {}).items():
            headers.append((name, value.strip("'")))
        return status, headers, body.encode()

    def preflight(self, request_id: str) -> Response:
        """The OPTIONS answer of SAM's ``Cors`` setting (a mock integration in API Gateway)."""
        headers = [("x-amzn-RequestId", request_id)]
        for name, header in CORS_HEADERS.items():
            if name in self.cors:
                headers.append((header, self.cors[name]))
        return 200, headers, b""

    def issue_token(self, body: bytes | None, request_id: str) -> Response:
        """``POST /_local/token {"username": ...}``: an ID token, as signing in to Cognito gives."""
        assert self.user_pool is not None
        try:
            username = json.loads(body or b"{}").get("username")
        except (ValueError, AttributeError):
            username = None
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        # Every name a Cognito user pool accepts, and only those.
        if not isinstance(username, str) or not is_cognito_username(username):
            return 400, headers, b'{"message": "username is required", "code": "invalid_user_id"}'
        token = self.user_pool.issue_id_token(username)
        body_out = {"id_token": token, "token_type": "Bearer", "expires_in": TOKEN_TTL_SECONDS, "username": username}
        return 200, headers, json.dumps(body_out).encode()

    @staticmethod
    def internal_error(request_id: str) -> Response:
        # A Lambda proxy failure: API Gateway answers this fixed body, whatever is configured.
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", request_id)]
        return 502, headers, b'{"message": "Internal server error"}'

    # -- requests ---------------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[ApiRoute, dict[str, str]] | None:
        for route in self.routes:
            found = route.pattern.match(path)
            if found and route.method in (method, "ANY"):
                return route, {name: unquote(value) for name, value in found.groupdict().items()}
        return None

    def handle(  # noqa: PLR0911 - one return per answer API Gateway can give
        self, method: str, target: str, headers: dict[str, list[str]], body: bytes | None, source_ip: str
    ) -> Response:
        request_id = str(uuid.uuid4())
        parts = urlsplit(target)
        path = unquote(parts.path) or "/"
        if self.user_pool is not None and method == "POST" and path == TOKEN_PATH:
            return self.issue_token(body, request_id)
        if method == "OPTIONS" and self.cors and any(route.pattern.match(path) for route in self.routes):
            return self.preflight(request_id)
        matched = self.match(method, path)
        if matched is None:
            return self.gateway_error("MISSING_AUTHENTICATION_TOKEN", request_id)
        route, path_parameters = matched
        authorizer = None
        if (route.method, route.resource) in self.protected:
            if self.user_pool is None:
                return self.gateway_error("UNAUTHORIZED", request_id)
            authorization = next((v[-1] for n, v in headers.items() if n.lower() == "authorization"), None)
            try:
                authorizer = {"claims": self.user_pool.verify(authorization)}
            except InvalidToken:
                return self.gateway_error("UNAUTHORIZED", request_id)
        query = {name: values for name, values in parse_qs(parts.query, keep_blank_values=True).items()}
        event = build_proxy_event(
            method=method,
            resource=route.resource,
            path=path,
            path_parameters=path_parameters,
            query=query,
            headers=headers,
            body=body if body else None,
            binary_media_types=self.binary_media_types,
            stage=self.stage,
            source_ip=source_ip,
            request_id=request_id,
            authorizer=authorizer,
        )
        if len(json.dumps(event)) > LAMBDA_MAX_PAYLOAD_BYTES:
            return self.gateway_error("REQUEST_TOO_LARGE", request_id)
        try:
            result = route.pool.invoke(event, request_id)
        except FunctionTimeout:
            logger.warning("%s timed out after %s s", route.pool.spec.logical_id, route.pool.spec.timeout)
            return self.gateway_error("INTEGRATION_TIMEOUT", request_id)
        except FunctionError as exc:
            logger.warning("%s failed: %s", route.pool.spec.logical_id, exc)
            return self.internal_error(request_id)
        return self.proxy_response(result.payload, request_id)

    def proxy_response(self, payload: Any, request_id: str) -> Response:
        """Map a Lambda proxy response to HTTP; a malformed one is a 502, as in API Gateway."""
        if not isinstance(payload, dict) or not isinstance(payload.get("statusCode"), int):
            logger.warning("malformed Lambda proxy response")
            return self.internal_error(request_id)
        body = payload.get("body") or ""
        try:
            raw = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode()
        except ValueError:
            return self.internal_error(request_id)
        merged: dict[str, list[str]] = {
            name: [str(v) for v in values] for name, values in (payload.get("multiValueHeaders") or {}).items()
        }
        for name, value in (payload.get("headers") or {}).items():
            merged.setdefault(name, [str(value)])
        headers = [(name, value) for name, values in merged.items() for value in values]
        if not any(name.lower() == "content-type" for name, _ in headers) and raw:
            headers.append(("Content-Type", "application/json"))
        headers.append(("x-amzn-RequestId", request_id))
        return payload["statusCode"], headers, raw


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    gateway: Gateway | None = None


def make_http_server(gateway: Gateway | None, host: str, port: int) -> GatewayServer:
    """An HTTP server for ``gateway`` (which may be set later, once the server's port is known)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "localapi"
        # TCP_NODELAY: headers and body go out in two writes; with Nagle on, a keep-alive client's
        # delayed ACK stalled every response ~40 ms (make bench: get p50 52 ms -> 4 ms).
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            started = time.perf_counter()
            gateway = self.server.gateway  # type: ignore[attr-defined]
            length = int(self.headers.get("Content-Length") or 0)
            if length > API_GATEWAY_MAX_BODY_BYTES:
                status, headers, body = gateway.gateway_error("REQUEST_TOO_LARGE", str(uuid.uuid4()))
                self.close_connection = True  # the body is not read
            else:
                raw_body = self.rfile.read(length) if length else None
                extra = gateway.extra_routes.get(urlsplit(self.path).path) if self.command == "GET" else None
                if extra is not None:
                    status, headers, body = extra()
                else:
                    multi: dict[str, list[str]] = {}
                    for name, value in self.headers.items():
                        multi.setdefault(name, []).append(value)
                    status, headers, body = gateway.handle(
                        self.command, self.path, multi, raw_body, self.client_address[0]
                    )
            self.send_response_only(status)
            for name, value in headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Date", self.date_time_string())
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            request_id = next((v for n, v in headers if n == "x-amzn-RequestId"), "-")
            latency = (time.perf_counter() - started) * 1000
            # Like an API Gateway access log line: who, what, status, latency, request id.
            sys.stderr.write(
                f'{self.client_address[0]} "{self.command} {self.path[:200]}" {status} {len(body)}B '
                f"{latency:.0f}ms requestId={request_id}\n"
            )

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def __getattr__(self, name: str) -> Any:
            # Any other method (TRACE, QUERY, ...) gets API Gateway's answer too, not http.server's
            # HTML 501: the gateway decides (no route takes it: 403 Missing Authentication Token).
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # replaced by the access log line above

    server = GatewayServer((host, port), Handler)
    server.gateway = gateway
    return server
