"""Changing and deleting images: conditional writes on the version read, and the restore of a
delete whose objects S3 kept. No HTTP and no boto3 here.

Ordering rules that keep storage consistent when a step fails:
- edit: metadata and the changed tag rows in one transaction, conditional on the version read
  and on the owner, so concurrent edits never leave stale or missing tag rows.
- delete: metadata + tags first (conditional, so two concurrent deletes cannot both succeed),
  then the object; if S3 says the original was not deleted the metadata is put back, so no photo
  is left half-deleted and a retry starts from a consistent state (``object_removal``).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from .errors import Forbidden, NotFound, PreconditionFailed, ServiceUnavailable
from .etags import Precondition, etag_for
from .models import Image, ImageEdit
from .object_keys import keys_for_id, keys_of
from .object_removal import remove_objects
from .use_case import UseCase

logger = logging.getLogger("image_service")

# Tries at a conditional write whose row changed between the read and the write.
_WRITE_ATTEMPTS = 5
Written = TypeVar("Written")


class _NoImage(NotFound):
    """404 for a write; ``has_row``: the id is a pending direct upload (not an image yet)."""

    def __init__(self, message: str, *, has_row: bool) -> None:
        super().__init__(message)
        self.has_row = has_row


class Edits(UseCase):
    def edit(self, image_id: str, edit: ImageEdit, *, caller: str | None = None) -> Image:
        """Change title, description and/or tags; metadata and tag rows change together."""
        return self.edit_with_etag(image_id, edit, caller=caller)[0]

    def edit_with_etag(
        self, image_id: str, edit: ImageEdit, *, caller: str | None = None, if_match: Precondition | None = None
    ) -> tuple[Image, str]:
        """``edit``, only if the photo is in a state ``if_match`` names; the edited photo and its new ETag."""
        _, version, updated = self._conditional_write(
            image_id, caller, lambda img, v: self._images.update(img, v, edit, owner=caller), if_match
        )
        logger.info("image edited", extra={"image_id": image_id})
        return updated, etag_for(image_id, version + 1)  # update() wrote version + 1

    def delete(self, image_id: str, *, caller: str | None = None, if_match: Precondition | None = None) -> None:
        """Delete an image; with a ``caller``, only if they own it; with ``if_match``, only if
        it is still in a state the caller has seen (else ``PreconditionFailed``)."""
        attempts: list[tuple[Image, int]] = []  # the rows the removal was tried on, for a lost response

        def remove(image: Image, version: int) -> bool:
            attempts.append((image, version))
            return self._images.remove(image, version, owner=caller)

        try:
            image, version, _ = self._conditional_write(image_id, caller, remove, if_match)
        except _NoImage as missing:
            # Nothing to delete, but an earlier delete may have removed the metadata and then
            # failed on the objects: finish it, so a retry leaves no bytes behind. Only for an id
            # with no row at all: a pending direct upload (someone's, maybe not the caller's) is
            # left alone, and its objects never use these keys anyway (see ``object_keys``).
            if not missing.has_row:
                self._blobs.delete_many(keys_for_id(image_id))
            raise
        except ServiceUnavailable:
            # The transaction may have committed with its response lost: then go on.
            if not attempts or self._images.get(image_id, consistent=True) is not None:
                raise
            image, version = attempts[-1]
        self._remove_objects_or_restore(image, version)
        logger.info("image deleted", extra={"image_id": image_id})

    def _conditional_write(
        self,
        image_id: str,
        caller: str | None,
        write: Callable[[Image, int], Written | None],
        if_match: Precondition | None = None,
    ) -> tuple[Image, int, Written]:
        """Read, check ownership and ``if_match``, write conditionally on the version read; retry
        if it changed. Returns the row read, its version and what ``write`` returned.

        The read gives a clear 404 or 403; the condition on version and owner makes the write
        itself atomic, so a concurrent edit or delete can never be overwritten or resurrected.
        ``if_match`` is checked against the version read, the very version the write is
        conditional on: a change in between fails the write, and the next read fails the check.
        """
        for attempt in range(_WRITE_ATTEMPTS):
            found = self._images.read(image_id, consistent=True)
            if not isinstance(found, tuple):
                raise _NoImage("image not found", has_row=found is not None)
            image, version = found
            if caller is not None and image.user_id != caller:
                raise Forbidden("only the owner can change or delete this image")
            if if_match is not None and not if_match.matches_strongly(etag_for(image_id, version)):
                raise PreconditionFailed(
                    "the photo was changed since you read it (If-Match names another version): "
                    "read it again (its ETag) and repeat the change if it still applies"
                )
            result = write(image, version)
            if result:
                return image, version, result
            time.sleep(random.uniform(0, 0.02) * (attempt + 1))  # noqa: S311 - jitter, not security
        raise ServiceUnavailable("the image is being changed, please retry")

    def _remove_objects_or_restore(self, image: Image, version: int) -> None:
        """The objects of an image whose metadata is removed; the metadata back if S3 kept them."""
        removal = remove_objects(self._blobs, keys_of(image))
        if removal.complete:
            return
        assert removal.error is not None
        if image.object_key in removal.still_stored:
            self._restore_metadata(image, version)
        else:
            # The original is gone (or may be): listing the photo again would show no bytes. What
            # is left is invisible; the log names it, and the client's retry (404) removes it.
            logger.error(
                "objects of a deleted image may remain",
                extra={
                    "image_id": image.image_id,
                    "object_key": ",".join(sorted(removal.still_stored | removal.unknown)),
                },
            )
        raise removal.error

    def _restore_metadata(self, image: Image, version: int) -> None:
        try:
            # At the version it had: its ETag is the one clients saw, never an older state's.
            self._images.add(image, version=version)
        except Exception:
            logger.error(
                "could not restore metadata after a failed object delete",
                extra={"image_id": image.image_id},
                exc_info=True,
            )
