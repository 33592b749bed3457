"""Duplicate uploads (issue 19, item 2): the same user sending the same file again gets the photo
already stored (200, ``"duplicate": true``), unless ``allow_duplicate``; a user's copies of a
file are listed by ``GET /images?user_id=U&sha256=HEX``; two identical uploads at once end as
one photo."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from image_service.models import ListQuery
from localapi.events import build_proxy_event
from tests.support.builders import start_direct
from tests.support.faults import answer_call
from tests.support.functions import invoke, load_function
from tests.support.images import encoded, exif_with_gps, picture
from tests.support.layer import wire_handlers
from tests.support.storm import atomic_aws_requests
from tests.support.threads import all_at_once

SUB = "0b6f4a52-1c1e-4a8e-9d55-6d2a1c3f0a11"
OTHER_SUB = "7d1e2f30-4b5c-4d6e-8f70-8192a3b4c5d6"


@pytest.fixture
def handlers(service: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    wire_handlers(monkeypatch, service, "UploadFunction")
    monkeypatch.setattr(load_function("UploadFunction"), "IDEMPOTENCY", None)
    wire_handlers(monkeypatch, service, "ListFunction")
    yield


def claims(sub: str = SUB) -> dict[str, Any]:
    return {"claims": {"sub": sub, "cognito:username": f"user-{sub[:4]}", "token_use": "id"}}


def json_upload(data: bytes, content_type: str = "image/png", sub: str = SUB, **fields: Any) -> dict[str, Any]:
    body = {"content_type": content_type, "image_base64": base64.b64encode(data).decode(), **fields}
    event = build_proxy_event(
        method="POST",
        resource="/images",
        path="/images",
        headers={"Content-Type": ["application/json"]},
        body=json.dumps(body).encode(),
        authorizer=claims(sub),
    )
    return invoke("UploadFunction", event)


def raw_upload(data: bytes, query: dict[str, list[str]] | None = None) -> dict[str, Any]:
    event = build_proxy_event(
        method="POST",
        resource="/images",
        path="/images",
        query=query,
        headers={"Content-Type": ["image/png"]},
        body=data,
        binary_media_types=["image/png"],
        authorizer=claims(),
    )
    return invoke("UploadFunction", event)


def list_images(**query: str) -> dict[str, Any]:
    event = build_proxy_event(
        method="GET", resource="/images", path="/images", query={k: [v] for k, v in query.items()}
    )
    return invoke("ListFunction", event)


def images(aws: SimpleNamespace) -> list[dict[str, Any]]:
    return [row for row in aws.dynamodb.scan(TableName=aws.images_table)["Items"] if "created_at" in row]


def objects(aws: SimpleNamespace) -> list[str]:
    return sorted(obj["Key"] for obj in aws.s3.list_objects_v2(Bucket=aws.bucket).get("Contents", []))


def body(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response["body"])


def test_the_same_file_again_is_200_with_the_stored_photo_and_nothing_new(aws: SimpleNamespace, handlers: None) -> None:
    first = json_upload(picture(), title="first")
    assert first["statusCode"] == 201 and "duplicate" not in body(first)
    stored = objects(aws)
    again = json_upload(picture(), title="a new title does not make it a new file")
    assert again["statusCode"] == 200
    assert body(again) == {**body(first), "duplicate": True}
    assert len(images(aws)) == 1 and objects(aws) == stored


def test_a_raw_upload_of_a_file_sent_as_json_before_is_a_duplicate(aws: SimpleNamespace, handlers: None) -> None:
    first = body(json_upload(picture()))
    again = raw_upload(picture())
    assert again["statusCode"] == 200 and body(again)["image_id"] == first["image_id"]


def test_allow_duplicate_stores_a_second_copy(aws: SimpleNamespace, handlers: None) -> None:
    first = body(json_upload(picture()))
    second = json_upload(picture(), allow_duplicate=True)
    assert second["statusCode"] == 201 and body(second)["image_id"] != first["image_id"]
    third = raw_upload(picture(), {"allow_duplicate": ["true"]})
    assert third["statusCode"] == 201 and "duplicate" not in body(third)
    assert len(images(aws)) == 3


def test_allow_duplicate_must_be_a_boolean(aws: SimpleNamespace, handlers: None) -> None:
    assert json_upload(picture(), allow_duplicate="maybe")["statusCode"] == 400
    assert raw_upload(picture(), {"allow_duplicate": ["yes"]})["statusCode"] == 400
    assert images(aws) == [] and objects(aws) == []


def test_another_users_copy_is_not_a_duplicate(aws: SimpleNamespace, handlers: None) -> None:
    assert json_upload(picture())["statusCode"] == 201
    assert json_upload(picture(), sub=OTHER_SUB)["statusCode"] == 201


def test_a_photo_whose_location_was_removed_is_found_by_what_was_received(aws: SimpleNamespace, handlers: None) -> None:
    photo = encoded("JPEG", exif_with_gps())
    first = body(json_upload(photo, "image/jpeg"))
    assert first["location_removed"] is True
    received = hashlib.sha256(photo).hexdigest()
    assert first["received_sha256"] == received and first["sha256"] != received
    again = json_upload(photo, "image/jpeg")
    assert again["statusCode"] == 200 and body(again)["image_id"] == first["image_id"]


def test_two_identical_uploads_at_once_end_as_one_photo(aws: SimpleNamespace, handlers: None) -> None:
    with atomic_aws_requests():  # each request atomic, as in AWS (in-process moto has no locks)
        answers = all_at_once([lambda: json_upload(picture())] * 4)
    assert sorted(a["statusCode"] for a in answers) == [200, 200, 200, 201]
    assert len({body(a)["image_id"] for a in answers}) == 1
    assert len(images(aws)) == 1
    assert len(objects(aws)) == 3  # the winner's original, thumbnail and display variant, no loser's


def index_not_caught_up(aws: SimpleNamespace) -> list[dict[str, Any]]:
    """The checksum index answers as if the latest writes had not reached it yet (a GSI is
    eventually consistent): its Queries find nothing. Returns the Queries it answered."""
    answered: list[dict[str, Any]] = []

    def of_the_checksum_index(params: dict[str, Any]) -> bool:
        if params.get("IndexName") != "user_sha256-index":
            return False
        answered.append(params)
        return True

    answer_call(aws.dynamodb, "Query", {"Items": [], "Count": 0, "ScannedCount": 0}, when=of_the_checksum_index)
    return answered


def test_the_claim_catches_a_copy_the_index_does_not_show_yet(
    aws: SimpleNamespace, service: Any, handlers: None
) -> None:
    """The index is eventually consistent: a copy committed a moment ago may not be in it."""
    first = body(json_upload(picture()))
    stale = index_not_caught_up(aws)
    again = json_upload(picture())
    assert stale, "the upload did not look in the checksum index"
    assert again["statusCode"] == 200 and body(again)["image_id"] == first["image_id"]
    assert len(images(aws)) == 1 and len(objects(aws)) == 3


def test_a_deleted_photo_can_be_uploaded_again_at_once(aws: SimpleNamespace, service: Any, handlers: None) -> None:
    first = body(json_upload(picture()))
    service.edits.delete(first["image_id"])
    # Its claim is still there (it expires later): the upload must see that it is stale.
    stale = index_not_caught_up(aws)
    again = json_upload(picture())
    assert stale, "the upload did not look in the checksum index"
    assert again["statusCode"] == 201 and body(again)["image_id"] != first["image_id"]
    assert len(images(aws)) == 1


def test_a_direct_upload_records_what_was_received_and_is_found_later(
    aws: SimpleNamespace, service: Any, handlers: None
) -> None:
    image_id = start_direct(service, aws, picture(), user=SUB)
    finalised = service.uploads.finalise_upload(f"uploads/{image_id}")
    assert finalised is not None and finalised.received_sha256 == hashlib.sha256(picture()).hexdigest()
    again = json_upload(picture())
    assert again["statusCode"] == 200 and body(again)["image_id"] == image_id


def test_the_sha256_listing_gives_that_users_copies_newest_first(aws: SimpleNamespace, handlers: None) -> None:
    other_file = picture(size=(8, 8))
    ids = [body(json_upload(picture(), allow_duplicate=True))["image_id"] for _ in range(3)]
    json_upload(other_file)
    json_upload(picture(), sub=OTHER_SUB)
    checksum = hashlib.sha256(picture()).hexdigest()
    page = body(list_images(user_id=SUB, sha256=checksum.upper(), limit="2"))
    assert [item["image_id"] for item in page["items"]] == ids[::-1][:2] and page["next_token"]
    rest = body(list_images(user_id=SUB, sha256=checksum, limit="2", next_token=page["next_token"]))
    assert [item["image_id"] for item in rest["items"]] == ids[:1] and rest["next_token"] is None
    assert body(list_images(user_id=SUB, sha256="0" * 64))["items"] == []
    # A token of the checksum listing is no token of the user's listing.
    assert list_images(user_id=SUB, next_token=page["next_token"])["statusCode"] == 400


def test_the_checksum_listing_of_the_service(service: Any) -> None:
    from tests.support.builders import new_image

    image = service.uploads.upload(new_image())
    page = service.listing.list(ListQuery("alice", None, 10, None, sha256=image.received_sha256))
    assert [item.image_id for item in page.items] == [image.image_id]
