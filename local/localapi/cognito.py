"""A stand-in for a Cognito user pool and API Gateway's Cognito authorizer, for the local mode.

It issues ID tokens (JWTs) for any user name and verifies them on the routes the template
protects. Tokens are signed with HMAC-SHA256 under a key made for this run (Cognito signs with
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
import time
import uuid
from typing import Any

CLIENT_ID = "local-web-client"
TOKEN_TTL_SECONDS = 3600  # Cognito's default ID token lifetime


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

    def _sign(self, signing_input: bytes) -> str:
        return _b64(hmac.new(self._key, signing_input, hashlib.sha256).digest())

    def issue_id_token(self, username: str, *, ttl_seconds: int = TOKEN_TTL_SECONDS, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/{username}")),
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
