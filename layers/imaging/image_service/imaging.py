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
zero-filled has none); PNG's CRCs and GIF's LZW stream catch damage in the middle.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PIL import ExifTags, ImageOps
from PIL import Image as PILImage

from .errors import BadRequest

# Pillow format name -> the content type the API speaks (validation.SUPPORTED_CONTENT_TYPES).
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}

# Refuse pictures whose pixel count could exhaust a function's memory when decoded
# (decompression bombs). 120 megapixels is above any phone camera in common use.
MAX_PIXELS = 120_000_000
PILImage.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb check, used when a thumbnail decodes pixels


# EXIF orientations 5-8 turn the picture a quarter: it displays (and every variant is made)
# with width and height swapped.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class ImageInfo:
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


def inspect_image(data: bytes) -> ImageInfo:
    """Identify ``data`` as one of the supported formats, or raise ``BadRequest``.

    Bytes that are no supported image at all are ``invalid_image``; a recognised header whose
    file then fails its structural checks is ``image_damaged``.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=list(CONTENT_TYPES)) as picture:
                width, height = displayed_size(picture)
                detected = CONTENT_TYPES[picture.format or ""]
                with decoding_damage():
                    picture.verify()
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise BadRequest("image has too many pixels", code="invalid_image") from exc
    except BadRequest:
        raise
    except Exception as exc:  # Pillow raises many types for malformed input; all mean "not an image"
        if data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise damaged() from exc  # a supported format's signature, then bytes that do not parse
        raise BadRequest("image bytes are not a valid JPEG, PNG, GIF or WebP image", code="invalid_image") from exc
    if width * height > MAX_PIXELS:
        raise BadRequest("image has too many pixels", code="invalid_image")
    if detected == "image/jpeg" and data.find(_JPEG_EOI, max(data.find(_JPEG_SOS), 0)) < 0:
        # Inside the scan, 0xFF is always stuffed or a restart marker: FFD9 there is the real end.
        raise damaged()
    return ImageInfo(content_type=detected, width=width, height=height)


THUMBNAIL_CONTENT_TYPE = "image/jpeg"


def make_thumbnail(data: bytes, max_side: int) -> bytes:
    """A JPEG whose longest side is at most ``max_side``, upright (EXIF orientation applied)."""
    with PILImage.open(io.BytesIO(data), formats=list(CONTENT_TYPES)) as picture:
        # JPEG only: decode at a reduced scale (1/2 to 1/8), far faster and smaller than full size.
        picture.draft("RGB", (max_side, max_side))
        upright = ImageOps.exif_transpose(picture)
        upright.thumbnail((max_side, max_side), PILImage.Resampling.LANCZOS)
        if upright.mode in ("RGBA", "LA", "P"):
            rgba = upright.convert("RGBA")
            flattened = PILImage.new("RGB", rgba.size, (255, 255, 255))  # transparency onto white
            flattened.paste(rgba, mask=rgba.getchannel("A"))
            upright = flattened
        elif upright.mode != "RGB":
            upright = upright.convert("RGB")
        out = io.BytesIO()
        upright.save(out, "JPEG", quality=82, optimize=True, progressive=True)
        return out.getvalue()
