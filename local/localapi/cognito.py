"""A stand-in for a Cognito user pool and API Gateway's Cognito authorizer, for the local mode.

It issues ID tokens (JWTs) for any user name Cognito accepts (up to 128 letters, marks,
symbols, digits and punctuation of any script) and verifies them on the routes the template
protects. Each name is an account with its own ``sub``, as in Cognito: the first token for a
name creates it, and an account deleted and registered again under the same name gets a new
``sub`` (the service owns photos by ``sub``, so the newcomer inherits nothing). Names are
case-insensitive, as in the template's pool (``CaseSensitive: false``).

Tokens are signed with HMAC-SHA256 under a key made for this run (Cognito signs with
RS256 keys of its own; the algorithm does not matter to the functions, which only ever see the
claims API Gateway passes on). A missing, expired or forged token gets ``401`` as in API Gateway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
import unicodedata
import uuid
from typing import Any

CLIENT_ID = "local-web-client"
TOKEN_TTL_SECONDS = 3600  # Cognito's default ID token lifetime
MAX_USERNAME_LENGTH = 128
# Cognito's username pattern [\p{L}\p{M}\p{S}\p{N}\p{P}]+: no spaces, no control characters.
USERNAME_CATEGORIES = frozenset("LMSNP")


def is_cognito_username(name: str) -> bool:
    return 1 <= len(name) <= MAX_USERNAME_LENGTH and all(
        unicodedata.category(char)[0] in USERNAME_CATEGORIES for char in name
    )


class InvalidToken(Exception):
    pass


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LocalUserPool:
    def __init__(self, issuer: str, key: bytes | None = None) -> None:
        self.issuer = issuer
        self._key = key or secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._deleted: dict[str, int] = {}  # accounts deleted so far, by name

    def sub_of(self, username: str) -> str:
        """The account's id: stable for a name (also across restarts on the same URL), new once
        the account was deleted."""
        key = username.casefold()
        with self._lock:
            generation = self._deleted.get(key, 0)
        suffix = f"#{generation}" if generation else ""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/{key}{suffix}"))

    def delete_user(self, username: str) -> None:
        """Like AdminDeleteUser: the name is free again; whoever takes it is a new account."""
        with self._lock:
            key = username.casefold()
            self._deleted[key] = self._deleted.get(key, 0) + 1

    def _sign(self, signing_input: bytes) -> str:
        return _b64(hmac.new(self._key, signing_input, hashlib.sha256).digest())

    def issue_id_token(self, username: str, *, ttl_seconds: int = TOKEN_TTL_SECONDS, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": self.sub_of(username),
            "cognito:username": username,
            "token_use": "id",
            "aud": CLIENT_ID,
            "iss": self.issuer,
            "auth_time": issued,
            "iat": issued,
            "exp": issued + ttl_seconds,
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "local"}).encode())
        payload = _b64(json.dumps(claims).encode())
        return f"{header}.{payload}.{self._sign(f'{header}.{payload}'.encode())}"

    def verify(self, authorization: str | None, *, now: float | None = None) -> dict[str, str]:
        """The claims of a valid ID token, as strings (as API Gateway passes them), or ``InvalidToken``."""
        if not authorization:
            raise InvalidToken("missing")
        token = authorization.removeprefix("Bearer ").strip()
        try:
            header, payload, signature = token.split(".")
            expected = self._sign(f"{header}.{payload}".encode())
            if not hmac.compare_digest(signature, expected):
                raise InvalidToken("bad signature")
            claims: dict[str, Any] = json.loads(_unb64(payload))
        except (ValueError, binascii.Error) as exc:
            raise InvalidToken("malformed") from exc
        if claims.get("iss") != self.issuer or claims.get("aud") != CLIENT_ID or claims.get("token_use") != "id":
            raise InvalidToken("not an ID token of this pool")
        if int(claims.get("exp", 0)) <= (time.time() if now is None else now):
            raise InvalidToken("expired")
        return {name: str(value) for name, value in claims.items()}
