"""The gateway's HTTP layer, as API Gateway's front door behaves: request framing (chunked bodies,
strict Content-Length), time limits, a bound on open connections, JSON for every refusal, and an
access log that a client cannot forge lines into."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from localapi.app import LocalApp

FIXTURE_TEMPLATE = Path(__file__).resolve().parent / "fixture" / "template.yaml"


@pytest.fixture(scope="module")
def strict_app() -> Iterator[LocalApp]:
    """The fixture template with short limits, so the tests need not wait for the real ones."""
    app = LocalApp(port=0, template_path=FIXTURE_TEMPLATE, stage="test").start()
    app._server.idle_timeout = 0.5
    app._server.request_timeout = 0.5
    app._server.max_connections = 4
    app._server.connection_slots = threading.BoundedSemaphore(4)
    yield app
    app.stop()


def address(app: LocalApp) -> tuple[str, int]:
    return app._server.server_address[:2]


def exchange(app: LocalApp, raw: bytes, *, half_close: bool = True) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes, read one response (the server closes or sends Content-Length bytes)."""
    with socket.create_connection(address(app), timeout=10) as sock:
        sock.sendall(raw)
        if half_close:
            with contextlib.suppress(OSError):  # the server may have answered and closed already
                sock.shutdown(socket.SHUT_WR)
        return read_response(sock)


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body


def invocations(app: LocalApp) -> int:
    """How many times the (warm, reused) echo worker ran, this call included."""
    return int(requests.post(app.url + "/echo/count", timeout=20).json()["invocations"])


def assert_refused(status: int, headers: dict[str, str], body: bytes, expected: int, code: str) -> None:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["code"] == code
    assert b"<html" not in body.lower()


def test_chunked_request_body_reaches_the_function(strict_app: LocalApp) -> None:
    raw = (
        b"POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"k":\r\n4;ext=1\r\n 12}\r\n0\r\nX-Trailer: t\r\n\r\n'
    )
    status, _, body = exchange(strict_app, raw)
    assert status == 200
    assert json.loads(body)["event"]["body"] == '{"k": 12}'


def test_requests_streams_a_generator_body_chunked(strict_app: LocalApp) -> None:
    response = requests.post(strict_app.url + "/echo/x", data=iter([b"ab", b"cd"]), timeout=20)
    assert response.status_code == 200 and response.json()["event"]["body"] == "abcd"


@pytest.mark.parametrize(
    "framing",
    [
        b"Content-Length: abc\r\n",
        b"Content-Length: -1\r\n",
        b"Content-Length: 4\r\nContent-Length: 5\r\n",
        b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: gzip\r\n",
    ],
)
def test_invalid_framing_is_a_400_json_and_never_runs(strict_app: LocalApp, framing: bytes) -> None:
    before = invocations(strict_app)
    status, headers, body = exchange(strict_app, b"POST /echo/x HTTP/1.1\r\nHost: x\r\n" + framing + b"\r\nabcd")
    assert_refused(status, headers, body, 400, "BAD_REQUEST")
    assert headers["connection"] == "close"
    assert invocations(strict_app) == before + 1  # only the counting call ran


def test_bad_chunk_encoding_is_a_400(strict_app: LocalApp) -> None:
    raw = b"POST /echo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
    assert_refused(*exchange(strict_app, raw), 400, "BAD_REQUEST")


def test_body_shorter_than_content_length_is_a_400_and_never_runs(strict_app: LocalApp) -> None:
    before = invocations(strict_app)
    raw = b"POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b"
    # The client closes its side early, then a client that simply stops sending (timed out).
    assert_refused(*exchange(strict_app, raw), 400, "BAD_REQUEST")
    assert_refused(*exchange(strict_app, raw, half_close=False), 400, "BAD_REQUEST")
    assert invocations(strict_app) == before + 1


def test_a_request_whose_headers_end_with_the_connection_is_a_400_and_never_runs(strict_app: LocalApp) -> None:
    before = invocations(strict_app)
    with socket.create_connection(address(strict_app), timeout=10) as sock:
        sock.sendall(b"GET /files/a HTTP/1.1\r\nHost: x\r\n")  # no blank line: the headers never end
        sock.shutdown(socket.SHUT_WR)
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert invocations(strict_app) == before + 1  # this count's own call only


