"""Pagination cursors (``next_token``): opaque to clients, signed, and bound to one listing.

A token carries the key of the last item of a page and the listing it came from (its scope,
e.g. ``user=alice&tag=cats``). It is signed with HMAC-SHA256 under a key from configuration, so
it cannot be edited to start anywhere else, nor replayed against another user's or tag's listing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json

from .errors import InvalidCursor

_SIGNATURE_BYTES = 16  # 128 bits: forging one is as hard as guessing a random key of that size
MIN_SECRET_BYTES = 16


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the cursor secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]

    def encode(self, scope: str, position: dict[str, str]) -> str:
        payload = json.dumps({"s": scope, "p": position}, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64encode(payload)}.{_b64encode(self._sign(payload))}"

    def decode(self, token: str, scope: str) -> dict[str, str]:
        """Return the position stored in ``token``, or raise ``InvalidCursor``."""
        try:
            payload_part, signature_part = token.split(".")
            payload = _b64decode(payload_part)
            signature = _b64decode(signature_part)
        except (ValueError, binascii.Error) as exc:
            raise InvalidCursor("next_token is malformed") from exc
        if not hmac.compare_digest(signature, self._sign(payload)):
            raise InvalidCursor("next_token is malformed or was altered")
        body = json.loads(payload)
        if body.get("s") != scope:
            raise InvalidCursor("next_token belongs to a different listing")
        position = body.get("p")
        if not isinstance(position, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in position.items()
        ):
            raise InvalidCursor("next_token is malformed")
        return position
