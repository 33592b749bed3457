"""A catalogue of hostile and broken requests, over HTTP against the local mode.

Every case must get its documented 4xx (see README "API") with a JSON ``{"message", "code"}``
body that gives nothing internal away, and must leave the bucket and both tables exactly as
they were. A request the service
answers with a 5xx, or that stores anything, fails here.

The second half proves that ``next_token`` is tamper-proof over HTTP: it cannot be edited or
replayed to read another user's or tag's listing.
"""

from __future__ import annotations

import base64
import json
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from localapi.app import LocalApp
from tests.support.images import picture
from tests.support.leaks import leaks_in, resource_names
from tests.support.local_mode import Api

MAX_IMAGE_BYTES = 4_500_000  # the template's MaxImageBytes default (README: "Images up to 4,500,000 bytes")
UNKNOWN_ID = "01JDQ8ZB3F2T6X8W4N5R7K9M0P"  # well-formed, never stored
PNG = picture("PNG")
PNG_B64 = base64.b64encode(PNG).decode()
# The PNG with NUL bytes appended so that its length is 1 mod 3: its base64 ends in "==".
PADDED_PNG_B64 = base64.b64encode(PNG + b"\0" * ((1 - len(PNG)) % 3)).decode()
DROP = object()  # marks a field to leave out of the otherwise valid upload body


def upload_body(**changes: Any) -> dict[str, Any]:
    """A valid upload body, with fields changed (or dropped with ``DROP``)."""
    body: dict[str, Any] = {
        "user_id": "catalogue-user",
        "title": "fine",
        "tags": ["ok"],
        "content_type": "image/png",
        "image_base64": PNG_B64,
    }
    body.update(changes)
    return {name: value for name, value in body.items() if value is not DROP}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b"")
    )


def over_limit_png() -> bytes:
    """A real PNG padded to one byte over the limit: only its size is wrong."""
    return PNG + b"\0" * (MAX_IMAGE_BYTES + 1 - len(PNG))


@dataclass
class Seed:
    """Stored data the dynamic cases need: a user with photos, and real tokens of their listings."""

    user: str
    other_user: str
    tag: str
    image_id: str
    image_ids: list[str]
    user_token: str
    tag_token: str
    user_and_tag_token: str


Value = str | Callable[[Seed], str]


@dataclass(frozen=True)
class Case:
    id: str
    method: str
    path: str | Callable[[Seed], str]
    expect: tuple[int, str] | frozenset[tuple[int, str]]
    json_body: Any = DROP
    data: bytes | str | None = None
    params: tuple[tuple[str, Value], ...] = ()
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, api: Api, seed: Seed) -> requests.Response:
        path = self.path(seed) if callable(self.path) else self.path
        params = [(name, value(seed) if callable(value) else value) for name, value in self.params]
        kwargs: dict[str, Any] = {"params": params, "headers": dict(self.headers)}
        if self.json_body is not DROP:
            kwargs["data"] = json.dumps(self.json_body, ensure_ascii=False).encode()
            kwargs["headers"].setdefault("Content-Type", "application/json")
        elif self.data is not None:
            kwargs["data"] = self.data
            kwargs["headers"].setdefault("Content-Type", "application/json")
        return api.request(self.method, path, **kwargs)

    @property
    def allowed(self) -> frozenset[tuple[int, str]]:
        return self.expect if isinstance(self.expect, frozenset) else frozenset({self.expect})


def post(case_id: str, expect: tuple[int, str], **kwargs: Any) -> Case:
    return Case(case_id, "POST", "/images", expect, **kwargs)


def listing(case_id: str, expect: tuple[int, str], *params: tuple[str, Value]) -> Case:
    return Case(case_id, "GET", "/images", expect, params=params)


def raw(
    case_id: str,
    expect: tuple[int, str],
    data: bytes,
    *,
    content_type: str = "image/png",
    params: tuple[tuple[str, Value], ...] = (),
) -> Case:
    """``POST /images`` with the image bytes as the body (curl --data-binary)."""
    owner = () if any(name == "user_id" for name, _ in params) else (("user_id", "catalogue-user"),)
    query = (*owner, *params)
    return Case(case_id, "POST", "/images", expect, data=data, params=query, headers={"Content-Type": content_type})


