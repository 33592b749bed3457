"""The image object as the API shows it, and a page of a listing."""

from __future__ import annotations

from typing import Any, NamedTuple


class Image(NamedTuple):
    image_id: str
    user_id: str
    title: str
    description: str
    tags: tuple[str, ...]
    content_type: str
    size_bytes: int
    sha256: str
    width: int
    height: int
    created_at: str
    object_key: str
    # "original", plus "thumbnail" and "display" once they are stored beside it (photos stored
    # before display variants existed have none: the viewer falls back to the original).
    variants: tuple[str, ...] = ("original",)
    # True when GPS data was found and removed before storing (the uploader did not opt in).
    location_removed: bool = False
    # The owner's name as people know it (Cognito: the user name), shown beside the photo. The
    # owner itself is ``user_id``, an id that is never given to anyone else (Cognito: ``sub``).
    # None for images stored before names were kept: their user_id was the user name.
    user_name: str | None = None
    # SHA-256 of the file as the service received it (``sha256`` is of what is stored, which
    # differs when location data was removed): what a client can compute on its own copy, so
    # duplicates are found by it. None for images stored before it was recorded.
    received_sha256: str | None = None

    def to_public_dict(self) -> dict[str, Any]:
        """The API's image object. The S3 key is an internal detail and stays out."""
        body = self._asdict()
        del body["object_key"]
        if self.received_sha256 is None:
            del body["received_sha256"]
        body["user_name"] = self.user_name or self.user_id
        body["tags"] = list(self.tags)
        body["variants"] = list(self.variants)
        return body


class ImagePage(NamedTuple):
    items: list[Image]
    next_token: str | None
    # Pre-signed thumbnail URLs by image id: a gallery draws a page with no call per picture.
    thumbnail_urls: dict[str, str]
    urls_expire_in: int

    def to_public_dict(self) -> dict[str, Any]:
        items = []
        for image in self.items:
            item = image.to_public_dict()
            if image.image_id in self.thumbnail_urls:
                item["thumbnail"] = {"url": self.thumbnail_urls[image.image_id], "expires_in": self.urls_expire_in}
            items.append(item)
        return {"items": items, "next_token": self.next_token}


class NewImage(NamedTuple):
    """A validated upload request: metadata plus the decoded bytes."""

    user_id: str | None  # None until the owner is decided (identity.owner_for_upload)
    title: str
    description: str
    tags: tuple[str, ...]
    content_type: str
    width: int
    height: int
    data: bytes
    keep_location: bool = False
    user_name: str | None = None  # decided with the owner (identity.uploader)
    # Store the file even if this user already has it (else the stored photo is answered).
    allow_duplicate: bool = False

    def __repr__(self) -> str:
        # Without the bytes: a photo is megabytes, and a traceback or a log line is no place for it.
        return f"NewImage({self.content_type}, {self.width}x{self.height}, {len(self.data)} bytes)"


class ListQuery(NamedTuple):
    user_id: str | None
    tag: str | None
    limit: int
    next_token: str | None
    # The user's photos whose received file has this SH-256 (lower-case hex); with user_id only.
    sha256: str | None = None


class ImageEdit(NamedTuple):
    """A validated PATCH: only the fields given are changed (``None`` = keep)."""

    title: str | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None


class UploadRequest(NamedTuple):
    """A validated ``POST /images/uploads``: the metadata of a photo the client sends to S3 itself."""

    user_id: str | None
    title: str
    description: str
    tags: tuple[str, ...]
    content_type: str
    keep_location: bool = False
    user_name: str | None = None  # decided with the owner (identity.uploader)
