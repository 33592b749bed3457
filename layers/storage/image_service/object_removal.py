"""Removing an image's objects, and telling from S3's own answer whether they are gone.

A delete removes the metadata first, then the objects. When removing the objects fails, the
metadata is put back, but only if that cannot list a photo whose bytes are gone. The decision is
made from the ``DeleteObjects`` answer alone, with no ``HeadObject`` (which needs ``s3:GetObject``,
a permission the delete function does not have and should not need):

- a 200 answer: every key not named in its ``Errors`` list is deleted (S3's quiet mode names only
  the keys it failed on);
- an error answer (e.g. ``SlowDown``, ``AccessDenied``): S3 refused the request, nothing was
  deleted;
- no answer at all (a timeout, a lost response): unknown. ``DeleteObjects`` is idempotent, so it
  is sent once more, and that answer decides; if there is still none, the keys are reported as
  "unknown" and the caller must not put the metadata back (an invisible leftover object beats a
  listed photo with no bytes).
"""

from __future__ import annotations

from typing import NamedTuple

from botocore.exceptions import ClientError

from .blob_store import BlobStore
from .errors import ServiceUnavailable

_ATTEMPTS = 2


class Removal(NamedTuple):
    """What is known after trying to remove some keys."""

    still_stored: frozenset[str] = frozenset()  # S3 said these were not deleted
    unknown: frozenset[str] = frozenset()  # no answer: deleted or not, nobody can tell
    error: Exception | None = None  # the last failure, to re-raise

    @property
    def complete(self) -> bool:
        return not self.still_stored and not self.unknown


def _answered(exc: Exception) -> bool:
    """True if S3 answered with an error (so it did not do the request), not just went silent."""
    return isinstance(exc, ClientError) or isinstance(exc.__cause__, ClientError)


def remove_objects(blobs: BlobStore, keys: list[str]) -> Removal:
    """Delete ``keys``; report which are known to remain and which are of unknown fate."""
    pending = list(keys)
    removal = Removal()
    for _ in range(_ATTEMPTS):
        try:
            failed = blobs.delete_many_reporting(pending)
        except Exception as exc:
            if _answered(exc):
                return Removal(still_stored=frozenset(pending), error=exc)
            removal = Removal(unknown=frozenset(pending), error=exc)
            continue  # deleting again is safe, and its answer tells
        if not failed:
            return Removal()
        pending = sorted(failed)
        removal = Removal(
            still_stored=frozenset(failed),
            error=ServiceUnavailable("image storage could not delete every object, please retry"),
        )
    return removal
