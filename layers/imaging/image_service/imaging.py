"""Recognise image bytes (format, size) and make thumbnails, with Pillow.

Only the upload path imports this module (Pillow costs cold-start time the read functions
should not pay); see ``functions/upload/app.py``.

The declared ``content_type`` is never trusted: the bytes' own signature decides. Pillow only
reads the header here (no pixel decoding), so this costs microseconds and no extra memory.

Damaged files (cut off, a block lost or zeroed in the middle, nothing after the header) are
found by decoding, once: the thumbnail decodes the pixels anyway, so it runs before anything is
stored and a decoding failure becomes ``400 image_damaged`` (``decoding_damage``), with no second
full decode and no extra memory. What no decoder can see stays possible: JPEG and lossy WebP
carry no checksum, so pixel data garbled in place decodes to wrong pixels, like any other
picture. A JPEG must still end its scan with the end-of-image marker (a file whose tail was
zero-filled has none); PNG's CRCs and GIF's LZW stream catch damage in the middle. A HEIF file
cut off or missing a block no longer holds the ranges its ``iloc`` box promises, and one whose
coded picture is lost (zero-filled) makes the HEVC decoder fail; like JPEG it has no checksum over
the pixels.

HEIF (``image/heic``, ``image/heif``; see ``heif``) is opened through pillow-heif, registered with
Pillow only when the bytes' ``ftyp`` box says HEIF. pillow-heif hands Pillow the picture with
the file's own transformations (``irot``, ``imir``: the way HEIF stores a phone's orientation)
already applied, and sets the EXIF orientation it reports to 1 so that nothing turns it twice.
"""

from __future__ import annotations

import io
import math
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

from PIL import ExifTags, ImageOps
from PIL import Image as PILImage

from .errors import BadRequest
from .heif import HEIC, HEIF, PILLOW_FORMAT, heif_content_type, register_opener

# Pillow's own format name -> the content type the API speaks. With HEIF's two
# (``heif.heif_content_type``), the content types of validation.SUPPORTED_CONTENT_TYPES.
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
HEIF_CONTENT_TYPES = (HEIC, HEIF)

# Refuse pictures whose pixel count could exhaust a function's memory when decoded
# (decompression bombs). 120 megapixels is above any phone camera in common use.
MAX_PIXELS = 120_000_000
PILImage.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb check, used when a thumbnail decodes pixels


# EXIF orientations 5-8 turn the picture a quarter: it displays (and every variant is made)
# with width and height swapped.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})


class ImageInfo(NamedTuple):
    content_type: str
    width: int  # as displayed: EXIF orientation applied, like the thumbnail
    height: int


# What Pillow (and the location stripper's container parsing) raise on truncated or corrupt data.
DAMAGE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, struct.error, zlib.error)
# The first bytes of each supported format (WebP: "RIFF", its size, then "WEBP" at offset 8).
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a")
_JPEG_SOS, _JPEG_EOI = b"\xff\xda", b"\xff\xd9"


def damaged() -> BadRequest:
    return BadRequest(
        "the image is damaged (cut off or corrupt): its pixel data cannot be decoded", code="image_damaged"
    )


@contextmanager
def decoding_damage() -> Iterator[None]:
    """Turn a decoding failure of a recognised image into ``400 image_damaged``."""
    try:
        yield
    except DAMAGE_ERRORS as exc:
        raise damaged() from exc


def displayed_size(picture: PILImage.Image) -> tuple[int, int]:
    """Width and height as the picture is shown: the stored size, turned by its EXIF orientation."""
    width, height = picture.size
    if picture.format == "PNG" and "exif" not in picture.info:
        # A PNG's eXIf chunk may follow the pixels: reading it would decode them all (and spoil
        # verify()). Phones do not write rotated PNGs; the stored size stands.
        return width, height
    try:
        orientation = picture.getexif().get(ExifTags.Base.Orientation)
    except Exception:  # a broken EXIF block: the stored size is the best answer
        return width, height
    return (height, width) if orientation in _QUARTER_TURNS else (width, height)


def _open(data: bytes) -> PILImage.Image:
    """Open ``data`` with the decoders of the format its first bytes claim (HEIF's only then)."""
    if heif_content_type(data):
        register_opener()
        return PILImage.open(io.BytesIO(data), formats=[PILLOW_FORMAT])
    return PILImage.open(io.BytesIO(data), formats=list(CONTENT_TYPES))


