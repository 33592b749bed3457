"""Reading images: one image (with its ETag), a pre-signed download URL, and a page of a listing.

Signing a URL is local (no AWS call), so a page carries its thumbnails' URLs at no cost in calls.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .aws import Clients
from .config import Settings
from .cursors import CursorCodec
from .errors import NotFound, UploadRejected
from .etags import etag_for
from .ids import current_ms
from .images_repository import Rejection
from .items import from_item
from .models import Image, ImagePage, ListQuery
from .object_keys import thumbnail_key_of, variant_key
from .use_case import UseCase

# The images of a page, whether more exist, and the position of the last one (for the cursor);
# named here because inside ``Listing`` the name ``list`` is its method.
_Page = tuple[list[Image], bool, dict[str, str] | None]


class Reads(UseCase):
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
        """A pre-signed GET URL of the image's ``variant`` (original, thumbnail or display)."""
        found = self._images.get(image_id)
        if found is None:
            raise NotFound("image not found")
        image = found[0]
        if variant not in image.variants:
            raise NotFound(f"this image has no {variant}")
        signed = self._blobs.presigned_get_urls(
            [variant_key(image, variant)], expires_in=self._settings.download_url_ttl_seconds
        )
        return {"url": signed.urls[0], "expires_in": signed.expires_in, "variant": variant}


class Listing(UseCase):
    """Pages of images, newest first, with signed cursors bound to the listing they came from.

    Only the list function builds one: without its cursor key (``Settings.cursor_secret``, read
    from Secrets Manager at cold start) it refuses to be built, so the function fails its init
    instead of answering its first request with a 500.
    """

    def __init__(self, settings: Settings, clients: Clients, *, clock_ms: Callable[[], int] = current_ms) -> None:
        super().__init__(settings, clients, clock_ms=clock_ms)
        if not settings.cursor_secret:
            raise ValueError("no cursor key in the settings: the listing cannot sign next_token")
        self._cursors = CursorCodec(settings.cursor_secret)

    def list(self, query: ListQuery) -> ImagePage:
        scope = f"user={query.user_id or ''}&tag={query.tag or ''}"
        if query.sha256 is not None:
            scope += f"&sha256={query.sha256}"
        after = self._cursors.decode(query.next_token, scope) if query.next_token else None
        items, more, position = self._page(query, after)
        next_token = self._cursors.encode(scope, position) if more and position else None
        with_thumbnail = [image for image in items if "thumbnail" in image.variants]
        signed = self._blobs.presigned_get_urls(
            [thumbnail_key_of(image.object_key) for image in with_thumbnail],
            expires_in=self._settings.download_url_ttl_seconds,
        )
        thumbnails = {image.image_id: url for image, url in zip(with_thumbnail, signed.urls, strict=True)}
        return ImagePage(
            items=items, next_token=next_token, thumbnail_urls=thumbnails, urls_expire_in=signed.expires_in
        )

    def _page(self, query: ListQuery, after: dict[str, str] | None) -> _Page:
        """The images of one page, whether more exist, and the position of the last one."""
        if query.sha256 is None and query.tag is not None:
            rows, more = self._tags.newest_rows(
                query.tag,
                user_id=query.user_id,
                limit=query.limit,
                after_image_id=after.get("image_id") if after else None,
            )
            # One Query: the tag rows carry the listed fields (tag_index says why).
            position = {"image_id": from_item(rows[-1])["image_id"]} if rows else None
            return self._images.from_tag_rows(rows), more, position
        # Validation guarantees one filter: without a tag, a user_id (a sha256 comes only with one).
        assert query.user_id is not None
        if query.sha256 is not None:  # one user's copies of one file
            items, more = self._images.with_checksum(query.user_id, query.sha256, limit=query.limit, after=after)
        else:
            items, more = self._images.newest_for_user(query.user_id, limit=query.limit, after=after)
        position = {"image_id": items[-1].image_id, "created_at": items[-1].created_at} if items else None
        return items, more, position
