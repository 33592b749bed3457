"""Parsing and checking client input. Every rejection is a 4xx ``ServiceError``.

Limits are module constants so the OpenAPI document and the tests can name the same numbers.
"""

from __future__ import annotations

import binascii
import json
import re
import unicodedata
from typing import Any

from .errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from .ids import is_image_id
from .models import ImageEdit, ListQuery, NewImage, UploadRequest

SUPPORTED_CONTENT_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif"})
# Two names of one format: image/heic is the HEVC-coded kind of image/heif (what iPhones write),
# and clients label the same file either way (a .heif file name, or a browser's guess), so
# either declared type takes either file. The type the client declared is the one stored.
_SAME_FORMAT = {"image/heif": "image/heic"}
USER_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# Hashtags in every script: letters, combining marks (Devanagari, Tamil and Thai vowel signs,
# Arabic and Hebrew points, the dot of "i̇stanbul") and digits of any script, "_" and "-";
# starting with a letter or digit. No separators, so a tag is one URL-safe word. Refused: spaces,
# punctuation, symbols and emoji, controls, bidirectional overrides and the invisible format
# characters (zero-width space, joiners, BOM): two tags that look the same must be the same tag,
# and "_" is the usual stand-in for the Persian half-space (ZWNJ) in hashtags anyway.
# The rule as the spec and the gallery write it (ECMAScript with the "u" flag); Python's ``re``
# has no \p{...}, so ``is_tag`` checks the same with Unicode categories (a test keeps them equal).
TAG_PATTERN = r"^[\p{L}\p{N}][\p{L}\p{M}\p{N}_-]{0,39}$"
MAX_TAG_CHARS = 40
# Bidirectional embedding/override/isolate controls: they can make a title display as something
# else than it is (e.g. a reversed file extension), so text fields refuse them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# API Gateway hands a non-binary body to Lambda as UTF-8 text, bytes that were not UTF-8 replaced
# by U+FFFD. Nobody types that character: it means the client sent broken text, which is refused
# rather than stored as something else than what was sent.
REPLACEMENT_CHARACTER = "\ufffd"
MAX_TAGS = 10
MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 2000
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_NEXT_TOKEN_CHARS = 1024
METADATA_FIELDS = frozenset({"user_id", "title", "description", "tags", "content_type", "keep_location"})
UPLOAD_FIELDS = METADATA_FIELDS | {"image_base64", "allow_duplicate"}
RAW_UPLOAD_PARAMETERS = frozenset({"user_id", "title", "description", "tags", "keep_location", "allow_duplicate"})
EDIT_FIELDS = frozenset({"title", "description", "tags"})
LIST_PARAMETERS = frozenset({"user_id", "tag", "limit", "next_token", "sha256"})
SHA256_PATTERN = re.compile(r"^[0-9A-Fa-f]{64}$")
# Room for the JSON fields around the base64 string when pre-checking a body's length.
_JSON_FIELDS_ALLOWANCE = 64 * 1024
# A raw body of this type is an image whose format the bytes' own signature decides.
UNDECLARED_IMAGE_TYPE = "application/octet-stream"
# What POST /images takes, said in every answer that refuses how a body was sent.
HOW_TO_UPLOAD = (
    "POST /images takes the photo itself as the body with its type "
    "(curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg'; image/png, image/gif, image/webp, "
    f"image/heic, image/heif or {UNDECLARED_IMAGE_TYPE} work too), or JSON (Content-Type: "
    "application/json) with the photo base64-encoded in image_base64"
)


