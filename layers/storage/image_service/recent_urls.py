"""Pre-signed GET URLs given again while young: a photo keeps one URL for a while.

A URL signed again is a new URL (its X-Amz-Date and signature change), and a browser's HTTP cache
is keyed by the URL: a gallery that lists a page again downloaded every thumbnail again. So a URL
signed less than a fifth of its lifetime ago (a minute of the default 300 s) is given again, with
the time it has left, and the browser draws the page from its cache. Signing it again would also
cost ~25-45 µs of CPU per URL (a page of 20: ~0.5-0.9 ms).

The authority given is the same as a fresh URL's: one object, readable by whoever holds the URL
until it expires. An answer's ``expires_in`` is the time its URLs have left (the soonest to expire
of them), never more than a URL's own ``X-Amz-Expires`` minus its age. The URLs are remembered in
the container's memory only, for a bounded number of objects.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple, Protocol

# A URL is given again during the first 1/REUSE_FRACTION of its lifetime: the rest is what an
# answer promises at least (4/5 of it).
REUSE_FRACTION = 5
# Objects whose URLs are remembered (~1.5 KB each with a session token): past this, the old ones go.
MAX_REMEMBERED = 1024


class Signer(Protocol):
    def __call__(self, keys: Sequence[str], *, expires_in: int) -> list[str]:
        """A URL per key, in order, valid for ``expires_in`` seconds."""


class SignedUrls(NamedTuple):
    urls: list[str]  # one per key asked for, in order
    expires_in: int  # seconds the soonest to expire of them stays valid


class RecentUrls:
    """URLs from ``sign``, each given again while it is younger than a fifth of its lifetime."""

    def __init__(self, sign: Signer, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._sign = sign
        self._clock = clock
        self._remembered: dict[tuple[str, int], tuple[str, float]] = {}  # (key, lifetime) -> (URL, signed at)

    def urls(self, keys: Sequence[str], *, expires_in: int) -> SignedUrls:
        now = self._clock()
        reuse_for = expires_in / REUSE_FRACTION
        found: dict[str, str] = {}
        oldest = now
        for key in keys:
            remembered = self._remembered.get((key, expires_in))
            if remembered is not None and now - remembered[1] < reuse_for:
                found[key] = remembered[0]
                oldest = min(oldest, remembered[1])
        missing = [key for key in dict.fromkeys(keys) if key not in found]
        if missing:
            self._make_room(len(missing), now)
            # ``now`` was read before signing: the URLs' own X-Amz-Date is that instant or later.
            for key, url in zip(missing, self._sign(missing, expires_in=expires_in), strict=True):
                found[key] = url
                self._remembered[(key, expires_in)] = (url, now)
        return SignedUrls([found[key] for key in keys], expires_in - math.ceil(now - oldest))

    def _make_room(self, needed: int, now: float) -> None:
        if len(self._remembered) + needed <= MAX_REMEMBERED:
            return
        self._remembered = {
            entry: (url, signed_at)
            for entry, (url, signed_at) in self._remembered.items()
            if now - signed_at < entry[1] / REUSE_FRACTION
        }
        if len(self._remembered) + needed > MAX_REMEMBERED:
            self._remembered.clear()