def test_oversize_url_is_a_414_json(strict_app: LocalApp) -> None:
    raw = b"GET /files/" + b"a" * 11_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    assert_refused(*exchange(strict_app, raw), 414, "URI_TOO_LONG")
    huge = b"GET /files/" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"  # past http.server's own limit
    assert_refused(*exchange(strict_app, huge), 414, "URI_TOO_LONG")


def test_oversize_headers_are_a_431_json(strict_app: LocalApp) -> None:
    big = b"".join(b"X-Big-%d: %s\r\n" % (i, b"v" * 3000) for i in range(4))
    assert_refused(
        *exchange(strict_app, b"GET /files/a HTTP/1.1\r\n" + big + b"\r\n"), 431, "REQUEST_HEADER_FIELDS_TOO_LARGE"
    )
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(150))
    assert_refused(
        *exchange(strict_app, b"GET /files/a HTTP/1.1\r\n" + many + b"\r\n"), 431, "REQUEST_HEADER_FIELDS_TOO_LARGE"
    )


def test_garbage_request_line_is_a_400_json(strict_app: LocalApp) -> None:
    assert_refused(*exchange(strict_app, b"HELLO THERE FRIEND AND MORE\r\n\r\n"), 400, "BAD_REQUEST")
    assert_refused(*exchange(strict_app, b"GET /files/a HTTP/7.0\r\n\r\n"), 400, "BAD_REQUEST")


def closed_by_server(sock: socket.socket, trickle: bytes = b"") -> bool:
    """Whether the server closes ``sock`` while the client sends ``trickle`` a byte at a time
    (or nothing); gives up after 100 rounds of 0.1 s, many times the configured limit."""
    sock.settimeout(0.1)
    for index in range(100):
        try:
            if trickle:
                sock.sendall(trickle[index % len(trickle) : index % len(trickle) + 1])
            if sock.recv(1) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_idle_connection_is_closed(strict_app: LocalApp) -> None:
    with socket.create_connection(address(strict_app), timeout=10) as sock:
        assert closed_by_server(sock)


def test_slow_request_is_cut_off(strict_app: LocalApp) -> None:
    with socket.create_connection(address(strict_app), timeout=10) as sock:
        sock.sendall(b"GET /files/a HTTP/1.1\r\n")
        assert closed_by_server(sock, trickle=b"X-Slow: aaaaaaaaaaaaaaaaaaaaaa\r\n")


def test_open_connections_are_bounded(strict_app: LocalApp) -> None:
    held = [socket.create_connection(address(strict_app), timeout=10) for _ in range(4)]
    try:
        for sock in held:  # each is being served (a partial request keeps its thread)
            sock.sendall(b"GET /files/a HTTP/1.1\r\n")
        time.sleep(0.1)  # let the server accept them all (not a measurement)
        status, headers, body = exchange(strict_app, b"GET /files/a HTTP/1.1\r\nHost: x\r\n\r\n")
        assert_refused(status, headers, body, 429, "THROTTLED")
    finally:
        for sock in held:
            sock.close()
    for _ in range(100):  # the slots come back when the held connections end
        status, _, _ = exchange(strict_app, b"GET /files/a HTTP/1.1\r\nHost: x\r\n\r\n")
        if status == 200:
            break
        time.sleep(0.05)
    assert status == 200


def test_access_log_escapes_control_characters_and_omits_the_query(
    strict_app: LocalApp, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = b"GET /files/a\x1b[31m\x07forged\x7f?title=private-title HTTP/1.1\r\nHost: x\r\n\r\n"
    status, _, _ = exchange(strict_app, raw)
    assert status == 200
    log = ""
    for _ in range(100):  # the line is written just after the response is sent
        log += capsys.readouterr().err
        if "forged" in log:
            break
        time.sleep(0.02)
    line = next(line for line in log.splitlines() if "forged" in line)
    assert "/files/a\\x1b[31m\\x07forged\\x7f" in line
    assert "\x1b" not in log and "\x07" not in log and "\x7f" not in log
    assert "private-title" not in log and "?" not in line


def test_keep_alive_still_serves_many_requests(strict_app: LocalApp) -> None:
    with requests.Session() as session:
        pids: set[Any] = {session.post(strict_app.url + "/echo/x", timeout=20).json()["pid"] for _ in range(5)}
    assert len(pids) == 1
