import base64
import hashlib
import hmac
import json
import os

import pytest

from image_service.cursors import CursorCodec, key_id
from image_service.errors import ExpiredCursor, InvalidCursor

SECRET = b"0123456789abcdef0123456789abcdef"
SCOPE = "user=alice&tag="
POSITION = {"image_id": "01ABC", "created_at": "2026-01-01T00:00:00.000Z"}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _code(token: str, scope: str = SCOPE, codec: CursorCodec | None = None) -> str:
    with pytest.raises(InvalidCursor) as refused:
        (codec or CursorCodec(SECRET)).decode(token, scope)
    return refused.value.code


def test_round_trip_returns_the_position() -> None:
    codec = CursorCodec(SECRET)
    assert codec.decode(codec.encode(SCOPE, POSITION), SCOPE) == POSITION


def test_token_is_a_standard_hmac_sha256_over_key_id_and_payload() -> None:
    """Anyone with the key can check a token with nothing but the standard library."""
    token = CursorCodec(SECRET).encode(SCOPE, POSITION)
    kid, payload, signature = token.split(".")
    assert kid == key_id(SECRET)
    assert hmac.compare_digest(
        _unb64(signature), hmac.new(SECRET, f"{kid}.{payload}".encode(), hashlib.sha256).digest()
    )
    assert json.loads(_unb64(payload)) == {"s": SCOPE, "p": POSITION}


def test_token_of_one_listing_is_refused_by_another() -> None:
    token = CursorCodec(SECRET).encode(SCOPE, POSITION)
    assert _code(token, "user=bob&tag=") == "invalid_next_token"
    assert _code(token, "user=alice&tag=cats") == "invalid_next_token"


def test_re_signing_for_another_listing_needs_the_key() -> None:
    kid, _, signature = CursorCodec(SECRET).encode(SCOPE, POSITION).split(".")
    edited = _b64(json.dumps({"s": "user=bob&tag=", "p": POSITION}, separators=(",", ":"), sort_keys=True).encode())
    assert _code(f"{kid}.{edited}.{signature}", "user=bob&tag=") == "invalid_next_token"


def test_every_single_bit_edit_is_refused() -> None:
    """Edits of the payload or signature read "altered"; edits of the key id read "expired"."""
    token = CursorCodec(SECRET).encode(SCOPE, POSITION)
    parts = token.split(".")
    for index, part in enumerate(parts):
        raw = bytearray(_unb64(part))
        for position in range(len(raw)):
            for bit in range(8):
                edited = bytearray(raw)
                edited[position] ^= 1 << bit
                forged = ".".join(_b64(bytes(edited)) if i == index else p for i, p in enumerate(parts))
                expected = "expired_next_token" if index == 0 else "invalid_next_token"
                assert _code(forged) == expected, (index, position, bit)


def test_token_signed_with_another_key_has_expired() -> None:
    """A restart of the local mode or a rotated secret: well formed, unknown key id."""
    token = CursorCodec(b"another-secret-another-secret-xx").encode(SCOPE, POSITION)
    with pytest.raises(ExpiredCursor) as refused:
        CursorCodec(SECRET).decode(token, SCOPE)
    assert refused.value.code == "expired_next_token"
    assert "list again without next_token" in refused.value.message


def test_known_key_id_with_a_wrong_signature_was_altered() -> None:
    kid, payload, _ = CursorCodec(SECRET).encode(SCOPE, POSITION).split(".")
    other = hmac.new(b"another-secret-another-secret-xx", f"{kid}.{payload}".encode(), hashlib.sha256).digest()
    assert _code(f"{kid}.{payload}.{_b64(other)}") == "invalid_next_token"


def test_token_of_the_earlier_encrypted_format_is_a_clean_400() -> None:
    """The previous release's tokens: base64url(nonce 12 + XOR ciphertext + tag 16), one part."""
    old = _b64(os.urandom(12) + b"x" * 60 + os.urandom(16))
    assert _code(old) == "invalid_next_token"


def test_key_id_reveals_nothing_usable_about_the_key() -> None:
    kid = key_id(SECRET)
    assert len(_unb64(kid)) == 6 and SECRET.decode() not in kid
    assert key_id(SECRET) == kid != key_id(SECRET[::-1])


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b.c",
        "!!!.???.***",
        "e30.",
        ".e30",
        "A" * 60,
        "e30",
        "AAAAAAAA..AAAA",
        "AAAAAAAA.e30.AAAA",  # signature of the wrong length
        "AAAA.e30." + "A" * 43,  # key id of the wrong length
        "AAAAAAAA.e30." + "A" * 43 + ".x",
        "AAAAAAAA.e3 0." + "A" * 43,
    ],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    assert _code(token) == "invalid_next_token"


def test_a_valid_signature_over_a_bad_payload_is_still_refused() -> None:
    kid = key_id(SECRET)
    for body in (b"not json", b"[]", json.dumps({"s": SCOPE, "p": {"image_id": 5}}).encode()):
        payload = _b64(body)
        signature = _b64(hmac.new(SECRET, f"{kid}.{payload}".encode(), hashlib.sha256).digest())
        assert _code(f"{kid}.{payload}.{signature}") == "invalid_next_token"


def test_short_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        CursorCodec(b"short")
