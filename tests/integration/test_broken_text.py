"""Text that was not valid UTF-8 (issue 14, item 5).

API Gateway gives a non-binary body to Lambda as UTF-8 text with undecodable bytes replaced by
U+FFFD (``build_proxy_event`` does the same, as the local gateway does). A replacement character
is never what a person typed, so every text field refuses it: ``400 invalid_utf8``, nothing stored.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from localapi.events import build_proxy_event
from tests.support.functions import invoke
from tests.support.images import picture
from tests.support.layer import wire_handlers

CLAIMS = {"claims": {"sub": "0b6f4a52-1c1e-4a8e-9d55-6d2a1c3f0a11", "cognito:username": "alice", "token_use": "id"}}
BROKEN = b"\xff\xfe"  # not UTF-8 in any position


@pytest.fixture
def handlers(service: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    wire_handlers(monkeypatch, service, "UploadFunction")
    wire_handlers(monkeypatch, service, "ListFunction")
    yield


def json_bytes(template: dict[str, Any], field: str, inside_list: bool = False) -> bytes:
    """``template`` as JSON with the raw bytes ``BROKEN`` inside ``field``'s string."""
    marker = "BROKEN-HERE"
    body = {**template, field: [f"a{marker}"] if inside_list else f"a{marker}"}
    return json.dumps(body).encode().replace(marker.encode(), BROKEN)


def post(resource: str, body: bytes, method: str = "POST", path: str | None = None, **extra: Any) -> dict[str, Any]:
    event = build_proxy_event(
        method=method,
        resource=resource,
        path=path or resource,
        headers={"Content-Type": ["application/json"]},
        body=body,
        authorizer=CLAIMS,
        **extra,
    )
    return invoke("UploadFunction", event)


def code_of(response: dict[str, Any]) -> tuple[int, str]:
    return response["statusCode"], json.loads(response["body"])["code"]


UPLOAD = {"content_type": "image/png", "image_base64": base64.b64encode(picture()).decode()}


@pytest.mark.parametrize(("field", "inside_list"), [("title", False), ("description", False), ("tags", True)])
def test_broken_text_in_an_upload_is_refused_and_nothing_stored(
    field: str, inside_list: bool, aws: SimpleNamespace, handlers: None, snapshot: Any
) -> None:
    response = post("/images", json_bytes(UPLOAD, field, inside_list))
    assert code_of(response) == (400, "invalid_utf8")
    assert field in json.loads(response["body"])["message"]
    assert snapshot() == {"objects": [], "images": [], "tags": []}


@pytest.mark.parametrize(("field", "inside_list"), [("title", False), ("description", False), ("tags", True)])
def test_broken_text_in_a_direct_upload_or_an_edit_is_refused(
    field: str, inside_list: bool, aws: SimpleNamespace, handlers: None, snapshot: Any
) -> None:
    started = post("/images/uploads", json_bytes({"content_type": "image/png"}, field, inside_list))
    assert code_of(started) == (400, "invalid_utf8")
    assert snapshot() == {"objects": [], "images": [], "tags": []}
    created = post("/images", json.dumps(UPLOAD).encode())
    image_id = json.loads(created["body"])["image_id"]
    edited = post(
        "/images/{image_id}",
        json_bytes({}, field, inside_list),
        method="PATCH",
        path=f"/images/{image_id}",
        path_parameters={"image_id": image_id},
    )
    assert code_of(edited) == (400, "invalid_utf8")


def test_broken_text_in_raw_upload_query_parameters_is_refused(aws: SimpleNamespace, handlers: None) -> None:
    event = build_proxy_event(
        method="POST",
        resource="/images",
        path="/images",
        query={"title": ["a\ufffd"]},
        headers={"Content-Type": ["image/png"]},
        body=picture(),
        binary_media_types=["image/png"],
        authorizer=CLAIMS,
    )
    assert code_of(invoke("UploadFunction", event)) == (400, "invalid_utf8")


def test_a_real_replacement_free_title_is_still_stored(aws: SimpleNamespace, handlers: None) -> None:
    response = post("/images", json.dumps({**UPLOAD, "title": "Café ☕ 東京"}).encode())
    assert response["statusCode"] == 201 and json.loads(response["body"])["title"] == "Café ☕ 東京"
