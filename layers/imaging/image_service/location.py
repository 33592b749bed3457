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


# An edit replaces data[start:end] with new bytes. Strippers only collect edits; the image is
# rebuilt once, and only if there is an edit: a photo without location data is not copied at all.
Edit = tuple[int, int, bytes]


def _apply(data: bytes, edits: list[Edit]) -> bytes:
    view, position = memoryview(data), 0
    parts: list[bytes | memoryview] = []
    for start, end, replacement in edits:
        parts += [view[position:start], replacement]
        position = end
    parts.append(view[position:])
    return b"".join(parts)


def _jpeg_edits(data: bytes) -> list[Edit]:
    edits: list[Edit] = []
    position = 2  # after SOI
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xDA:  # start of scan: entropy-coded data follows, no more metadata
            break
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        end = position + 2 + length
        if marker == 0xE1:
            payload = data[position + 4 : end]  # APP1 segments are at most 64 KB
            if payload.startswith(_EXIF_HEADER):
                cleaned = _exif_without_gps(payload)
                if cleaned is not None:
                    edits.append((position, end, b"\xff\xe1" + struct.pack(">H", len(cleaned) + 2) + cleaned))
            elif payload.startswith(b"http://ns.adobe.com/xap/") and _xmp_has_gps(payload):
                edits.append((position, end, b""))
        position = end
    return edits


def _png_edits(data: bytes) -> list[Edit]:
    edits: list[Edit] = []
    position = 8  # after the signature
    while position + 12 <= len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        kind = data[position + 4 : position + 8]
        end = position + 12 + length
        if kind == b"eXIf":
            cleaned = _exif_without_gps(data[position + 8 : position + 8 + length])
            if cleaned is not None:
                crc = struct.pack(">I", zlib.crc32(kind + cleaned))
                edits.append((position, end, struct.pack(">I", len(cleaned)) + kind + cleaned + crc))
        elif kind == b"iTXt" and data.startswith(b"XML:com.adobe.xmp", position + 8):
            if _xmp_has_gps(data[position + 8 : position + 8 + length]):
                edits.append((position, end, b""))
        position = end
    return edits


def _webp_edits(data: bytes) -> list[Edit]:
    edits: list[Edit] = []
    position = 12  # after "RIFF", the size and "WEBP"
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        length = struct.unpack("<I", data[position + 4 : position + 8])[0]
        end = position + 8 + length + (length & 1)
        if kind == b"EXIF":
            cleaned = _exif_without_gps(data[position + 8 : position + 8 + length])
            if cleaned is not None:
                padding = b"\x00" if len(cleaned) & 1 else b""
                edits.append((position, end, kind + struct.pack("<I", len(cleaned)) + cleaned + padding))
        position = end
    if edits:  # the RIFF header holds the file's size, which changes
        size = len(data) - 8 + sum(len(new) - (end - start) for start, end, new in edits)
        edits.insert(0, (4, 8, struct.pack("<I", size)))
    return edits


_EDITORS = {"image/jpeg": _jpeg_edits, "image/png": _png_edits, "image/webp": _webp_edits}


def strip_location(data: bytes, content_type: str) -> tuple[bytes, bool]:
    """``data`` without GPS metadata, and whether anything was removed. GIF carries none."""
    find_edits = _EDITORS.get(content_type)
    edits = find_edits(data) if find_edits else []
    if not edits:
        return data, False
    return _apply(data, edits), True
