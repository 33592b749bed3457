"""What every use case works on: the two tables and the bucket, wired once per container.

``Settings`` is the one source of configuration: a use case is built from it and from the
container's clients (``aws.make_clients``), at cold start, and reused while the container is warm.
Tests build use cases the same way, with the emulated clients.
"""

from __future__ import annotations

from collections.abc import Callable

from .aws import Clients
from .blob_store import BlobStore
from .config import Settings
from .ids import current_ms
from .images_repository import ImagesRepository
from .tag_index import TagIndex


class UseCase:
    def __init__(self, settings: Settings, clients: Clients, *, clock_ms: Callable[[], int] = current_ms) -> None:
        self._settings = settings
        self._tags = TagIndex(clients.dynamodb, settings.image_tags_table)
        self._images = ImagesRepository(clients.dynamodb, settings.images_table, self._tags)
        self._blobs = BlobStore(clients.s3, settings.bucket_name)
        self._clock_ms = clock_ms
