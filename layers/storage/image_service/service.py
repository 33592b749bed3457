"""The use cases: upload, get, download, list and delete. No HTTP and no boto3 here.

Ordering rules that keep storage consistent when a step fails:
- upload: objects first (the original, location removed unless kept, and its thumbnail), then
  metadata + tags in one transaction; if the transaction fails the objects are deleted again, so
  a failed upload leaves nothing behind.
- direct upload: a pending row (invisible: not indexed, expires by TTL) and a pre-signed POST;
  the S3 event finalises it like an upload, or removes a file that fails validation and keeps
  only the reason (invisible, expires by TTL) for ``get`` to answer. Each finalisation attempt
  writes under keys of its own and only the attempt that wins the commit becomes current; a
  loser removes what it wrote (the argument: ``direct_upload``).
- edit: metadata and the changed tag rows in one transaction, conditional on the version read
  and on the owner, so concurrent edits never leave stale or missing tag rows.
- delete: metadata + tags first (conditional, so two concurrent deletes cannot both succeed),
  then the object; if S3 says the original was not deleted the metadata is put back, so no photo
  is left half-deleted and a retry starts from a consistent state (``object_removal``).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from . import metrics
from .aws import make_clients
from .blob_store import BlobStore, ObjectMissing
from .config import Settings
from .cursors import CursorCodec
from .direct_upload import attempt_object_key, display_key_of, thumbnail_key_of
from .duplicates import ChecksumClaims
from .errors import (
    BadRequest,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    ServiceUnavailable,
    UploadRejected,
)
from .etags import Precondition, etag_for
from .ids import is_image_id, new_image_id, timestamp_ms
from .images_repository import ImagesRepository, Rejection
from .models import Image, ImageEdit, ImagePage, ListQuery, NewImage, UploadRequest
from .object_removal import remove_objects
from .tag_index import TagIndex
from .validation import check_image

logger = logging.getLogger("image_service")

_WRITE_ATTEMPTS = 5


UPLOAD_PREFIX = "uploads/"


def object_key_for(image_id: str) -> str:
    return f"images/{image_id}"


def thumbnail_key_for(image_id: str) -> str:
    return f"thumbnails/{image_id}.jpg"


def display_key_for(image_id: str) -> str:
    return f"displays/{image_id}.jpg"


def upload_key_for(image_id: str) -> str:
    return f"{UPLOAD_PREFIX}{image_id}"


def keys_for_id(image_id: str) -> list[str]:
    """The objects an image uploaded through the API has (a direct upload's keys are in its row)."""
    return [object_key_for(image_id), thumbnail_key_for(image_id), display_key_for(image_id)]


def keys_of(image: Image) -> list[str]:
    keys = [image.object_key]
    if "thumbnail" in image.variants:
        keys.append(thumbnail_key_of(image.object_key))
    if "display" in image.variants:
        keys.append(display_key_of(image.object_key))
    return keys


def variant_key(image: Image, variant: str) -> str:
    """The object of one of ``image``'s variants (it must be in ``image.variants``)."""
    if variant == "thumbnail":
        return thumbnail_key_of(image.object_key)
    if variant == "display":
        return display_key_of(image.object_key)
    return image.object_key


def created_at_of(image_id_ms: int) -> str:
    moment = datetime.fromtimestamp(image_id_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _NoImage(NotFound):
    """404 for a write; ``has_row``: the id is a pending direct upload (not an image yet)."""

    def __init__(self, message: str, *, has_row: bool) -> None:
        super().__init__(message)
        self.has_row = has_row


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
        settings: Settings | None = None,
        claims: ChecksumClaims | None = None,
    ) -> None:
        self._settings = settings or Settings.from_env({})
        self._images = images
        self._tags = tags
        self._blobs = blobs
        self._cursors = cursors
        self._download_ttl = download_url_ttl_seconds
        self._clock_ms = clock_ms or (lambda: int(datetime.now(UTC).timestamp() * 1000))
        self._claims = claims

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
            settings=settings,
            claims=ChecksumClaims(dynamodb, settings.idempotency_table) if settings.idempotency_table else None,
        )

    # -- writes ---------------------------------------------------------------------------

    def upload(self, new: NewImage) -> Image:
        """Store an image sent through the API (JSON or raw body): object, thumbnail, metadata."""
        if new.user_id is None:
            raise ValueError("the owner of a new image must be decided before upload")
        image_id = new_image_id(self._clock_ms())
        received = hashlib.sha256(new.data).digest()  # reused as the stored one if nothing is stripped
        image = replace(self._store_objects(image_id, new, digest_of_data=received), received_sha256=received.hex())
        try:
            self._images.add(image)
        except Exception:
            if not self._committed_anyway(image):
                raise
        logger.info("image uploaded", extra={"image_id": image_id, "size_bytes": image.size_bytes})
        return image

    def upload_unless_duplicate(self, new: NewImage) -> tuple[Image, bool]:
        """Like ``upload``, unless the owner already has this file: then ``(that photo, True)``
        and nothing is stored (see ``duplicates``). ``(new photo, False)`` otherwise."""
        if new.user_id is None:
            raise ValueError("the owner of a new image must be decided before upload")
        if new.allow_duplicate or self._claims is None:
            return self.upload(new), False
        digest = hashlib.sha256(new.data).digest()
        received = digest.hex()
        found, _ = self._images.with_checksum(new.user_id, received, limit=1)
        if found:
            return found[0], True
        image_id = new_image_id(self._clock_ms())
        image = replace(self._store_objects(image_id, new, digest_of_data=digest), received_sha256=received)
        stale: str | None = None
        for _ in range(_WRITE_ATTEMPTS):
            now = self._clock_ms() // 1000
            claim = self._claims.put_action(new.user_id, received, image_id, now=now, stale_holder=stale)
            try:
                if self._images.add(image, also=(claim,)):
                    logger.info("image uploaded", extra={"image_id": image_id, "size_bytes": image.size_bytes})
                    return image, False
            except Exception:
                if not self._committed_anyway(image):
                    raise
                return image, False
            # Another upload of this file committed first (or a claim outlived its photo).
            holder = self._claims.holder(new.user_id, received, now=now)
            kept = self._images.get(holder, consistent=True) if holder else None
            if kept is not None:
                self._discard_objects(image)
                logger.info("duplicate upload", extra={"image_id": kept[0].image_id})
                return kept[0], True
            stale = holder  # its photo was deleted since: replace the claim
        self._discard_objects(image)
        raise ServiceUnavailable("the image table is busy, please retry")

    def start_direct_upload(self, request: UploadRequest) -> dict[str, Any]:
        """Reserve an id and hand out a pre-signed S3 POST; the image appears once finalised."""
        if request.user_id is None:
            raise ValueError("the owner of a new image must be decided before upload")
        now_ms = self._clock_ms()
        image_id = new_image_id(now_ms)
        expires_at = now_ms // 1000 + self._settings.pending_upload_ttl_seconds
        self._images.add_pending(image_id, request, expires_at)
        post = self._blobs.presigned_post(
            upload_key_for(image_id),
            content_type=request.content_type,
            max_bytes=self._settings.max_direct_upload_bytes,
            expires_in=self._settings.upload_url_ttl_seconds,
        )
        logger.info("direct upload started", extra={"image_id": image_id})
        return {"image_id": image_id, "upload": post, "max_bytes": self._settings.max_direct_upload_bytes}

    def finalise_upload(self, key: str) -> Image | None:
        """Validate an object that arrived under ``uploads/`` and make it a visible image.

        The S3 POST policy already limits type and size, but nothing is trusted: the stored bytes
        are checked again. A file that fails is removed with its pending row; nothing is listed.
        """
        image_id = key.removeprefix(UPLOAD_PREFIX)
        request = (
            self._images.get_pending(image_id) if key.startswith(UPLOAD_PREFIX) and is_image_id(image_id) else None
        )
        if request is None:
            # Finalised already (a repeated event, or the form posted again), rejected, expired
            # or never announced: the staged file belongs to no upload, so it goes at once.
            self._blobs.delete(key)
            return None
        max_bytes = self._settings.max_direct_upload_bytes
        try:
            data, streamed_digest = self._blobs.read(key, max_bytes=max_bytes)
            new = replace(check_image(request, data, max_bytes), user_name=request.user_name)
            # Per-attempt keys: a concurrent delivery of the same upload never shares them.
            image = self._store_objects(
                image_id, new, digest_of_data=streamed_digest, object_key=attempt_object_key(image_id)
            )
            # The checksum of the file as received (hashed while streaming): see ``duplicates``.
            image = replace(image, received_sha256=streamed_digest.hex())
        except ObjectMissing:
            return None  # another delivery already finished (or rejected) this upload
        except (BadRequest, PayloadTooLarge) as rejected:
            logger.warning("direct upload rejected", extra={"image_id": image_id, "code": rejected.code})
            metrics.rejected(rejected.code)
            self._blobs.delete(key)
            # Keep the reason for a while (GET /images/{id} answers it) instead of only forgetting.
            expires_at = self._clock_ms() // 1000 + self._settings.pending_upload_ttl_seconds
            self._images.reject_pending(image_id, rejected.code, rejected.message, expires_at)
            return None
        try:
            finalised = self._images.finalise(image)
        except Exception:
            if not self._committed_anyway(image):
                raise
            finalised = True
        if not finalised:
            self._discard_objects(image)  # another attempt won: remove what this one wrote, only that
        self._blobs.delete(key)
        if finalised:
            logger.info("direct upload finalised", extra={"image_id": image_id, "size_bytes": image.size_bytes})
        return image if finalised else None

    def _store_objects(
        self, image_id: str, new: NewImage, digest_of_data: bytes | None = None, object_key: str | None = None
    ) -> Image:
        """Put the original (location removed unless kept), its thumbnail and its display variant
        (longest side ``display_max_side``, JPEG, upright, no EXIF); return the Image.

        ``digest_of_data``: the SHA-256 of ``new.data`` if already known (hashed while streaming),
        reused when the stored bytes are those very bytes. ``object_key``: where the original
        goes (default ``images/{id}``); the thumbnail and the display variant go beside it.

        Every photo gets a display JPEG, even one already small: the viewer then always asks for
        the same variant and always gets an upright JPEG without location (a small PNG or GIF
        original could be neither), for a few hundred KB at most per photo.
        """
        assert new.user_id is not None
        # Pillow is imported here, not at the top: only the upload function pays for it.
        from .imaging import THUMBNAIL_CONTENT_TYPE, decoding_damage, make_variants  # noqa: PLC0415
        from .location import strip_location  # noqa: PLC0415

        # Decoding happens here (once, for both variants), before anything is stored: a cut-off
        # or corrupt file is a 400, never a 500 (see ``imaging``).
        with decoding_damage():
            data, location_removed = (
                (new.data, False) if new.keep_location else strip_location(new.data, new.content_type)
            )
            thumbnail, display = make_variants(data, self._settings.thumbnail_max_side, self._settings.display_max_side)
        digest = digest_of_data if digest_of_data and data is new.data else hashlib.sha256(data).digest()
        image = Image(
            image_id=image_id,
            user_id=new.user_id,
            user_name=new.user_name,
            title=new.title,
            description=new.description,
            tags=new.tags,
            content_type=new.content_type,
            size_bytes=len(data),
            sha256=digest.hex(),
            width=new.width,
            height=new.height,
            created_at=created_at_of(timestamp_ms(image_id)),
            object_key=object_key or object_key_for(image_id),
            variants=("original", "thumbnail", "display"),
            location_removed=location_removed,
        )
        try:
            self._blobs.put(image.object_key, data, content_type=image.content_type, sha256_digest=digest)
            self._blobs.put(thumbnail_key_of(image.object_key), thumbnail, content_type=THUMBNAIL_CONTENT_TYPE)
            self._blobs.put(display_key_of(image.object_key), display, content_type=THUMBNAIL_CONTENT_TYPE)
        except Exception:
            # Even a put that "failed" may have stored its object (a lost response): remove all.
            self._discard_objects(image)
            raise
        return image

    def delete(self, image_id: str, *, caller: str | None = None, if_match: Precondition | None = None) -> None:
        """Delete an image; with a ``caller``, only if they own it; with ``if_match``, only if
        it is still in a state the caller has seen (else ``PreconditionFailed``)."""
        read: list[Image] = []  # the row the removal was attempted on, for a lost response
        versions: list[int] = []

        def remove(image: Image, version: int) -> bool:
            read.append(image)
            versions.append(version)
            return self._images.remove(image, version, owner=caller)

        try:
            image, version, _ = self._conditional_write(image_id, caller, remove, if_match)
        except _NoImage as missing:
            # Nothing to delete, but an earlier delete may have removed the metadata and then
            # failed on the objects: finish it, so a retry leaves no bytes behind. Only for an id
            # with no row at all: a pending direct upload (someone's, maybe not the caller's) is
            # left alone, and its objects never use these keys anyway (see ``direct_upload``).
            if not missing.has_row:
                self._blobs.delete_many(keys_for_id(image_id))
            raise
        except ServiceUnavailable:
            # The transaction may have committed with its response lost: then go on.
            if not read or self._images.get(image_id, consistent=True) is not None:
                raise
            image, version = read[-1], versions[-1]
        self._remove_objects_or_restore(image, version)
        logger.info("image deleted", extra={"image_id": image_id})

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

    def _conditional_write(
        self,
        image_id: str,
        caller: str | None,
        write: Callable[[Image, int], Any],
        if_match: Precondition | None = None,
    ) -> tuple[Image, int, Any]:
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

    # -- reads ----------------------------------------------------------------------------

    def get(self, image_id: str) -> Image:
        """The image; for a direct upload the service refused, ``UploadRejected`` with its reason."""
        return self.get_with_etag(image_id)[0]

    def get_with_etag(self, image_id: str) -> tuple[Image, str]:
        """``get``, and the ETag of the state read (it changes with every edit)."""
        found = self._images.get_image_or_rejection(image_id, now=self._clock_ms() // 1000)
        if isinstance(found, Rejection):
            raise UploadRejected(f"the upload was rejected: {found.message}", code=found.code)
        if found is None:
            raise NotFound("image not found")
        image, version = found
        return image, etag_for(image_id, version)

    def download_url(self, image_id: str, variant: str = "original") -> dict[str, Any]:
        found = self._images.get(image_id)
        if found is None:
            raise NotFound("image not found")
        image = found[0]
        if variant not in image.variants:
            raise NotFound(f"this image has no {variant}")
        url = self._blobs.presigned_get_url(variant_key(image, variant), expires_in=self._download_ttl)
        return {"url": url, "expires_in": self._download_ttl, "variant": variant}

    def list(self, query: ListQuery) -> ImagePage:
        if self._cursors is None:
            raise RuntimeError("CURSOR_SECRET is not configured")
        scope = f"user={query.user_id or ''}&tag={query.tag or ''}"
        if query.sha256 is not None:
            scope += f"&sha256={query.sha256}"
        after = self._cursors.decode(query.next_token, scope) if query.next_token else None
        if query.sha256 is not None:
            # One user's copies of one file (validation: with user_id, without tag).
            assert query.user_id is not None
            items, more = self._images.with_checksum(query.user_id, query.sha256, limit=query.limit, after=after)
            position = {"image_id": items[-1].image_id, "created_at": items[-1].created_at} if items else None
        elif query.tag is None:
            assert query.user_id is not None  # validation guarantees one filter
            items, more = self._images.newest_for_user(query.user_id, limit=query.limit, after=after)
            position = {"image_id": items[-1].image_id, "created_at": items[-1].created_at} if items else None
        else:
            rows, more = self._tags.newest_rows(
                query.tag, user_id=query.user_id, limit=query.limit, after_image_id=after and after.get("image_id")
            )
            # One Query: the tag rows carry the listed fields (tag_index says why).
            items = self._images.from_tag_rows(rows)
            position = {"image_id": rows[-1]["image_id"]["S"]} if rows else None
        next_token = self._cursors.encode(scope, position) if more and position else None
        # Signing is local (no AWS call): a page carries its thumbnails' URLs.
        thumbnails = {
            image.image_id: self._blobs.presigned_get_url(
                thumbnail_key_of(image.object_key), expires_in=self._download_ttl
            )
            for image in items
            if "thumbnail" in image.variants
        }
        return ImagePage(
            items=items, next_token=next_token, thumbnail_urls=thumbnails, urls_expire_in=self._download_ttl
        )

    # -- compensation ---------------------------------------------------------------------

    def _committed_anyway(self, image: Image) -> bool:
        """After a failed metadata write: did it commit after all (a lost response)?

        True: keep the objects, the image exists. False: the objects were removed. If the answer
        cannot be had, the objects are kept (an invisible orphan beats a listed photo whose bytes
        are gone) and the error propagates.
        """
        try:
            found = self._images.get(image.image_id, consistent=True)
        except Exception:
            logger.error("could not tell whether an upload committed; objects kept", extra={"image_id": image.image_id})
            return False
        # Committed means committed with *these* objects: another finalisation attempt may have won.
        committed = found is not None and found[0].object_key == image.object_key
        if not committed:
            self._discard_objects(image)
        return committed

    def _discard_objects(self, image: Image) -> None:
        try:
            self._blobs.delete_many(keys_of(image))
        except Exception:
            logger.error(
                "could not remove the objects of a failed upload", extra={"image_id": image.image_id}, exc_info=True
            )

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
