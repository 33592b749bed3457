"""Idempotency-Key and duplicate uploads over HTTP, through the local mode (issue 19, items 1-2).

The local mode runs the upload function with its own role's permissions only, so these also
prove that the role has what the new table and index need (and no other role has them); every
response is checked against api/openapi.yaml by ``Api.request``.
"""

from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localapi.app import LocalApp
from tests.support.images import picture
from tests.support.local_mode import Api, clients_of, names

PHOTO = picture("PNG", (21, 13))


def raw_upload(api: Api, user: str, key: str | None = None, data: bytes = PHOTO, **query: str) -> Any:
    headers = {"Content-Type": "image/png", **({"Idempotency-Key": key} if key else {})}
    return api.request("POST", "/images", params={"user_id": user, **query}, data=data, headers=headers)


def listed(api: Api, user: str) -> list[str]:
    return api.list_all(user_id=user)


def test_a_retried_upload_with_its_key_is_one_photo(api: Api, user: str) -> None:
    key = str(uuid.uuid4())
    first = raw_upload(api, user, key, title="first")
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = raw_upload(api, user, key, title="first")
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert listed(api, user) == [first.json()["image_id"]]
    reused = raw_upload(api, user, key, title="something else")
    assert (reused.status_code, reused.json()["code"]) == (422, "idempotency_key_reused")
    bad = raw_upload(api, user, "x" * 256)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_idempotency_key")
    assert listed(api, user) == [first.json()["image_id"]]


def test_concurrent_repeats_are_one_201_and_replays_or_409s(api: Api, user: str) -> None:
    key = str(uuid.uuid4())
    start = threading.Barrier(4)
    answers: list[Any] = []

    def send() -> None:
        start.wait(30)
        answers.append(raw_upload(api, user, key, data=picture("PNG", (23, 17))))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(answers) == 4
    fresh = [a for a in answers if a.status_code == 201 and "Idempotent-Replayed" not in a.headers]
    assert len(fresh) == 1
    for answer in answers:
        if answer is not fresh[0]:
            assert answer.headers.get("Idempotent-Replayed") == "true" or (
                answer.status_code,
                answer.json()["code"],
            ) == (409, "idempotency_in_progress")
    assert listed(api, user) == [fresh[0].json()["image_id"]]


def test_the_same_file_again_is_the_stored_photo_unless_allowed(api: Api, user: str) -> None:
    first = raw_upload(api, user)
    assert first.status_code == 201 and "duplicate" not in first.json()
    again = api.request(
        "POST",
        "/images",
        json={
            "user_id": user,
            "content_type": "image/png",
            "image_base64": base64.b64encode(PHOTO).decode(),
        },
    )
    assert again.status_code == 200 and again.json() == {**first.json(), "duplicate": True}
    second = raw_upload(api, user, allow_duplicate="true")
    assert second.status_code == 201 and second.json()["image_id"] != first.json()["image_id"]
    checksum = hashlib.sha256(PHOTO).hexdigest()
    page = api.request("GET", "/images", params={"user_id": user, "sha256": checksum})
    assert page.status_code == 200
    assert [item["image_id"] for item in page.json()["items"]] == [second.json()["image_id"], first.json()["image_id"]]
    assert api.request("GET", "/images", params={"user_id": user, "sha256": "0" * 64}).json()["items"] == []


def test_only_the_upload_role_has_the_idempotency_table(app: LocalApp) -> None:
    tables = [definition["TableName"] for definition in app.template.table_definitions()]
    idempotency_table = next(name for name in tables if name.endswith("-idempotency"))
    images_table, _, _ = names(app)
    item = {"key": {"S": f"probe-{uuid.uuid4()}"}, "expires_at": {"N": "1"}}
    upload_dynamodb, _ = clients_of(app, "UploadFunction")
    upload_dynamodb.put_item(TableName=idempotency_table, Item=item)
    upload_dynamodb.delete_item(TableName=idempotency_table, Key={"key": item["key"]})
    upload_dynamodb.query(
        TableName=images_table,
        IndexName="user_sha256-index",
        KeyConditionExpression="user_sha256 = :k",
        ExpressionAttributeValues={":k": {"S": "nobody#0"}},
    )
    for function in ("GetFunction", "ListFunction", "DeleteFunction"):
        dynamodb, _ = clients_of(app, function)
        with pytest.raises(ClientError) as refused:
            dynamodb.put_item(TableName=idempotency_table, Item=item)
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
