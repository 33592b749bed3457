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


def test_every_single_byte_edit_is_refused() -> None:
    import base64

    codec = CursorCodec(SECRET)
    token = codec.encode(SCOPE, {"image_id": "01ABC"})
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    for index in range(len(raw)):
        edited = bytearray(raw)
        edited[index] ^= 0x01
        forged = base64.urlsafe_b64encode(bytes(edited)).rstrip(b"=").decode()
        with pytest.raises(InvalidCursor):
            codec.decode(forged, SCOPE)


def test_token_reveals_nothing_of_its_listing_or_position() -> None:
    import base64

    token = CursorCodec(SECRET).encode("user=alice&tag=cats", {"image_id": "01JDQ8ZB3F2T6X8W4N5R7K9M0P"})
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for secret_text in (b"alice", b"cats", b"01JDQ8ZB3F2T6X8W4N5R7K9M0P", b"image_id", b"user="):
        assert secret_text not in raw and secret_text.decode() not in token


def test_same_position_gives_different_tokens() -> None:
    codec = CursorCodec(SECRET)
    assert codec.encode(SCOPE, {"image_id": "01ABC"}) != codec.encode(SCOPE, {"image_id": "01ABC"})


def test_token_signed_with_another_key_is_refused() -> None:
    token = CursorCodec(b"another-secret-another-secret-xx").encode(SCOPE, {"image_id": "01ABC"})
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode(token, SCOPE)


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "!!!.???", "e30.", ".e30", "A" * 60, "e30"])
def test_malformed_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidCursor):
        CursorCodec(SECRET).decode(token, SCOPE)


def test_short_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        CursorCodec(b"short")
