import pytest

from image_service.errors import BadRequest
from image_service.imaging import inspect_image
from tests.support.images import picture


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"), ("WEBP", "image/webp")],
)
def test_supported_formats_are_recognised_with_their_size(fmt: str, content_type: str) -> None:
    info = inspect_image(picture(fmt, (40, 30)))
    assert (info.content_type, info.width, info.height) == (content_type, 40, 30)


@pytest.mark.parametrize("data", [b"", b"hello", b"RIFF\x00\x00\x00\x00WAVE", picture("BMP")])
def test_other_bytes_are_not_images(data: bytes) -> None:
    with pytest.raises(BadRequest) as error:
        inspect_image(data)
    assert error.value.code == "invalid_image"


def test_a_supported_signature_followed_by_garbage_is_a_damaged_image() -> None:
    with pytest.raises(BadRequest) as error:
        inspect_image(b"\x89PNG\r\n\x1a\n" + b"\x00" * 10)
    assert error.value.code == "image_damaged"


def test_thumbnail_fits_the_longest_side_and_keeps_the_aspect() -> None:
    import io

    from PIL import Image

    from image_service.imaging import make_thumbnail

    for fmt, size in [("JPEG", (1000, 500)), ("PNG", (300, 900)), ("GIF", (100, 50)), ("WEBP", (640, 640))]:
        with Image.open(io.BytesIO(make_thumbnail(picture(fmt, size), 320))) as thumbnail:
            assert thumbnail.format == "JPEG"
            expected = size if max(size) <= 320 else tuple(round(side * 320 / max(size)) for side in size)
            assert thumbnail.size == expected, (fmt, thumbnail.size)


def test_transparent_png_thumbnail_is_flattened_onto_white() -> None:
    import io

    from PIL import Image

    from image_service.imaging import make_thumbnail

    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(out, "PNG")
    with Image.open(io.BytesIO(make_thumbnail(out.getvalue(), 320))) as thumbnail:
        assert thumbnail.getpixel((25, 25)) == (255, 255, 255)


def test_pillow_formats_match_the_supported_content_types() -> None:
    from image_service.imaging import CONTENT_TYPES, HEIF_CONTENT_TYPES
    from image_service.validation import SUPPORTED_CONTENT_TYPES

    assert set(CONTENT_TYPES.values()) | set(HEIF_CONTENT_TYPES) == SUPPORTED_CONTENT_TYPES


def _rotated_jpeg(size: tuple[int, int], orientation: int) -> bytes:
    """A JPEG stored ``size`` wide and high whose EXIF says how to turn it, as phones write them."""
    import io

    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    Image.new("RGB", size, (90, 120, 200)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize(
    ("orientation", "displayed"),
    [(1, (1500, 1000)), (3, (1500, 1000)), (5, (1000, 1500)), (6, (1000, 1500)), (7, (1000, 1500)), (8, (1000, 1500))],
)
def test_width_and_height_are_as_displayed_with_the_exif_orientation_applied(
    orientation: int, displayed: tuple[int, int]
) -> None:
    import io

    from PIL import Image

    from image_service.imaging import make_thumbnail

    data = _rotated_jpeg((1500, 1000), orientation)
    info = inspect_image(data)
    assert (info.width, info.height) == displayed
    # The same shape as every variant: the thumbnail is drawn upright.
    with Image.open(io.BytesIO(make_thumbnail(data, 300))) as thumbnail:
        assert (thumbnail.width > thumbnail.height) == (info.width > info.height)


def _rgb_profile() -> bytes:
    from PIL import ImageCms

    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_the_variants_keep_the_originals_rgb_colour_profile(fmt: str) -> None:
    """A wide-gamut photo (an iPhone's Display P3) drawn without its profile looks washed out."""
    import io

    from PIL import Image

    from image_service.imaging import make_variants

    profile = _rgb_profile()
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 40, 40)).save(out, fmt, icc_profile=profile)
    for variant in make_variants(out.getvalue(), 320, 640):
        with Image.open(io.BytesIO(variant)) as picture:
            assert picture.info.get("icc_profile") == profile


def test_a_profile_that_is_not_rgb_is_not_put_on_rgb_variants() -> None:
    """A CMYK JPEG's variants are RGB: its CMYK profile would misdescribe them."""
    import io

    from PIL import Image

    from image_service.imaging import make_thumbnail

    cmyk_profile = bytearray(_rgb_profile())
    cmyk_profile[16:20] = b"CMYK"  # the header's colour space
    out = io.BytesIO()
    Image.new("CMYK", (400, 300), (0, 200, 200, 0)).save(out, "JPEG", icc_profile=bytes(cmyk_profile))
    with Image.open(io.BytesIO(make_thumbnail(out.getvalue(), 320))) as thumbnail:
        assert thumbnail.mode == "RGB" and "icc_profile" not in thumbnail.info


def test_the_variants_carry_no_comment_of_the_original() -> None:
    """Pillow writes an opened JPEG's comment (COM) into what it saves from it: the variants are
    promised to carry no metadata, and a comment is free text a camera or an editor wrote."""
    import io

    from PIL import Image

    from image_service.imaging import make_variants

    out = io.BytesIO()
    Image.new("RGB", (800, 600), (10, 120, 200)).save(out, "JPEG", comment=b"Home: 12 Baker Street")
    for variant in make_variants(out.getvalue(), 320, 640):
        assert b"Baker Street" not in variant
        with Image.open(io.BytesIO(variant)) as picture:
            assert "comment" not in picture.info
