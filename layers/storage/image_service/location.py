"""Remove location data from a photo without touching its pixels.

Phones write the GPS position into the EXIF block (and sometimes XMP). Re-encoding a JPEG would
lose quality and change every byte, so this edits the container instead: the EXIF block is parsed,
its GPS IFD dropped and the block written back in place; XMP packets that carry GPS fields are
dropped. Everything else, orientation included, is kept byte for byte.
"""

from __future__ import annotations

import struct
import zlib

from PIL import Image as PILImage

GPS_IFD = 0x8825
_EXIF_HEADER = b"Exif\x00\x00"
_XMP_GPS_MARKERS = (b"exif:GPS", b"exif:gps", b"GPSLatitude", b"GPSLongitude")


def _exif_without_gps(raw: bytes) -> bytes | None:
    """``raw`` EXIF (with or without the ``Exif\\0\\0`` header) minus GPS, or None if it had none."""
    exif = PILImage.Exif()
    exif.load(raw)
    if GPS_IFD not in exif:
        return None
    del exif[GPS_IFD]
    cleaned = exif.tobytes()  # starts with the "Exif\0\0" header
    return cleaned if raw.startswith(_EXIF_HEADER) else cleaned[len(_EXIF_HEADER) :]


def _xmp_has_gps(raw: bytes) -> bool:
    return any(marker in raw for marker in _XMP_GPS_MARKERS)


def _strip_jpeg(data: bytes) -> tuple[bytes, bool]:
    out = bytearray(data[:2])  # SOI
    position, removed = 2, False
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            break
        marker = data[position + 1]
        if marker == 0xDA:  # start of scan: entropy-coded data follows, no more metadata
            break
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        segment = data[position : position + 2 + length]
        payload = segment[4:]
        if marker == 0xE1 and payload.startswith(_EXIF_HEADER):
            cleaned = _exif_without_gps(payload)
            if cleaned is not None:
                segment = b"\xff\xe1" + struct.pack(">H", len(cleaned) + 2) + cleaned
                removed = True
        elif marker == 0xE1 and payload.startswith(b"http://ns.adobe.com/xap/") and _xmp_has_gps(payload):
            segment, removed = b"", True
        out += segment
        position += 2 + length
    out += data[position:]
    return bytes(out), removed


def _strip_png(data: bytes) -> tuple[bytes, bool]:
    out = bytearray(data[:8])  # signature
    position, removed = 8, False
    while position + 12 <= len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        kind = data[position + 4 : position + 8]
        chunk = data[position : position + 12 + length]
        body = data[position + 8 : position + 8 + length]
        if kind == b"eXIf":
            cleaned = _exif_without_gps(body)
            if cleaned is not None:
                chunk = struct.pack(">I", len(cleaned)) + kind + cleaned + struct.pack(">I", zlib.crc32(kind + cleaned))
                removed = True
        elif kind == b"iTXt" and body.startswith(b"XML:com.adobe.xmp") and _xmp_has_gps(body):
            chunk, removed = b"", True
        out += chunk
        position += 12 + length
    out += data[position:]
    return bytes(out), removed


def _strip_webp(data: bytes) -> tuple[bytes, bool]:
    out = bytearray()
    position, removed = 12, False
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        length = struct.unpack("<I", data[position + 4 : position + 8])[0]
        padded = length + (length & 1)
        chunk = data[position : position + 8 + padded]
        if kind == b"EXIF":
            cleaned = _exif_without_gps(data[position + 8 : position + 8 + length])
            if cleaned is not None:
                chunk = kind + struct.pack("<I", len(cleaned)) + cleaned + (b"\x00" if len(cleaned) & 1 else b"")
                removed = True
        out += chunk
        position += 8 + padded
    body = b"WEBP" + bytes(out)
    return b"RIFF" + struct.pack("<I", len(body)) + body, removed


_STRIPPERS = {"image/jpeg": _strip_jpeg, "image/png": _strip_png, "image/webp": _strip_webp}


def strip_location(data: bytes, content_type: str) -> tuple[bytes, bool]:
    """``data`` without GPS metadata, and whether anything was removed. GIF carries none."""
    stripper = _STRIPPERS.get(content_type)
    if stripper is None:
        return data, False
    return stripper(data)
