"""Remove location data from a photo without touching its pixels.

Phones write the GPS position into the EXIF block (and sometimes XMP). Re-encoding a JPEG would
lose quality and change every byte, so this edits the container instead: the EXIF block is parsed,
its GPS IFD dropped and the block written back in place; XMP packets that carry GPS fields are
dropped. Everything else, orientation included, is kept byte for byte.

HEIF (iPhones' HEIC) keeps its EXIF and XMP as items whose places the ``iloc`` box records, so
nothing may change length there: the GPS IFD is erased inside the EXIF item (its entries and
values overwritten with zeros, its pointer taken out of IFD0), and an XMP item naming a GPS field
is replaced by an empty XMP packet padded to the same length. The HEVC-coded pixels, the boxes
and every other byte stay as they were.
"""

from __future__ import annotations

import struct
import zlib

from PIL import Image as PILImage

from .heif import metadata_items

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


# Bytes per value of each TIFF field type (BYTE, ASCII, SHORT, LONG, RATIONAL, ..., IFD, LONG8...).
_TIFF_TYPE_SIZES = {
    1: 1,
    2: 1,
    3: 2,
    4: 4,
    5: 8,
    6: 1,
    7: 1,
    8: 2,
    9: 4,
    10: 8,
    11: 4,
    12: 8,
    13: 4,
    16: 8,
    17: 8,
    18: 8,
}


def _erase_gps_ifd(tiff: bytearray) -> bool:
    """Erase the GPS IFD of an EXIF block (a TIFF structure) in place, keeping its length:
    whether it had one. Its entries and their values become zeros, and IFD0's pointer to it is
    taken out (the later entries move up one place, as if it had never been written)."""
    order = {b"II": "<", b"MM": ">"}[bytes(tiff[:2])]
    ifd0 = struct.unpack_from(order + "I", tiff, 4)[0]
    count = struct.unpack_from(order + "H", tiff, ifd0)[0]
    entries = ifd0 + 2
    pointer = next(
        (
            entries + 12 * i
            for i in range(count)
            if struct.unpack_from(order + "H", tiff, entries + 12 * i)[0] == GPS_IFD
        ),
        None,
    )
    if pointer is None:
        return False
    gps = struct.unpack_from(order + "I", tiff, pointer + 8)[0]
    gps_count = struct.unpack_from(order + "H", tiff, gps)[0]
    for entry in range(gps + 2, gps + 2 + 12 * gps_count, 12):
        kind, values = struct.unpack_from(order + "HI", tiff, entry + 2)
        size = _TIFF_TYPE_SIZES.get(kind, 1) * values
        if size > 4:  # the values live elsewhere, at the offset the entry holds
            at = struct.unpack_from(order + "I", tiff, entry + 8)[0]
            tiff[at : at + size] = bytes(len(tiff[at : at + size]))
    gps_end = gps + 2 + 12 * gps_count + 4  # the entries, then the (unused) next-IFD offset
    tiff[gps:gps_end] = bytes(len(tiff[gps:gps_end]))
    ifd0_end = entries + 12 * count + 4
    tiff[pointer : ifd0_end - 12] = tiff[pointer + 12 : ifd0_end]
    tiff[ifd0_end - 12 : ifd0_end] = bytes(12)
    struct.pack_into(order + "H", tiff, ifd0, count - 1)
    return True


def _empty_xmp(length: int) -> bytes:
    """A valid XMP packet that says nothing, padded with spaces (as XMP allows) to ``length``."""
    head = b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
    tail = b'<?xpacket end="w"?>'
    if length < len(head) + len(tail):
        return b" " * length
    return head + b" " * (length - len(head) - len(tail)) + tail


def _heif_edits(data: bytes) -> list[Edit]:
    edits: list[Edit] = []
    for item in metadata_items(data):
        content = bytearray(b"".join(data[offset : offset + length] for offset, length in item.extents))
        if item.kind == "exif":
            # The item starts with the offset of the TIFF header from the end of that field
            # (past an "Exif\0\0" prefix, usually).
            start = 4 + struct.unpack_from(">I", content)[0]
            if content.startswith(_EXIF_HEADER, start):
                start += len(_EXIF_HEADER)
            tiff = content[start:]
            if not _erase_gps_ifd(tiff):
                continue
            content[start:] = tiff
        elif _xmp_has_gps(bytes(content)):
            content = bytearray(_empty_xmp(len(content)))
        else:
            continue
        position = 0
        for offset, length in item.extents:  # the same lengths: iloc stays true
            edits.append((offset, offset + length, bytes(content[position : position + length])))
            position += length
    return sorted(edits)


_EDITORS = {
    "image/jpeg": _jpeg_edits,
    "image/png": _png_edits,
    "image/webp": _webp_edits,
    "image/heic": _heif_edits,
    "image/heif": _heif_edits,
}


def strip_location(data: bytes, content_type: str) -> tuple[bytes, bool]:
    """``data`` without GPS metadata, and whether anything was removed. GIF carries none."""
    find_edits = _EDITORS.get(content_type)
    edits = find_edits(data) if find_edits else []
    if not edits:
        return data, False
    return _apply(data, edits), True
