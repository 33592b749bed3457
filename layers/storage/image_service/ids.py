"""Time-ordered image ids (ULIDs): 48 bits of milliseconds, 80 random bits, Crockford base32.

Newer ids sort later as plain strings, so ``image_tags`` (sort key ``image_id``) lists newest
first with a descending query, and ids need no coordination between concurrent uploads.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
IMAGE_ID_PATTERN = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def current_ms() -> int:
    """The time now, in Unix milliseconds (the clock use cases get unless a test gives another)."""
    return int(time.time() * 1000)


def new_image_id(now_ms: int | None = None) -> str:
    millis = current_ms() if now_ms is None else now_ms
    value = (millis << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_image_id(value: str) -> bool:
    return bool(IMAGE_ID_PATTERN.fullmatch(value))


def timestamp_ms(image_id: str) -> int:
    """The creation time (Unix milliseconds) encoded in the first 10 characters of an id."""
    value = 0
    for char in image_id[:10]:
        value = value * 32 + _ALPHABET.index(char)
    return value


def created_at_of(image_id_ms: int) -> str:
    """An image's ``created_at`` (ISO 8601, UTC, milliseconds) from its id's timestamp."""
    moment = datetime.fromtimestamp(image_id_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
