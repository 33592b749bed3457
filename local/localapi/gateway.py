"""An API Gateway (REST API, Lambda proxy integration) emulator over HTTP.

Routes come from the template's ``Api`` events. For each request it builds the proxy event API
Gateway would send, invokes the function's warm worker and maps the proxy response back. It
answers itself where API Gateway would: an unknown route or method is ``403 Missing
Authentication Token``, an event over Lambda's 6 MB payload is ``413``, a function past its
``Timeout`` is ``504``, and a crash or malformed response is ``502 Internal server error``.
"""

from __future__ import annotations

import base64
import email.utils
import io
import json
import logging
import os
import re
import socket
import sys
import threading
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
from .http_io import end_headers_with_body
from .lambda_api import INVOKE_PATH, handle_invoke
from .notifications import AsyncInvoker
from .template import Template
from .worker import LAMBDA_MAX_PAYLOAD_BYTES

logger = logging.getLogger("localapi")

API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024  # REST API payload limit

# The gateway's own responses: type -> (status, message), as API Gateway names them.
GATEWAY_ERRORS = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "REQUEST_TOO_LARGE": (413, "Request Too Long"),
    "INTEGRATION_TIMEOUT": (504, "Endpoint request timed out"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "THROTTLED": (429, "Too Many Requests"),
    # The HTTP layer's refusals (framing, size of the request line and headers); these are not
    # API Gateway response types of their own, so DEFAULT_4XX shapes them.
    "BAD_REQUEST": (400, "Bad Request"),
    "URI_TOO_LONG": (414, "Request-URI Too Long"),
    "REQUEST_HEADER_FIELDS_TOO_LARGE": (431, "Request Header Fields Too Large"),
}

Response = tuple[int, list[tuple[str, str]], bytes]

# The local mode's hint on a puzzling gateway answer (not sent by API Gateway).
LOCAL_HINT_HEADER = "x-local-hint"
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


def _printable(text: str) -> str:
    """Visible ASCII only: safe in a header and a log line whatever the client sent."""
    return re.sub(r"[^!-~]", "?", text)


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
        self.pools = pools
        # Lambda's Invoke API beside the API (lambda_api.py); Event invocations go to this invoker.
        self.async_invoker: AsyncInvoker | None = None
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

    @staticmethod
    def hinted(response: Response, hint: str) -> Response:
        """A gateway answer as AWS gives it, plus the local mode's hint: an ``x-local-hint`` header
        (AWS has none) and a log line, for the refusals that puzzle people."""
        logger.info("hint: %s", hint)
        status, headers, body = response
        return status, [*headers, (LOCAL_HINT_HEADER, hint)], body

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
        invocation = INVOKE_PATH.match(parts.path) if method == "POST" else None
        if invocation is not None:
            query = parse_qs(parts.query, keep_blank_values=True)
            return handle_invoke(
                invocation.group("name"), query, headers, body, self.pools, self.async_invoker, request_id
            )
        if method == "OPTIONS" and self.cors and any(route.pattern.match(path) for route in self.routes):
            return self.preflight(request_id)
        matched = self.match(method, path)
        if matched is None:
            # API Gateway's answer, to the byte; the hint (a header and a log line) is the local mode's.
            return self.hinted(
                self.gateway_error("MISSING_AUTHENTICATION_TOKEN", request_id),
                f"no route {_printable(method[:20])} {_printable(parts.path[:100])}: API Gateway answers an "
                "unknown route or method this way; "
                "the routes are at /docs",
            )
        route, path_parameters = matched
        authorizer = None
        if (route.method, route.resource) in self.protected:
            if self.user_pool is None:
                return self.gateway_error("UNAUTHORIZED", request_id)
            authorization = next((v[-1] for n, v in headers.items() if n.lower() == "authorization"), None)
            try:
                authorizer = {"claims": self.user_pool.verify(authorization)}
            except InvalidToken:
                missing = not authorization
                return self.hinted(
                    self.gateway_error("UNAUTHORIZED", request_id),
                    ("no Authorization header" if missing else "the token was refused (expired or not ours)")
                    + ": get an ID token with `make token USER=alice` and send -H 'Authorization: Bearer <token>'",
                )
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
        event_json = json.dumps(event)  # made once: checked against Lambda's limit, then sent
        if len(event_json) > LAMBDA_MAX_PAYLOAD_BYTES:
            return self.gateway_error("REQUEST_TOO_LARGE", request_id)
        try:
            result = route.pool.invoke(event, request_id, event_json=event_json)
        except FunctionTimeout:
            logger.warning("%s timed out after %s s", route.pool.spec.logical_id, route.pool.spec.timeout)
            return self.gateway_error("INTEGRATION_TIMEOUT", request_id)
        except FunctionError as exc:
            logger.warning("%s failed: %s", route.pool.spec.logical_id, exc)
            return self.internal_error(request_id)
        status, headers, raw = self.proxy_response(result.payload, request_id)
        if result.timing:  # LOCALAPI_SERVER_TIMING (the bench): where the time went, as browsers show it
            headers.append(("Server-Timing", ", ".join(f"{name[:-3]};dur={ms}" for name, ms in result.timing.items())))
        return status, headers, raw

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


