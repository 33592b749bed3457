"""The layer's use cases against moto: storage effects, listings and failure compensation."""

from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from image_service.errors import InvalidCursor, NotFound, ServiceUnavailable
from image_service.models import ListQuery
from tests.support.builders import new_image
from tests.support.faults import fail_call
from tests.support.images import picture
from tests.support.layer import build_layer


def listing(service: Any, user_id: str | None = None, tag: str | None = None, limit: int = 20) -> list[str]:
    """Every image id of a listing, following next_token to the end."""
    ids: list[str] = []
    token = None
    while True:
        page = service.listing.list(ListQuery(user_id=user_id, tag=tag, limit=limit, next_token=token))
        ids += [image.image_id for image in page.items]
        token = page.next_token
        if token is None:
            return ids


def test_upload_stores_object_metadata_and_tag_rows(service: Any, aws: SimpleNamespace) -> None:
    image = service.uploads.upload(new_image(tags=("sunset", "beach")))
    stored = aws.s3.get_object(Bucket=aws.bucket, Key=image.object_key)
    assert stored["Body"].read() == picture()
    thumbnail = aws.s3.get_object(Bucket=aws.bucket, Key=f"thumbnails/{image.image_id}.jpg")
    assert thumbnail["ContentType"] == "image/jpeg" and image.variants == ("original", "thumbnail", "display")
    assert stored["ContentType"] == "image/png"
    assert service.reads.get(image.image_id) == image
    rows = aws.dynamodb.scan(TableName=aws.tags_table)["Items"]
    assert sorted((row["tag"]["S"], row["image_id"]["S"], row["user_tag"]["S"]) for row in rows) == [
        ("beach", image.image_id, "alice#beach"),
        ("sunset", image.image_id, "alice#sunset"),
    ]
    assert image.size_bytes == len(picture()) and len(image.sha256) == 64
    assert image.created_at.endswith("Z")


def test_get_unknown_image_raises_not_found(service: Any) -> None:
    with pytest.raises(NotFound):
        service.reads.get("01JDQ8ZB3F2T6X8W4N5R7K9M0Z")


def test_download_url_is_presigned_for_the_object_and_short_lived(service: Any) -> None:
    image = service.uploads.upload(new_image())
    result = service.reads.download_url(image.image_id)
    query = parse_qs(urlparse(result["url"]).query)
    assert urlparse(result["url"]).path.endswith(image.object_key)
    assert query["X-Amz-Expires"] == ["300"] and result["expires_in"] == 300
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]


def test_delete_removes_object_metadata_and_tag_rows(service: Any, snapshot: Any) -> None:
    image = service.uploads.upload(new_image(tags=("sunset",)))
    service.edits.delete(image.image_id)
    assert snapshot() == {"objects": [], "images": [], "tags": []}
    with pytest.raises(NotFound):
        service.edits.delete(image.image_id)
    assert listing(service, tag="sunset") == []


def test_user_listing_is_newest_first_and_paginates_without_gaps_or_duplicates(service: Any) -> None:
    uploaded = [service.uploads.upload(new_image()).image_id for _ in range(7)]
    service.uploads.upload(new_image(user_id="bob"))
    assert listing(service, user_id="alice", limit=3) == uploaded[::-1]
    assert listing(service, user_id="alice", limit=7) == uploaded[::-1]


def test_exact_page_size_has_no_next_token(service: Any) -> None:
    for _ in range(3):
        service.uploads.upload(new_image())
    page = service.listing.list(ListQuery(user_id="alice", tag=None, limit=3, next_token=None))
    assert len(page.items) == 3 and page.next_token is None


def test_tag_listing_spans_users_newest_first(service: Any) -> None:
    first = service.uploads.upload(new_image(user_id="alice", tags=("cats",))).image_id
    service.uploads.upload(new_image(user_id="alice", tags=("dogs",)))
    second = service.uploads.upload(new_image(user_id="bob", tags=("cats", "dogs"))).image_id
    third = service.uploads.upload(new_image(user_id="carol", tags=("cats",))).image_id
    assert listing(service, tag="cats", limit=2) == [third, second, first]


def test_user_and_tag_listing_is_the_intersection(service: Any) -> None:
    mine = [service.uploads.upload(new_image(user_id="alice", tags=("cats",))).image_id for _ in range(5)]
    service.uploads.upload(new_image(user_id="alice", tags=("dogs",)))
    service.uploads.upload(new_image(user_id="bob", tags=("cats",)))
    assert listing(service, user_id="alice", tag="cats", limit=2) == mine[::-1]


