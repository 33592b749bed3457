"""The layer's use cases against moto: storage effects, listings and failure compensation."""

from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from image_service.errors import InvalidCursor, NotFound, ServiceUnavailable
from image_service.models import ListQuery
from tests.conftest import fail_call, new_image, picture


def listing(service: Any, user_id: str | None = None, tag: str | None = None, limit: int = 20) -> list[str]:
    """Every image id of a listing, following next_token to the end."""
    ids: list[str] = []
    token = None
    while True:
        page = service.list(ListQuery(user_id=user_id, tag=tag, limit=limit, next_token=token))
        ids += [image.image_id for image in page.items]
        token = page.next_token
        if token is None:
            return ids


def test_upload_stores_object_metadata_and_tag_rows(service: Any, aws: SimpleNamespace) -> None:
    image = service.upload(new_image(tags=("sunset", "beach")))
    stored = aws.s3.get_object(Bucket=aws.bucket, Key=image.object_key)
    assert stored["Body"].read() == picture()
    assert stored["ContentType"] == "image/png"
    assert service.get(image.image_id) == image
    rows = aws.dynamodb.scan(TableName=aws.tags_table)["Items"]
    assert sorted((row["tag"]["S"], row["image_id"]["S"], row["user_tag"]["S"]) for row in rows) == [
        ("beach", image.image_id, "alice#beach"),
        ("sunset", image.image_id, "alice#sunset"),
    ]
    assert image.size_bytes == len(picture()) and len(image.sha256) == 64
    assert image.created_at.endswith("Z")


def test_get_unknown_image_raises_not_found(service: Any) -> None:
    with pytest.raises(NotFound):
        service.get("01JDQ8ZB3F2T6X8W4N5R7K9M0Z")


def test_download_url_is_presigned_for_the_object_and_short_lived(service: Any) -> None:
    image = service.upload(new_image())
    result = service.download_url(image.image_id)
    query = parse_qs(urlparse(result["url"]).query)
    assert urlparse(result["url"]).path.endswith(image.object_key)
    assert query["X-Amz-Expires"] == ["300"] and result["expires_in"] == 300
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]


def test_delete_removes_object_metadata_and_tag_rows(service: Any, snapshot: Any) -> None:
    image = service.upload(new_image(tags=("sunset",)))
    service.delete(image.image_id)
    assert snapshot() == {"objects": [], "images": [], "tags": []}
    with pytest.raises(NotFound):
        service.delete(image.image_id)
    assert listing(service, tag="sunset") == []


def test_user_listing_is_newest_first_and_paginates_without_gaps_or_duplicates(service: Any) -> None:
    uploaded = [service.upload(new_image()).image_id for _ in range(7)]
    service.upload(new_image(user_id="bob"))
    assert listing(service, user_id="alice", limit=3) == uploaded[::-1]
    assert listing(service, user_id="alice", limit=7) == uploaded[::-1]


def test_exact_page_size_has_no_next_token(service: Any) -> None:
    for _ in range(3):
        service.upload(new_image())
    page = service.list(ListQuery(user_id="alice", tag=None, limit=3, next_token=None))
    assert len(page.items) == 3 and page.next_token is None


def test_tag_listing_spans_users_newest_first(service: Any) -> None:
    first = service.upload(new_image(user_id="alice", tags=("cats",))).image_id
    service.upload(new_image(user_id="alice", tags=("dogs",)))
    second = service.upload(new_image(user_id="bob", tags=("cats", "dogs"))).image_id
    third = service.upload(new_image(user_id="carol", tags=("cats",))).image_id
    assert listing(service, tag="cats", limit=2) == [third, second, first]


def test_user_and_tag_listing_is_the_intersection(service: Any) -> None:
    mine = [service.upload(new_image(user_id="alice", tags=("cats",))).image_id for _ in range(5)]
    service.upload(new_image(user_id="alice", tags=("dogs",)))
    service.upload(new_image(user_id="bob", tags=("cats",)))
    assert listing(service, user_id="alice", tag="cats", limit=2) == mine[::-1]


def test_next_token_is_bound_to_its_listing(service: Any) -> None:
    for _ in range(3):
        service.upload(new_image(tags=("cats",)))
    page = service.list(ListQuery(user_id="alice", tag=None, limit=1, next_token=None))
    assert page.next_token
    for other in [ListQuery("bob", None, 1, page.next_token), ListQuery("alice", "cats", 1, page.next_token)]:
        with pytest.raises(InvalidCursor):
            service.list(other)