# -- the HTTP layer: what API Gateway's front door enforces before any integration runs ----------

# API Gateway's quota: request line plus headers at most 10,240 bytes.
MAX_REQUEST_LINE_BYTES = 10_240
MAX_HEADER_BYTES = 10_240
_CONTROL = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


# The gateway writes these itself: a function's own would contradict the framing.
_FRAMING_HEADERS = ("content-length", "connection", "transfer-encoding")
_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header's value, made once a second (http.server makes it with the email package
    on every response)."""
    global _date_cache  # noqa: PLW0603 - one value shared by every connection's thread
    now = int(time.time())
    second, text = _date_cache
    if second != now:
        text = email.utils.formatdate(now, usegmt=True)
        _date_cache = (now, text)
    return text


def _escape(text: str) -> str:
    """A log-safe rendering: control characters (a forged log line's newline), quotes, backslashes."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class _BadRequest(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _DeadlineReader(io.RawIOBase):
    """The socket's read side with a deadline for the whole request, not for each ``recv``.

    A per-``recv`` timeout lets a client that sends one byte every few seconds hold a thread
    forever (slowloris); before each read the remaining time becomes the socket's timeout.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.deadline = 0.0
        self.ended = False  # the client closed its side: nothing more will arrive

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request deadline passed")
        self._sock.settimeout(remaining)
        received = self._sock.recv_into(buffer)
        self.ended = self.ended or received == 0
        return received


class GatewayServer(ThreadingHTTPServer):
    """A thread per connection, with API Gateway's limits on connections, time and size.

    ``idle_timeout``: how long a keep-alive connection may wait for its next request.
    ``request_timeout``: how long a client may take to send one request (line, headers, body).
    ``max_connections``: open connections served at once; more are answered 429 and closed.
    """

    daemon_threads = True
    gateway: Gateway | None = None
    idle_timeout = float(os.environ.get("LOCALAPI_IDLE_TIMEOUT", "30"))
    request_timeout = float(os.environ.get("LOCALAPI_REQUEST_TIMEOUT", "10"))
    max_connections = int(os.environ.get("LOCALAPI_MAX_CONNECTIONS", "64"))

    def server_activate(self) -> None:
        super().server_activate()
        self.connection_slots = threading.BoundedSemaphore(self.max_connections)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.connection_slots.acquire(blocking=False):
            self._refuse(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.connection_slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.connection_slots.release()

    def _refuse(self, request: socket.socket) -> None:
        """Over the connection limit: API Gateway's throttling answer, without reading the request."""
        status, headers, body = (
            self.gateway.gateway_error("THROTTLED", str(uuid.uuid4()))
            if self.gateway is not None
            else (429, [], b'{"message": "Too Many Requests"}')
        )
        head = [f"HTTP/1.1 {status} Too Many Requests", "Connection: close", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers]
        try:
            request.settimeout(1.0)
            request.sendall("\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + body)
        except OSError:
            pass
        self.shutdown_request(request)


def make_http_server(gateway: Gateway | None, host: str, port: int) -> GatewayServer:
    """An HTTP server for ``gateway`` (which may be set later, once the server's port is known)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "localapi"
        # TCP_NODELAY: with Nagle on, a keep-alive client's delayed ACK stalled every response
        # that left in two writes ~40 ms (make bench: get p50 52 ms -> 4 ms).
        disable_nagle_algorithm = True
        server: GatewayServer

        def setup(self) -> None:
            super().setup()
            self.rfile.close()  # replaced by a reader with a deadline (the socket stays open)
            self._reader = _DeadlineReader(self.connection)
            self.rfile = io.BufferedReader(self._reader, 65_536)

        def handle_one_request(self) -> None:
            # Idle: a kept-alive connection has idle_timeout for the first byte of its next request;
            # from then on the whole request (line, headers, body) must arrive within request_timeout.
            self._reader.deadline = time.monotonic() + self.server.idle_timeout
            try:
                if not self.rfile.peek(1):
                    self.close_connection = True
                    return
            except (TimeoutError, OSError):
                self.close_connection = True
                return
            self._reader.deadline = time.monotonic() + self.server.request_timeout
            self._started = time.perf_counter()
            super().handle_one_request()

        def parse_request(self) -> bool:
            if len(self.raw_requestline) > MAX_REQUEST_LINE_BYTES:
                self.requestline, self.request_version, self.command, self.path = "", "", "", ""
                self._answer(self._gateway().gateway_error("URI_TOO_LONG", str(uuid.uuid4())), close=True)
                return False
            if not super().parse_request():
                return False
            if self._reader.ended:
                # http.server ends the header block at the end of the stream as at a blank line: a
                # client that closed in the middle of its headers would have its request run.
                self._answer(self._gateway().gateway_error("BAD_REQUEST", str(uuid.uuid4())), close=True)
                return False
            return True

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server's own refusals (bad request line, too many headers, a header line over
            # 64 KiB, an unsupported version) in API Gateway's JSON instead of an HTML page.
            kind = {414: "URI_TOO_LONG", 431: "REQUEST_HEADER_FIELDS_TOO_LARGE"}.get(code, "BAD_REQUEST")
            self._answer(self._gateway().gateway_error(kind, str(uuid.uuid4())), close=True)

        def _gateway(self) -> Gateway:
            gateway = self.server.gateway
            assert gateway is not None
            return gateway

        def _read_body(self) -> bytes | None:
            """The request body, framed strictly: chunked, or exactly Content-Length bytes."""
            encodings = self.headers.get_all("Transfer-Encoding") or []
            lengths = self.headers.get_all("Content-Length") or []
            if encodings:
                # Both framings at once is how requests are smuggled past a proxy: refused.
                if lengths or [e.strip().lower() for e in ",".join(encodings).split(",")] != ["chunked"]:
                    raise _BadRequest("BAD_REQUEST")
                return self._read_chunked() or None
            if not lengths:
                return None
            if len(set(lengths)) != 1 or not re.fullmatch(r"[0-9]{1,12}", lengths[0].strip()):
                raise _BadRequest("BAD_REQUEST")
            length = int(lengths[0])
            if length > API_GATEWAY_MAX_BODY_BYTES:
                raise _BadRequest("REQUEST_TOO_LARGE")
            body = self.rfile.read(length) if length else b""
            if len(body) != length:  # the client stopped short of what it announced
                raise _BadRequest("BAD_REQUEST")
            return body or None

        def _read_chunked(self) -> bytes:
            body = bytearray()
            while True:
                line = self.rfile.readline(1026)
                size_text = line.split(b";", 1)[0].strip()
                if not line.endswith(b"\n") or not re.fullmatch(rb"[0-9A-Fa-f]{1,8}", size_text):
                    raise _BadRequest("BAD_REQUEST")
                size = int(size_text, 16)
                if len(body) + size > API_GATEWAY_MAX_BODY_BYTES:
                    raise _BadRequest("REQUEST_TOO_LARGE")
                if size == 0:
                    break
                chunk = self.rfile.read(size)
                if len(chunk) != size or self.rfile.readline(3) not in (b"\r\n", b"\n"):
                    raise _BadRequest("BAD_REQUEST")
                body += chunk
            for _ in range(100):  # trailer fields, up to the blank line
                line = self.rfile.readline(MAX_HEADER_BYTES)
                if line in (b"\r\n", b"\n"):
                    return bytes(body)
                if not line.endswith(b"\n"):
                    break
            raise _BadRequest("BAD_REQUEST")

        def _serve(self) -> None:
            gateway = self._gateway()
            header_bytes = sum(len(name) + len(value) + 4 for name, value in self.headers.items())
            try:
                if header_bytes > MAX_HEADER_BYTES:
                    raise _BadRequest("REQUEST_HEADER_FIELDS_TOO_LARGE")
                raw_body = self._read_body()
            except _BadRequest as refused:
                # Never executed: the request is not what it claimed to be (or too big to read).
                self._answer(gateway.gateway_error(refused.kind, str(uuid.uuid4())), close=True)
                return
            except (TimeoutError, OSError):
                self._answer(gateway.gateway_error("BAD_REQUEST", str(uuid.uuid4())), close=True)
                return
            extra = gateway.extra_routes.get(urlsplit(self.path).path) if self.command == "GET" else None
            if extra is not None:
                answer = extra()
            else:
                multi: dict[str, list[str]] = {}
                for name, value in self.headers.items():
                    multi.setdefault(name, []).append(value)
                answer = gateway.handle(self.command, self.path, multi, raw_body, self.client_address[0])
            self._answer(answer)

        def _answer(self, answer: Response, *, close: bool = False) -> None:
            status, headers, body = answer
            if getattr(self, "request_version", "") not in ("HTTP/1.0", "HTTP/1.1"):
                self.request_version = "HTTP/1.1"  # an error before the version was read, or HTTP/0.9
            if close:
                self.close_connection = True  # what is left of the request is not read
            self.connection.settimeout(self.server.request_timeout)  # a client that never reads
            # The head in one piece, as send_response_only and send_header would write it line by
            # line (a tenth of the gateway's time per request went to those calls and the Date).
            reason = self.responses[status][0] if status in self.responses else ""
            lines = [f"{self.protocol_version} {status} {reason}"]
            lines += [f"{name}: {value}" for name, value in headers if name.lower() not in _FRAMING_HEADERS]
            lines += [f"Content-Length: {len(body)}", f"Date: {_http_date()}"]
            if close:
                lines.append("Connection: close")
            self._headers_buffer = [("\r\n".join(lines) + "\r\n").encode("latin-1", "strict")]
            try:
                end_headers_with_body(self, body)
            except OSError:  # the client went away (or stopped reading): nothing to tell it
                self.close_connection = True
            request_id = next((v for n, v in headers if n == "x-amzn-RequestId"), "-")
            started = getattr(self, "_started", None) or time.perf_counter()
            latency = (time.perf_counter() - started) * 1000
            # Like an API Gateway access log line: who, what, status, latency, request id. The path
            # only: query strings carry titles and cursors, and nothing a client sends can forge a line.
            path = _escape(urlsplit(getattr(self, "path", None) or "").path)[:200]
            method = _escape(getattr(self, "command", None) or "-")[:20]
            sys.stderr.write(
                f'{self.client_address[0]} "{method} {path}" '
                f"{status} {len(body)}B {latency:.0f}ms requestId={request_id}\n"
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