def direct(case_id: str, expect: tuple[int, str], **kwargs: Any) -> Case:
    return Case(case_id, "POST", "/images/uploads", expect, **kwargs)


def edit(case_id: str, expect: tuple[int, str], image_id: str | None, **kwargs: Any) -> Case:
    """``PATCH /images/{id}``: of the seeded image when ``image_id`` is None."""
    path: str | Callable[[Seed], str] = f"/images/{image_id}" if image_id else (lambda s: f"/images/{s.image_id}")
    return Case(case_id, "PATCH", path, expect, **kwargs)


INVALID_JSON = (400, "invalid_json")
MISSING = (400, "missing_field")
UNKNOWN_FIELD = (400, "unknown_field")
BAD_USER = (400, "invalid_user_id")
BAD_FIELD = (400, "invalid_field")
BAD_TAG = (400, "invalid_tag")
TOO_MANY_TAGS = (400, "too_many_tags")
BAD_BASE64 = (400, "invalid_base64")
NOT_IMAGE = (400, "invalid_image")
DAMAGED = (400, "image_damaged")
MISMATCH = (400, "content_type_mismatch")
UNSUPPORTED = (415, "unsupported_media_type")
TOO_LARGE = (413, "payload_too_large")
GATEWAY_TOO_LARGE = (413, "REQUEST_TOO_LARGE")
NO_FILTER = (400, "missing_filter")
BAD_LIMIT = (400, "invalid_limit")
REPEATED = (400, "repeated_parameter")
BAD_TOKEN = (400, "invalid_next_token")
BAD_ID = (400, "invalid_image_id")
NOT_FOUND = (404, "not_found")
NO_ROUTE = (403, "MISSING_AUTHENTICATION_TOKEN")  # API Gateway's answer to an unknown route or method
# A "/" inside the id: API Gateway routes on the encoded path, the local mode on the decoded one.
TRAVERSAL = frozenset({BAD_ID, NO_ROUTE})


def _decoded(token: str) -> bytes:
    """The bytes behind a token, whatever its layout (base64url parts, maybe joined by ".")."""
    out = b""
    for part in token.split("."):
        try:
            out += base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except ValueError:
            out += part.encode()
    return out


def _tamper(token: str) -> str:
    """Change one character in the middle of the token, where every bit counts."""
    middle = len(token) // 2
    if token[middle] == ".":
        middle += 1
    replacement = "A" if token[middle] != "A" else "B"
    return token[:middle] + replacement + token[middle + 1 :]


def _forge(seed: Seed) -> str:
    """A token with a readable payload for another user and a signature made up by the client."""
    payload = json.dumps({"p": {"image_id": seed.image_id, "created_at": "2099-01-01T00:00:00.000Z"}, "s": "x"})
    encoded = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    return f"{encoded}.{base64.urlsafe_b64encode(b'0' * 16).rstrip(b'=').decode()}"