def inspect_image(data: bytes) -> ImageInfo:
    """Identify ``data`` as one of the supported formats, or raise ``BadRequest``.

    Bytes that are no supported image at all are ``invalid_image``; a recognised header whose
    file then fails its structural checks is ``image_damaged``.
    """
    heif = heif_content_type(data)
    if heif:
        register_opener()  # outside the try: a missing decoder is the service's fault, not the photo's
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with _open(data) as picture:
                width, height = displayed_size(picture)
                detected = heif or CONTENT_TYPES[picture.format or ""]
                with decoding_damage():
                    picture.verify()  # HEIF: nothing more to check before decoding (libheif
                    # already matched the item locations with the file's length when opening)
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise BadRequest("image has too many pixels", code="invalid_image") from exc
    except BadRequest:
        raise
    except Exception as exc:  # Pillow raises many types for malformed input; all mean "not an image"
        if heif or data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise damaged() from exc  # a supported format's signature, then bytes that do not parse
        raise BadRequest(
            "image bytes are not a valid JPEG, PNG, GIF, WebP or HEIC/HEIF image", code="invalid_image"
        ) from exc
    if width * height > MAX_PIXELS:
        raise BadRequest("image has too many pixels", code="invalid_image")
    if detected == "image/jpeg" and data.find(_JPEG_EOI, max(data.find(_JPEG_SOS), 0)) < 0:
        # Inside the scan, 0xFF is always stuffed or a restart marker: FFD9 there is the real end.
        raise damaged()
    return ImageInfo(content_type=detected, width=width, height=height)


THUMBNAIL_CONTENT_TYPE = "image/jpeg"


def _rgb_profile(picture: PILImage.Image) -> bytes | None:
    """The picture's ICC colour profile if it describes RGB (an iPhone's Display P3, Adobe RGB...):
    the variants are RGB, so a CMYK or grey profile would misdescribe their pixels."""
    profile = picture.info.get("icc_profile")
    # An ICC profile's header names its colour space at bytes 16-19 (ICC.1, 7.2.6).
    return profile if isinstance(profile, bytes) and profile[16:20] == b"RGB " else None


def _upright(data: bytes, max_side: int) -> PILImage.Image:
    """The picture decoded once, upright (EXIF orientation applied), its longest side at most
    ``max_side``, in RGB with any transparency flattened onto white, and the original's RGB colour
    profile in its ``info`` (without it, a browser takes a wide-gamut photo's pixels for sRGB and
    draws its variants washed out)."""
    with _open(data) as picture:
        profile = _rgb_profile(picture)
        # JPEG only: decode at a reduced scale (1/2 to 1/8), far faster and smaller than full size.
        # Asked for the size the result will have (not a max_side square), so a 4000 x 3000 photo
        # made 1600 x 1200 decodes at 1/2 (2000 x 1500) instead of in full.
        width, height = picture.size
        scale = min(1.0, max_side / max(width, height, 1))
        picture.draft("RGB", (max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))))
        upright = ImageOps.exif_transpose(picture)
        upright.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
    if upright.mode in ("RGBA", "LA", "P"):
        rgba = upright.convert("RGBA")
        rgb = PILImage.new("RGB", rgba.size, (255, 255, 255))  # transparency onto white
        rgb.paste(rgba, mask=rgba.getchannel("A"))
    else:
        rgb = upright if upright.mode == "RGB" else upright.convert("RGB")
    rgb.info = {"icc_profile": profile} if profile else {}
    return rgb


def _jpeg(picture: PILImage.Image) -> bytes:
    """Saved without ``exif=``: no EXIF block at all, so no location whatever the original kept;
    with the colour profile ``_upright`` kept, if any."""
    out = io.BytesIO()
    profile = picture.info.get("icc_profile")  # None: no profile block
    picture.save(out, "JPEG", quality=82, optimize=True, progressive=True, icc_profile=profile)
    return out.getvalue()


def make_thumbnail(data: bytes, max_side: int) -> bytes:
    """A JPEG whose longest side is at most ``max_side``, upright (EXIF orientation applied)."""
    return _jpeg(_upright(data, max_side))


def make_display(data: bytes, max_side: int) -> bytes:
    """The display variant: the thumbnail's code path at a viewer's size (JPEG, upright, no
    EXIF at all, so no location whatever the original kept)."""
    return make_thumbnail(data, max_side)


def make_variants(data: bytes, thumbnail_side: int, display_side: int) -> tuple[bytes, bytes]:
    """(thumbnail, display) from one decoding: the thumbnail is drawn from the display-size
    picture, not from the file again (a PNG or a HEIF photo decodes in full every time, and a
    48-megapixel HEIC takes seconds)."""
    if thumbnail_side > display_side:
        return make_thumbnail(data, thumbnail_side), make_display(data, display_side)
    upright = _upright(data, display_side)
    display = _jpeg(upright)
    upright.thumbnail((thumbnail_side, thumbnail_side), PILImage.Resampling.LANCZOS)
    return _jpeg(upright), display
