"""HEIF/HEIC photos (issue 19, item 3): recognised by their bytes, measured as displayed, damage
refused, and the location taken out of the container without touching anything else."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import ExifTags, Image

from image_service.errors import BadRequest
from image_service.heif import heif_content_type, metadata_items
from image_service.imaging import decoding_damage, inspect_image, make_variants
from image_service.location import strip_location
from tests.support.heif_photos import MAKE, has_gps, heic_photo


def with_brands(data: bytes, major: bytes, *compatible: bytes) -> bytes:
    """``data`` with its ftyp box replaced by one naming these brands."""
    size = struct.unpack(">I", data[:4])[0]
    brands = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    ftyp = struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands
    assert len(ftyp) == size, "keep the box's length: iloc offsets count from the file's start"
    return ftyp + data[size:]


def test_an_iphone_heic_is_recognised_with_its_size() -> None:
    info = inspect_image(heic_photo((320, 240)))
    assert (info.content_type, info.width, info.height) == ("image/heic", 320, 240)


@pytest.mark.parametrize(
    ("major", "compatible", "expected"),
    [
        (b"heic", (b"mif1", b"heic"), "image/heic"),
        (b"heix", (b"mif1", b"heix"), "image/heic"),
        (b"mif1", (b"mif1", b"heic"), "image/heif"),
        (b"msf1", (b"msf1", b"hevc"), "image/heif"),
        (b"mif1", (b"mif1", b"avif"), None),  # AV1-coded: no decoder here
        (b"avif", (b"mif1", b"avif"), None),
        (b"isom", (b"isom", b"mp41"), None),  # a video
    ],
)
def test_the_ftyp_brands_decide(major: bytes, compatible: tuple[bytes, ...], expected: str | None) -> None:
    head = struct.pack(">I", 16 + 4 * len(compatible)) + b"ftyp" + major + bytes(4) + b"".join(compatible)
    assert heif_content_type(head + bytes(64)) == expected


def test_a_heif_of_another_codec_is_not_an_image_we_take() -> None:
    avif = with_brands(heic_photo(), b"mif1", b"mif1", b"avif", b"miaf")
    with pytest.raises(BadRequest) as error:
        inspect_image(avif)
    assert error.value.code == "invalid_image" and "HEIC" in error.value.message


def test_a_generic_heif_brand_is_image_heif() -> None:
    data = with_brands(heic_photo(), b"mif1", b"mif1", b"heic", b"miaf")
    assert inspect_image(data).content_type == "image/heif"


def test_width_and_height_are_as_displayed_from_the_irot_box() -> None:
    """As an iPhone stores a portrait photo: the sensor's landscape pixels, a rotation (irot) and
    EXIF orientation 6. The displayed size is the upright one, and so are both variants."""
    from image_service.heif import register_opener

    register_opener()
    sideways = Image.new("RGB", (300, 200), (220, 20, 20))
    sideways.paste((20, 20, 220), (150, 0, 300, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    out = io.BytesIO()
    sideways.save(out, "HEIF", exif=exif.tobytes())
    assert b"irot" in out.getvalue()
    info = inspect_image(out.getvalue())
    assert (info.width, info.height) == (200, 300)
    thumbnail, display = make_variants(out.getvalue(), 150, 1600)
    for variant, size in ((thumbnail, (100, 150)), (display, (200, 300))):
        with Image.open(io.BytesIO(variant)) as shown:
            assert shown.format == "JPEG" and shown.size == size
            top, bottom = shown.getpixel((size[0] // 2, 5)), shown.getpixel((size[0] // 2, size[1] - 5))
            assert top[0] > 150 > top[2] and bottom[2] > 150 > bottom[0], (top, bottom)  # turned once


def _decoded(data: bytes) -> None:
    """What an upload does with a photo: inspect it, then decode it for its variants."""
    inspect_image(data)
    with decoding_damage():
        make_variants(data, 100, 400)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) * 2 // 3],  # cut off
        lambda data: data[: data.index(b"mdat") + 4],  # nothing after the header
        lambda data: data[: data.index(b"mdat") + 4] + bytes(len(data) - data.index(b"mdat") - 4),  # zero-filled
        lambda data: data[:200] + data[456:],  # a block lost
    ],
    ids=["cut-off", "nothing-after-the-header", "zero-filled", "block-lost"],
)
def test_a_damaged_heic_is_image_damaged(damage: object) -> None:
    data = heic_photo((256, 192), quality=90)
    _decoded(data)  # the photo itself is fine
    with pytest.raises(BadRequest) as error:
        _decoded(damage(data))  # type: ignore[operator]
    assert error.value.code == "image_damaged"


def test_gps_is_erased_in_place_and_everything_else_kept() -> None:
    original = heic_photo(xmp=True)
    assert has_gps(original)
    cleaned, removed = strip_location(original, "image/heic")
    assert removed and len(cleaned) == len(original) and not has_gps(cleaned)
    assert b"GPSLatitude" not in cleaned
    # Only the metadata items' bytes changed: the boxes and the coded picture are as they were.
    items = [range(o, o + n) for item in metadata_items(original) for o, n in item.extents]
    changed = [i for i, (a, b) in enumerate(zip(original, cleaned, strict=True)) if a != b]
    assert changed and all(any(i in item for item in items) for i in changed)
    with Image.open(io.BytesIO(cleaned)) as opened, Image.open(io.BytesIO(original)) as before:
        assert opened.getexif()[ExifTags.Base.Make] == MAKE
        assert opened.tobytes() == before.tobytes()  # pixels untouched
    assert strip_location(cleaned, "image/heic") == (cleaned, False)  # nothing left to remove


def test_a_heic_without_location_is_not_copied() -> None:
    original = heic_photo(gps=False)
    cleaned, removed = strip_location(original, "image/heif")
    assert cleaned is original and not removed


def test_the_variants_of_a_heic_are_jpegs_without_exif() -> None:
    thumbnail, display = make_variants(heic_photo((1760, 1320)), 320, 1600)
    for variant, size in ((thumbnail, (320, 240)), (display, (1600, 1200))):
        with Image.open(io.BytesIO(variant)) as shown:
            assert shown.format == "JPEG" and shown.size == size
            assert not shown.getexif() and b"Exif" not in variant