def test_next_token_is_bound_to_its_listing(service: Any) -> None:
    for _ in range(3):
        service.uploads.upload(new_image(tags=("cats",)))
    page = service.listing.list(ListQuery(user_id="alice", tag=None, limit=1, next_token=None))
    assert page.next_token
    for other in [ListQuery("bob", None, 1, page.next_token), ListQuery("alice", "cats", 1, page.next_token)]:
        with pytest.raises(InvalidCursor):
            service.listing.list(other)


def test_failed_metadata_write_removes_the_uploaded_object(service: Any, aws: SimpleNamespace, snapshot: Any) -> None:
    restore = fail_call(aws.dynamodb, "TransactWriteItems", "ProvisionedThroughputExceededException", 400)
    with pytest.raises(ServiceUnavailable):
        service.uploads.upload(new_image(tags=("cats",)))
    assert snapshot() == {"objects": [], "images": [], "tags": []}
    restore()
    assert service.uploads.upload(new_image(tags=("cats",))).tags == ("cats",)


def test_failed_object_write_stores_nothing(service: Any, aws: SimpleNamespace, snapshot: Any) -> None:
    fail_call(aws.s3, "PutObject", "SlowDown", 503)
    with pytest.raises(ServiceUnavailable):
        service.uploads.upload(new_image())
    assert snapshot() == {"objects": [], "images": [], "tags": []}


def test_failed_object_delete_puts_the_metadata_back(service: Any, aws: SimpleNamespace, snapshot: Any) -> None:
    image = service.uploads.upload(new_image(tags=("cats",)))
    before = snapshot()
    restore = fail_call(aws.s3, "DeleteObjects", "InternalError", 500)
    with pytest.raises(ServiceUnavailable):
        service.edits.delete(image.image_id)
    assert snapshot() == before
    restore()
    service.edits.delete(image.image_id)
    assert snapshot() == {"objects": [], "images": [], "tags": []}


def test_failed_metadata_delete_changes_nothing(service: Any, aws: SimpleNamespace, snapshot: Any) -> None:
    image = service.uploads.upload(new_image(tags=("cats",)))
    before = snapshot()
    fail_call(aws.dynamodb, "TransactWriteItems", "ThrottlingException", 400)
    with pytest.raises(ServiceUnavailable):
        service.edits.delete(image.image_id)
    assert snapshot() == before


def tag_rows(aws: SimpleNamespace) -> set[tuple[str, str, str]]:
    rows = aws.dynamodb.scan(TableName=aws.tags_table)["Items"]
    return {(row["tag"]["S"], row["image_id"]["S"], row["user_tag"]["S"]) for row in rows}


def test_owner_edits_title_and_tags_and_tag_rows_follow(service: Any, aws: SimpleNamespace) -> None:
    from image_service.models import ImageEdit

    image = service.uploads.upload(new_image(tags=("cats", "dogs")))
    edited = service.edits.edit(image.image_id, ImageEdit(title="New", tags=("dogs", "birds")), caller="alice")
    assert (edited.title, edited.tags) == ("New", ("dogs", "birds"))
    assert service.reads.get(image.image_id) == edited
    assert tag_rows(aws) == {("dogs", image.image_id, "alice#dogs"), ("birds", image.image_id, "alice#birds")}
    assert listing(service, tag="cats") == [] and listing(service, user_id="alice", tag="birds") == [image.image_id]


def test_another_user_cannot_edit_or_delete(service: Any, snapshot: Any) -> None:
    from image_service.errors import Forbidden
    from image_service.models import ImageEdit

    image = service.uploads.upload(new_image(tags=("cats",)))
    before = snapshot()
    with pytest.raises(Forbidden):
        service.edits.edit(image.image_id, ImageEdit(title="mine now"), caller="mallory")
    with pytest.raises(Forbidden):
        service.edits.delete(image.image_id, caller="mallory")
    assert snapshot() == before
    service.edits.delete(image.image_id, caller="alice")
    assert snapshot() == {"objects": [], "images": [], "tags": []}


def test_edit_of_a_missing_image_is_not_found(service: Any) -> None:
    from image_service.models import ImageEdit

    with pytest.raises(NotFound):
        service.edits.edit("01JDQ8ZB3F2T6X8W4N5R7K9M0Z", ImageEdit(title="x"), caller="alice")