def base64_length(byte_count: int) -> int:
    return 4 * ((byte_count + 2) // 3)


def parse_user_id(value: Any, field: str = "user_id") -> str:
    if not isinstance(value, str) or not USER_ID_PATTERN.fullmatch(value):
        raise BadRequest(
            f"{field} must be 1-64 characters: letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
            code="invalid_user_id",
        )
    return value


def is_tag(text: str) -> bool:
    """``TAG_PATTERN``, checked with Unicode general categories."""
    if not 1 <= len(text) <= MAX_TAG_CHARS or unicodedata.category(text[0])[0] not in "LN":
        return False
    return all(ch in "_-" or unicodedata.category(ch)[0] in "LMN" for ch in text[1:])


def fold_tag(value: str) -> str:
    """Trim, NFC, case-fold, NFC again (folding can leave a decomposed sequence: "İ" -> "i̇")."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", value.strip()).casefold())


def normalize_tag(value: Any) -> str:
    """Trim, NFC-normalise and case-fold a tag, then check it is one word."""
    if not isinstance(value, str):
        raise BadRequest("each tag must be a string", code="invalid_tag")
    _refuse_broken_text(value, "tags")
    tag = fold_tag(value)
    if not is_tag(tag):
        raise BadRequest(
            "tags must be 1-40 letters (with their marks), digits, '_' or '-', starting with a letter or digit",
            code="invalid_tag",
        )
    return tag


def normalize_tags(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise BadRequest("tags must be a list of strings", code="invalid_tag")
    # Counted as sent, before repeats are merged: what JSON Schema's maxItems means to a client.
    if len(value) > MAX_TAGS:
        raise BadRequest(f"at most {MAX_TAGS} tags", code="too_many_tags")
    return tuple(dict.fromkeys(normalize_tag(item) for item in value))  # de-duplicated, order kept


def _refuse_broken_text(value: str, field: str) -> None:
    if REPLACEMENT_CHARACTER in value:
        raise BadRequest(
            f"{field} was not valid UTF-8 (it holds U+FFFD, put where undecodable bytes were)", code="invalid_utf8"
        )


def _text(body: dict[str, Any], field: str, max_chars: int, *, multiline: bool) -> str:
    value = body.get(field, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string", code="invalid_field")
    _refuse_broken_text(value, field)
    value = value.strip()
    if len(value) > max_chars:
        raise BadRequest(f"{field} must be at most {max_chars} characters", code="invalid_field")
    allowed = "\n\t\u2028\u2029" if multiline else ""
    for ch in value:
        if ch in allowed:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") or ch in BIDI_CONTROLS:
            raise BadRequest(f"{field} must not contain control characters", code="invalid_field")
    return value


def parse_json_object(body: str | None) -> dict[str, Any]:
    if not body:
        raise BadRequest("request body must be a JSON object", code="invalid_json")
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest("request body is not valid JSON", code="invalid_json") from exc
    if not isinstance(parsed, dict):
        raise BadRequest("request body must be a JSON object", code="invalid_json")
    for key in parsed:
        # JSON may escape half a UTF-16 pair ("\\ud800"): such a name could not even be echoed
        # in the unknown-field error (the response failed: 502).
        try:
            key.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest("field names must be text (no lone surrogates)", code="unknown_field") from exc
    return parsed


def _content_type(value: Any) -> str:
    if not isinstance(value, str):
        raise BadRequest("content_type must be a string", code="invalid_field")
    content_type = value.split(";", 1)[0].strip().lower()
    if content_type == "image/jpg":
        content_type = "image/jpeg"
    if content_type not in SUPPORTED_CONTENT_TYPES:
        raise UnsupportedMediaType(f"content_type must be one of {', '.join(sorted(SUPPORTED_CONTENT_TYPES))}")
    return content_type


def _flag(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"{field} must be true or false", code="invalid_field")


def _metadata(fields: dict[str, Any], allowed: frozenset[str]) -> UploadRequest:
    """The metadata fields every upload style shares, validated."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)[:200]}", code="unknown_field")
    if "content_type" not in fields:
        raise BadRequest("content_type is required", code="missing_field")
    # Optional: a signed-in caller owns what they upload (see identity.owner_for_upload).
    user_id = parse_user_id(fields["user_id"]) if fields.get("user_id") is not None else None
    return UploadRequest(
        user_id=user_id,
        title=_text(fields, "title", MAX_TITLE_CHARS, multiline=False),
        description=_text(fields, "description", MAX_DESCRIPTION_CHARS, multiline=True),
        tags=normalize_tags(fields.get("tags")),
        content_type=_content_type(fields["content_type"]),
        keep_location=_flag(fields.get("keep_location", False), "keep_location"),
    )


def _format_of(content_type: str) -> str:
    return _SAME_FORMAT.get(content_type, content_type)


def check_image(meta: UploadRequest, data: bytes, max_image_bytes: int) -> NewImage:
    if len(data) > max_image_bytes:
        raise PayloadTooLarge(f"image must be at most {max_image_bytes} bytes")
    if not data:
        raise BadRequest("the image is empty", code="invalid_image")
    from .imaging import inspect_image  # noqa: PLC0415 - Pillow: loaded by the upload function only

    info = inspect_image(data)
    if _format_of(info.content_type) != _format_of(meta.content_type):
        raise BadRequest(f"image bytes are {info.content_type}, not {meta.content_type}", code="content_type_mismatch")
    return NewImage(
        user_id=meta.user_id,
        title=meta.title,
        description=meta.description,
        tags=meta.tags,
        content_type=meta.content_type,
        width=info.width,
        height=info.height,
        data=data,
        keep_location=meta.keep_location,
    )


def upload_too_large(max_image_bytes: int) -> PayloadTooLarge:
    """The size error of POST /images: it names the way for bigger photos."""
    return PayloadTooLarge(
        f"image must be at most {max_image_bytes} bytes; send larger photos with POST /images/uploads"
    )


