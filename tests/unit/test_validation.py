import base64
import json

import pytest

from image_service.errors import BadRequest, PayloadTooLarge, ServiceError, UnsupportedMediaType
from image_service.validation import (
    MAX_TAGS,
    base64_length,
    parse_edit,
    parse_image_id,
    parse_list_query,
    parse_upload,
    single_query_values,
)
from tests.support.images import picture

LIMIT = 4_500_000


def body(**fields: object) -> str:
    payload: dict[str, object] = {
        "user_id": "alice",
        "content_type": "image/png",
        "image_base64": base64.b64encode(picture("PNG")).decode(),
    }
    payload.update(fields)
    return json.dumps({k: v for k, v in payload.items() if v is not ...})


def test_valid_upload_is_parsed_and_tags_normalised() -> None:
    parsed = parse_upload(body(tags=[" Sunset", "sunset", "BEACH", "beach "], title="  Hi  "), max_image_bytes=LIMIT)
    assert parsed.tags == ("sunset", "beach")
    assert parsed.title == "Hi"
    assert (parsed.width, parsed.height) == (32, 24)
    assert parsed.data == picture("PNG")


def test_unicode_tags_are_lower_cased_and_nfc_normalised() -> None:
    parsed = parse_upload(body(tags=["Cafe\u0301", "ÜBER", "東京"]), max_image_bytes=LIMIT)
    assert parsed.tags == ("caf\u00e9", "über", "東京")


@pytest.mark.parametrize(
    ("raw", "code", "status"),
    [
        (None, "invalid_json", 400),
        ("", "invalid_json", 400),
        ("{", "invalid_json", 400),
        ("[]", "invalid_json", 400),
        ('"text"', "invalid_json", 400),
        (body(image_base64=...), "missing_field", 400),
        (body(content_type=...), "missing_field", 400),
        (body(user_id=42), "invalid_user_id", 400),
        (body(user_id="a b"), "invalid_user_id", 400),
        (body(user_id="x" * 65), "invalid_user_id", 400),
        (body(user_id="alice#cats"), "invalid_user_id", 400),
        (body(title=7), "invalid_field", 400),
        (body(title="x" * 201), "invalid_field", 400),
        (body(title="bell\x07"), "invalid_field", 400),
        (body(description="x" * 2001), "invalid_field", 400),
        (body(tags="sunset"), "invalid_tag", 400),
        (body(tags=[1]), "invalid_tag", 400),
        (body(tags=[""]), "invalid_tag", 400),
        (body(tags=["two words"]), "invalid_tag", 400),
        (body(tags=["a#b"]), "invalid_tag", 400),
        (body(tags=["_leading"]), "invalid_tag", 400),
        (body(tags=["x" * 41]), "invalid_tag", 400),
        (body(tags=[f"t{i}" for i in range(MAX_TAGS + 1)]), "too_many_tags", 400),
        (body(extra=1), "unknown_field", 400),
        (body(content_type="image/tiff"), "unsupported_media_type", 415),
        (body(content_type=5), "invalid_field", 400),
        (body(image_base64=""), "invalid_base64", 400),
        (body(image_base64="not base64!"), "invalid_base64", 400),
        (body(image_base64=base64.b64encode(picture("PNG")).decode()[:-3]), "invalid_base64", 400),
        (body(image_base64=12), "invalid_base64", 400),
        (body(image_base64=base64.b64encode(b"plain text").decode()), "invalid_image", 400),
        (body(content_type="image/jpeg"), "content_type_mismatch", 400),
    ],
)
def test_bad_uploads_are_refused_with_a_code(raw: str | None, code: str, status: int) -> None:
    with pytest.raises(ServiceError) as error:
        parse_upload(raw, max_image_bytes=LIMIT)
    assert (error.value.code, error.value.status) == (code, status)


def test_user_id_is_optional_at_parse_time() -> None:
    # A signed-in caller owns the upload; the open mode requires it later (identity module).
    assert parse_upload(body(user_id=...), max_image_bytes=LIMIT).user_id is None


def test_edit_takes_only_title_description_and_tags() -> None:
    edit = parse_edit(json.dumps({"tags": [" A", "a", "B"], "title": " New "}))
    assert (edit.title, edit.description, edit.tags) == ("New", None, ("a", "b"))
    assert parse_edit(json.dumps({"tags": []})).tags == ()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "invalid_json"),
        ("{}", "missing_field"),
        ('{"user_id": "mallory"}', "unknown_field"),
        ('{"image_base64": "AAAA"}', "unknown_field"),
        ('{"title": 3}', "invalid_field"),
        ('{"tags": "x"}', "invalid_tag"),
        ('{"tags": ["a b"]}', "invalid_tag"),
    ],
)
def test_bad_edits_are_400(raw: str | None, code: str) -> None:
    with pytest.raises(BadRequest) as error:
        parse_edit(raw)
    assert error.value.code == code


def test_image_over_the_limit_is_413() -> None:
    data = picture("PNG", (64, 64))
    with pytest.raises(PayloadTooLarge):
        parse_upload(body(image_base64=base64.b64encode(data).decode()), max_image_bytes=len(data) - 1)
    assert parse_upload(body(image_base64=base64.b64encode(data).decode()), max_image_bytes=len(data)).data == data


def test_huge_body_is_refused_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        parse_upload("x" * (base64_length(1000) + 70_000), max_image_bytes=1000)


def test_jpg_alias_is_accepted() -> None:
    data = picture("JPEG")
    parsed = parse_upload(
        body(content_type="image/JPG", image_base64=base64.b64encode(data).decode()), max_image_bytes=LIMIT
    )
    assert parsed.content_type == "image/jpeg"


