"""No lost edits (issue 19, item 5): ETags from the row's version, If-Match and If-None-Match, through
the service and the handlers (the ETag and precondition rules alone: tests/unit/test_etags.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from image_service.errors import PreconditionFailed, ServiceUnavailable
from image_service.etags import parse_precondition
from image_service.models import ImageEdit
from tests.support.builders import new_image
from tests.support.faults import before_call, fail_call
from tests.support.functions import invoke


def test_the_etag_changes_with_every_edit(service: Any) -> None:
    image = service.uploads.upload(new_image())
    _, first = service.reads.get_with_etag(image.image_id)
    _, returned = service.edits.edit_with_etag(image.image_id, ImageEdit(title="one"), caller="alice")
    _, read = service.reads.get_with_etag(image.image_id)
    assert returned == read != first


def test_a_stale_if_match_is_412_and_changes_nothing(service: Any, snapshot: Any) -> None:
    image = service.uploads.upload(new_image(tags=("a",)))
    _, stale = service.reads.get_with_etag(image.image_id)
    service.edits.edit(image.image_id, ImageEdit(title="someone else's"), caller="alice")
    before = snapshot()
    with pytest.raises(PreconditionFailed) as raised:
        service.edits.edit_with_etag(
            image.image_id,
            ImageEdit(title="mine", tags=("b",)),
            caller="alice",
            if_match=parse_precondition(stale, "If-Match"),
        )
    assert raised.value.status == 412 and raised.value.code == "precondition_failed"
    with pytest.raises(PreconditionFailed):
        service.edits.delete(image.image_id, caller="alice", if_match=parse_precondition(stale, "If-Match"))
    assert snapshot() == before
    assert service.reads.get(image.image_id).title == "someone else's"


def test_a_current_or_star_if_match_lets_the_write_through(service: Any, snapshot: Any) -> None:
    image = service.uploads.upload(new_image())
    _, current = service.reads.get_with_etag(image.image_id)
    edited, _ = service.edits.edit_with_etag(
        image.image_id, ImageEdit(title="ok"), caller="alice", if_match=parse_precondition(current, "If-Match")
    )
    assert edited.title == "ok"
    service.edits.delete(image.image_id, caller="alice", if_match=parse_precondition("*", "If-Match"))
    assert snapshot() == {"objects": [], "images": [], "tags": []}


def test_an_edit_landing_between_the_check_and_the_write_is_not_overwritten(service: Any) -> None:
    """The race: If-Match is checked against the version read, another edit commits before our
    write; the write (conditional on the version read) fails, and the re-read gives 412."""
    image = service.uploads.upload(new_image())
    _, current = service.reads.get_with_etag(image.image_id)
    raced = []

    def a_rival_edit_commits_first(_: dict[str, Any]) -> None:
        if not raced:  # the rival's own write comes through here too
            raced.append(True)
            service.edits.edit(image.image_id, ImageEdit(title="rival"), caller="alice")

    before_call(service.clients.dynamodb, "TransactWriteItems", a_rival_edit_commits_first)
    with pytest.raises(PreconditionFailed):
        service.edits.edit_with_etag(
            image.image_id, ImageEdit(title="mine"), caller="alice", if_match=parse_precondition(current, "If-Match")
        )
    assert raced and service.reads.get(image.image_id).title == "rival"


def test_a_delete_restored_after_a_failed_object_removal_keeps_its_etag(service: Any, aws: SimpleNamespace) -> None:
    """The metadata put back must not come back at version 1: an ETag from before an edit
    would then match a later state (a lost edit through the back door)."""
    image = service.uploads.upload(new_image())
    service.edits.edit(image.image_id, ImageEdit(title="edited"), caller="alice")
    _, current = service.reads.get_with_etag(image.image_id)
    restore = fail_call(aws.s3, "DeleteObjects")
    try:
        with pytest.raises(ServiceUnavailable):
            service.edits.delete(image.image_id, caller="alice")
    finally:
        restore()
    assert service.reads.get_with_etag(image.image_id)[1] == current


def _event(method: str, resource: str, image_id: str, headers: dict[str, str], body: Any = None) -> dict[str, Any]:
    return {
        "httpMethod": method,
        "resource": resource,
        "path": resource.replace("{image_id}", image_id),
        "pathParameters": {"image_id": image_id},
        "headers": headers,
        "body": None if body is None else json.dumps(body),
        "requestContext": {"authorizer": {"claims": {"sub": "alice", "cognito:username": "alice"}}},
    }


def test_handlers_send_etag_answer_304_and_412(aws: SimpleNamespace, service: Any) -> None:
    image = service.uploads.upload(new_image())
    got = invoke("GetFunction", _event("GET", "/images/{image_id}", image.image_id, {}))
    etag = got["headers"]["ETag"]
    assert got["statusCode"] == 200 and "ETag" in got["headers"]["Access-Control-Expose-Headers"]
    same = invoke("GetFunction", _event("GET", "/images/{image_id}", image.image_id, {"if-none-match": etag}))
    assert same["statusCode"] == 304 and same["body"] == "" and same["headers"]["ETag"] == etag
    patched = invoke(
        "UploadFunction",
        _event("PATCH", "/images/{image_id}", image.image_id, {"If-Match": etag}, {"title": "new"}),
    )
    assert patched["statusCode"] == 200, patched["body"]
    new_etag = patched["headers"]["ETag"]
    assert new_etag != etag
    changed = invoke("GetFunction", _event("GET", "/images/{image_id}", image.image_id, {"If-None-Match": etag}))
    assert changed["statusCode"] == 200 and changed["headers"]["ETag"] == new_etag
    stale = invoke("DeleteFunction", _event("DELETE", "/images/{image_id}", image.image_id, {"If-Match": etag}))
    assert stale["statusCode"] == 412 and json.loads(stale["body"])["code"] == "precondition_failed"
    bad = invoke("DeleteFunction", _event("DELETE", "/images/{image_id}", image.image_id, {"If-Match": "nope"}))
    assert bad["statusCode"] == 400 and json.loads(bad["body"])["code"] == "invalid_precondition"
    assert service.reads.get(image.image_id).title == "new"
