"""Entity tags of an image's metadata, and the ``If-Match`` / ``If-None-Match`` preconditions.

The ETag is derived from the row's ``version`` (the attribute every conditional write already
checks and bumps), so it changes with every edit and costs no extra storage: ``"v<version>-<h>"``,
a strong tag, where ``h`` is a short hash of the image id (two photos at the same version never
share a tag, so a tag sent to the wrong photo cannot match by accident).

Checking ``If-Match`` against the version *read* and then writing conditionally on that same
version makes the check and the write one atomic decision: a change landing between the read and
the write fails the write's condition, the service reads again, and the precondition then fails
(412). No edit can slip through between the check and the write.

A malformed ``If-Match`` or ``If-None-Match`` is ``400 invalid_precondition``: RFC 9110 leaves a
field that does not parse to the recipient, and ignoring it would turn a guarded edit into an
unguarded one, exactly what the client asked to prevent.
"""

from __future__ import annotations

import hashlib
import re
from typing import NamedTuple

from .errors import BadRequest

# RFC 9110 entity-tag: [W/] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text (no obs-text here).
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e]*)"')
_SEPARATOR = re.compile(r"[ \t]*,[ \t]*")
MAX_HEADER_CHARS = 2048


def etag_for(image_id: str, version: int) -> str:
    digest = hashlib.sha256(image_id.encode()).hexdigest()[:12]
    return f'"v{version}-{digest}"'


class Precondition(NamedTuple):
    """A parsed ``If-Match`` / ``If-None-Match``: ``*`` (any current photo) or a list of tags."""

    any: bool
    strong: tuple[str, ...]  # the opaque tags, quoted, of the strong entity tags given
    weak: tuple[str, ...]  # the opaque tags, quoted, of the weak ones (W/ removed)

    def matches_strongly(self, etag: str) -> bool:
        """If-Match: strong comparison (RFC 9110 8.8.3.2); a weak tag never matches."""
        return self.any or etag in self.strong

    def matches_weakly(self, etag: str) -> bool:
        """If-None-Match: weak comparison; ``W/"x"`` matches ``"x"``."""
        return self.any or etag in self.strong or etag in self.weak


def parse_precondition(value: str | None, name: str) -> Precondition | None:
    """``None`` if the header is absent; ``400 invalid_precondition`` if it does not parse."""
    if value is None:
        return None
    text = value.strip(" \t")
    if text == "*":
        return Precondition(any=True, strong=(), weak=())
    problem = BadRequest(
        f'{name} must be * or a list of entity tags in quotes (such as "v2-0123456789ab")',
        code="invalid_precondition",
    )
    if not text or len(text) > MAX_HEADER_CHARS:
        raise problem
    strong: list[str] = []
    weak: list[str] = []
    for part in _SEPARATOR.split(text):
        if not part:
            continue  # RFC 9110 5.6.1: empty list elements are allowed and ignored
        found = _ENTITY_TAG.fullmatch(part)
        if found is None:
            raise problem
        (weak if found.group(1) else strong).append(f'"{found.group(2)}"')
    if not strong and not weak:
        raise problem
    return Precondition(any=False, strong=tuple(strong), weak=tuple(weak))
