"""The local mode's HTTP server answers keep-alive requests without a delayed-ACK stall.

Found by ``make bench``: the handler writes the headers and the body separately, and with Nagle's
algorithm on, a keep-alive client's delayed ACK held every response back ~40 ms (get p50 52 ms,
4 ms without). The gateway behind the server is a stub here: this is about the socket only.
"""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from types import SimpleNamespace

from localapi.gateway import make_http_server


def test_keep_alive_responses_are_not_held_back() -> None:
    gateway = SimpleNamespace(
        extra_routes={}, handle=lambda *_: (200, [("Content-Type", "application/json")], b'{"ok": true}')
    )
    server = make_http_server(gateway, "127.0.0.1", 0)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    try:
        latencies = []
        for _ in range(20):
            started = time.perf_counter()
            connection.request("GET", "/anything")
            response = connection.getresponse()
            assert response.read() == b'{"ok": true}' and response.status == 200
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
        server.shutdown()
        server.server_close()
    # The stall is at least 40 ms (Linux's minimum delayed ACK); an answer takes ~1 ms.
    assert statistics.median(latencies) < 20, latencies
