"""New images: an upload through the API (JSON or raw body), and a direct upload to S3 with its
finalisation. No HTTP and no boto3 here.

Ordering rules that keep storage consistent when a step fails:
- upload: objects first (the original, location removed unless kept, its thumbnail and its
  display variant), then metadata + tags in one transaction; if the transaction fails the objects
  are deleted again, so a failed upload leaves nothing behind. A transaction whose answer was lost
  is settled by reading the row back (``commit_outcome``): committed, not committed, or unknown.
- direct upload: a pending row (invisible: not indexed, expires by TTL) and a pre-signed POST;
  the S3 event finalises it like an upload, or removes a file that fails validation and keeps
  only the reason (invisible, expires by TTL) for ``get`` to answer. Each finalisation attempt
  writes under keys of its own and only the attempt that wins the commit becomes current; a
  loser removes what it wrote (the argument: ``object_keys``).
- duplicates: see ``duplicates`` (a claim item in the image's own transaction).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from enum import Enum
from typing import Any, NamedTuple

from . import metrics
from .aws import Clients
from .blob_store import ObjectMissing
from .config import Settings
from .duplicates import ChecksumClaims
from .errors import BadRequest, PayloadTooLarge, ServiceUnavailable
from .ids import created_at_of, current_ms, is_image_id, new_image_id, timestamp_ms
from .images_repository import ImagesRepository
from .models import Image, NewImage, UploadRequest
from .object_keys import (
    UPLOAD_PREFIX,
    attempt_object_key,
    display_key_of,
    keys_of,
    object_key_for,
    thumbnail_key_of,
    upload_key_for,
)
from .use_case import UseCase
from .validation import check_image

logger = logging.getLogger("image_service")

# Tries at committing a photo with its checksum claim (each one may meet a stale claim).
_CLAIM_ATTEMPTS = 5


class Commit(Enum):
    """What is known after a metadata write failed: did it commit after all (a lost response)?"""

    COMMITTED = "committed"  # the row is there, naming these objects: the image exists
    NOT_COMMITTED = "not committed"  # no such row (or another attempt's): the objects must go
    UNKNOWN = "unknown"  # the row could not be read either: nobody can tell yet


def commit_outcome(images: ImagesRepository, image: Image) -> Commit:
    """Read ``image``'s row back after its write failed; changes nothing."""
    try:
        found = images.get(image.image_id, consistent=True)
    except Exception:
        return Commit.UNKNOWN
    # Committed means committed with *these* objects: another finalisation attempt may have won.
    if found is not None and found[0].object_key == image.object_key:
        return Commit.COMMITTED
    return Commit.NOT_COMMITTED


class _Variants(NamedTuple):
    """What is stored of a photo: the original's bytes as kept, and the two JPEG variants."""

    data: bytes
    location_removed: bool
    thumbnail: bytes
    display: bytes
    variant_type: str  # the thumbnail's and the display variant's content type


def _variants(new: NewImage, settings: Settings) -> _Variants:
    """The bytes to store: the original (location removed unless kept) and its two JPEGs.

    Every photo gets a display JPEG, even one already small: the viewer then always asks for
    the same variant and always gets an upright JPEG without location (a small PNG or GIF
    original could be neither), for a few hundred KB at most per photo.
    """
    # Pillow is imported here, not at the top: only the upload function pays for it.
    from .imaging import THUMBNAIL_CONTENT_TYPE, decoding_damage, make_variants  # noqa: PLC0415
    from .location import strip_location  # noqa: PLC0415

    # Decoding happens here (once, for both variants), before anything is stored: a cut-off
    # or corrupt file is a 400, never a 500 (see ``imaging``).
    with decoding_damage():
        data, removed = (new.data, False) if new.keep_location else strip_location(new.data, new.content_type)
        thumbnail, display = make_variants(data, settings.thumbnail_max_side, settings.display_max_side)
        return _Variants(
            data=data,
            location_removed=removed,
            thumbnail=thumbnail,
            display=display,
            variant_type=THUMBNAIL_CONTENT_TYPE,
        )