def is_raw_upload(content_type: str | None) -> bool:
    """Whether ``POST /images`` reads its body as the image itself (else as JSON)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return media_type.startswith("image/") or media_type == UNDECLARED_IMAGE_TYPE


def refuse_unreadable_upload(content_type: str | None, body: str | None) -> None:
    """Answer 415 for a ``POST /images`` body sent in a way the service cannot read.

    A non-empty body that is not JSON under a type that is not JSON either (a multipart form from
    curl -F, or curl --data-binary without -H, which sends application/x-www-form-urlencoded): API
    Gateway hands such a body over as text with every non-UTF-8 byte replaced, so an image in it
    cannot be recovered; the answer says exactly what to send instead.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if not body or media_type == "application/json" or media_type.endswith("+json"):
        return
    try:
        json.loads(body)  # JSON under another type is still read, as it always was
    except (ValueError, RecursionError) as exc:
        if media_type.startswith("multipart/"):
            raise UnsupportedMediaType(f"multipart forms (curl -F) are not accepted: {HOW_TO_UPLOAD}") from exc
        declared = f"Content-Type {media_type}" if media_type else "no Content-Type"
        raise UnsupportedMediaType(
            f"the body is neither JSON nor a declared image ({declared}): {HOW_TO_UPLOAD}"
        ) from exc


def parse_upload(body: str | None, *, max_image_bytes: int, params: dict[str, Any] | None = None) -> NewImage:
    """Validate a ``POST /images`` JSON body and decode its image.

    ``params``: the query. Its parameters belong to the raw-body upload; with a JSON body they
    would be ignored, so they are refused (a client must not think ``?user_id=`` did anything).
    """
    if params:
        raise BadRequest(
            f"query parameter(s) {', '.join(sorted(params))[:200]} apply to a raw image body only; "
            "a JSON body carries its fields itself",
            code="unknown_field",
        )
    max_chars = base64_length(max_image_bytes)
    # Refuse an oversized body before parsing it, so it is never copied into a dict.
    if body is not None and len(body) > max_chars + _JSON_FIELDS_ALLOWANCE:
        raise upload_too_large(max_image_bytes)
    fields = parse_json_object(body)
    if "image_base64" not in fields and not (set(fields) - UPLOAD_FIELDS):
        raise BadRequest("image_base64 is required", code="missing_field")
    meta = _metadata({k: v for k, v in fields.items() if k not in ("image_base64", "allow_duplicate")}, METADATA_FIELDS)
    allow_duplicate = _flag(fields.get("allow_duplicate", False), "allow_duplicate")
    encoded = fields["image_base64"]
    if not isinstance(encoded, str):
        raise BadRequest("image_base64 must be a string", code="invalid_base64")
    if len(encoded) > max_chars:
        raise upload_too_large(max_image_bytes)
    data = decode_base64(encoded)
    if len(data) > max_image_bytes:
        raise upload_too_large(max_image_bytes)
    return check_image(meta, data, max_image_bytes)._replace(allow_duplicate=allow_duplicate)


def parse_raw_upload(
    data: bytes, content_type: str | None, params: dict[str, str], *, max_image_bytes: int
) -> NewImage:
    """Validate ``POST /images`` with the image itself as the body and metadata in the query."""
    fields: dict[str, Any] = {name: value for name, value in params.items()}
    unknown = sorted(set(fields) - RAW_UPLOAD_PARAMETERS)
    if unknown:
        raise BadRequest(f"unknown query parameter(s): {', '.join(unknown)[:200]}", code="unknown_field")
    if "tags" in fields:
        fields["tags"] = [tag for tag in fields["tags"].split(",") if tag.strip()]
    allow_duplicate = _flag(fields.pop("allow_duplicate", False), "allow_duplicate")
    if len(data) > max_image_bytes:
        raise upload_too_large(max_image_bytes)
    if (content_type or "").split(";", 1)[0].strip().lower() == UNDECLARED_IMAGE_TYPE:
        # The caller did not say which format: the bytes' signature decides (and must be one).
        from .imaging import inspect_image  # noqa: PLC0415 - Pillow: loaded by the upload function only

        content_type = inspect_image(data).content_type
    fields["content_type"] = content_type or ""
    return check_image(_metadata(fields, METADATA_FIELDS), data, max_image_bytes)._replace(
        allow_duplicate=allow_duplicate
    )


def parse_upload_request(body: str | None) -> UploadRequest:
    """Validate ``POST /images/uploads``: the metadata of a photo sent straight to S3."""
    if body is not None and len(body) > _JSON_FIELDS_ALLOWANCE:
        raise PayloadTooLarge("upload metadata must be at most 64 KB")
    return _metadata(parse_json_object(body), METADATA_FIELDS)