CASES: list[Case] = [
    # -- the body is not a JSON object ------------------------------------------------------------
    post("empty-body", INVALID_JSON, data=b""),
    post("not-json", INVALID_JSON, data=b"{not json"),
    post("truncated-json", INVALID_JSON, data=json.dumps(upload_body())[:-20]),
    post("json-null", INVALID_JSON, data=b"null"),
    post("json-array", INVALID_JSON, data=b"[]"),
    post("json-string", INVALID_JSON, data=b'"an image"'),
    post("json-number", INVALID_JSON, data=b"42"),
    post("deeply-nested-json", INVALID_JSON, data=b"[" * 100_000 + b"]" * 100_000),
    post("not-utf8", INVALID_JSON, data=b"\xff\xfe{\x00}"),
    # Neither JSON nor a declared image: the gateway passes it as text, so 415 says what to send.
    post(
        "form-encoded",
        UNSUPPORTED,
        data=b"user_id=a&content_type=image/png",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    post(
        "multipart-form",
        UNSUPPORTED,
        data=b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n\r\n\xff\xd8\r\n--b--\r\n',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    ),
    # -- missing, unknown and wrongly typed fields ------------------------------------------------
    post("missing-content-type", MISSING, json_body=upload_body(content_type=DROP)),
    post("missing-image", MISSING, json_body=upload_body(image_base64=DROP)),
    post("empty-object", MISSING, json_body={}),
    post("unknown-field", UNKNOWN_FIELD, json_body=upload_body(owner="admin")),
    post("thousands-of-unknown-fields", UNKNOWN_FIELD, json_body=upload_body(**{f"f{i}": i for i in range(5000)})),
    post("user-id-number", BAD_USER, json_body=upload_body(user_id=42)),
    post("user-id-empty", BAD_USER, json_body=upload_body(user_id="")),
    post("user-id-object", BAD_USER, json_body=upload_body(user_id={"$ne": ""})),
    post("user-id-traversal", BAD_USER, json_body=upload_body(user_id="../../etc/passwd")),
    post("user-id-hash-breaks-index-key", BAD_USER, json_body=upload_body(user_id="alice#cats")),
    post("user-id-65-chars", BAD_USER, json_body=upload_body(user_id="a" * 65)),
    post("user-id-unicode", BAD_USER, json_body=upload_body(user_id="ålice")),
    post("user-id-huge", BAD_USER, json_body=upload_body(user_id="u" * 1_000_000)),
    post("title-number", BAD_FIELD, json_body=upload_body(title=1.5)),
    post("title-list", BAD_FIELD, json_body=upload_body(title=["a"])),
    post("title-201-chars", BAD_FIELD, json_body=upload_body(title="t" * 201)),
    post("title-huge", BAD_FIELD, json_body=upload_body(title="t" * 1_000_000)),
    post("title-nul", BAD_FIELD, json_body=upload_body(title="a\x00b")),
    post("title-newline", BAD_FIELD, json_body=upload_body(title="line\nbreak")),
    post("title-escape-sequence", BAD_FIELD, json_body=upload_body(title="\x1b[31mred")),
    # A lone UTF-16 surrogate is valid JSON (an escape) but not text: it cannot be stored.
    post(
        "title-lone-surrogate",
        BAD_FIELD,
        data=f'{{"content_type":"image/png","user_id":"a","title":"\\ud800","image_base64":"{PNG_B64}"}}',
    ),
    post(
        "description-lone-surrogate",
        BAD_FIELD,
        data=f'{{"content_type":"image/png","user_id":"a","description":"x \\udfff","image_base64":"{PNG_B64}"}}',
    ),
    post("description-2001-chars", BAD_FIELD, json_body=upload_body(description="d" * 2001)),
    post("description-bell", BAD_FIELD, json_body=upload_body(description="ding\x07")),
    # -- tags -----------------------------------------------------------------------------------------
    post("tags-string", BAD_TAG, json_body=upload_body(tags="cats,dogs")),
    post("tags-object", BAD_TAG, json_body=upload_body(tags={"cats": True})),
    post("tag-number", BAD_TAG, json_body=upload_body(tags=[1])),
    post("tag-null", BAD_TAG, json_body=upload_body(tags=[None])),
    post("tag-nested-list", BAD_TAG, json_body=upload_body(tags=[["cats"]])),
    post("tag-empty", BAD_TAG, json_body=upload_body(tags=[""])),
    post("tag-blank", BAD_TAG, json_body=upload_body(tags=["   "])),
    post("tag-space-inside", BAD_TAG, json_body=upload_body(tags=["two words"])),
    post("tag-hash", BAD_TAG, json_body=upload_body(tags=["a#b"])),
    post("tag-slash-traversal", BAD_TAG, json_body=upload_body(tags=["../x"])),
    post("tag-leading-underscore", BAD_TAG, json_body=upload_body(tags=["_x"])),
    post("tag-41-chars", BAD_TAG, json_body=upload_body(tags=["t" * 41])),
    post("tag-emoji", BAD_TAG, json_body=upload_body(tags=["🐱"])),
    post("tag-right-to-left-override", BAD_TAG, json_body=upload_body(tags=["abc\u202egpj"])),
    post("tag-zero-width-space", BAD_TAG, json_body=upload_body(tags=["cat\u200bs"])),
    post("tag-combining-mark-only", BAD_TAG, json_body=upload_body(tags=["\u0301"])),
    post("tag-nul", BAD_TAG, json_body=upload_body(tags=["a\x00"])),
    post("tag-html", BAD_TAG, json_body=upload_body(tags=["<script>"])),
    post("eleven-tags", TOO_MANY_TAGS, json_body=upload_body(tags=[f"t{i}" for i in range(11)])),
    post("ten-thousand-tags", TOO_MANY_TAGS, json_body=upload_body(tags=["t"] * 10_000)),
    # -- content type ---------------------------------------------------------------------------------
    post("content-type-bmp", UNSUPPORTED, json_body=upload_body(content_type="image/bmp")),
    post("content-type-svg", UNSUPPORTED, json_body=upload_body(content_type="image/svg+xml")),
    post("content-type-html", UNSUPPORTED, json_body=upload_body(content_type="text/html")),
    post("content-type-empty", UNSUPPORTED, json_body=upload_body(content_type="")),
    post("content-type-number", BAD_FIELD, json_body=upload_body(content_type=7)),
    # -- base64 ---------------------------------------------------------------------------------------
    post("base64-number", BAD_BASE64, json_body=upload_body(image_base64=12345)),
    post("base64-empty", BAD_BASE64, json_body=upload_body(image_base64="")),
    post("base64-bad-characters", BAD_BASE64, json_body=upload_body(image_base64="!!!!" + PNG_B64)),
    post("base64-truncated", BAD_BASE64, json_body=upload_body(image_base64=PNG_B64[:-1])),
    post("base64-missing-padding", BAD_BASE64, json_body=upload_body(image_base64=PADDED_PNG_B64.rstrip("="))),
    post("base64-data-after-padding", BAD_BASE64, json_body=upload_body(image_base64=PADDED_PNG_B64 + "AAAA")),
    post(
        "base64-url-safe-alphabet",
        BAD_BASE64,
        json_body=upload_body(image_base64=b64(b"\xfb\xff" * 30).replace("+", "-").replace("/", "_")),
    ),
    post("base64-with-newlines", BAD_BASE64, json_body=upload_body(image_base64=PNG_B64[:40] + "\n" + PNG_B64[40:])),
    post("base64-data-uri", BAD_BASE64, json_body=upload_body(image_base64="data:image/png;base64," + PNG_B64)),
    # -- bytes that are not (the declared) image ------------------------------------------------
    post("bytes-text", NOT_IMAGE, json_body=upload_body(image_base64=b64(b"hello, not a picture"))),
    post("bytes-svg-script", NOT_IMAGE, json_body=upload_body(image_base64=b64(b"<svg><script>x()</script></svg>"))),
    post("bytes-bmp", NOT_IMAGE, json_body=upload_body(image_base64=b64(picture("BMP")))),
    # A PNG signature, then bytes that do not make a picture: damaged (issue 14), not "no image".
    post("bytes-truncated-png", DAMAGED, json_body=upload_body(image_base64=b64(PNG[:40]))),
    post("bytes-zero-size-png", DAMAGED, json_body=upload_body(image_base64=b64(png_claiming(0, 0)))),
    post("bytes-decompression-bomb", NOT_IMAGE, json_body=upload_body(image_base64=b64(png_claiming(30_000, 30_000)))),
    post("png-declared-jpeg", MISMATCH, json_body=upload_body(content_type="image/jpeg")),
    post("gif-declared-png", MISMATCH, json_body=upload_body(image_base64=b64(picture("GIF")))),
    post(
        "jpeg-declared-webp",
        MISMATCH,
        json_body=upload_body(content_type="image/webp", image_base64=b64(picture("JPEG"))),
    ),
    # -- size limits ------------------------------------------------------------------------------------
    post("image-one-byte-over-limit", TOO_LARGE, json_body=upload_body(image_base64=b64(over_limit_png()))),
    # Over Lambda's 6 MB request payload: API Gateway refuses it before the function runs.
    post("event-over-6-mb", GATEWAY_TOO_LARGE, json_body=upload_body(image_base64=b64(b"\0" * 4_800_000))),
    # -- raw uploads: the image itself as the body, metadata in the query -------------------------------
    raw("raw-not-an-image", NOT_IMAGE, b"hello, not a picture"),
    raw("raw-empty", NOT_IMAGE, b""),
    raw("raw-png-declared-jpeg", MISMATCH, PNG, content_type="image/jpeg"),
    raw("raw-unsupported-type", UNSUPPORTED, picture("BMP"), content_type="image/bmp"),
    raw("raw-svg", UNSUPPORTED, b"<svg><script>x()</script></svg>", content_type="image/svg+xml"),
    raw("raw-octet-stream-bmp", NOT_IMAGE, picture("BMP"), content_type="application/octet-stream"),
    raw("raw-octet-stream-empty", NOT_IMAGE, b"", content_type="application/octet-stream"),
    raw("raw-unknown-query-parameter", UNKNOWN_FIELD, PNG, params=(("owner", "admin"),)),
    raw("raw-image-base64-in-query", UNKNOWN_FIELD, PNG, params=(("image_base64", PNG_B64[:100]),)),
    raw("raw-bad-tag", BAD_TAG, PNG, params=(("tags", "ok,two words"),)),
    raw("raw-too-many-tags", TOO_MANY_TAGS, PNG, params=(("tags", ",".join(f"t{i}" for i in range(11))),)),
    raw("raw-user-traversal", BAD_USER, PNG, params=(("user_id", "../x"),)),
    raw("raw-title-control-character", BAD_FIELD, PNG, params=(("title", "a\x07b"),)),
    raw("raw-keep-location-not-a-flag", BAD_FIELD, PNG, params=(("keep_location", "maybe"),)),
    raw("raw-repeated-parameter", REPEATED, PNG, params=(("title", "a"), ("title", "b"))),
    raw("raw-one-byte-over-limit", TOO_LARGE, over_limit_png()),
    raw("raw-event-over-6-mb", GATEWAY_TOO_LARGE, b"\0" * 4_800_000),
    # -- direct uploads: the metadata of a photo sent to S3 with a pre-signed POST ---------------------
    direct("direct-empty-body", INVALID_JSON, data=b""),
    direct("direct-not-json", INVALID_JSON, data=b"{nope"),
    direct("direct-missing-content-type", MISSING, json_body={"user_id": "a"}),
    direct("direct-unsupported-type", UNSUPPORTED, json_body={"user_id": "a", "content_type": "image/tiff"}),
    direct("direct-with-the-image", UNKNOWN_FIELD, json_body=upload_body()),
    direct("direct-bad-tag", BAD_TAG, json_body={"user_id": "a", "content_type": "image/png", "tags": ["a/b"]}),
    direct("direct-bad-user", BAD_USER, json_body={"user_id": "a b", "content_type": "image/png"}),
    direct("direct-keep-location-number", BAD_FIELD, json_body={"content_type": "image/png", "keep_location": 1}),
    direct("direct-huge-metadata", TOO_LARGE, json_body={"content_type": "image/png", "title": "t" * 70_000}),
    # -- edits --------------------------------------------------------------------------------------------
    edit("edit-unknown-image", NOT_FOUND, UNKNOWN_ID, json_body={"title": "x"}),
    edit("edit-id-traversal", BAD_ID, "%2E%2E", json_body={"title": "x"}),
    edit("edit-empty-object", MISSING, None, json_body={}),
    edit("edit-not-json", INVALID_JSON, None, data=b"title=x"),
    edit("edit-owner", UNKNOWN_FIELD, None, json_body={"user_id": "someone-else"}),
    edit("edit-content-type", UNKNOWN_FIELD, None, json_body={"content_type": "image/gif"}),
    edit("edit-bad-tags", BAD_TAG, None, json_body={"tags": ["🐱"]}),
    edit("edit-too-many-tags", TOO_MANY_TAGS, None, json_body={"tags": [f"t{i}" for i in range(11)]}),
    edit("edit-title-too-long", BAD_FIELD, None, json_body={"title": "t" * 201}),
    edit("edit-title-lone-surrogate", BAD_FIELD, None, data=b'{"title": "\\ud800"}'),
    edit("edit-huge-body", TOO_LARGE, None, json_body={"description": "d" * 70_000}),
    # -- listing parameters -----------------------------------------------------------------------------
    listing("no-filter", NO_FILTER),
    listing("only-limit", NO_FILTER, ("limit", "5")),
    listing("empty-filters", NO_FILTER, ("user_id", ""), ("tag", "")),
    listing("list-user-traversal", BAD_USER, ("user_id", "../other")),
    listing("list-user-with-hash", BAD_USER, ("user_id", "a#b")),
    listing("list-tag-with-space", BAD_TAG, ("tag", "two words")),
    listing("list-tag-emoji", BAD_TAG, ("tag", "🐱")),
    listing("limit-zero", BAD_LIMIT, ("user_id", "a"), ("limit", "0")),
    listing("limit-101", BAD_LIMIT, ("user_id", "a"), ("limit", "101")),
    listing("limit-negative", BAD_LIMIT, ("user_id", "a"), ("limit", "-1")),
    listing("limit-fraction", BAD_LIMIT, ("user_id", "a"), ("limit", "1.5")),
    listing("limit-word", BAD_LIMIT, ("user_id", "a"), ("limit", "ten")),
    listing("limit-empty", BAD_LIMIT, ("user_id", "a"), ("limit", "")),
    listing("limit-huge", BAD_LIMIT, ("user_id", "a"), ("limit", "9" * 40)),
    listing("limit-arabic-digits", BAD_LIMIT, ("user_id", "a"), ("limit", "٣")),
    listing("limit-padded", BAD_LIMIT, ("user_id", "a"), ("limit", " 5")),
    listing("repeated-user-id", REPEATED, ("user_id", "a"), ("user_id", "b")),
    listing("repeated-tag", REPEATED, ("tag", "a"), ("tag", "b")),
    listing("repeated-limit", REPEATED, ("user_id", "a"), ("limit", "1"), ("limit", "100")),
    listing(
        "repeated-next-token",
        REPEATED,
        ("user_id", lambda s: s.user),
        ("next_token", lambda s: s.user_token),
        ("next_token", "x.y"),
    ),
    # -- next_token: malformed, forged, tampered, replayed ----------------------------------------------
    listing("token-garbage", BAD_TOKEN, ("user_id", "a"), ("next_token", "garbage")),
    listing("token-three-parts", BAD_TOKEN, ("user_id", "a"), ("next_token", "a.b.c")),
    listing("token-non-ascii", BAD_TOKEN, ("user_id", "a"), ("next_token", "é.é")),
    listing("token-plain-json", BAD_TOKEN, ("user_id", "a"), ("next_token", '{"image_id": "x"}')),
    listing("token-too-long", BAD_TOKEN, ("user_id", "a"), ("next_token", "A" * 1025 + ".A")),
    listing("token-forged-signature", BAD_TOKEN, ("user_id", lambda s: s.user), ("next_token", _forge)),
    listing("token-truncated", BAD_TOKEN, ("user_id", lambda s: s.user), ("next_token", lambda s: s.user_token[:-3])),
    listing(
        "token-payload-edited",
        BAD_TOKEN,
        ("user_id", lambda s: s.user),
        ("next_token", lambda s: _tamper(s.user_token)),
    ),
    listing(
        "token-of-another-user", BAD_TOKEN, ("user_id", lambda s: s.other_user), ("next_token", lambda s: s.user_token)
    ),
    listing("token-of-user-used-for-tag", BAD_TOKEN, ("tag", lambda s: s.tag), ("next_token", lambda s: s.user_token)),
    listing(
        "token-of-tag-used-for-user-and-tag",
        BAD_TOKEN,
        ("user_id", lambda s: s.other_user),
        ("tag", lambda s: s.tag),
        ("next_token", lambda s: s.tag_token),
    ),
    listing(
        "token-of-user-and-tag-used-for-other-tag",
        BAD_TOKEN,
        ("user_id", lambda s: s.user),
        ("tag", "othertag"),
        ("next_token", lambda s: s.user_and_tag_token),
    ),
    # -- image ids in the path --------------------------------------------------------------------------
    Case("get-id-dot-dot", "GET", "/images/%2E%2E", BAD_ID),
    Case("get-id-traversal", "GET", "/images/..%2F..%2Fetc%2Fpasswd", TRAVERSAL),
    Case("get-id-encoded-slash", "GET", lambda s: f"/images/{s.image_id}%2F..", TRAVERSAL),
    Case("get-id-lower-case", "GET", lambda s: f"/images/{s.image_id.lower()}", BAD_ID),
    Case("get-id-too-long", "GET", f"/images/{UNKNOWN_ID}0", BAD_ID),
    Case("get-id-overflowing-ulid", "GET", "/images/8" + UNKNOWN_ID[1:], BAD_ID),
    Case("get-id-nul", "GET", lambda s: f"/images/{s.image_id}%00", BAD_ID),
    Case("get-id-injection", "GET", "/images/'%20OR%201=1--", BAD_ID),
    Case("get-id-unicode", "GET", "/images/%C3%A9", BAD_ID),
    Case("get-unknown-id", "GET", f"/images/{UNKNOWN_ID}", NOT_FOUND),
    Case("download-id-traversal", "GET", "/images/%2E%2E/download", BAD_ID),
    Case("download-unknown-id", "GET", f"/images/{UNKNOWN_ID}/download", NOT_FOUND),
    Case("delete-id-traversal", "DELETE", "/images/%2E%2E", BAD_ID),
    Case("delete-id-wildcard", "DELETE", "/images/*", BAD_ID),
    Case("delete-unknown-id", "DELETE", f"/images/{UNKNOWN_ID}", NOT_FOUND),
    # -- wrong methods and routes -------------------------------------------------------------------------
    Case("put-images", "PUT", "/images", NO_ROUTE, json_body=upload_body()),
    Case("delete-collection", "DELETE", "/images", NO_ROUTE),
    Case("post-to-image", "POST", lambda s: f"/images/{s.image_id}", NO_ROUTE, json_body=upload_body()),
    Case("put-image", "PUT", lambda s: f"/images/{s.image_id}", NO_ROUTE, json_body=upload_body()),
    Case("post-download", "POST", lambda s: f"/images/{s.image_id}/download", NO_ROUTE),
    Case("delete-download", "DELETE", lambda s: f"/images/{s.image_id}/download", NO_ROUTE),
    Case("unknown-route", "GET", "/admin", NO_ROUTE),
    Case("trailing-segment", "GET", lambda s: f"/images/{s.image_id}/download/extra", NO_ROUTE),
]


@pytest.fixture(scope="module")
def seed(local_app: LocalApp) -> Iterator[Seed]:
    """A user with three photos tagged with a tag of this module's own, and their listings' tokens."""
    import uuid

    api = Api(local_app.url, local_app)
    user, other, tag = f"u-{uuid.uuid4().hex[:12]}", f"u-{uuid.uuid4().hex[:12]}", f"t{uuid.uuid4().hex[:12]}"
    ids = [api.upload(user, tags=[tag])["image_id"] for _ in range(3)]

    def token(**params: str) -> str:
        page = api.request("GET", "/images", params={**params, "limit": "1"}).json()
        assert page["next_token"], page
        return str(page["next_token"])

    yield Seed(
        user=user,
        other_user=other,
        tag=tag,
        image_id=ids[0],
        image_ids=ids,
        user_token=token(user_id=user),
        tag_token=token(tag=tag),
        user_and_tag_token=token(user_id=user, tag=tag),
    )


def test_the_catalogue_is_large_and_unambiguous() -> None:
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_request_gets_its_4xx_and_changes_nothing(case: Case, api: Api, seed: Seed) -> None:
    before = api.storage()

    response = case.send(api, seed)

    assert (response.status_code, _code(response)) in case.allowed, response.text[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"message", "code"}, body
    assert isinstance(body["message"], str) and body["message"].strip()
    assert leaks_in(response.text, resource_names(api.app.template)) == []
    assert api.storage() == before, f"{case.id} changed storage"


def _code(response: requests.Response) -> str | None:
    try:
        return str(response.json().get("code"))
    except ValueError:
        return None


def test_an_image_exactly_at_the_limit_is_accepted(api: Api, user: str) -> None:
    """The other side of "image-one-byte-over-limit": the 413 is about the limit, not the padding."""
    data = over_limit_png()[:-1]
    assert len(data) == MAX_IMAGE_BYTES
    body = upload_body(user_id=user, image_base64=b64(data))
    response = api.request("POST", "/images", json=body)
    assert response.status_code == 201, response.text[:300]
    assert response.json()["size_bytes"] == MAX_IMAGE_BYTES
    assert api.request("DELETE", f"/images/{response.json()['image_id']}").status_code == 204


def test_odd_but_valid_unicode_tags_are_normalised_not_refused(api: Api, user: str) -> None:
    """Letters of any script are tags; case and Unicode normal form do not make two tags."""
    nfd_cafe = "cafe\u0301"  # "café" with a combining accent
    created = api.upload(user, tags=["Café", nfd_cafe, "日本", "ÉTÉ"])
    assert created["tags"] == ["café", "日本", "été"]
    assert api.list_all(user_id=user, tag="CAFÉ") == [created["image_id"]]


# -- Tamper-proof pagination over HTTP --------------------------------------------------------------


def _page(api: Api, **params: str) -> requests.Response:
    return api.request("GET", "/images", params=params)


def test_a_token_only_continues_its_own_listing(api: Api, seed: Seed) -> None:
    # The owner's token continues the owner's listing ...
    response = _page(api, user_id=seed.user, limit="1", next_token=seed.user_token)
    assert response.status_code == 200
    assert [item["user_id"] for item in response.json()["items"]] == [seed.user]

    # ... and in every other listing it is refused, never a page of someone else's photos
    for params in [
        {"user_id": seed.other_user},
        {"tag": seed.tag},
        {"user_id": seed.user, "tag": seed.tag},
        {"user_id": seed.user.upper()},
    ]:
        refused = _page(api, limit="1", next_token=seed.user_token, **params)
        assert (refused.status_code, refused.json()["code"]) == BAD_TOKEN, params


def test_every_single_character_edit_of_a_token_is_refused(api: Api, seed: Seed) -> None:
    """Edits of the payload or the signature read "altered"; an edit of the key id (the first
    part) names a key the service does not have, which reads "expired". Both are a 400."""
    token = seed.user_token
    key_id_length = token.index(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    edits = 0
    for position, char in enumerate(token):
        if char not in alphabet:
            continue
        replacement = alphabet[(alphabet.index(char) + 17) % len(alphabet)]
        edited = token[:position] + replacement + token[position + 1 :]
        if _decoded(edited) == _decoded(token):
            continue  # only unused low bits of the last base64 character changed: the same token
        response = _page(api, user_id=seed.user, limit="1", next_token=edited)
        assert response.status_code == 400, (position, response.text)
        expected = "expired_next_token" if position < key_id_length else "invalid_next_token"
        assert response.json()["code"] == expected, (position, response.text)
        edits += 1
    assert edits >= 40


def test_a_token_re_signed_for_another_listing_needs_the_key(api: Api, seed: Seed) -> None:
    """Rewriting the listing inside a readable payload (to another user) must break the token."""
    parts = seed.user_token.split(".")
    readable = []
    for index, part in enumerate(parts):
        try:
            body = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except ValueError:
            continue
        if isinstance(body, dict):
            readable.append((index, body))
    if not readable:
        # Nothing to rewrite: the token is opaque (the next test proves it), so the attack cannot start.
        assert seed.user.encode() not in _decoded(seed.user_token)
        return
    index, body = readable[0]
    rewritten = json.loads(json.dumps(body).replace(seed.user, seed.other_user))
    parts[index] = base64.urlsafe_b64encode(json.dumps(rewritten).encode()).rstrip(b"=").decode()
    response = _page(api, user_id=seed.other_user, limit="1", next_token=".".join(parts))
    assert (response.status_code, response.json()["code"]) == BAD_TOKEN


def test_a_token_carries_only_what_the_client_already_has(api: Api, seed: Seed) -> None:
    """The payload is encoded, not encrypted: its listing (the query the client sent) and the
    last item of the page the client was given. Integrity is what the signature protects."""
    first_page = _page(api, user_id=seed.user, limit="1").json()
    _, payload, _ = first_page["next_token"].split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert body["s"] == f"user={seed.user}&tag="
    assert body["p"]["image_id"] == first_page["items"][-1]["image_id"]
    assert set(body["p"]) <= {"image_id", "created_at"}


def test_a_token_signed_with_another_key_has_expired(api: Api, seed: Seed) -> None:
    """What a token from before a restart of the local mode (or a rotated secret) looks like."""
    from image_service.cursors import CursorCodec

    token = CursorCodec(b"a key this service never had 0123456789").encode(
        f"user={seed.user}&tag=", {"image_id": seed.image_id, "created_at": "2099-01-01T00:00:00.000Z"}
    )
    response = _page(api, user_id=seed.user, limit="1", next_token=token)
    assert (response.status_code, response.json()["code"]) == (400, "expired_next_token")
    assert "list again without next_token" in response.json()["message"]
