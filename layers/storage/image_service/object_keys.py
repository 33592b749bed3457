"""Where an image's objects live in the bucket: the key layout, in one place beside ``blob_store``.

An image sent through the API (``POST /images``) is stored under fixed keys of its id:
``images/{id}``, ``thumbnails/{id}.jpg`` and ``displays/{id}.jpg``. A direct upload is staged
under ``uploads/{id}`` until it is finalised.

A direct upload's finalisation uses keys of its own attempt, and that is what makes concurrent
deliveries safe. S3 delivers an ``ObjectCreated`` event at least once, an upload form may be posted
again while it is valid, and a ``DELETE`` may arrive at any moment. So two finalisations of one
image id can run at once, each one reading ``uploads/{id}``, writing the image and its thumbnail,
then committing the pending row (a conditional transaction: only one commit can win). If both
wrote the same keys, the loser's write could land after the winner's commit: the row's
``sha256``, size and dimensions would describe one file while S3 held another; and a
delete between the two would leave the loser's objects with no row, for good.

The design: every finalisation attempt writes under keys of its own, ``images/{id}.{attempt}``,
``thumbnails/{id}.{attempt}.jpg`` and ``displays/{id}.{attempt}.jpg`` (``attempt`` is random, so
no two attempts share a key). The row's ``object_key`` names the attempt that won the commit, and
the variants' keys are derived from it (``thumbnail_key_of``, ``display_key_of``), so what the
row describes is exactly what that attempt wrote.
An attempt that loses the commit (the row was no longer pending) removes the keys it wrote, and
only those: it can never touch the winner's objects, whatever the order of the steps.

Whatever the order and number of deliveries, storage ends with one image whose objects are the
winner's, no loser's objects, and no staged file: every attempt, winner or loser, removes
``uploads/{id}`` once the row is not pending any more (a form re-posted after finalisation is
removed by its own event at once, not by the lifecycle rule days later).

``DELETE`` never touches a pending upload: a pending row is not an image (404 for everyone), and
the clean-up of a delete that failed earlier (see ``edits.Edits.delete``) only runs for an id
that has no row at all and only on the fixed keys of an API upload (``keys_for_id``), which no
direct upload uses.
"""

from __future__ import annotations

import secrets

from .models import Image

UPLOAD_PREFIX = "uploads/"
_IMAGES = "images/"
_THUMBNAILS = "thumbnails/"
_DISPLAYS = "displays/"


def object_key_for(image_id: str) -> str:
    """The original of an image sent through the API."""
    return f"{_IMAGES}{image_id}"


def attempt_object_key(image_id: str) -> str:
    """A key for the original that no other finalisation attempt of ``image_id`` will use."""
    return f"{_IMAGES}{image_id}.{secrets.token_hex(6)}"


def upload_key_for(image_id: str) -> str:
    """Where a direct upload's file is staged until it is finalised."""
    return f"{UPLOAD_PREFIX}{image_id}"


def thumbnail_key_of(object_key: str) -> str:
    """The thumbnail beside an original: ``images/X`` -> ``thumbnails/X.jpg``.

    For an API upload (``images/{id}``) this is the key used since the first release.
    """
    return f"{_THUMBNAILS}{object_key.removeprefix(_IMAGES)}.jpg"


def display_key_of(object_key: str) -> str:
    """The display variant beside an original: ``images/X`` -> ``displays/X.jpg`` (as the thumbnail)."""
    return f"{_DISPLAYS}{object_key.removeprefix(_IMAGES)}.jpg"


def thumbnail_key_for(image_id: str) -> str:
    return thumbnail_key_of(object_key_for(image_id))


def display_key_for(image_id: str) -> str:
    return display_key_of(object_key_for(image_id))


def keys_for_id(image_id: str) -> list[str]:
    """The objects an image uploaded through the API has (a direct upload's keys are in its row)."""
    return [object_key_for(image_id), thumbnail_key_for(image_id), display_key_for(image_id)]


def variant_key(image: Image, variant: str) -> str:
    """The object of one of ``image``'s variants (it must be in ``image.variants``)."""
    if variant == "thumbnail":
        return thumbnail_key_of(image.object_key)
    if variant == "display":
        return display_key_of(image.object_key)
    return image.object_key


def keys_of(image: Image) -> list[str]:
    """Every object ``image``'s row says it has: the original and its stored variants."""
    return [image.object_key, *(variant_key(image, v) for v in ("thumbnail", "display") if v in image.variants)]
