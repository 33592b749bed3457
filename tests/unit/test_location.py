"""Lossless removal of GPS data from JPEG, PNG and WebP containers."""

from __future__ import annotations

import io

import pytest
from PIL import ExifTags, Image

from image_service.location import strip_location
from tests.support.images import encoded, exif_with_gps

GPS = ExifTags.IFD.GPSInfo


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_gps_is_removed_and_the_rest_kept(fmt: str, content_type: str) -> None:
    original = encoded(fmt, exif_with_gps())
    cleaned, removed = strip_location(original, content_type)
    assert removed
    with Image.open(io.BytesIO(cleaned)) as opened:
        exif = opened.getexif()
        assert GPS not in exif and exif.get_ifd(GPS) == {}
        assert exif[0x0112] == 3 and exif[0x010F] == "Maker"
        opened.load()  # still a valid file
    with Image.open(io.BytesIO(original)) as before, Image.open(io.BytesIO(cleaned)) as after:
        assert before.tobytes() == after.tobytes()  # pixels untouched


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_without_gps_the_bytes_are_unchanged(fmt: str, content_type: str) -> None:
    original = encoded(fmt, exif_with_gps(gps=False))
    assert strip_location(original, content_type) == (original, False)


def test_jpeg_pixels_are_byte_identical_after_the_exif_block() -> None:
    original = encoded("JPEG", exif_with_gps())
    cleaned, _ = strip_location(original, "image/jpeg")
    scan = original.index(b"\xff\xda")
    assert cleaned.endswith(original[scan:])


def test_xmp_packet_with_gps_is_dropped_from_jpeg() -> None:
    base = encoded("JPEG", exif_with_gps(gps=False))
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><rdf:Description exif:GPSLatitude='33,51S'/></x:xmpmeta>"
    segment = b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    with_xmp = base[:2] + segment + base[2:]
    cleaned, removed = strip_location(with_xmp, "image/jpeg")
    assert removed and b"GPSLatitude" not in cleaned and cleaned == base


def test_gif_has_nothing_to_remove() -> None:
    out = io.BytesIO()
    Image.new("P", (4, 4)).save(out, "GIF")
    assert strip_location(out.getvalue(), "image/gif") == (out.getvalue(), False)


@pytest.mark.parametrize(
    ("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]
)
def test_a_photo_without_location_is_not_copied(fmt: str, content_type: str) -> None:
    """Memory: the common case must not duplicate a 25 MB photo."""
    original = encoded(fmt, exif_with_gps(gps=False))
    assert strip_location(original, content_type)[0] is original
