"""``BlobStore.read`` (what a direct upload's finaliser reads): the object in one piece, its
SHA-256, and a refusal before reading anything over the limit."""

from __future__ import annotations

import base64
import hashlib
import os
import tracemalloc
from types import SimpleNamespace
from typing import Any

import pytest

KEY = "uploads/01JDQ8ZB3F2T6X8W4N5R7K9M0Z"


def store(aws: SimpleNamespace) -> Any:
    from image_service.blob_store import BlobStore

    return BlobStore(aws.s3, aws.bucket)


def test_the_object_and_its_sha256_are_read_holding_the_bytes_once(aws: SimpleNamespace) -> None:
    data = os.urandom(4 * 1024 * 1024)
    aws.s3.put_object(Bucket=aws.bucket, Key=KEY, Body=data)
    blobs = store(aws)
    blobs.read(KEY, max_bytes=len(data))  # the first call's imports and caches are not counted
    tracemalloc.start()
    try:
        read, digest = blobs.read(KEY, max_bytes=len(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read == data and digest == hashlib.sha256(data).digest()
    # Gathering chunks then joining them held the object twice (2.0x).
    assert peak < 1.3 * len(data), peak / len(data)


def test_an_object_over_the_limit_is_refused_from_its_announced_size(aws: SimpleNamespace) -> None:
    from image_service.errors import PayloadTooLarge

    aws.s3.put_object(Bucket=aws.bucket, Key=KEY, Body=b"x" * 1001)
    with pytest.raises(PayloadTooLarge):
        store(aws).read(KEY, max_bytes=1000)
    assert store(aws).read(KEY, max_bytes=1001)[0] == b"x" * 1001


def test_without_an_announced_size_it_is_read_in_chunks_and_refused_past_the_limit(aws: SimpleNamespace) -> None:
    from image_service.errors import PayloadTooLarge

    def forget_the_size(parsed: dict[str, Any], **_: Any) -> None:
        parsed.pop("ContentLength", None)

    data = os.urandom(2 * 1024 * 1024 + 5)
    aws.s3.put_object(Bucket=aws.bucket, Key=KEY, Body=data)
    aws.s3.meta.events.register("after-call.s3.GetObject", forget_the_size)
    try:
        assert store(aws).read(KEY, max_bytes=len(data)) == (data, hashlib.sha256(data).digest())
        with pytest.raises(PayloadTooLarge):
            store(aws).read(KEY, max_bytes=len(data) - 1)
    finally:
        aws.s3.meta.events.unregister("after-call.s3.GetObject", forget_the_size)


def test_objects_are_put_with_their_sha256_and_not_hashed_again_for_the_signature(aws: SimpleNamespace) -> None:
    """S3 checks x-amz-checksum-sha256 against the bytes; a signed payload made botocore hash each
    object a second time (a 25 MB original: ~18 ms of CPU)."""
    sent: list[dict[str, Any]] = []

    def record(request: Any, **_: Any) -> None:
        sent.append(dict(request.headers))

    data = os.urandom(100_000)
    aws.s3.meta.events.register_first("before-send.s3.PutObject", record)
    try:
        store(aws).put(KEY, data, content_type="image/png")
    finally:
        aws.s3.meta.events.unregister("before-send.s3.PutObject", record)
    assert sent[0]["X-Amz-Content-SHA256"] == b"UNSIGNED-PAYLOAD"
    checksum = sent[0]["x-amz-checksum-sha256"]
    assert base64.b64decode(checksum) == hashlib.sha256(data).digest()
    assert aws.s3.get_object(Bucket=aws.bucket, Key=KEY)["Body"].read() == data
