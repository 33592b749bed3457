"""The use cases: upload, get, download, list and delete. No HTTP and no boto3 here.

Ordering rules that keep storage consistent when a step fails:
- upload: object first, then metadata + tags in one transaction; if the transaction fails the
  object is deleted again, so a failed upload leaves nothing behind.
- edit: metadata and the changed tag rows in one transaction, conditional on the version read
  and on the owner, so concurrent edits never leave stale or missing tag rows.
- delete: metadata + tags first (conditional, so two concurrent deletes cannot both succeed),
  then the object; if the object cannot be deleted the metadata is put back, so no photo is left
  half-deleted and a retry starts from a consistent state.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .aws import make_clients
from .blob_store import BlobStore
from .config import Settings
from .cursors import CursorCodec
from .errors import Forbidden, NotFound, ServiceUnavailable
from .ids import new_image_id
from .images_repository import ImagesRepository
from .models import Image, ImageEdit, ImagePage, ListQuery, NewImage
from .tag_index import TagIndex

logger = logging.getLogger("image_service")

_WRITE_ATTEMPTS = 5


def object_key_for(image_id: str) -> str:
    return f"images/{image_id}"


def created_at_of(image_id_ms: int) -> str:
    moment = datetime.fromtimestamp(image_id_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class ImageService:
    def __init__(
        self,
        images: ImagesRepository,
        tags: TagIndex,
        blobs: BlobStore,
        *,
        cursors: CursorCodec | None,
        download_url_ttl_seconds: int,
        clock_ms: Callable[[], int] | None = None,
    ) -> None:
        self._images = images
        self._tags = tags
        self._blobs = blobs
        self._cursors = cursors
        self._download_ttl = download_url_ttl_seconds
        self._clock_ms = clock_ms or (lambda: int(datetime.now(UTC).timestamp() * 1000))

    @classmethod
    def from_settings(cls, settings: Settings, *, clients: tuple[Any, Any] | None = None) -> ImageService:
        dynamodb, s3 = clients or make_clients(settings)
        tags = TagIndex(dynamodb, settings.image_tags_table)
        return cls(
            ImagesRepository(dynamodb, settings.images_table, tags),
            tags,
            BlobStore(s3, settings.bucket_name),
            cursors=CursorCodec(settings.cursor_secret) if settings.cursor_secret else None,
            download_url_ttl_seconds=settings.download_url_ttl_seconds,
        )

    # -- writes ---------------------------------------------------------------------------

    def upload(self, new: NewImage) -> Image:
        if new.user_id is None:
            raise ValueError("the owner of a new image must be decided before upload")
        now_ms = self._clock_ms()
        image_id = new_image_id(now_ms)
        digest = hashlib.sha256(new.data).digest()
        image = Image(
            image_id=image_id,
            user_id=new.user_id,
            title=new.title,
            description=new.description,
            tags=new.tags,
            content_type=new.content_type,
            size_bytes=len(new.data),
            sha256=digest.hex(),
            width=new.width,
            height=new.height,
            created_at=created_at_of(now_ms),
            object_key=object_key_for(image_id),
        )
        self._blobs.put(image.object_key, new.data, content_type=image.content_type, sha256_digest=digest)
        try:
            self._images.add(image)
        except Exception:
            self._discard_object(image.object_key)
            raise
        logger.info("image uploaded", extra={"image_id": image_id, "size_bytes": image.size_bytes})
        return image

    def delete(self, image_id: str, *, caller: str | None = None) -> None:
        """Delete an image; with a ``caller``, only if they own it."""
        image, _ = self._conditional_write(image_id, caller, lambda img, v: self._images.remove(img, v, owner=caller))
        try:
            self._blobs.delete(image.object_key)
        except Exception:
            self._restore_metadata(image)
            raise
        logger.info("image deleted", extra={"image_id": image_id})

    def edit(self, image_id: str, edit: ImageEdit, *, caller: str | None = None) -> Image:
        """Change title, description and/or tags; metadata and tag rows change together."""
        _, updated = self._conditional_write(
            image_id, caller, lambda img, v: self._images.update(img, v, edit, owner=caller)
        )
        logger.info("image edited", extra={"image_id": image_id})
        return updated

    def _conditional_write(
        self, image_id: str, caller: str | None, write: Callable[[Image, int], Any]
    ) -> tuple[Image, Any]:
        """Read, check ownership, write conditionally on the version read; retry if it changed.

        The read gives a clear 404 or 403; the condition on version and owner makes the write
        itself atomic, so a concurrent edit or delete can never be overwritten or resurrected.
        """
        for attempt in range(_WRITE_ATTEMPTS):
            found = self._images.get(image_id, consistent=True)
            if found is None:
                raise NotFound("image not found")
            image, version = found
            if caller is not None and image.user_id != caller:
                raise Forbidden("only the owner can change or delete this image")
            result = write(image, version)
            if result:
                return image, result
            time.sleep(random.uniform(0, 0.02) * (attempt + 1))  # noqa: S311 - jitter, not security
        raise ServiceUnavailable("the image is being changed, please retry")

    # -- reads ----------------------------------------------------------------------------

    def get(self, image_id: str) -> Image:
        found = self._images.get(image_id)
        if found is None:
            raise NotFound("image not found")
        return found[0]

    def download_url(self, image_id: str) -> dict[str, Any]:
        image = self.get(image_id)
        url = self._blobs.presigned_get_url(image.object_key, expires_in=self._download_ttl)
        return {"url": url, "expires_in": self._download_ttl}

    def list(self, query: ListQuery) -> ImagePage:
        if self._cursors is None:
            raise RuntimeError("CURSOR_SECRET is not configured")
        scope = f"user={query.user_id or ''}&tag={query.tag or ''}"
        after = self._cursors.decode(query.next_token, scope) if query.next_token else None
        if query.tag is None:
            assert query.user_id is not None  # validation guarantees one filter
            items, more = self._images.newest_for_user(query.user_id, limit=query.limit, after=after)
            position = {"image_id": items[-1].image_id, "created_at": items[-1].created_at} if items else None
        else:
            ids, more = self._tags.newest_image_ids(
                query.tag, user_id=query.user_id, limit=query.limit, after_image_id=after and after.get("image_id")
            )
            found = self._images.get_many(ids)
            # A row deleted between the two reads is skipped; the cursor still follows the ids.
            items = [found[image_id] for image_id in ids if image_id in found]
            position = {"image_id": ids[-1]} if ids else None
        next_token = self._cursors.encode(scope, position) if more and position else None
        return ImagePage(items=items, next_token=next_token)

    # -- compensation ---------------------------------------------------------------------

    def _discard_object(self, key: str) -> None:
        try:
            self._blobs.delete(key)
        except Exception:
            logger.error("could not remove the object of a failed upload", extra={"object_key": key}, exc_info=True)

    def _restore_metadata(self, image: Image) -> None:
        try:
            self._images.add(image)
        except Exception:
            logger.error(
                "could not restore metadata after a failed object delete",
                extra={"image_id": image.image_id},
                exc_info=True,
            )
