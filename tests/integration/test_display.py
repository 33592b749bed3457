"""The display variant (issue 19, item 4): longest side <= 1600, JPEG, upright, no location."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlparse

import pytest
from PIL import ExifTags, Image

from image_service.errors import NotFound
from image_service.models import NewImage
from image_service.object_keys import display_key_for
from tests.support.builders import new_image
from tests.support.layer import Layer

GPS = ExifTags.IFD.GPSInfo


def phone_jpeg(width: int = 3000, height: int = 2000, orientation: int = 6) -> bytes:
    """A JPEG as a phone stores it: sideways pixels (left half red, right half blue), EXIF
    orientation 6 (turn 90 degrees clockwise to show) and a GPS position."""
    picture = Image.new("RGB", (width, height), (220, 20, 20))
    picture.paste((20, 20, 220), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif.get_ifd(GPS).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif.tobytes())
    return out.getvalue()


def upload_jpeg(service: Layer, data: bytes, *, keep_location: bool = False) -> Any:
    with Image.open(io.BytesIO(data)) as picture:
        width, height = picture.size
    return service.uploads.upload(
        NewImage(
            user_id="alice",
            title="pier",
            description="",
            tags=(),
            content_type="image/jpeg",
            width=height,  # as displayed: orientation 6 swaps them
            height=width,
            data=data,
            keep_location=keep_location,
        )
    )


def stored(aws: SimpleNamespace, key: str) -> dict[str, Any]:
    return aws.s3.get_object(Bucket=aws.bucket, Key=key)


@pytest.mark.parametrize("keep_location", [False, True])
def test_display_is_a_small_upright_jpeg_without_location(
    service: Layer, aws: SimpleNamespace, keep_location: bool
) -> None:
    image = upload_jpeg(service, phone_jpeg(), keep_location=keep_location)
    assert image.variants == ("original", "thumbnail", "display")
    answer = service.reads.download_url(image.image_id, "display")
    assert answer["variant"] == "display"
    assert urlparse(answer["url"]).path.endswith(display_key_for(image.image_id))
    obj = stored(aws, display_key_for(image.image_id))
    body = obj["Body"].read()
    assert obj["ContentType"] == "image/jpeg"
    with Image.open(io.BytesIO(body)) as display:
        assert display.format == "JPEG"
        assert display.size == (1067, 1600)  # 2000 x 3000 as shown, longest side 1600
        exif = display.getexif()
        assert ExifTags.Base.Orientation not in exif  # already upright: nothing left to turn
        assert not exif and b"Exif" not in body  # no EXIF block at all, so no GPS
        # Upright: the stored left half (red) is on top once turned clockwise.
        top, bottom = display.getpixel((533, 100)), display.getpixel((533, 1500))
        assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0], (top, bottom)


def test_a_small_photo_gets_a_display_variant_too_never_enlarged(service: Layer, aws: SimpleNamespace) -> None:
    image = service.uploads.upload(new_image())  # a 32 x 24 PNG
    with Image.open(io.BytesIO(stored(aws, display_key_for(image.image_id))["Body"].read())) as display:
        assert display.format == "JPEG" and display.size == (32, 24)


def test_the_display_variant_goes_with_the_photo(service: Layer, snapshot: Any) -> None:
    image = upload_jpeg(service, phone_jpeg(400, 300))
    assert display_key_for(image.image_id) in snapshot()["objects"]
    service.edits.delete(image.image_id)
    assert snapshot() == {"objects": [], "images": [], "tags": []}


def test_a_photo_stored_before_display_variants_has_none(service: Layer, aws: SimpleNamespace) -> None:
    image = service.uploads.upload(new_image())
    # As rows written before this release: variants original and thumbnail only.
    aws.dynamodb.update_item(
        TableName=aws.images_table,
        Key={"image_id": {"S": image.image_id}},
        UpdateExpression="SET variants = :v",
        ExpressionAttributeValues={":v": {"L": [{"S": "original"}, {"S": "thumbnail"}]}},
    )
    aws.s3.delete_object(Bucket=aws.bucket, Key=display_key_for(image.image_id))
    with pytest.raises(NotFound, match="this image has no display"):
        service.reads.download_url(image.image_id, "display")
    service.edits.delete(image.image_id)
