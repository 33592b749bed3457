import pytest

from image_service.cursors import CursorCodec
from image_service.errors import InvalidCursor

SECRET = b"0123456789abcdef0123456789abcdef"
SCOPE = "user=alice&tag="


def test_round_trip_returns_the_position() -> None:
    codec = CursorCodec(SECRET)
    token = codec.encode(SCOPE, {"image_id": "01ABC", "created_at": "2026-01-01T00:00:00.000Z"})
    assert codec.decode(token, SCOPE) == {"image_id": "01ABC", "created_at": "2026-01-01T00:00:00.000Z"}


def test_token_of_one_listing_is_refused_by_another() -> None:
    codec = CursorCodec(SECRET)
    token = codec.encode(SCOPE, {"image_id": "01ABC"})
    with pytest.raises(InvalidCursor):
        codec.decode(token, "user=bob&tag=")


def test_edited_token_is_refused() -> None:
    codec = CursorCodec(SECRET)
    payload, signature = codec.encode(SCOPE, {"image_id": "01ABC"}).split(".")
    # Re-encode the payload for another user: the signature no longer matches.
    import base64
    import json

    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["s"] = "user=bob&tag="
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    with pytest.raises(InvalidCursor):
        codec.decode(f"{forged}.{signature}", "user=bob&tag=")


def test_token_signed_with_another_key_is_refused() -> None:
    token = CursorCodec(b"another-secret-another-secret-xx").encode(SCOPE, {"image_id": "01ABC"})
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode(token, SCOPE)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "!!!.???", "e30.", ".e30"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode(token, SCOPE)


def test_short_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        CursorCodec(b"short")