def test_edit_that_loses_a_race_retries_and_tag_rows_stay_exact(service: Any, aws: SimpleNamespace) -> None:
    """Another edit lands between this edit's read and its write: the conditional write must
    fail, be retried on fresh data, and leave exactly the final tags' rows (none stale)."""
    from image_service.models import ImageEdit

    image = service.uploads.upload(new_image(tags=("a",)))
    raced = {"done": False}

    def interfere(**_: Any) -> None:
        if not raced["done"]:
            raced["done"] = True
            service.edits.edit(image.image_id, ImageEdit(tags=("b", "c")), caller="alice")

    aws.dynamodb.meta.events.register("before-call.dynamodb.TransactWriteItems", interfere, unique_id="race")
    edited = service.edits.edit(image.image_id, ImageEdit(tags=("d",)), caller="alice")
    aws.dynamodb.meta.events.unregister("before-call.dynamodb.TransactWriteItems", unique_id="race")

    assert raced["done"] and edited.tags == ("d",)
    assert tag_rows(aws) == {("d", image.image_id, "alice#d")}


def start_direct(service: Any, aws: SimpleNamespace, data: bytes, content_type: str = "image/png") -> str:
    from image_service.models import UploadRequest

    started = service.uploads.start_direct_upload(
        UploadRequest(user_id="alice", title="t", description="", tags=("cats",), content_type=content_type)
    )
    aws.s3.put_object(Bucket=aws.bucket, Key=started["upload"]["fields"]["key"], Body=data)
    return started["image_id"]


def test_direct_upload_is_invisible_until_finalised_then_complete(service: Any, aws: SimpleNamespace) -> None:
    image_id = start_direct(service, aws, picture())
    with pytest.raises(NotFound):
        service.reads.get(image_id)
    assert listing(service, user_id="alice") == [] and listing(service, tag="cats") == []

    image = service.uploads.finalise_upload(f"uploads/{image_id}")
    assert image is not None and service.reads.get(image_id) == image
    import hashlib

    assert image.sha256 == hashlib.sha256(picture()).hexdigest()  # the digest taken while streaming
    assert listing(service, user_id="alice", tag="cats") == [image_id]
    keys = sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket=aws.bucket)["Contents"])
    # The finalisation attempt's own keys (see image_service.object_keys), the variants beside.
    attempt = image.object_key.removeprefix(f"images/{image_id}.")
    assert image.object_key.startswith(f"images/{image_id}.") and attempt.isalnum()
    assert keys == [f"displays/{image_id}.{attempt}.jpg", image.object_key, f"thumbnails/{image_id}.{attempt}.jpg"]

    # S3 may deliver the same event again: nothing changes.
    assert service.uploads.finalise_upload(f"uploads/{image_id}") is None
    assert service.reads.get(image_id) == image


def test_direct_upload_that_fails_validation_leaves_only_its_reason(
    service: Any, aws: SimpleNamespace, snapshot: Any
) -> None:
    image_id = start_direct(service, aws, b"not an image at all")
    assert service.uploads.finalise_upload(f"uploads/{image_id}") is None
    stored = snapshot()
    assert stored["objects"] == [] and stored["tags"] == []
    # One row: the reason, no metadata of the photo, no created_at (unlisted), expiring by TTL.
    (row,) = aws.dynamodb.scan(TableName=aws.images_table)["Items"]
    assert set(row) == {"image_id", "status", "code", "message", "expires_at"}
    assert listing(service, user_id="alice") == [] and listing(service, tag="cats") == []


def test_get_of_a_rejected_direct_upload_says_why_until_it_expires(service: Any, aws: SimpleNamespace) -> None:
    import time

    from image_service.errors import UploadRejected

    image_id = start_direct(service, aws, picture("JPEG"), content_type="image/png")
    assert service.uploads.finalise_upload(f"uploads/{image_id}") is None
    with pytest.raises(UploadRejected) as rejected:
        service.reads.get(image_id)
    assert (rejected.value.status, rejected.value.code) == (422, "content_type_mismatch")
    assert rejected.value.message == "the upload was rejected: image bytes are image/jpeg, not image/png"
    with pytest.raises(NotFound):  # the download of what never became an image stays a 404
        service.reads.download_url(image_id)
    # A repeated S3 event changes nothing; a still-pending upload stays a plain 404.
    assert service.uploads.finalise_upload(f"uploads/{image_id}") is None
    with pytest.raises(UploadRejected):
        service.reads.get(image_id)
    with pytest.raises(NotFound):
        service.reads.get(start_direct(service, aws, picture()))
    # After the pending TTL (DynamoDB's TTL may delete the row later still): 404.
    later = build_layer(service.settings, service.clients, clock_ms=lambda: int((time.time() + 86_401) * 1000))
    with pytest.raises(NotFound):
        later.reads.get(image_id)


