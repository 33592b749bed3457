"""Direct-upload finalisation racing with deletes and with other deliveries of the same upload.

S3 delivers events at least once and a form can be posted again, so two finalisations of one id
may run at once; a DELETE may come at any moment. These tests make the races deterministic: a
botocore ``before-call`` hook (public API) pauses a chosen thread at its metadata commit
(``TransactWriteItems``), i.e. after it has written the objects, while the test runs the other
party; then the paused one goes on. Afterwards storage must be consistent and what the row
describes (sha256, size) must be what S3 holds.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from image_service.errors import NotFound
from tests.support.builders import start_direct
from tests.support.images import picture
from tests.support.storage import assert_storage_consistent


class CommitGate:
    """Pause the threads it is armed for just before their DynamoDB transaction is sent."""

    def __init__(self, dynamodb: Any) -> None:
        self._armed: dict[int, tuple[threading.Event, threading.Event]] = {}
        self._dynamodb = dynamodb
        dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", self._hook, unique_id="commit-gate")

    def arm(self, thread: threading.Thread) -> tuple[threading.Event, threading.Event]:
        """Return (arrived, release) for ``thread``'s next transaction (before it is started)."""
        assert thread.ident is None, "arm before start(): the ident is set by the wrapper below"
        arrived, release = threading.Event(), threading.Event()
        thread._gate = (arrived, release)  # type: ignore[attr-defined]
        return arrived, release

    def _hook(self, **_: Any) -> None:
        gate = getattr(threading.current_thread(), "_gate", None)
        if gate is None:
            return
        arrived, release = gate
        threading.current_thread()._gate = None  # type: ignore[attr-defined]  # once per thread
        arrived.set()
        assert release.wait(30), "the test never released the paused commit"

    def close(self) -> None:
        self._dynamodb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="commit-gate")


@pytest.fixture
def gate(aws: SimpleNamespace) -> Iterator[CommitGate]:
    gate = CommitGate(aws.dynamodb)
    yield gate
    gate.close()


def run_paused(gate: CommitGate, work: Callable[[], Any]) -> tuple[threading.Thread, threading.Event, dict[str, Any]]:
    """Start ``work`` in a thread and return once it is paused at its commit."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = work()
        except Exception as exc:  # reported by the test, not lost in the thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    arrived, release = gate.arm(thread)
    thread.start()
    assert arrived.wait(30), result
    return thread, release, result


def stored_keys(aws: SimpleNamespace) -> list[str]:
    return sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=aws.bucket).get("Contents", []))


def assert_row_describes_stored_bytes(service: Any, aws: SimpleNamespace, image_id: str) -> None:
    image = service.reads.get(image_id)
    body = aws.s3.get_object(Bucket=aws.bucket, Key=image.object_key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == image.sha256 and len(body) == image.size_bytes


def test_a_strangers_delete_during_finalisation_never_removes_the_new_photos_bytes(
    service: Any, aws: SimpleNamespace, gate: CommitGate
) -> None:
    image_id = start_direct(service, aws, picture())
    # Given the finaliser has written the objects and is about to commit
    thread, release, result = run_paused(gate, lambda: service.uploads.finalise_upload(f"uploads/{image_id}"))

    # When another user (and the owner too) deletes the id meanwhile: it is not an image yet
    with pytest.raises(NotFound):
        service.edits.delete(image_id, caller="mallory")
    with pytest.raises(NotFound):
        service.edits.delete(image_id, caller="alice")
    release.set()
    thread.join()

    # Then the photo is finalised whole: listed, with its bytes and thumbnail
    assert "error" not in result and result["value"] is not None
    assert_storage_consistent(aws)
    assert_row_describes_stored_bytes(service, aws, image_id)


def test_two_deliveries_finalising_at_once_leave_the_winners_bytes_only(
    service: Any, aws: SimpleNamespace, gate: CommitGate
) -> None:
    first, second = picture(size=(32, 24)), picture(size=(48, 20))
    image_id = start_direct(service, aws, first)
    # Given one delivery has written its objects (of the first file) and waits to commit
    a, release_a, result_a = run_paused(gate, lambda: service.uploads.finalise_upload(f"uploads/{image_id}"))
    # And the form was posted again: a second delivery writes its objects (another file) too
    aws.s3.put_object(Bucket=aws.bucket, Key=f"uploads/{image_id}", Body=second)
    b, release_b, result_b = run_paused(gate, lambda: service.uploads.finalise_upload(f"uploads/{image_id}"))

    # When the first commits, then the second tries to
    release_a.set()
    a.join()
    release_b.set()
    b.join()

    # Then the row is the first's, S3 holds exactly the first's bytes, and nothing else is left
    assert "error" not in result_a and "error" not in result_b
    assert result_a["value"] is not None and result_b["value"] is None
    assert service.reads.get(image_id).sha256 == hashlib.sha256(first).hexdigest()
    assert_row_describes_stored_bytes(service, aws, image_id)
    assert_storage_consistent(aws)
    assert not any(key.startswith("uploads/") for key in stored_keys(aws))


def test_a_delivery_that_loses_to_a_delete_after_commit_leaves_no_objects(
    service: Any, aws: SimpleNamespace, gate: CommitGate
) -> None:
    image_id = start_direct(service, aws, picture())
    # Given a second delivery is paused at its commit, after writing its objects
    b, release_b, result_b = run_paused(gate, lambda: service.uploads.finalise_upload(f"uploads/{image_id}"))
    # When the first delivery finalises, and the owner deletes the photo
    assert service.uploads.finalise_upload(f"uploads/{image_id}") is not None
    service.edits.delete(image_id, caller="alice")
    release_b.set()
    b.join()

    # Then nothing at all is left: not the photo's objects, not the loser's, not the staged file
    assert "error" not in result_b and result_b["value"] is None
    assert stored_keys(aws) == []
    assert_storage_consistent(aws)


def test_a_form_posted_again_after_finalisation_is_removed_at_once(service: Any, aws: SimpleNamespace) -> None:
    image_id = start_direct(service, aws, picture())
    image = service.uploads.finalise_upload(f"uploads/{image_id}")
    assert image is not None
    # The same form, posted again within its validity: its event must not keep the file
    aws.s3.put_object(Bucket=aws.bucket, Key=f"uploads/{image_id}", Body=picture(size=(10, 10)))
    assert service.uploads.finalise_upload(f"uploads/{image_id}") is None
    assert f"uploads/{image_id}" not in stored_keys(aws)
    assert service.reads.get(image_id) == image
    assert_storage_consistent(aws)


def test_a_strangers_delete_of_a_pending_upload_touches_no_object(service: Any, aws: SimpleNamespace) -> None:
    image_id = start_direct(service, aws, picture())
    # Objects under the fixed keys of this id (whoever put them there) are not the stranger's to delete
    aws.s3.put_object(Bucket=aws.bucket, Key=f"images/{image_id}", Body=b"x")
    aws.s3.put_object(Bucket=aws.bucket, Key=f"thumbnails/{image_id}.jpg", Body=b"x")
    before = stored_keys(aws)
    with pytest.raises(NotFound):
        service.edits.delete(image_id, caller="mallory")
    assert stored_keys(aws) == before
