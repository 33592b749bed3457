"""moto's server with one change: AWS requests are applied one at a time.

DynamoDB guarantees that a conditional write or a transaction is atomic; moto's in-memory
backends do not when two requests run in parallel threads (both can pass a condition before
either writes). Serialising requests restores DynamoDB's guarantee, so races between our
functions behave locally as they do on AWS. Connections are still accepted concurrently.

Unless ``LOCAL_IAM=off``, every call is first checked against the caller's IAM role
(``moto_auth.IamEnforcer``), inside the same lock, so a role and its policies never change
under a request.

Connections persist (``KeepAliveRequestHandler``), as they do with AWS.

DynamoDB items are serialised by a short path (``fast_dynamodb``) with the same output: moto's
generic serialiser spent ~80% of a 21-item Query on them.
Items are sized, copied and converted by short paths of their own (``fast_dynamodb_items``),
and moto's dispatch skips work whose result never changes (``fast_dispatch``): same answers,
each tested against moto's own code (``install_short_paths``).

    python -m localapi.moto_server HOST PORT
"""

from __future__ import annotations

import functools
import gc
import io
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from moto import backends
from moto.core import utils as moto_utils
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from localapi import fast_dispatch, fast_dynamodb, fast_dynamodb_items
from localapi.http_io import end_headers_with_body
from localapi.iam import iam_enforced
from localapi.moto_auth import IamEnforcer


def serialized(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    lock = threading.Lock()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            return list(app(environ, start_response))  # the whole response, inside the lock

    return application


def exit_with_parent(interval: float = 0.5) -> None:
    """Stop when the local mode that started this server is gone, even by ``kill -9`` (it runs in
    a session of its own, so no signal of the terminal reaches it)."""
    # The parent's pid as the parent gave it: a parent that failed fast (a busy port) may be gone
    # before this runs, and then getppid() would already name the process that adopted us.
    parent = int(os.environ.get(PARENT, "0")) or os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


def cache_module_list() -> None:
    """moto's dispatcher asks, for every request, whether the Host header names a moto module, by
    listing moto's package directory (a listdir and ~200 stats: ~20% of a GetItem). The modules
    do not change while the server runs: list them once."""
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]


def share_model_loader() -> None:
    """moto loads each service's botocore model on its first request with a new loader, which lists
    every service botocore knows (~8,000 file checks, ~0.1 s a service). One loader for all: the
    listing is made once."""
    moto_utils.create_loader = functools.cache(moto_utils.create_loader)  # type: ignore[assignment]


def cache_backend_lookup(dispatcher: DomainDispatcherApplication) -> None:
    """The dispatcher finds the backend of a host such as ``s3.us-east-1.amazonaws.com`` by trying
    every service's URL patterns in turn (a few ms for each S3, IAM or STS request); a host's
    backend never changes."""
    dispatcher.get_backend_for_host = functools.lru_cache(maxsize=1024)(dispatcher.get_backend_for_host)  # type: ignore[method-assign]


def install_short_paths() -> None:
    """Everything that makes moto faster in this process without changing what it answers (only
    ``/moto-api/data.json`` lists no DynamoDB items: see ``fast_dynamodb_items.untracked_item``)."""
    fast_dynamodb.install()
    fast_dynamodb_items.install()
    fast_dispatch.install()
    cache_module_list()
    share_model_loader()


class KeepAliveRequestHandler(MotoRequestHandler):
    """moto's request handler on persistent HTTP/1.1 connections.

    werkzeug's development server closes every connection after one answer (it cannot tell where an
    unread request body ends), so each AWS call from a function paid a new TCP connection and a new
    server thread: ~1-2 ms of a GetItem's ~5. Here the request body is read whole before the
    application runs, so the next request on the connection starts where this one ended, and the
    answer says its length; botocore's connection pool (and a browser) then reuse the connection,
    as they do with AWS.
    """

    # The answer leaves in one write (``end_headers_with_body``) and without waiting for the
    # client's delayed ACK: 40 ms a call otherwise.
    disable_nagle_algorithm = True

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """No line per request: this process's output is discarded (``moto_process``), and
        formatting it was ~8% of a GetItem here. The gateway's access log names each request."""

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")  # botocore waits for it before a large PutObject
            self.wfile.flush()
        environ = self.make_environ()
        body = self._read_body(environ)
        environ.update(
            {"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True, "CONTENT_LENGTH": str(len(body))}
        )
        answer: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[..., None]:
            answer[:] = [status, headers]
            return lambda _: None  # moto never writes through it

        try:
            content = b"".join(self.server.app(environ, start_response))
        except Exception:  # as werkzeug's server: a 500, and the connection is not trusted afterwards
            self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
            answer = ["500 INTERNAL SERVER ERROR", [("Content-Type", "text/plain"), ("Connection", "close")]]
            content = b"Internal Server Error"
        status, headers = answer
        code, _, reason = status.partition(" ")
        self.send_response(int(code), reason)
        for name, value in headers:
            self.send_header(name, value)
        length_known = any(name.lower() == "content-length" for name, _ in headers)
        if not length_known and self.command != "HEAD" and code not in ("204", "304"):
            self.send_header("Content-Length", str(len(content)))
        end_headers_with_body(self, content)

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> bytes:
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug's input ends where the body does
            return bytes(environ["wsgi.input"].read())
        length = int(environ.get("CONTENT_LENGTH") or 0)
        return bytes(environ["wsgi.input"].read(length)) if length > 0 else b""


def http_server(host: str, port: int, app: Callable[..., Iterable[bytes]]) -> BaseWSGIServer:
    """A thread per connection, each serving its connection's requests in turn."""
    return make_server(host, port, app, threaded=True, request_handler=KeepAliveRequestHandler)


PARENT = "LOCALAPI_PARENT_PID"
# What the local mode's start calls, in order (the S3 event relay's queue is in SQS).
SERVICES = ("dynamodb", "s3", "secretsmanager", "iam", "sts", "sqs")


def warm_up(dispatcher: DomainDispatcherApplication, services: Iterable[str] = SERVICES) -> threading.Thread:
    """Import and build the services the local mode calls, in the background while the server
    starts and the local mode does its own start: moto would otherwise do it on each service's
    first request, one after the other, while the local mode waits."""

    def build() -> None:
        for service in services:
            with dispatcher.lock:  # the lock moto's dispatcher takes to build an app on first use
                if service not in dispatcher.app_instances:
                    dispatcher.app_instances[service] = dispatcher.create_app(service)  # type: ignore[arg-type]
            backends.get_backend(service)  # type: ignore[call-overload]
            moto_utils.get_service_model(service)  # what moto parses requests and writes answers with
        # What is built by now lives as long as the process: out of the collector's sight, a full
        # collection (every few thousand requests) takes a few ms instead of ~75 ms.
        gc.freeze()

    thread = threading.Thread(target=build, daemon=True, name="warm-up")
    thread.start()
    return thread


def main(argv: list[str]) -> int:
    host, port = argv[1], int(argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    exit_with_parent()
    install_short_paths()
    dispatcher = DomainDispatcherApplication(create_backend_app)
    cache_backend_lookup(dispatcher)
    warm_up(dispatcher)
    app: Callable[..., Iterable[bytes]] = dispatcher
    if iam_enforced():
        app = IamEnforcer(app)
    http_server(host, port, serialized(app)).serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