class Uploads(UseCase):
    def __init__(self, settings: Settings, clients: Clients, *, clock_ms: Callable[[], int] = current_ms) -> None:
        super().__init__(settings, clients, clock_ms=clock_ms)
        self._claims = (
            ChecksumClaims(clients.dynamodb, settings.idempotency_table) if settings.idempotency_table else None
        )

    def upload(self, new: NewImage) -> Image:
        """Store an image sent through the API (JSON or raw body): objects, then metadata."""
        image = self._store_new(new)
        try:
            self._images.add(image)
        except Exception:
            if self._settle(image) is not Commit.COMMITTED:
                raise
        self._log_uploaded(image)
        return image

    def upload_unless_duplicate(self, new: NewImage) -> tuple[Image, bool]:
        """Like ``upload``, unless the owner already has this file: then ``(that photo, True)``
        and nothing is stored (see ``duplicates``). ``(new photo, False)`` otherwise."""
        if new.user_id is None:
            raise ValueError("the owner of a new image must be decided before upload")
        if new.allow_duplicate or self._claims is None:
            return self.upload(new), False
        received = hashlib.sha256(new.data).digest()
        found, _ = self._images.with_checksum(new.user_id, received.hex(), limit=1)
        if found:
            return found[0], True
        image = self._store_new(new, received)
        stale: str | None = None
        for _ in range(_CLAIM_ATTEMPTS):
            now = self._clock_ms() // 1000
            claim = self._claims.put_action(new.user_id, received.hex(), image.image_id, now=now, stale_holder=stale)
            try:
                committed = self._images.add(image, also=(claim,))
            except Exception:
                if self._settle(image) is not Commit.COMMITTED:
                    raise
                committed = True
            if committed:
                self._log_uploaded(image)
                return image, False
            # Another upload of this file committed first (or a claim outlived its photo).
            holder = self._claims.holder(new.user_id, received.hex(), now=now)
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
        self._images.add_pending(image_id, request, now_ms // 1000 + self._settings.pending_upload_ttl_seconds)
        max_bytes = self._settings.max_direct_upload_bytes
        post = self._blobs.presigned_post(
            upload_key_for(image_id),
            content_type=request.content_type,
            max_bytes=max_bytes,
            expires_in=self._settings.upload_url_ttl_seconds,
        )
        logger.info("direct upload started", extra={"image_id": image_id})
        return {"image_id": image_id, "upload": post, "max_bytes": max_bytes}

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
        try:
            image = self._store_staged(key, image_id, request)
        except ObjectMissing:
            return None  # another delivery already finished (or rejected) this upload
        except (BadRequest, PayloadTooLarge) as rejected:
            self._reject(key, image_id, rejected)
            return None
        try:
            finalised = self._images.finalise(image)
        except Exception:
            if self._settle(image) is not Commit.COMMITTED:
                raise
            finalised = True
        if not finalised:
            self._discard_objects(image)  # another attempt won: remove what this one wrote, only that
        self._blobs.delete(key)
        if not finalised:
            return None
        logger.info("direct upload finalised", extra={"image_id": image_id, "size_bytes": image.size_bytes})
        return image

    def _store_staged(self, key: str, image_id: str, request: UploadRequest) -> Image:
        """Check the staged file as an upload is checked, then store it under this attempt's keys."""
        max_bytes = self._settings.max_direct_upload_bytes
        data, received_digest = self._blobs.read(key, max_bytes=max_bytes)
        new = check_image(request, data, max_bytes)._replace(user_name=request.user_name)
        # Per-attempt keys: a concurrent delivery of the same upload never shares them.
        image = self._store_objects(image_id, new, received_digest, attempt_object_key(image_id))
        # The checksum of the file as received: see ``duplicates``.
        return image._replace(received_sha256=received_digest.hex())

    def _reject(self, key: str, image_id: str, rejected: BadRequest | PayloadTooLarge) -> None:
        logger.warning("direct upload rejected", extra={"image_id": image_id, "code": rejected.code})
        metrics.rejected(rejected.code)
        self._blobs.delete(key)
        # Keep the reason for a while (GET /images/{id} answers it) instead of only forgetting.
        expires_at = self._clock_ms() // 1000 + self._settings.pending_upload_ttl_seconds
        self._images.reject_pending(image_id, rejected.code, rejected.message, expires_at)

    def _store_new(self, new: NewImage, received: bytes | None = None) -> Image:
        """A new id, the objects stored under it, and the image that describes them.

        ``received``: the SHA-256 of ``new.data`` if already known."""
        if new.user_id is None:
            raise ValueError("the owner of a new image must be decided before upload")
        received = received or hashlib.sha256(new.data).digest()  # reused as the stored one if nothing is stripped
        image_id = new_image_id(self._clock_ms())
        image = self._store_objects(image_id, new, received, object_key_for(image_id))
        return image._replace(received_sha256=received.hex())

    def _store_objects(self, image_id: str, new: NewImage, digest_of_data: bytes, object_key: str) -> Image:
        """Put the original (location removed unless kept), its thumbnail and its display variant
        beside it under ``object_key``; return the Image.

        ``digest_of_data``: the SHA-256 of ``new.data`` (hashed on arrival),
        reused when the stored bytes are those very bytes.
        """
        assert new.user_id is not None
        variants = _variants(new, self._settings)
        stripped = variants.data is not new.data
        digest = hashlib.sha256(variants.data).digest() if stripped else digest_of_data
        image = Image(
            image_id=image_id,
            user_id=new.user_id,
            user_name=new.user_name,
            title=new.title,
            description=new.description,
            tags=new.tags,
            content_type=new.content_type,
            size_bytes=len(variants.data),
            sha256=digest.hex(),
            width=new.width,
            height=new.height,
            created_at=created_at_of(timestamp_ms(image_id)),
            object_key=object_key,
            variants=("original", "thumbnail", "display"),
            location_removed=variants.location_removed,
        )
        try:
            self._blobs.put(object_key, variants.data, content_type=image.content_type, sha256_digest=digest)
            self._blobs.put(thumbnail_key_of(object_key), variants.thumbnail, content_type=variants.variant_type)
            self._blobs.put(display_key_of(object_key), variants.display, content_type=variants.variant_type)
        except Exception:
            # Even a put that "failed" may have stored its object (a lost response): remove all.
            self._discard_objects(image)
            raise
        return image

    def _settle(self, image: Image) -> Commit:
        """After the metadata write of ``image`` raised: its ``commit_outcome``, acted upon.

        Committed (only the response was lost): the image exists, its objects stay. Not
        committed: its objects are orphans and are removed. Unknown: the objects are kept (an
        invisible orphan beats a listed photo whose bytes are gone). The caller re-raises the
        write's error unless committed."""
        outcome = commit_outcome(self._images, image)
        if outcome is Commit.NOT_COMMITTED:
            self._discard_objects(image)
        elif outcome is Commit.UNKNOWN:
            logger.error("could not tell whether an upload committed; objects kept", extra={"image_id": image.image_id})
        return outcome

    def _discard_objects(self, image: Image) -> None:
        try:
            self._blobs.delete_many(keys_of(image))
        except Exception:
            logger.error(
                "could not remove the objects of a failed upload", extra={"image_id": image.image_id}, exc_info=True
            )

    @staticmethod
    def _log_uploaded(image: Image) -> None:
        logger.info("image uploaded", extra={"image_id": image.image_id, "size_bytes": image.size_bytes})
