"""Image bytes for the tests: a small plain picture, and phone-style JPEGs with EXIF and GPS."""

from __future__ import annotations

import io
import os

from PIL import ExifTags, Image

GPS = ExifTags.IFD.GPSInfo
ORIENTATION = 0x0112


def picture(fmt: str = "PNG", size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buffer, format=fmt)
    return buffer.getvalue()


def exif_with_gps(gps: bool = True) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = 3
    exif[0x010F] = "Maker"
    if gps:
        exif.get_ifd(GPS).update({1: "S", 2: (33.0, 51.0, 54.0), 3: "E", 4: (151.0, 12.0, 36.0)})
    return exif


def encoded(fmt: str, exif: Image.Exif) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (5, 6, 7)).save(out, fmt, exif=exif.tobytes())
    return out.getvalue()


def phone_jpeg(
    target_bytes: int = 0, size: tuple[int, int] = (400, 300), gps: bool = True, orientation: int = 6
) -> bytes:
    """A JPEG as a phone writes it: EXIF with orientation and (optionally) a GPS position.

    With ``target_bytes`` the pixels are noise, which JPEG cannot compress, to reach that size.
    """
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"
    if gps:
        position = exif.get_ifd(GPS)
        position.update({1: "N", 2: (52.0, 31.0, 12.5), 3: "E", 4: (13.0, 24.0, 1.0)})
    if target_bytes:
        side = int((target_bytes / 1.1) ** 0.5)  # noise at quality 95 costs ~1.2 bytes per pixel
        size = (side * 4 // 3, side * 3 // 4)
        picture_ = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        picture_ = Image.new("RGB", size, (30, 120, 200))
    out = io.BytesIO()
    picture_.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()
