"""Idempotency-Key on the upload function's routes (issue 19, item 1).

A retry with the same key and the same request is answered from the record (same status and
body, ``Idempotent-Replayed: true``) and stores nothing; a different request under the key is
422; a repeat while the first still runs is 409; keys are scoped per caller and route.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from image_service.idempotency import IdempotencyStore, fingerprint, record_key
from localapi.events import build_proxy_event
from tests.support.faults import fail_call
from tests.support.functions import invoke, load_function
from tests.support.images import picture
from tests.support.layer import wire_handlers
from tests.support.storm import atomic_aws_requests
from tests.support.threads import all_at_once

SUB = "0b6f4a52-1c1e-4a8e-9d55-6d2a1c3f0a11"
OTHER_SUB = "7d1e2f30-4b5c-4d6e-8f70-8192a3b4c5d6"


def claims(sub: str = SUB) -> dict[str, Any]:
    return {"claims": {"sub": sub, "cognito:username": f"user-{sub[:4]}", "token_use": "id"}}


@pytest.fixture
def table(aws: SimpleNamespace) -> str:
    return load_function("UploadFunction").SETTINGS.idempotency_table


@pytest.fixture
def handlers(service: Any, aws: SimpleNamespace, table: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    module = load_function("UploadFunction")
    wire_handlers(monkeypatch, service, "UploadFunction")
    monkeypatch.setattr(module, "IDEMPOTENCY", IdempotencyStore(aws.dynamodb, table))
    yield


def upload_event(
    key: str | None,
    *,
    title: str = "a photo",
    sub: str = SUB,
    data: bytes | None = None,
    query: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    body = {
        "content_type": "image/png",
        "title": title,
        "image_base64": base64.b64encode(data or picture()).decode(),
        # The same picture each time: these tests are about keys, not about duplicate files.
        "allow_duplicate": True,
    }
    headers = {"Content-Type": ["application/json"]}
    if key is not None:
        headers["Idempotency-Key"] = [key]
    return build_proxy_event(
        method="POST",
        resource="/images",
        path="/images",
        headers=headers,
        body=json.dumps(body).encode(),
        query=query,
        authorizer=claims(sub),
    )


def image_rows(aws: SimpleNamespace) -> list[dict[str, Any]]:
    return [row for row in aws.dynamodb.scan(TableName=aws.images_table)["Items"] if "created_at" in row]


def objects(aws: SimpleNamespace) -> list[str]:
    return sorted(obj["Key"] for obj in aws.s3.list_objects_v2(Bucket=aws.bucket).get("Contents", []))


def code_of(response: dict[str, Any]) -> tuple[int, str]:
    return response["statusCode"], json.loads(response["body"]).get("code", "")


def test_a_retried_upload_with_the_same_key_stores_one_photo_and_replays_the_answer(
    aws: SimpleNamespace, handlers: None
) -> None:
    first = invoke("UploadFunction", upload_event("retry-1"))
    assert first["statusCode"] == 201 and "Idempotent-Replayed" not in first["headers"]
    stored = objects(aws)
    again = invoke("UploadFunction", upload_event("retry-1"))
    assert again["statusCode"] == 201
    assert again["body"] == first["body"]
    assert again["headers"]["Idempotent-Replayed"] == "true"
    assert len(image_rows(aws)) == 1 and objects(aws) == stored


def test_without_a_key_every_request_stores_a_photo(aws: SimpleNamespace, handlers: None) -> None:
    assert invoke("UploadFunction", upload_event(None))["statusCode"] == 201
    assert invoke("UploadFunction", upload_event(None, title="another"))["statusCode"] == 201
    assert len(image_rows(aws)) == 2


def test_the_same_key_with_a_different_request_is_422_and_stores_nothing(aws: SimpleNamespace, handlers: None) -> None:
    assert invoke("UploadFunction", upload_event("k"))["statusCode"] == 201
    stored = objects(aws)
    assert code_of(invoke("UploadFunction", upload_event("k", title="changed"))) == (422, "idempotency_key_reused")
    assert len(image_rows(aws)) == 1 and objects(aws) == stored


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there", "new\nline"])
def test_a_malformed_key_is_400_and_stores_nothing(key: str, aws: SimpleNamespace, handlers: None) -> None:
    assert code_of(invoke("UploadFunction", upload_event(key))) == (400, "invalid_idempotency_key")
    assert image_rows(aws) == [] and objects(aws) == []


def test_a_keyed_request_gets_the_answer_its_query_earns_without_a_key(aws: SimpleNamespace, handlers: None) -> None:
    # The key's record names the request by its query as sent: reading it must not judge it
    # (a repeated parameter is for the handler to answer, and a JSON upload reads no query).
    query = {"description": ["one", "two"], "user_id": ["a", "b"]}
    unkeyed = code_of(invoke("UploadFunction", upload_event(None, query=query)))
    assert unkeyed == (400, "unknown_field")
    assert code_of(invoke("UploadFunction", upload_event("k", query=query))) == unkeyed
    assert image_rows(aws) == [] and objects(aws) == []


def test_the_longest_key_and_spaces_are_accepted(aws: SimpleNamespace, handlers: None) -> None:
    assert invoke("UploadFunction", upload_event("k" * 255))["statusCode"] == 201
    assert invoke("UploadFunction", upload_event("a key with ~ spaces!", title="b"))["statusCode"] == 201


def test_keys_are_per_caller(aws: SimpleNamespace, handlers: None) -> None:
    assert invoke("UploadFunction", upload_event("shared"))["statusCode"] == 201
    other = invoke("UploadFunction", upload_event("shared", sub=OTHER_SUB))
    assert other["statusCode"] == 201 and "Idempotent-Replayed" not in other["headers"]
    assert len(image_rows(aws)) == 2


def test_a_repeat_while_the_first_runs_is_409_then_a_replay(
    aws: SimpleNamespace, service: Any, handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    upload = service.uploads.upload

    def slow_upload(new: Any) -> Any:
        entered.set()
        assert release.wait(10)
        return upload(new)

    monkeypatch.setattr(service.uploads, "upload", slow_upload)
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.update(first=invoke("UploadFunction", upload_event("k"))))
    first.start()
    assert entered.wait(10)
    assert code_of(invoke("UploadFunction", upload_event("k"))) == (409, "idempotency_in_progress")
    release.set()
    first.join(10)
    assert results["first"]["statusCode"] == 201
    replay = invoke("UploadFunction", upload_event("k"))
    assert replay["body"] == results["first"]["body"] and replay["headers"]["Idempotent-Replayed"] == "true"
    assert len(image_rows(aws)) == 1


def test_concurrent_repeats_give_one_201_and_replays_or_409s(aws: SimpleNamespace, handlers: None) -> None:
    with atomic_aws_requests():  # each request atomic, as in AWS (in-process moto has no locks)
        answers = all_at_once([lambda: invoke("UploadFunction", upload_event("burst"))] * 4)
    fresh = [a for a in answers if a["statusCode"] == 201 and "Idempotent-Replayed" not in a["headers"]]
    others = [a for a in answers if a not in fresh]
    assert len(answers) == 4 and len(fresh) == 1
    for answer in others:
        assert answer["headers"].get("Idempotent-Replayed") == "true" or code_of(answer) == (
            409,
            "idempotency_in_progress",
        )
    assert len(image_rows(aws)) == 1


def test_a_failed_request_releases_its_key_for_the_retry(aws: SimpleNamespace, handlers: None) -> None:
    restore = fail_call(aws.dynamodb, "TransactWriteItems")
    try:
        assert invoke("UploadFunction", upload_event("after-503"))["statusCode"] == 503
    finally:
        restore()
    retry = invoke("UploadFunction", upload_event("after-503"))
    assert retry["statusCode"] == 201 and "Idempotent-Replayed" not in retry["headers"]
    assert len(image_rows(aws)) == 1


def test_a_record_stuck_in_progress_past_the_timeout_counts_as_expired(
    aws: SimpleNamespace, table: str, handlers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = [1_000_000.0]
    store = IdempotencyStore(aws.dynamodb, table, lambda: now[0])
    monkeypatch.setattr(load_function("UploadFunction"), "IDEMPOTENCY", store)
    event = upload_event("crashed")
    # An invocation that claimed the key and was killed: its record stays "in progress".
    assert store._claim(record_key(f"sub:{SUB}", event, "crashed"), fingerprint(event), 20)
    assert code_of(invoke("UploadFunction", event)) == (409, "idempotency_in_progress")
    now[0] += 21  # the dead invocation's function timeout has passed
    assert invoke("UploadFunction", event)["statusCode"] == 201
    now[0] += 24 * 3600 + 1  # and after 24 h the key is free again, even before TTL removes it
    assert "Idempotent-Replayed" not in invoke("UploadFunction", event)["headers"]


def test_a_repeated_edit_is_replayed_and_a_different_one_refused(aws: SimpleNamespace, handlers: None) -> None:
    image_id = json.loads(invoke("UploadFunction", upload_event(None))["body"])["image_id"]

    def edit(key: str, title: str) -> dict[str, Any]:
        return invoke(
            "UploadFunction",
            build_proxy_event(
                method="PATCH",
                resource="/images/{image_id}",
                path=f"/images/{image_id}",
                path_parameters={"image_id": image_id},
                headers={"Content-Type": ["application/json"], "Idempotency-Key": [key]},
                body=json.dumps({"title": title}).encode(),
                authorizer=claims(),
            ),
        )

    first = edit("e1", "first")
    assert first["statusCode"] == 200
    version = aws.dynamodb.get_item(TableName=aws.images_table, Key={"image_id": {"S": image_id}})["Item"]["version"]
    again = edit("e1", "first")
    assert again["body"] == first["body"] and again["headers"]["Idempotent-Replayed"] == "true"
    # The answer's entity tag comes back with it (the spec requires it on every PATCH 200).
    assert again["headers"]["ETag"] == first["headers"]["ETag"]
    assert set(again["headers"]["Access-Control-Expose-Headers"].split(", ")) == {"ETag", "Idempotent-Replayed"}
    item = aws.dynamodb.get_item(TableName=aws.images_table, Key={"image_id": {"S": image_id}})["Item"]
    assert item["version"] == version
    assert code_of(edit("e1", "second")) == (422, "idempotency_key_reused")
    # the key is per route: the same key on an upload is a new request
    assert invoke("UploadFunction", upload_event("e1"))["statusCode"] == 201


def test_a_repeated_direct_upload_start_reserves_one_id(aws: SimpleNamespace, handlers: None) -> None:
    def start() -> dict[str, Any]:
        return invoke(
            "UploadFunction",
            build_proxy_event(
                method="POST",
                resource="/images/uploads",
                path="/images/uploads",
                headers={"Content-Type": ["application/json"], "Idempotency-Key": ["direct-1"]},
                body=json.dumps({"content_type": "image/jpeg"}).encode(),
                authorizer=claims(),
            ),
        )

    first, again = start(), start()
    assert first["statusCode"] == again["statusCode"] == 201
    assert json.loads(again["body"])["image_id"] == json.loads(first["body"])["image_id"]
    assert len(aws.dynamodb.scan(TableName=aws.images_table)["Items"]) == 1
