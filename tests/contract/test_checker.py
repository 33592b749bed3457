"""The contract checker itself can fail: each kind of drift, made up, is reported.

The end-to-end hook and the fuzzer rely on ``Contract.exchange_problems`` finding these; a
checker that silently passed everything would make every contract test pass too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.contract import contract
from tests.support.contract_generators import EXAMPLE_IMAGE_ID, image_base64

CONTRACT = contract()
IMAGE = CONTRACT.spec["components"]["examples"]["Image"]["value"]
FUNCTION_HEADERS = {
    "Content-Type": "application/json",
    "Cache-Control": "no-store",
    "Access-Control-Allow-Origin": "*",
    "x-amzn-RequestId": "r-1",
}
UPLOAD = {"user_id": "alice", "content_type": "image/gif", "image_base64": image_base64("image/gif")}


def exchange(
    method: str,
    path: str,
    status: int,
    body: Any = None,
    request: Any = None,
    headers: dict[str, str] | None = None,
) -> list[str]:
    raw = b"" if body is None else json.dumps(body).encode()
    sent = None if request is None else json.dumps(request).encode()
    return CONTRACT.exchange_problems(
        method,
        f"http://api.test{path}",
        {"Content-Type": "application/json"},
        sent,
        status,
        headers or FUNCTION_HEADERS,
        raw,
    )


def test_conforming_exchanges_pass() -> None:
    assert exchange("POST", "/images", 201, IMAGE, UPLOAD) == []
    tagged = {**FUNCTION_HEADERS, "ETag": '"v1-0123456789ab"'}
    assert exchange("GET", f"/images/{EXAMPLE_IMAGE_ID}", 200, IMAGE, headers=tagged) == []
    assert exchange("GET", f"/images/{EXAMPLE_IMAGE_ID}", 304, headers=tagged) == []
    assert exchange("GET", f"/images/{EXAMPLE_IMAGE_ID}", 200, IMAGE) == [
        "GET /images/{image_id} 200: header ETag is missing"
    ]
    assert exchange("GET", "/images?user_id=alice", 200, {"items": [IMAGE], "next_token": None}) == []
    assert exchange("DELETE", f"/images/{EXAMPLE_IMAGE_ID}", 204) == []
    gateway = {"Content-Type": "application/json", "x-amzn-RequestId": "r-2"}
    no_route = {"message": "Missing Authentication Token", "code": "MISSING_AUTHENTICATION_TOKEN"}
    assert exchange("PUT", "/images", 403, no_route, headers=gateway) == []


@pytest.mark.parametrize(
    ("drift", "problems"),
    [
        (
            "a field leaks into the image",
            lambda: exchange("GET", f"/images/{EXAMPLE_IMAGE_ID}", 200, {**IMAGE, "object_key": "images/x"}),
        ),
        (
            "a field goes missing",
            lambda: exchange(
                "GET", f"/images/{EXAMPLE_IMAGE_ID}", 200, {k: v for k, v in IMAGE.items() if k != "sha256"}
            ),
        ),
        ("a field changes type", lambda: exchange("POST", "/images", 201, {**IMAGE, "size_bytes": "69"}, UPLOAD)),
        (
            "an over-long page",
            lambda: exchange("GET", "/images?tag=a", 200, {"items": [IMAGE] * 101, "next_token": None}),
        ),
        (
            "an undocumented status",
            lambda: exchange("GET", f"/images/{EXAMPLE_IMAGE_ID}", 409, {"message": "x", "code": "conflict"}),
        ),
        ("an undocumented error code", lambda: exchange("POST", "/images", 400, {"message": "x", "code": "nope"}, {})),
        (
            "an error without its code",
            lambda: exchange("GET", "/images", 400, {"message": "give user_id, tag or both"}),
        ),
        (
            "a missing header",
            lambda: exchange(
                "GET",
                f"/images/{EXAMPLE_IMAGE_ID}",
                200,
                IMAGE,
                headers={"Content-Type": "application/json", "x-amzn-RequestId": "r"},
            ),
        ),
        (
            "a wrong media type",
            lambda: exchange(
                "GET",
                f"/images/{EXAMPLE_IMAGE_ID}",
                200,
                IMAGE,
                headers={**FUNCTION_HEADERS, "Content-Type": "text/html"},
            ),
        ),
        ("a body on a 204", lambda: exchange("DELETE", f"/images/{EXAMPLE_IMAGE_ID}", 204, {"deleted": True})),
        (
            "a server error",
            lambda: exchange(
                "GET", "/images?user_id=a", 500, {"message": "Internal server error", "code": "internal_error"}
            ),
        ),
        ("an unknown route that answers", lambda: exchange("GET", "/nope", 200, IMAGE)),
        ("a missing validation", lambda: exchange("POST", "/images", 201, IMAGE, {**UPLOAD, "title": "x" * 201})),
        (
            "a missing validation of a query",
            lambda: exchange("GET", "/images?user_id=alice&limit=101", 200, {"items": [], "next_token": None}),
        ),
        (
            "a valid request refused",
            lambda: exchange(
                "POST", "/images", 400, {"message": "x", "code": "invalid_field"}, {**UPLOAD, "title": " ok "}
            ),
        ),
        (
            "a valid id refused",
            lambda: exchange("GET", f"/images/{EXAMPLE_IMAGE_ID}", 400, {"message": "x", "code": "invalid_image_id"}),
        ),
    ],
)
def test_drift_is_reported(drift: str, problems: Any) -> None:
    assert problems(), f"the checker missed: {drift}"
