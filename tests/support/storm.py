"""A storm of concurrent writes on the layer, in-process on moto, and the invariants after it.

Threads of JSON uploads, direct uploads (some forms posted twice, some S3 events delivered twice,
at once or late), edits and deletes by owners and by other users, all on a few shared images.
Each AWS request is atomic in the emulation (as it is in AWS: moto itself has no locks, so its
stubber is serialised here); everything between two requests interleaves freely.

Afterwards (``storm_problems``): every listed image has its object and thumbnail, the stored
bytes hash to the recorded sha256 (and have its size), tag rows equal tags, no object, tag row or
staged upload is left without its row, every user's listing is exactly their rows; and no API
operation answered a 5xx. A finalisation that raises is redelivered, as Lambda does (up to
three times); one that fails every time is a problem too.

``tests/integration/test_storm.py`` runs a short storm in ``make test``; ``make storm`` a deep one
(``STORM_OPERATIONS`` per thread).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from tests.support.storage import storage_problems

USERS = ("alice", "bob", "carol")
TAGS = ("sea", "sun", "cat", "dog", "city")
LAMBDA_DELIVERIES = 3  # an asynchronous invocation that fails is retried twice


@contextmanager
def atomic_aws_requests() -> Iterator[None]:
    """Make each request to the in-process moto atomic, like one request to AWS."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.__call__
    lock = threading.RLock()

    def serialised(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    BotocoreStubber.__call__ = serialised  # type: ignore[method-assign]
    try:
        yield
    finally:
        BotocoreStubber.__call__ = original  # type: ignore[method-assign]


def photo(rng: random.Random) -> bytes:
    """A small PNG that differs from every other (its bytes decide the sha256 checks)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.frombytes("RGB", (8, 6), rng.randbytes(8 * 6 * 3)).save(buffer, format="PNG")
    return buffer.getvalue()


def metadata(rng: random.Random, title: str) -> dict[str, Any]:
    """What an upload (either way) says of its photo: a random owner and up to three tags."""
    return {
        "user_id": rng.choice(USERS),
        "title": title,
        "description": "",
        "tags": tuple(rng.sample(TAGS, rng.randint(0, 3))),
        "content_type": "image/png",
    }


@dataclass
class Storm:
    service: Any
    aws: SimpleNamespace
    ids: list[str] = field(default_factory=list)  # every id handed out (images and pending uploads)
    five_xx: list[str] = field(default_factory=list)
    failed_deliveries: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the client's side: what would be an HTTP status -------------------------------------

    def api(self, name: str, call: Callable[[], Any]) -> Any:
        from image_service.errors import ServiceError

        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1
        try:
            return call()
        except ServiceError as exc:
            if exc.status >= 500:
                self.five_xx.append(f"{name}: {exc.status} {exc.code} {exc.message}")
        except Exception as exc:  # unhandled: the handler would answer 500
            self.five_xx.append(f"{name}: 500 {type(exc).__name__}: {exc}")
        return None

    def deliver(self, key: str) -> None:
        """One S3 event to the finaliser; an error means Lambda delivers it again."""
        errors = []
        for _ in range(LAMBDA_DELIVERIES):
            try:
                self.service.uploads.finalise_upload(key)
                return
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
        self.failed_deliveries.append(f"{key}: {errors}")

    def remember(self, image_id: str | None) -> None:
        if image_id:
            with self.lock:
                self.ids.append(image_id)

    def some_id(self, rng: random.Random) -> str | None:
        with self.lock:
            return rng.choice(self.ids) if self.ids else None

    # -- operations ------------------------------------------------------------------------

    def json_upload(self, rng: random.Random) -> None:
        from image_service.models import NewImage

        new = NewImage(**metadata(rng, "storm"), width=8, height=6, data=photo(rng))
        image = self.api("upload", lambda: self.service.uploads.upload(new))
        self.remember(image and image.image_id)

    def direct_upload(self, rng: random.Random) -> None:
        from image_service.models import UploadRequest

        request = UploadRequest(**metadata(rng, "direct"))
        started = self.api("start_direct_upload", lambda: self.service.uploads.start_direct_upload(request))
        if not started:
            return
        key = started["upload"]["fields"]["key"]
        self.remember(started["image_id"])
        post = lambda: self.aws.s3.put_object(Bucket=self.aws.bucket, Key=key, Body=photo(rng))  # noqa: E731
        post()
        shape = rng.choice(("once", "twice-at-once", "posted-again", "posted-again-at-once", "late-duplicate"))
        if shape == "once":
            self.deliver(key)
        elif shape == "twice-at-once":
            self._at_once([lambda: self.deliver(key), lambda: self.deliver(key)])
        elif shape == "posted-again":
            self.deliver(key)
            post()  # the same form, again, within its validity
            self.deliver(key)
        elif shape == "posted-again-at-once":
            self._at_once([lambda: self.deliver(key), lambda: (post(), self.deliver(key))])
        else:
            self.deliver(key)
            self._at_once([lambda: self.deliver(key), lambda: self.delete(rng, key.removeprefix("uploads/"))])

    def edit(self, rng: random.Random) -> None:
        from image_service.errors import Forbidden, NotFound
        from image_service.models import ImageEdit

        image_id = self.some_id(rng)
        if image_id is None:
            return
        change = ImageEdit(title=f"edit {rng.randint(0, 99)}", tags=tuple(rng.sample(TAGS, rng.randint(0, 4))))

        def call() -> None:
            with contextlib.suppress(NotFound, Forbidden):  # 404 / 403: another user's, or deleted
                self.service.edits.edit(image_id, change, caller=rng.choice(USERS))

        self.api("edit", call)

    def delete(self, rng: random.Random, image_id: str | None = None) -> None:
        from image_service.errors import Forbidden, NotFound

        image_id = image_id or self.some_id(rng)
        if image_id is None:
            return

        def call() -> None:
            with contextlib.suppress(NotFound, Forbidden):
                self.service.edits.delete(image_id, caller=rng.choice(USERS))

        self.api("delete", call)

    def _at_once(self, calls: list[Callable[[], Any]]) -> None:
        barrier = threading.Barrier(len(calls))

        def run(call: Callable[[], Any]) -> None:
            barrier.wait(timeout=30)
            call()

        threads = [threading.Thread(target=run, args=(call,)) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def worker(self, seed: int, operations: int) -> None:
        rng = random.Random(seed)
        actions = [self.json_upload, self.direct_upload, self.direct_upload, self.edit, self.edit, self.delete]
        for _ in range(operations):
            try:
                rng.choice(actions)(rng)
            except Exception as exc:  # a bug in the storm itself must not pass silently
                self.five_xx.append(f"storm: {type(exc).__name__}: {exc}")


def run_storm(service: Any, aws: SimpleNamespace, *, threads: int, operations: int, seed: int = 14) -> Storm:
    storm = Storm(service, aws)
    with atomic_aws_requests():
        workers = [
            threading.Thread(target=storm.worker, args=(seed * 1000 + number, operations)) for number in range(threads)
        ]
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
    return storm


def storm_problems(storm: Storm) -> list[str]:
    """Every broken invariant after a storm, as readable lines."""
    from image_service.items import item_to_image
    from image_service.models import ListQuery

    aws, service = storm.aws, storm.service
    problems = storage_problems(
        aws.dynamodb, aws.s3, bucket=aws.bucket, images_table=aws.images_table, tags_table=aws.tags_table
    )
    rows = aws.dynamodb.scan(TableName=aws.images_table, ConsistentRead=True)["Items"]
    images = [item_to_image(row) for row in rows if "status" not in row]
    pending = {row["image_id"]["S"] for row in rows if "status" in row}
    for image in images:
        try:
            body = aws.s3.get_object(Bucket=aws.bucket, Key=image.object_key)["Body"].read()
        except aws.s3.exceptions.NoSuchKey:
            continue  # a missing object is already reported above
        if hashlib.sha256(body).hexdigest() != image.sha256 or len(body) != image.size_bytes:
            problems.append(f"{image.image_id}: stored bytes do not match the recorded sha256/size")
    objects = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=aws.bucket).get("Contents", [])]
    for key in objects:
        if key.startswith("uploads/") and key.removeprefix("uploads/") not in pending:
            problems.append(f"staged upload {key} has no pending row")
    for user in USERS:
        listed: list[str] = []
        token = None
        while True:
            page = service.listing.list(ListQuery(user_id=user, tag=None, limit=100, next_token=token))
            listed += [image.image_id for image in page.items]
            token = page.next_token
            if token is None:
                break
        owned = sorted(image.image_id for image in images if image.user_id == user)
        if sorted(listed) != owned:
            problems.append(f"{user}'s listing {sorted(listed)} is not their images {owned}")
    problems += [f"5xx: {line}" for line in storm.five_xx]
    problems += [f"finalisation failed every delivery: {line}" for line in storm.failed_deliveries]
    return problems
