"""Every file in events/ through the function the template routes it to, under moto."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from make_events import sub_of

from tests.support.events import EVENTS_DIR, EXAMPLE_IMAGE_ID, EXPECTED, function_for, seed_example_image
from tests.support.functions import invoke
from tests.support.images import picture


def test_every_event_file_has_an_expectation() -> None:
    assert sorted(p.name for p in EVENTS_DIR.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_event_gives_its_documented_response(name: str, aws: SimpleNamespace, snapshot: Any) -> None:
    # Given the example image exists
    seed_example_image(aws)
    before = snapshot()
    event = json.loads((EVENTS_DIR / name).read_text())
    status, code = EXPECTED[name]

    # When the event is invoked on the function the template routes it to
    response = invoke(function_for(event), event)
    if status == 0:  # an S3 event for an upload nobody announced: nothing is finalised
        assert response == {"finalised": []}
        return

    # Then it gets the documented status, a JSON body and the error shape on failure
    assert response["statusCode"] == status, response["body"]
    assert response["headers"]["Cache-Control"] == "no-store"
    if status in (204, 304):
        assert response["body"] == ""
        return
    body = json.loads(response["body"])
    if code is not None:
        assert body == {"message": body["message"], "code": code}
        assert snapshot() == before, "a refused request must not change storage"


def test_upload_event_returns_the_image_object(aws: SimpleNamespace) -> None:
    event = json.loads((EVENTS_DIR / "upload.json").read_text())
    body = json.loads(invoke("UploadFunction", event)["body"])
    # Owned by the account's sub; the user name is kept to be shown.
    assert body["user_id"] == sub_of("alice") and body["user_name"] == "alice"
    assert body["tags"] == ["sunset", "beach"]
    assert body["content_type"] == "image/png" and (body["width"], body["height"]) == (64, 48)
    assert set(body) == {
        "image_id",
        "user_id",
        "user_name",
        "title",
        "description",
        "tags",
        "content_type",
        "size_bytes",
        "sha256",
        "received_sha256",
        "width",
        "height",
        "created_at",
        "variants",
        "location_removed",
    }
    listed = json.loads(
        invoke("ListFunction", json.loads((EVENTS_DIR / "list_by_user_and_tag.json").read_text()))["body"]
    )
    assert [item["image_id"] for item in listed["items"]] == [body["image_id"]]


def test_download_event_gives_a_url_that_serves_the_bytes(aws: SimpleNamespace) -> None:
    import requests

    seed_example_image(aws)
    body = json.loads(invoke("GetFunction", json.loads((EVENTS_DIR / "download.json").read_text()))["body"])
    # 300 s when signed now; less when the container gave a URL signed lately again (recent_urls)
    assert 240 <= body["expires_in"] <= 300 and "X-Amz-Expires=300" in body["url"]
    assert requests.get(body["url"], timeout=5).content == picture()


def test_unhandled_error_is_a_generic_500(aws: SimpleNamespace) -> None:
    event = json.loads((EVENTS_DIR / "get.json").read_text())
    aws.dynamodb.delete_table(TableName=aws.images_table)  # a misconfiguration, not a client error
    response = invoke("GetFunction", event)
    assert response["statusCode"] == 500
    assert json.loads(response["body"]) == {"message": "Internal server error", "code": "internal_error"}


def test_the_events_etags_are_the_services() -> None:
    from image_service.etags import etag_for

    event = json.loads((EVENTS_DIR / "get_if_none_match.json").read_text())
    assert event["headers"]["If-None-Match"] == etag_for(EXAMPLE_IMAGE_ID, 1)