def test_failed_metadata_write_removes_the_uploaded_object(service: Any, aws: SimpleNamespace, snapshot: Any) -> None:
    restore = fail_call(aws.dynamodb, "TransactWriteItems", "ProvisionedThroughputExceededException", 400)
    with pytest.raises(ServiceUnavailable):
        service.upload(new_image(tags=("cats",)))
    assert snapshot() == {"objects": [], "images": [], "tags": []}
    restore()
    assert service.upload(new_image(tags=("cats",))).tags == ("cats",)


def test_failed_object_write_stores_nothing(service: Any, aws: SimpleNamespace, snapshot: Any) -> None:
    fail_call(aws.s3, "PutObject", "SlowDown", 503)
    with pytest.raises(ServiceUnavailable):
        service.upload(new_image())
    assert snapshot() == {"objects": [], "images": [], "tags": []}


def test_failed_object_delete_puts_the_metadata_back(service: Any, aws: SimpleNamespace, snapshot: Any) -> None:
    image = service.upload(new_image(tags=("cats",)))
    before = snapshot()
    restore = fail_call(aws.s3, "DeleteObject", "InternalError", 500)
    with pytest.raises(ServiceUnavailable):
        service.delete(image.image_id)
    assert snapshot() == before
    restore()
    service.delete(image.image_id)
    assert snapshot() == {"objects": [], "images": [], "tags": []}


def test_failed_metadata_delete_changes_nothing(service: Any, aws: SimpleNamespace, snapshot: Any) -> None:
    image = service.upload(new_image(tags=("cats",)))
    before = snapshot()
    fail_call(aws.dynamodb, "TransactWriteItems", "ThrottlingException", 400)
    with pytest.raises(ServiceUnavailable):
        service.delete(image.image_id)
    assert snapshot() == before


def tag_rows(aws: SimpleNamespace) -> set[tuple[str, str, str]]:
    rows = aws.dynamodb.scan(TableName=aws.tags_table)["Items"]
    return {(row["tag"]["S"], row["image_id"]["S"], row["user_tag"]["S"]) for row in rows}


def test_owner_edits_title_and_tags_and_tag_rows_follow(service: Any, aws: SimpleNamespace) -> None:
    from image_service.models import ImageEdit

    image = service.upload(new_image(tags=("cats", "dogs")))
    edited = service.edit(image.image_id, ImageEdit(title="New", tags=("dogs", "birds")), caller="alice")
    assert (edited.title, edited.tags) == ("New", ("dogs", "birds"))
    assert service.get(image.image_id) == edited
    assert tag_rows(aws) == {("dogs", image.image_id, "alice#dogs"), ("birds", image.image_id, "alice#birds")}
    assert listing(service, tag="cats") == [] and listing(service, user_id="alice", tag="birds") == [image.image_id]


def test_another_user_cannot_edit_or_delete(service: Any, snapshot: Any) -> None:
    from image_service.errors import Forbidden
    from image_service.models import ImageEdit

    image = service.upload(new_image(tags=("cats",)))
    before = snapshot()
    with pytest.raises(Forbidden):
        service.edit(image.image_id, ImageEdit(title="mine now"), caller="mallory")
    with pytest.raises(Forbidden):
        service.delete(image.image_id, caller="mallory")
    assert snapshot() == before
    service.delete(image.image_id, caller="alice")
    assert snapshot() == {"objects": [], "images": [], "tags": []}


def test_edit_of_a_missing_image_is_not_found(service: Any) -> None:
    from image_service.models import ImageEdit

    with pytest.raises(NotFound):
        service.edit("01JDQ8ZB3F2T6X8W4N5R7K9M0Z", ImageEdit(title="x"), caller="alice")


def test_concurrent_edits_keep_tag_rows_exact(service: Any, aws: SimpleNamespace) -> None:
    """Two editors race: whatever order they land in, the tag rows equal the final tags."""
    from concurrent.futures import ThreadPoolExecutor

    from image_service.models import ImageEdit

    image = service.upload(new_image(tags=("a",)))
    edits = [ImageEdit(tags=(f"t{i}", "shared")) for i in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda e: service.edit(image.image_id, e, caller="alice"), edits))
    final = service.get(image.image_id)
    assert {row[0] for row in tag_rows(aws)} == set(final.tags)
    assert len(tag_rows(aws)) == len(final.tags) == 2
