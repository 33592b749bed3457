"""The web gallery (``web/``): served beside the API by the local mode, or on its own for any API.

The URL layout is the same everywhere the page is served, including the deployed bucket behind
CloudFront (``scripts/publish_web.py`` uses ``site_files`` too), so the page's relative links
work unchanged on every host:

    /              web/index.html
    /config.json   which API the page talks to and how people sign in (generated, not the file)
    /web/<path>    every other file of web/ (never collides with the API's /images routes)

``make serve`` registers ``web_routes`` as the gateway's ``extra_routes`` (same origin as the
API). ``make web API_URL=...`` runs ``python -m localapi.web``: a small static server on its own
port for another API (``make sam-api``, a deployed stack), which the API's CORS lets in.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"
# Where the local mode hands out ID tokens when AUTH_MODE=cognito (gateway.TOKEN_PATH).
LOCAL_TOKEN_PATH = "/_local/token"  # noqa: S105 - a URL path, not a password

# (status, headers, body), as the gateway's extra routes answer.
Response = tuple[int, list[tuple[str, str]], bytes]

MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".webmanifest": "application/manifest+json",
}

# The same policy as index.html's <meta> tag, plus what only a header can say (frame-ancestors).
# Scripts and styles only from this origin (no inline code, no CDN); images and API calls may go
# to the API's origin and to the storage that pre-signed URLs point at, wherever those are.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https: http:; "
    "connect-src 'self' https: http:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")


def url_path(relative: str) -> str:
    """The URL path (and, without the leading slash, the bucket key) of a file of ``web/``."""
    if relative == "index.html":
        return "/"
    if relative == "config.json":
        return "/config.json"
    return "/web/" + relative


def site_files(web_dir: Path = WEB_DIR) -> dict[str, Path]:
    """URL path -> file, for every file of the site (hidden files left out)."""
    files = {}
    for path in sorted(web_dir.rglob("*")):
        relative = path.relative_to(web_dir).as_posix()
        if path.is_file() and not any(part.startswith(".") for part in relative.split("/")):
            files[url_path(relative)] = path
    return files


def page_config(
    *,
    api_url: str = "",
    auth_mode: str = "none",
    token_url: str | None = None,
    cognito_domain: str | None = None,
    cognito_client_id: str | None = None,
    public_reads: bool = True,
) -> dict[str, Any]:
    """The page's ``config.json``.

    ``api_url`` "" means the page's own origin. ``auth_mode`` "cognito" signs in either with
    Cognito's hosted UI (``cognito`` given: deployed) or, locally, with a user name exchanged for
    an ID token at ``token_url`` (what ``make token`` does). ``public_reads`` False (the stack's
    ``PublicReads=false``): reads need the token too, and nothing is shown until sign-in.
    """
    if auth_mode not in ("none", "cognito"):
        raise ValueError("auth_mode must be none or cognito")
    config: dict[str, Any] = {"api_url": api_url.rstrip("/"), "auth_mode": auth_mode}
    if auth_mode == "cognito":
        if cognito_domain and cognito_client_id:
            config["cognito"] = {"domain": cognito_domain.rstrip("/"), "client_id": cognito_client_id}
        else:
            config["token_url"] = token_url or LOCAL_TOKEN_PATH
        if not public_reads:
            config["public_reads"] = False
    return config


def _headers(content_type: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", content_type),
        # Read from disk on every request and never cached: an edited file shows on reload.
        ("Cache-Control", "no-cache"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ]


def web_routes(
    auth_mode: str = "none", *, config: dict[str, Any] | None = None, web_dir: Path = WEB_DIR
) -> dict[str, Callable[[], Response]]:
    """``Gateway.extra_routes`` entries (path -> handler) serving the gallery.

    Without ``config`` the page talks to the server that serves it (the local mode).
    """
    config_body = json.dumps(config or page_config(auth_mode=auth_mode), indent=2).encode()

    def serve_file(path: Path) -> Callable[[], Response]:
        def serve() -> Response:
            try:
                body = path.read_bytes()
            except OSError:
                return 404, _headers("text/plain; charset=utf-8"), b"not found\n"
            headers = _headers(media_type(path))
            if path.suffix == ".html":
                headers += [("Content-Security-Policy", CONTENT_SECURITY_POLICY), ("X-Frame-Options", "DENY")]
            return 200, headers, body

        return serve

    def serve_config() -> Response:
        return 200, _headers("application/json"), config_body

    routes = {path: serve_file(file) for path, file in site_files(web_dir).items()}
    routes["/index.html"] = routes["/"]
    routes["/config.json"] = serve_config
    return routes


# -- `make web`: the gallery on its own port, for another API ---------------------------------------


class WebServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], routes: dict[str, Callable[[], Response]], token_proxy: str | None
    ) -> None:
        self.routes = routes
        # The local Cognito emulation's token endpoint: the page posts to this server, which
        # forwards to the API's /_local/token (the API answers no CORS there, being no API route).
        self.token_proxy = token_proxy
        super().__init__(address, _WebHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class _WebHandler(BaseHTTPRequestHandler):
    server: WebServer
    protocol_version = "HTTP/1.1"
    server_version = "gallery"

    def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        route = self.server.routes.get(urlsplit(self.path).path)
        if route is None:
            self._send(404, _headers("text/plain; charset=utf-8"), b"not found\n")
        else:
            self._send(*route())

    do_HEAD = do_GET

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 4096)) if length else b""
        if self.server.token_proxy is None or urlsplit(self.path).path != LOCAL_TOKEN_PATH or length > 4096:
            self._send(404, _headers("text/plain; charset=utf-8"), b"not found\n")
            return
        request = urllib.request.Request(  # noqa: S310 - the API URL the developer gave
            self.server.token_proxy, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                status, payload = answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except OSError:
            status, payload = 502, b'{"message": "the API is not reachable", "code": "BAD_GATEWAY"}'
        self._send(status, _headers("application/json"), payload)

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f'{self.client_address[0]} "{self.requestline[:200]}" {args[1] if len(args) > 1 else ""}\n')


def make_web_server(
    api_url: str, *, host: str = "127.0.0.1", port: int = 0, auth_mode: str = "none", **cognito: str
) -> WebServer:
    """A server for ``web/`` whose page calls ``api_url`` (cross-origin: the API's CORS applies)."""
    config = page_config(
        api_url=api_url,
        auth_mode=auth_mode,
        cognito_domain=cognito.get("cognito_domain"),
        cognito_client_id=cognito.get("cognito_client_id"),
    )
    proxy = api_url.rstrip("/") + LOCAL_TOKEN_PATH if "token_url" in config else None
    return WebServer((host, port), web_routes(config=config), proxy)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localapi.web", description="Serve web/ for an API elsewhere.")
    parser.add_argument("--api-url", required=True, help="the API's base URL, e.g. a deployed stack's ApiUrl")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--auth-mode", choices=["none", "cognito"], default="none")
    parser.add_argument(
        "--cognito-domain", default="", help="hosted UI, e.g. https://NAME.auth.REGION.amazoncognito.com"
    )
    parser.add_argument("--cognito-client-id", default="")
    args = parser.parse_args(argv)
    if not urlsplit(args.api_url).scheme.startswith("http"):
        parser.error("--api-url must be an http(s) URL")
    server = make_web_server(
        args.api_url,
        host=args.host,
        port=args.port,
        auth_mode=args.auth_mode,
        cognito_domain=args.cognito_domain,
        cognito_client_id=args.cognito_client_id,
    )
    print(f"Web gallery: {server.url}/   (API: {args.api_url}; Ctrl-C stops it)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
