#!/usr/bin/env python3
"""Write a small valid PNG (a colour gradient) to a file, using only the standard library.

Usage: python3 scripts/sample_image.py [OUT.png] [WIDTH] [HEIGHT]
"""

from __future__ import annotations

import struct
import sys
import zlib


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


def main(argv: list[str]) -> int:
    out = argv[1] if len(argv) > 1 else "sample.png"
    width = int(argv[2]) if len(argv) > 2 else 64
    height = int(argv[3]) if len(argv) > 3 else 48
    with open(out, "wb") as handle:
        handle.write(png_bytes(width, height))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