def parse_edit(body: str | None) -> ImageEdit:
    """Validate a ``PATCH /images/{image_id}`` body: any of title, description, tags."""
    if body is not None and len(body) > _JSON_FIELDS_ALLOWANCE:
        raise PayloadTooLarge("an edit must be at most 64 KB")
    fields = parse_json_object(body)
    unknown = sorted(set(fields) - EDIT_FIELDS)
    if unknown:
        raise BadRequest(
            f"only title, description and tags can be edited, not: {', '.join(unknown)[:200]}", code="unknown_field"
        )
    if not fields:
        raise BadRequest("give at least one of title, description, tags", code="missing_field")
    return ImageEdit(
        title=_text(fields, "title", MAX_TITLE_CHARS, multiline=False) if "title" in fields else None,
        description=_text(fields, "description", MAX_DESCRIPTION_CHARS, multiline=True)
        if "description" in fields
        else None,
        tags=normalize_tags(fields["tags"]) if "tags" in fields else None,
    )


def decode_base64(encoded: str) -> bytes:
    if not encoded:
        raise BadRequest("image_base64 must not be empty", code="invalid_base64")
    # strict_mode still takes "=" after a complete group ("QUJD="), which RFC 4648 does not.
    # Searched in place: a slice (encoded[:-2]) would copy the whole text, 6 MB at the limit.
    if len(encoded) % 4 or encoded.find("=", 0, len(encoded) - 2) >= 0:
        raise BadRequest("image_base64 is not valid base64", code="invalid_base64")
    try:
        # strict_mode: no characters outside the alphabet, correct padding, nothing after it.
        return binascii.a2b_base64(encoded, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest("image_base64 is not valid base64", code="invalid_base64") from exc


def query_lists(multi: dict[str, list[str]] | None, single: dict[str, str] | None) -> dict[str, list[str]]:
    """Every value of every query parameter, unchecked: API Gateway's multi-value map, and any
    parameter only its single-value map has."""
    values = {name: list(items) for name, items in (multi or {}).items()}
    for name, item in (single or {}).items():
        values.setdefault(name, [item])
    return values


def single_query_values(multi: dict[str, list[str]] | None, single: dict[str, str] | None) -> dict[str, str]:
    """One value per query parameter; a parameter given twice with different values is ambiguous."""
    values: dict[str, str] = {}
    for name, items in query_lists(multi, single).items():
        if len(set(items)) > 1:
            raise BadRequest(f"query parameter {name[:64]!r} is given more than once", code="repeated_parameter")
        values[name] = items[-1]
    return values


def parse_list_query(params: dict[str, str]) -> ListQuery:
    user_id = params.get("user_id") or None
    raw_tag = params.get("tag") or None
    if user_id is None and raw_tag is None:
        raise BadRequest("give user_id, tag or both", code="missing_filter")
    if user_id is not None:
        parse_user_id(user_id)
    tag = normalize_tag(raw_tag) if raw_tag is not None else None

    raw_limit = params.get("limit")
    limit = DEFAULT_PAGE_SIZE
    if raw_limit is not None:
        if not raw_limit.isascii() or not raw_limit.isdigit() or len(raw_limit) > 4:
            raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}", code="invalid_limit")
        limit = int(raw_limit)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}", code="invalid_limit")

    next_token = params.get("next_token") or None
    if next_token is not None and len(next_token) > MAX_NEXT_TOKEN_CHARS:
        raise BadRequest("next_token is malformed", code="invalid_next_token")
    sha256 = parse_sha256_filter(params.get("sha256") or None, user_id=user_id, tag=tag)
    return ListQuery(user_id=user_id, tag=tag, limit=limit, next_token=next_token, sha256=sha256)


def parse_sha256_filter(value: str | None, *, user_id: str | None, tag: str | None) -> str | None:
    """``sha256``: one user's copies of a file (64 hex digits, either case), so with ``user_id``
    and without ``tag`` (the index is per user and file: see ``duplicates``)."""
    if value is None:
        return None
    if not SHA256_PATTERN.fullmatch(value):
        raise BadRequest("sha256 must be 64 hexadecimal digits", code="invalid_sha256")
    if user_id is None or tag is not None:
        raise BadRequest("sha256 lists one user's photos: give user_id and no tag", code="invalid_filter")
    return value.lower()


def parse_image_id(path_parameters: dict[str, str] | None) -> str:
    image_id = (path_parameters or {}).get("image_id", "")
    if not is_image_id(image_id):
        raise BadRequest("image_id is not a valid image id", code="invalid_image_id")
    return image_id


VARIANTS = ("original", "thumbnail", "display")


def parse_variant(params: dict[str, str]) -> str:
    variant = params.get("variant") or "original"
    if variant not in VARIANTS:
        raise BadRequest(f"variant must be one of {', '.join(VARIANTS)}", code="invalid_variant")
    return variant
