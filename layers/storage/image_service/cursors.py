"""Pagination cursors (``next_token``): opaque, tamper-proof, and bound to one listing.

A token carries the key of the last item of a page and the listing it came from (its scope,
e.g. ``user=alice&tag=cats``). It is encrypted and authenticated with keys derived from a secret
in configuration (encrypt-then-MAC: an HMAC-SHA256 keystream, then an HMAC-SHA256 tag), so a
client can neither read where a page ends nor edit a token to start anywhere else or replay it
against another user's or tag's listing. Only the standard library is used: no extra package in
the layer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os

from .errors import InvalidCursor

_NONCE_BYTES = 12
_TAG_BYTES = 16  # 128 bits: forging a token is as hard as guessing a random key of that size
MIN_SECRET_BYTES = 16


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the cursor secret must be at least {MIN_SECRET_BYTES} bytes")
        # Separate keys for secrecy and for integrity, both derived from the one secret.
        self._encryption_key = hmac.new(secret, b"next_token encryption", hashlib.sha256).digest()
        self._mac_key = hmac.new(secret, b"next_token authentication", hashlib.sha256).digest()

    def _keystream(self, nonce: bytes, length: int) -> bytes:
        blocks = (length + 31) // 32
        stream = b"".join(
            hmac.new(self._encryption_key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
            for counter in range(blocks)
        )
        return stream[:length]

    def _tag(self, nonce: bytes, ciphertext: bytes) -> bytes:
        return hmac.new(self._mac_key, nonce + ciphertext, hashlib.sha256).digest()[:_TAG_BYTES]

    def encode(self, scope: str, position: dict[str, str]) -> str:
        payload = json.dumps({"s": scope, "p": position}, separators=(",", ":"), sort_keys=True).encode()
        nonce = os.urandom(_NONCE_BYTES)
        ciphertext = bytes(a ^ b for a, b in zip(payload, self._keystream(nonce, len(payload)), strict=True))
        return _b64encode(nonce + ciphertext + self._tag(nonce, ciphertext))

    def decode(self, token: str, scope: str) -> dict[str, str]:
        """Return the position stored in ``token``, or raise ``InvalidCursor``."""
        try:
            raw = _b64decode(token)
        except (ValueError, binascii.Error) as exc:
            raise InvalidCursor("next_token is malformed") from exc
        if len(raw) <= _NONCE_BYTES + _TAG_BYTES:
            raise InvalidCursor("next_token is malformed")
        nonce, ciphertext, tag = raw[:_NONCE_BYTES], raw[_NONCE_BYTES:-_TAG_BYTES], raw[-_TAG_BYTES:]
        if not hmac.compare_digest(tag, self._tag(nonce, ciphertext)):
            raise InvalidCursor("next_token is malformed or was altered")
        payload = bytes(a ^ b for a, b in zip(ciphertext, self._keystream(nonce, len(ciphertext)), strict=True))
        try:
            body = json.loads(payload)
        except ValueError as exc:  # only possible with a valid tag if the secret is shared wrongly
            raise InvalidCursor("next_token is malformed") from exc
        if not isinstance(body, dict) or body.get("s") != scope:
            raise InvalidCursor("next_token belongs to a different listing")
        position = body.get("p")
        if not isinstance(position, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in position.items()
        ):
            raise InvalidCursor("next_token is malformed")
        return position