def test_object_without_a_pending_upload_is_removed(service: Any, aws: SimpleNamespace, snapshot: Any) -> None:
    aws.s3.put_object(Bucket=aws.bucket, Key="uploads/01JDQ8ZB3F2T6X8W4N5R7K9M0Z", Body=picture())
    aws.s3.put_object(Bucket=aws.bucket, Key="uploads/../../escape", Body=b"x")
    assert service.uploads.finalise_upload("uploads/01JDQ8ZB3F2T6X8W4N5R7K9M0Z") is None
    assert service.uploads.finalise_upload("uploads/../../escape") is None
    assert snapshot() == {"objects": [], "images": [], "tags": []}


def test_pending_upload_expires_by_ttl(service: Any, aws: SimpleNamespace) -> None:
    image_id = start_direct(service, aws, picture())
    row = aws.dynamodb.get_item(TableName=aws.images_table, Key={"image_id": {"S": image_id}})["Item"]
    assert row["status"] == {"S": "pending"} and "created_at" not in row
    import time

    assert 0 < int(row["expires_at"]["N"]) - time.time() <= 86_400


def dynamodb_calls(aws: SimpleNamespace) -> list[str]:
    """The DynamoDB operations called from now on, in order (a list the test reads afterwards)."""
    calls: list[str] = []
    aws.dynamodb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name), unique_id="count-calls"
    )
    return calls


def test_a_tag_page_is_one_query_and_lists_what_get_returns_after_edits(service: Any, aws: SimpleNamespace) -> None:
    """The tag rows carry the listed fields: a page by tag (or by user and tag) is one Query and no
    BatchGetItem, and an edit that keeps a tag rewrites that tag's row in the same transaction."""
    from image_service.models import ImageEdit

    image = service.uploads.upload(new_image(tags=("cats", "dogs")))
    other = service.uploads.upload(new_image(user_id="bob", tags=("cats",)))
    edited = service.edits.edit(image.image_id, ImageEdit(title="Renamed", description="New words"), caller="alice")
    calls = dynamodb_calls(aws)
    try:
        for query in (ListQuery(None, "cats", 20, None), ListQuery("alice", "dogs", 20, None)):
            calls.clear()
            page = service.listing.list(query)
            assert calls == ["Query"], query
            expected = [other, edited] if query.user_id is None else [edited]
            assert page.items == expected, query
    finally:
        aws.dynamodb.meta.events.unregister("before-call.dynamodb", unique_id="count-calls")


def test_tag_rows_written_before_they_carried_the_listed_fields_are_still_listed(
    service: Any, aws: SimpleNamespace
) -> None:
    """Rows from before the copy (keys only) are completed from the images table, in order; an
    image deleted meanwhile is skipped and the cursor still moves on."""
    first = service.uploads.upload(new_image(tags=("cats",)))
    second = service.uploads.upload(new_image(tags=("cats",)))
    third = service.uploads.upload(new_image(tags=("cats",)))
    kept = {"tag", "image_id", "user_id", "user_tag", "created_at"}
    for row in aws.dynamodb.scan(TableName=aws.tags_table)["Items"]:
        if row["image_id"]["S"] != third.image_id:  # a mix: one new row, two old ones
            aws.dynamodb.put_item(TableName=aws.tags_table, Item={k: v for k, v in row.items() if k in kept})
    page = service.listing.list(ListQuery("alice", "cats", 20, None))
    assert page.items == [third, second, first]
    aws.dynamodb.delete_item(TableName=aws.images_table, Key={"image_id": {"S": second.image_id}})
    assert listing(service, tag="cats", limit=2) == [third.image_id, first.image_id]


def test_an_upload_whose_commit_cannot_be_told_keeps_its_objects_and_fails(service: Any, aws: SimpleNamespace) -> None:
    """The transaction fails and reading the row back fails too: nobody can tell whether the photo
    exists, so its objects stay (an invisible orphan beats a listed photo whose bytes are gone)."""
    heals = [fail_call(aws.dynamodb, "TransactWriteItems"), fail_call(aws.dynamodb, "GetItem")]
    try:
        with pytest.raises(ServiceUnavailable):
            service.uploads.upload(new_image())
    finally:
        for heal in heals:
            heal()
    stored = [obj["Key"] for obj in aws.s3.list_objects_v2(Bucket=aws.bucket).get("Contents", [])]
    assert len(stored) == 3 and not aws.dynamodb.scan(TableName=aws.images_table)["Items"]
