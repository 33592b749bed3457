"""HEIF photos (iPhones' ``.heic``): recognised by their ``ftyp`` box, decoded by pillow-heif.

A HEIF file is a tree of ISO base media boxes. Its first box, ``ftyp``, names a major brand and
the brands it is also compatible with; the brands of HEVC-coded still images (``heic``, ``heix``
and their sequence and multi-layer forms) are what iPhones and most Android phones write, and
what pillow-heif's libheif and libde265 decode. ``mif1``/``msf1`` are the codec-neutral brands:
such a file is taken only if it also names an HEVC brand, because the AV1 (AVIF) or JPEG-coded
HEIF files that share those brands have no decoder here.

pillow-heif (libheif, libde265 and the x265 encoder: about 25 MB) is imported only when a HEIF body
arrives (``register_opener``): JPEG, PNG, GIF and WebP uploads never load it.

The metadata (EXIF, XMP) of a HEIF file are items like the picture: ``iinf`` names each item and
its type, ``iloc`` says where its bytes are. ``metadata_extents`` finds them so that ``location``
can clean them in place, without decoding or re-encoding anything.
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterator
from typing import NamedTuple

# HEVC-coded HEIF: image (heic, heix), image sequence (hevc, hevx), multi-layer and scalable (heim,
# heis, hevm, hevs).
HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})
HEIC, HEIF = "image/heic", "image/heif"
# The format name pillow-heif registers with Pillow.
PILLOW_FORMAT = "HEIF"


def heif_content_type(data: bytes) -> str | None:
    """``image/heic`` for a file whose major brand is an HEVC one (iPhones: ``heic``), ``image/heif``
    for a codec-neutral major brand with an HEVC brand among the compatible ones; else None."""
    if data[4:8] != b"ftyp" or len(data) < 16:
        return None
    major = data[8:12]
    if major in HEVC_BRANDS:
        return HEIC
    if major not in GENERIC_BRANDS:
        return None
    size = struct.unpack(">I", data[:4])[0]
    compatible = data[16 : min(max(size, 16), len(data), 16 + 4 * 64)]
    brands = {compatible[i : i + 4] for i in range(0, len(compatible) - 3, 4)}
    return HEIF if brands & HEVC_BRANDS else None


@functools.cache
def register_opener() -> None:
    """Teach Pillow to open HEIF, once per process. Depth maps, auxiliary images (HDR gain maps)
    and embedded thumbnails are not read: only the primary picture is ever decoded."""
    import pillow_heif  # noqa: PLC0415 - about 25 MB of native libraries: HEIF uploads only

    pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)


# -- where the metadata items are ------------------------------------------------------------


Extents = tuple[tuple[int, int], ...]  # (file offset, length) of each piece of an item, in order


class MetadataItem(NamedTuple):
    kind: str  # "exif" or "xmp"
    extents: Extents


class UnlocatableItem(ValueError):
    """A metadata item whose bytes are not stored as plain ranges of the file (``iloc``
    construction method 2, or an extent "to the end" of an unknown length)."""


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of each box in ``data[start:end]``."""
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        header = 8
        if size == 1:
            size = struct.unpack(">Q", data[position + 8 : position + 16])[0]
            header = 16
        elif size == 0:
            size = end - position
        if size < header or position + size > end:
            raise ValueError(f"box {kind!r} at {position} overruns its parent")
        yield kind, position + header, position + size
        position += size


def _uint(data: bytes, position: int, size: int) -> int:
    return int.from_bytes(data[position : position + size], "big") if size else 0


def _item_kinds(data: bytes, start: int, end: int) -> dict[int, str]:
    """Item id -> "exif" or "xmp", from ``iinf`` (its ``infe`` entries of version 2 or 3)."""
    kinds: dict[int, str] = {}
    version = data[start]
    position = start + 4 + (2 if version == 0 else 4)  # FullBox header, then the entry count
    for kind, payload, box_end in _boxes(data, position, end):
        if kind != b"infe" or data[payload] < 2:
            continue  # versions 0 and 1 predate item types: no EXIF or XMP item can be named so
        id_size = 2 if data[payload] == 2 else 4
        item_id = _uint(data, payload + 4, id_size)
        item_type = data[payload + 4 + id_size + 2 : payload + 4 + id_size + 6]
        if item_type == b"Exif":
            kinds[item_id] = "exif"
        elif item_type == b"mime":
            name_end = data.index(b"\x00", payload + 4 + id_size + 6, box_end)
            content_type_end = data.find(b"\x00", name_end + 1, box_end)
            content_type = data[name_end + 1 : content_type_end if content_type_end >= 0 else box_end]
            if content_type.strip().lower() == b"application/rdf+xml":
                kinds[item_id] = "xmp"
    return kinds


def _item_extents(data: bytes, start: int, idat: int | None, wanted: set[int]) -> dict[int, Extents]:
    """Item id -> its extents as (file offset, length), from ``iloc`` (versions 0 to 2)."""
    version = data[start]
    sizes = struct.unpack(">H", data[start + 4 : start + 6])[0]
    offset_size, length_size, base_size = sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15
    index_size = sizes & 15 if version in (1, 2) else 0
    id_size = 2 if version < 2 else 4
    count = _uint(data, start + 6, id_size)
    position = start + 6 + id_size
    found: dict[int, Extents] = {}
    for _ in range(count):
        item_id = _uint(data, position, id_size)
        position += id_size
        method = 0
        if version in (1, 2):
            method = _uint(data, position, 2) & 15
            position += 2
        position += 2  # data reference index: 0, this file
        base = _uint(data, position, base_size)
        position += base_size
        extent_count = _uint(data, position, 2)
        position += 2
        extents = []
        for _ in range(extent_count):
            position += index_size
            offset = _uint(data, position, offset_size)
            length = _uint(data, position + offset_size, length_size)
            position += offset_size + length_size
            extents.append((offset, length))
        if item_id not in wanted:
            continue
        if method == 1 and idat is not None:
            origin = idat
        elif method == 0:
            origin = 0
        else:
            raise UnlocatableItem(f"item {item_id} is stored with iloc construction method {method}")
        if any(length == 0 for _, length in extents):
            raise UnlocatableItem(f"item {item_id} has an extent without a length")
        found[item_id] = tuple((origin + base + offset, length) for offset, length in extents)
    return found


def metadata_items(data: bytes) -> list[MetadataItem]:
    """The EXIF and XMP items of a HEIF file and where their bytes are.

    Raises ``ValueError`` (or ``struct.error``, ``IndexError``) for a box tree that does not parse,
    and ``UnlocatableItem`` for a metadata item that is not stored as plain ranges of the file.
    """
    meta = next(((start, end) for kind, start, end in _boxes(data, 0, len(data)) if kind == b"meta"), None)
    if meta is None:
        raise ValueError("a HEIF file without a meta box")
    children = {kind: (start, end) for kind, start, end in _boxes(data, meta[0] + 4, meta[1])}  # meta is a FullBox
    if b"iinf" not in children or b"iloc" not in children:
        return []
    kinds = _item_kinds(data, *children[b"iinf"])
    if not kinds:
        return []
    idat = children[b"idat"][0] if b"idat" in children else None
    extents = _item_extents(data, children[b"iloc"][0], idat, set(kinds))
    items = [MetadataItem(kinds[item_id], where) for item_id, where in extents.items()]
    for item in items:
        if any(offset + length > len(data) for offset, length in item.extents):
            raise ValueError("a metadata item reaches past the end of the file")
    return items
