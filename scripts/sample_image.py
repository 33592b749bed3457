#!/usr/bin/env python3
"""Write the sample photos the README's walk-through uses.

Usage:
  python3 scripts/sample_image.py                      photo.png, photo.jpg, big.jpg and photo.heic here
  python3 scripts/sample_image.py OUT [WIDTH] [HEIGHT]  one picture; its format from OUT's suffix

photo.png is a small gradient (standard library only). photo.jpg (a 1600x1200 photo, ~0.9 MB)
and big.jpg (4000x3000, ~5.5 MB: over POST /images's 4,500,000 bytes, so it goes through
upload_direct) look like photos: a sky, a sun, hills and sensor grain, which JPEG cannot squeeze
to nothing as it would a flat colour. photo.heic (1280x960) is the same kind of picture as an
iPhone stores it: HEIC, with a GPS position in its EXIF, which the service removes. The JPEGs
need Pillow and the HEIC pillow-heif, which `.venv` has (`make serve` creates it): run this with
`.venv/bin/python` if `python3` lacks them.
"""

from __future__ import annotations

import io
import math
import struct
import sys
import zlib
from pathlib import Path


def png_bytes(width: int = 64, height: int = 48) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00"
        + b"".join(bytes((x * 255 // max(width - 1, 1), y * 255 // max(height - 1, 1), 128)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def photo_jpeg(width: int, height: int, grain: float = 14.0, quality: int = 92) -> bytes:
    """A landscape-like JPEG: sky gradient, sun, two ranges of hills, and grain like a sensor's."""
    try:  # here, not at the top: the PNG (and scripts/make_events.py) need no Pillow
        from PIL import Image, ImageChops, ImageDraw, ImageFilter  # noqa: PLC0415
    except ImportError:
        sys.exit("writing JPEGs needs Pillow: run .venv/bin/python scripts/sample_image.py (make serve makes .venv)")

    # The sky: a vertical gradient drawn on a 1-pixel-wide strip, stretched.
    strip = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(height - 1, 1)
        strip.putpixel((0, y), (int(40 + 190 * t), int(90 + 120 * t), int(200 - 40 * t)))
    picture = strip.resize((width, height))
    draw = ImageDraw.Draw(picture)
    sun = min(width, height) // 10
    draw.ellipse((width * 0.68, height * 0.18, width * 0.68 + sun, height * 0.18 + sun), fill=(255, 226, 150))
    for base, amplitude, period, colour in ((0.62, 0.07, 0.9, (70, 110, 80)), (0.75, 0.05, 0.45, (40, 80, 45))):
        ridge = [
            (x, height * (base + amplitude * math.sin(x / width * 2 * math.pi / period + base * 9)))
            for x in range(0, width + 8, 8)
        ]
        draw.polygon([(0, height), *ridge, (width, height)], fill=colour)
    picture = picture.filter(ImageFilter.GaussianBlur(2))
    # Grain: independent noise per channel, centred on 128, added around the picture's values.
    noise = Image.merge("RGB", [Image.effect_noise((width, height), grain) for _ in range(3)])
    picture = ImageChops.add(picture, noise, scale=1.0, offset=-128)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality)
    return out.getvalue()


def photo_heic(width: int, height: int) -> bytes:
    """As an iPhone writes a photo: HEIC, with the place it was taken in its EXIF (GPS)."""
    from PIL import ExifTags, Image  # noqa: PLC0415 - only the samples that need them
    from pillow_heif import register_heif_opener  # noqa: PLC0415

    register_heif_opener()
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 7.0)})
    with Image.open(io.BytesIO(photo_jpeg(width, height, grain=6.0))) as picture:
        out = io.BytesIO()
        picture.save(out, "HEIF", quality=70, exif=exif.tobytes())
    return out.getvalue()


def write(path: Path, width: int | None = None, height: int | None = None) -> None:
    if path.suffix.lower() == ".png":
        data = png_bytes(width or 64, height or 48)
    elif path.suffix.lower() in (".jpg", ".jpeg"):
        data = photo_jpeg(width or 1600, height or 1200)
    elif path.suffix.lower() in (".heic", ".heif"):
        data = photo_heic(width or 1280, height or 960)
    else:
        sys.exit(f"{path}: give a name ending in .png, .jpg or .heic")
    path.write_bytes(data)
    print(f"{path} ({len(data)} bytes)")


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        write(Path(argv[1]), int(argv[2]) if len(argv) > 2 else None, int(argv[3]) if len(argv) > 3 else None)
        return 0
    write(Path("photo.png"))
    write(Path("photo.jpg"))
    write(Path("big.jpg"), 4000, 3000)
    write(Path("photo.heic"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
