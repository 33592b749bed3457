"""Pagination cursors (``next_token``): signed, bound to one listing, tied to the key that signed them.

A token is three base64url parts joined by dots, ``<key id>.<payload>.<signature>``:

- ``payload`` is compact JSON ``{"p": position, "s": scope}``: the key of the last item of the page
  and the listing it came from (e.g. ``user=alice&tag=cats``). It is encoded, not encrypted: the
  position is the last item of a page the client already has, and the scope is the query the
  client sent, so there is nothing to hide. What matters is integrity, and clients are told to
  treat the token as opaque (api/openapi.yaml).
- ``signature`` is HMAC-SHA256 (the standard library's ``hmac``, untruncated) over
  ``<key id>.<payload>`` with the secret from Secrets Manager, checked with
  ``hmac.compare_digest`` (constant time). No home-made cryptography.
- ``key id`` is the first bytes of a SHA-256 of the key. It tells a token signed with another key
  (from before the local mode restarted with a new secret, or before the secret was rotated) from
  a token that was altered: an unknown key id means the token *expired* (list again without it);
  a known key id with a wrong signature means it was *altered*. An attacker who edits the key id
  only turns their token into an expired one: both are refused.

Decoding checks, in order: the shape (three base64url parts; a token of the earlier one-part
format fails here, with a clean 400), the key id, the signature, the listing, the position.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re

from .errors import ExpiredCursor, InvalidCursor

MIN_SECRET_BYTES = 16
KEY_ID_BYTES = 6  # 48 bits: enough to tell a handful of keys apart; it says nothing about the key
_SIGNATURE_BYTES = hashlib.sha256().digest_size
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not _BASE64URL.fullmatch(text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(secret: bytes) -> str:
    """The public name of a key: a prefix of its SHA-256 (domain-separated), base64url."""
    return _b64encode(hashlib.sha256(b"image-service next_token key id\x00" + secret).digest()[:KEY_ID_BYTES])


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"the cursor secret must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self.key_id = key_id(secret)

    def _signature(self, signed_part: str) -> bytes:
        return hmac.new(self._secret, signed_part.encode("ascii"), hashlib.sha256).digest()

    def encode(self, scope: str, position: dict[str, str]) -> str:
        payload = json.dumps({"s": scope, "p": position}, separators=(",", ":"), sort_keys=True).encode()
        signed_part = f"{self.key_id}.{_b64encode(payload)}"
        return f"{signed_part}.{_b64encode(self._signature(signed_part))}"

    def decode(self, token: str, scope: str) -> dict[str, str]:
        """Return the position stored in ``token``, or raise ``InvalidCursor``/``ExpiredCursor``."""
        parts = token.split(".")
        if len(parts) != 3:  # key id, payload, signature
            raise InvalidCursor("next_token is malformed")
        token_key_id, encoded_payload, _ = parts
        try:
            key_bytes, payload, signature = (_b64decode(part) for part in parts)
        except (ValueError, binascii.Error) as exc:
            raise InvalidCursor("next_token is malformed") from exc
        if len(key_bytes) != KEY_ID_BYTES or len(signature) != _SIGNATURE_BYTES or not payload:
            raise InvalidCursor("next_token is malformed")
        if not hmac.compare_digest(token_key_id, self.key_id):
            # Well formed, but signed with a key this service no longer has: a restart of the
            # local mode (new random secret) or a rotated secret.
            raise ExpiredCursor("next_token has expired: list again without next_token")
        if not hmac.compare_digest(signature, self._signature(f"{token_key_id}.{encoded_payload}")):
            raise InvalidCursor("next_token was altered")
        try:
            body = json.loads(payload)
        except ValueError as exc:  # only possible with a valid signature if the key is misused elsewhere
            raise InvalidCursor("next_token is malformed") from exc
        if not isinstance(body, dict) or body.get("s") != scope:
            raise InvalidCursor("next_token belongs to a different listing")
        position = body.get("p")
        if not isinstance(position, dict) or not all(
            isinstance(key, str) and isinstance(value, str) for key, value in position.items()
        ):
            raise InvalidCursor("next_token is malformed")
        return position