def test_unsupported_type_is_415_before_decoding() -> None:
    with pytest.raises(UnsupportedMediaType):
        parse_upload(body(content_type="text/plain", image_base64="!!"), max_image_bytes=LIMIT)


def test_list_query_defaults_and_limits() -> None:
    query = parse_list_query({"user_id": "alice"})
    assert (query.user_id, query.tag, query.limit, query.next_token) == ("alice", None, 20, None)
    assert parse_list_query({"tag": " Sunset ", "limit": "100"}).tag == "sunset"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "missing_filter"),
        ({"limit": "5"}, "missing_filter"),
        ({"user_id": "alice", "limit": "0"}, "invalid_limit"),
        ({"user_id": "alice", "limit": "101"}, "invalid_limit"),
        ({"user_id": "alice", "limit": "-1"}, "invalid_limit"),
        ({"user_id": "alice", "limit": "ten"}, "invalid_limit"),
        ({"user_id": "alice", "limit": "٣"}, "invalid_limit"),
        ({"user_id": "a b"}, "invalid_user_id"),
        ({"tag": "a b"}, "invalid_tag"),
        ({"user_id": "alice", "next_token": "x" * 2000}, "invalid_next_token"),
    ],
)
def test_bad_list_queries_are_400(params: dict[str, str], code: str) -> None:
    with pytest.raises(BadRequest) as error:
        parse_list_query(params)
    assert error.value.code == code


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"user_id": "alice", "sha256": "abc"}, "invalid_sha256"),
        ({"user_id": "alice", "sha256": "g" * 64}, "invalid_sha256"),
        ({"tag": "cats", "sha256": "a" * 64}, "invalid_filter"),
        ({"user_id": "alice", "tag": "cats", "sha256": "a" * 64}, "invalid_filter"),
        ({"sha256": "a" * 64}, "missing_filter"),
    ],
)
def test_a_bad_sha256_filter_is_400(query: dict[str, str], code: str) -> None:
    """The checksum listing (``GET /images?user_id=U&sha256=HEX``) of duplicate uploads (issue 19, item 2)."""
    with pytest.raises(BadRequest) as refused:
        parse_list_query(query)
    assert refused.value.code == code


def test_repeated_query_parameter_with_different_values_is_400() -> None:
    assert single_query_values({"tag": ["a", "a"]}, {"tag": "a"}) == {"tag": "a"}
    with pytest.raises(BadRequest) as error:
        single_query_values({"tag": ["a", "b"]}, {"tag": "b"})
    assert error.value.code == "repeated_parameter"


@pytest.mark.parametrize(
    "value", [None, {}, {"image_id": ""}, {"image_id": "../../etc/passwd"}, {"image_id": "x" * 26}]
)
def test_bad_image_ids_are_400(value: dict[str, str] | None) -> None:
    with pytest.raises(BadRequest):
        parse_image_id(value)


@pytest.mark.parametrize("title", ["photo\u202egpj.exe", "a\u2066b", "line\u2028break", "para\u2029graph"])
def test_titles_refuse_bidi_overrides_and_line_separators(title: str) -> None:
    with pytest.raises(BadRequest) as error:
        parse_upload(body(title=title), max_image_bytes=LIMIT)
    assert error.value.code == "invalid_field"


def test_descriptions_keep_line_breaks_but_refuse_bidi_overrides() -> None:
    assert (
        parse_upload(body(description="one\ntwo\u2028three"), max_image_bytes=LIMIT).description
        == "one\ntwo\u2028three"
    )
    with pytest.raises(BadRequest):
        parse_upload(body(description="evil\u202e"), max_image_bytes=LIMIT)


def test_json_under_another_type_is_still_read_and_only_unreadable_bodies_are_415() -> None:
    from image_service.validation import refuse_unreadable_upload

    for content_type, body in [
        (None, '{"a": 1}'),
        ("text/plain", '{"a": 1}'),
        ("application/json", "{not json"),  # declared JSON: its 400 says what is wrong with it
        ("application/x-www-form-urlencoded", ""),  # empty: the JSON path's 400 "required"
        ("multipart/form-data", '{"a": 1}'),
    ]:
        refuse_unreadable_upload(content_type, body)
    for content_type, body in [
        ("multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="file"\r\n'),
        ("application/x-www-form-urlencoded", "\ufffd\ufffd\ufffd\ufffdJFIF"),
        (None, "\ufffdPNG"),
    ]:
        with pytest.raises(UnsupportedMediaType) as refused:
            refuse_unreadable_upload(content_type, body)
        assert "Content-Type: image/jpeg" in refused.value.message


def test_an_octet_stream_body_is_read_as_the_format_of_its_bytes() -> None:
    from image_service.validation import parse_raw_upload

    image = parse_raw_upload(picture("WEBP"), "application/octet-stream", {"user_id": "a"}, max_image_bytes=10**6)
    assert image.content_type == "image/webp"
    with pytest.raises(PayloadTooLarge) as too_large:
        parse_raw_upload(picture("PNG"), "application/octet-stream", {"user_id": "a"}, max_image_bytes=10)
    assert "POST /images/uploads" in too_large.value.message


def test_decoding_base64_holds_no_copy_of_the_text() -> None:
    """Memory (issue 19): a JSON upload at the limit is 6 MB of base64 text. Checking it for
    misplaced padding must not copy it (a slice did: 1.33x the image, the JSON path's peak)."""
    import base64
    import tracemalloc

    from image_service.validation import decode_base64

    data = bytes(range(256)) * 8192  # 2 MiB
    encoded = base64.b64encode(data).decode("ascii")
    tracemalloc.start()
    try:
        decoded = decode_base64(encoded)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert decoded == data
    assert peak < len(data) * 1.05, peak  # the decoded bytes themselves, and nothing the size of the text
