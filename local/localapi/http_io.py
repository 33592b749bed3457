"""What the local mode's two HTTP servers (the gateway, the AWS emulation) share."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler

# Above this, the head and the body go out in two writes: joining them would copy the body (a
# 25 MiB photo downloaded from the emulation), and one extra send is nothing beside its transfer.
JOIN_LIMIT_BYTES = 64 * 1024


def end_headers_with_body(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """``end_headers()`` and the body in one write: on loopback every write is a send through the
    TCP stack that wakes the client (~0.1 ms each here), and a separate write for the head of
    every answer cost that once more per request. http.server keeps the head it builds with
    ``send_response``/``send_header`` in ``_headers_buffer`` until ``end_headers`` writes it."""
    handler._headers_buffer.append(b"\r\n")  # type: ignore[attr-defined]
    head = b"".join(handler._headers_buffer)  # type: ignore[attr-defined]
    handler._headers_buffer = []  # type: ignore[attr-defined]
    if getattr(handler, "command", None) == "HEAD" or not body:
        handler.wfile.write(head)
    elif len(body) <= JOIN_LIMIT_BYTES:
        handler.wfile.write(head + body)
    else:
        handler.wfile.write(head)
        handler.wfile.write(body)
