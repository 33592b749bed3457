"""Damaged photos (issue 14, item 4): a phone upload cut off part-way, a block lost or zeroed in
the middle, or nothing after the header. Every format, every upload path: ``400 image_damaged``,
nothing stored, and a direct upload removed at its first delivery (no Lambda retry).

"Corrupt in the middle" takes the form each format can be held to: PNG (CRC, zlib) and GIF (LZW)
detect bytes zeroed in place; a JPEG's rest zero-filled has no end-of-image marker; a WebP with
a block lost no longer matches its RIFF sizes. Pixel data garbled in place in a JPEG or a lossy
WebP (no checksum in either format) decodes to other pixels and cannot be told from a photo.
"""

from __future__ import annotations

import base64
import io
import json
import random
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from image_service.models import UploadRequest
from localapi.events import build_proxy_event
from tests.support.functions import invoke
from tests.support.layer import wire_handlers

FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
DAMAGED = (400, "image_damaged")


def photo(fmt: str) -> bytes:
    """A noisy picture (a flat one compresses to almost nothing and hides damage), always the same."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (120, 80), random.Random(7).randbytes(120 * 80 * 3)).save(buffer, format=fmt)
    return buffer.getvalue()


def header_length(fmt: str, data: bytes) -> int:
    """Where the pixel data starts: everything before it is the header."""
    if fmt == "JPEG":
        sos = data.index(b"\xff\xda")
        return sos + 2 + int.from_bytes(data[sos + 2 : sos + 4], "big")
    if fmt == "PNG":
        return data.index(b"IDAT") - 4
    if fmt == "GIF":
        return data.index(b",") + 10  # the image descriptor, then the LZW data
    return data.index(b"VP8") + 8  # RIFF header and the VP8 chunk's header


def middle_damaged(fmt: str, data: bytes) -> bytes:
    middle = len(data) // 2
    if fmt == "JPEG":
        return data[:middle] + bytes(len(data) - middle)  # the rest zero-filled (an unfinished write)
    if fmt == "WEBP":
        return data[:middle] + data[middle + 256 :]  # a block lost
    return data[:middle] + bytes(256) + data[middle + 256 :]  # bytes zeroed in place


DAMAGE: dict[str, Callable[[str, bytes], bytes]] = {
    "cut-off": lambda fmt, data: data[: len(data) * 2 // 3],
    "corrupt-in-the-middle": middle_damaged,
    "nothing-after-the-header": lambda fmt, data: data[: header_length(fmt, data)],
}
CASES = [(fmt, damage) for fmt in FORMATS for damage in DAMAGE]


def damaged_photo(fmt: str, damage: str) -> bytes:
    return DAMAGE[damage](fmt, photo(fmt))


@pytest.fixture
def handlers(service: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    wire_handlers(monkeypatch, service, "UploadFunction")
    yield


def stored(aws: SimpleNamespace) -> dict[str, list[Any]]:
    return {
        "objects": aws.s3.list_objects_v2(Bucket=aws.bucket).get("Contents", []),
        "images": aws.dynamodb.scan(TableName=aws.images_table)["Items"],
        "tags": aws.dynamodb.scan(TableName=aws.tags_table)["Items"],
    }


def answer(response: dict[str, Any]) -> tuple[int, str | None]:
    body = json.loads(response["body"]) if response.get("body") else {}
    return response["statusCode"], body.get("code")


def claims() -> dict[str, Any]:
    """What API Gateway adds once the Cognito authorizer accepted the caller (the signed-in mode)."""
    return {"claims": {"sub": "5f0c7a9e-2b1d-4c3e-8f6a-9d0b1c2e3f4a", "cognito:username": "alice", "token_use": "id"}}


def json_upload(data: bytes, content_type: str) -> dict[str, Any]:
    body = {"user_id": "alice", "content_type": content_type, "image_base64": base64.b64encode(data).decode()}
    return build_proxy_event(
        method="POST",
        resource="/images",
        path="/images",
        headers={"Content-Type": ["application/json"]},
        body=json.dumps(body).encode(),
        authorizer=claims(),
    )


def raw_upload(data: bytes, content_type: str) -> dict[str, Any]:
    return build_proxy_event(
        method="POST",
        resource="/images",
        path="/images",
        query={"user_id": ["alice"]},
        headers={"Content-Type": [content_type]},
        body=data,
        binary_media_types=list(FORMATS.values()),
        authorizer=claims(),
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_undamaged_photos_are_accepted(fmt: str, aws: SimpleNamespace, handlers: None) -> None:
    assert invoke("UploadFunction", json_upload(photo(fmt), FORMATS[fmt]))["statusCode"] == 201


@pytest.mark.parametrize(("fmt", "damage"), CASES)
@pytest.mark.parametrize("build", [json_upload, raw_upload], ids=["json", "raw"])
def test_a_damaged_photo_sent_to_the_api_is_400_and_nothing_is_stored(
    fmt: str, damage: str, build: Callable[[bytes, str], dict[str, Any]], aws: SimpleNamespace, handlers: None
) -> None:
    response = invoke("UploadFunction", build(damaged_photo(fmt, damage), FORMATS[fmt]))
    assert answer(response) == DAMAGED, response["body"]
    assert stored(aws) == {"objects": [], "images": [], "tags": []}


@pytest.mark.parametrize(("fmt", "damage"), CASES)
def test_a_damaged_direct_upload_is_removed_at_its_first_delivery(
    fmt: str, damage: str, service: Any, aws: SimpleNamespace
) -> None:
    started = service.uploads.start_direct_upload(
        UploadRequest(user_id="alice", title="", description="", tags=("cats",), content_type=FORMATS[fmt])
    )
    key = started["upload"]["fields"]["key"]
    aws.s3.put_object(Bucket=aws.bucket, Key=key, Body=damaged_photo(fmt, damage))
    # No exception (which would make Lambda retry), and nothing left: file, objects, tag rows;
    # only the reason stays (GET /images/{id} answers it until it expires), never an image.
    assert service.uploads.finalise_upload(key) is None
    left = stored(aws)
    assert left["objects"] == [] and left["tags"] == []
    assert [(row["status"]["S"], row["code"]["S"]) for row in left["images"]] == [("rejected", "image_damaged")]
