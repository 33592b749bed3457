"""The AWS emulation's HTTP server: persistent connections that stay in step with their requests."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from localapi.moto_server import http_server


def echo(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answers with the request body it read, or, on /refuse, refuses without reading it (as
    moto does when the caller's credentials are refused)."""
    if environ["PATH_INFO"] == "/fail":
        raise RuntimeError("a bug in the emulation")
    if environ["PATH_INFO"] == "/refuse":
        start_response("403 Forbidden", [("Content-Type", "text/plain")])
        return [b"refused"]
    body = environ["wsgi.input"].read()
    headers = [("Content-Type", "application/octet-stream")]
    if environ["REQUEST_METHOD"] == "HEAD":
        headers.append(("Content-Length", "1234"))  # the object's size, as S3 gives it; no body
        start_response("200 OK", headers)
        return []
    start_response("200 OK", headers)
    return [b"got:", body]


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    httpd = http_server("127.0.0.1", 0, echo)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "127.0.0.1", httpd.server_port
    httpd.shutdown()
    httpd.server_close()


def call(
    connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, bytes, http.client.HTTPResponse]:
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    return response.status, response.read(), response


def test_one_connection_serves_request_after_request(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=5)
    status, body, response = call(connection, "POST", "/a", b"first")
    assert (status, body) == (200, b"got:first")
    assert not response.will_close  # werkzeug's own server said "Connection: close"
    local_port = connection.sock.getsockname()[1]
    assert call(connection, "POST", "/b", b"second")[:2] == (200, b"got:second")
    assert connection.sock.getsockname()[1] == local_port  # the same TCP connection


def test_a_body_the_application_did_not_read_does_not_become_the_next_request(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=5)
    assert call(connection, "PUT", "/refuse", b"GET /smuggled HTTP/1.1\r\n\r\n" * 100)[:2] == (403, b"refused")
    assert call(connection, "POST", "/next", b"x")[:2] == (200, b"got:x")


def test_a_chunked_body_arrives_whole(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=5)
    connection.request("POST", "/c", body=iter([b"ab", b"cd"]), encode_chunked=True)
    response = connection.getresponse()
    assert response.read() == b"got:abcd"
    assert call(connection, "POST", "/d", b"e")[:2] == (200, b"got:e")


def test_expect_100_continue_is_answered_before_the_body_is_read(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=5)
    connection.putrequest("PUT", "/big")
    connection.putheader("Content-Length", "3")
    connection.putheader("Expect", "100-continue")
    connection.endheaders()
    assert connection.sock.recv(64).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
    connection.send(b"abc")
    assert connection.getresponse().read() == b"got:abc"


def test_an_emulation_failure_is_a_500_and_the_connection_is_closed(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=5)
    status, _, response = call(connection, "POST", "/fail", b"z")
    assert status == 500
    assert response.will_close


def test_a_head_answer_keeps_the_objects_length_and_sends_no_body(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=5)
    status, body, response = call(connection, "HEAD", "/object")
    assert (status, body, response.getheader("Content-Length")) == (200, b"", "1234")
    assert call(connection, "POST", "/after", b"y")[:2] == (200, b"got:y")


def test_a_large_answer_arrives_whole_after_its_head(server: tuple[str, int]) -> None:
    connection = http.client.HTTPConnection(*server, timeout=5)
    large = bytes(range(256)) * 1024  # 256 KiB: head and body leave in two writes
    status, body, response = call(connection, "POST", "/large", large)
    assert (status, body) == (200, b"got:" + large)
    assert response.getheader("Content-Length") == str(len(large) + 4)
    assert call(connection, "POST", "/after", b"z")[:2] == (200, b"got:z")
