"""Recognise image bytes (format, size) and make thumbnails, with Pillow.

Only the upload path imports this module (Pillow costs cold-start time the read functions
should not pay); see ``functions/upload/app.py``.

The declared ``content_type`` is never trusted: the bytes' own signature decides. Pillow only
reads the header here (no pixel decoding), so this costs microseconds and no extra memory.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image as PILImage
from PIL import ImageOps

from .errors import BadRequest

# Pillow format name -> the content type the API speaks (validation.SUPPORTED_CONTENT_TYPES).
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}

# Refuse pictures whose pixel count could exhaust a function's memory when decoded
# (decompression bombs). 120 megapixels is above any phone camera in common use.
MAX_PIXELS = 120_000_000
PILImage.MAX_IMAGE_PIXELS = MAX_PIXELS  # Pillow's own bomb check, used when a thumbnail decodes pixels


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    width: int
    height: int


def inspect_image(data: bytes) -> ImageInfo:
    """Identify ``data`` as one of the supported formats, or raise ``BadRequest``."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(io.BytesIO(data), formats=list(CONTENT_TYPES)) as picture:
                width, height = picture.size
                picture.verify()
                detected = CONTENT_TYPES[picture.format or ""]
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning) as exc:
        raise BadRequest("image has too many pixels", code="invalid_image") from exc
    except Exception as exc:  # Pillow raises many types for malformed input; all mean "not an image"
        raise BadRequest("image bytes are not a valid JPEG, PNG, GIF or WebP image", code="invalid_image") from exc
    if width * height > MAX_PIXELS:
        raise BadRequest("image has too many pixels", code="invalid_image")
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
