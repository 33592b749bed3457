#!/usr/bin/env python3
"""Regenerate ``events/*.json``: API Gateway proxy events for ``sam local invoke`` and the tests.

The events are built by the local mode's own event builder, so they have exactly the shape the
local API Gateway emulator produces. Run from the repository root: ``python scripts/make_events.py``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "local"))
sys.path.insert(0, str(ROOT / "scripts"))

from sample_image import png_bytes  # noqa: E402

from localapi.events import build_proxy_event  # noqa: E402
from localapi.notifications import object_created_event  # noqa: E402

# The image the get, download and delete events refer to (the tests create it first).
EXAMPLE_IMAGE_ID = "01JDQ8ZB3F2T6X8W4N5R7K9M0P"
JSON_HEADERS = {"Content-Type": ["application/json"], "User-Agent": ["curl/8.5.0"]}


def sub_of(username: str) -> str:
    """The example account's ``sub`` (a UUID, as Cognito's): the owner id of what it uploads."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://example.com/users/{username}"))


def upload_body(**overrides: object) -> bytes:
    body = {
        "user_id": "alice",
        "title": "Sunset over the bay",
        "description": "Taken from the pier.",
        "tags": ["Sunset", "beach", " sunset "],
        "content_type": "image/png",
        "image_base64": base64.b64encode(png_bytes(64, 48)).decode("ascii"),
    }
    body.update(overrides)
    return json.dumps(body).encode()


def claims(username: str) -> dict:
    """requestContext.authorizer as API Gateway's Cognito authorizer fills it (values are strings)."""
    return {
        "claims": {
            "sub": sub_of(username),
            "cognito:username": username,
            "email": f"{username}@example.com",
            "token_use": "id",
            "aud": "exampleclientid",
            "iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE",
            "auth_time": "1795608000",
            "iat": "1795608000",
            "exp": "Wed Nov 25 13:00:00 UTC 2026",
        }
    }


def event(method: str, resource: str, path: str, **kwargs: Any) -> dict:
    built = build_proxy_event(
        method=method, resource=resource, path=path, request_id="c6af9ac6-7b61-11e6-9a41-93e8deadbeef", **kwargs
    )  # type: ignore[arg-type]
    built["requestContext"]["requestTime"] = "25/Nov/2026:12:00:00 +0000"
    built["requestContext"]["requestTimeEpoch"] = 1795608000000
    return built


def by_id(
    method: str,
    suffix: str = "",
    image_id: str = EXAMPLE_IMAGE_ID,
    user: str | None = None,
    body: bytes | None = None,
    extra_headers: dict[str, list[str]] | None = None,
    query: dict[str, list[str]] | None = None,
) -> dict:
    return event(
        method,
        "/images/{image_id}" + suffix,
        f"/images/{image_id}{suffix}",
        path_parameters={"image_id": image_id},
        query=query,
        headers={**(JSON_HEADERS if body else {"User-Agent": ["curl/8.5.0"]}), **(extra_headers or {})},
        authorizer=claims(user) if user else None,
        body=body,
    )


def etag_of(image_id: str, version: int) -> str:
    """The ETag the service gives ``image_id`` at ``version`` (image_service.etags.etag_for)."""
    return f'"v{version}-{hashlib.sha256(image_id.encode()).hexdigest()[:12]}"'


def upload(body: bytes, user: str | None = "alice", headers: dict[str, list[str]] | None = None) -> dict:
    return event(
        "POST",
        "/images",
        "/images",
        headers={**JSON_HEADERS, **(headers or {})},
        body=body,
        authorizer=claims(user) if user else None,
    )


def listing(**query: str) -> dict:
    return event(
        "GET", "/images", "/images", query={k: [v] for k, v in query.items()}, headers={"User-Agent": ["curl/8.5.0"]}
    )


EVENTS = {
    # Writes carry the claims API Gateway's Cognito authorizer adds (AuthMode=cognito, the default).
    "upload.json": upload(upload_body()),
    "upload_anonymous.json": upload(upload_body(), user=None),
    "upload_impersonation.json": upload(upload_body(user_id="bob")),
    "upload_invalid_json.json": upload(b'{"user_id": "alice",'),
    "upload_bad_base64.json": upload(upload_body(image_base64="not base64!")),
    "upload_not_an_image.json": upload(
        upload_body(image_base64=base64.b64encode(b"just some text, not a picture").decode())
    ),
    "upload_type_mismatch.json": upload(upload_body(content_type="image/jpeg")),
    "upload_raw.json": event(
        "POST",
        "/images",
        "/images",
        headers={"Content-Type": ["image/png"], "User-Agent": ["curl/8.5.0"]},
        query={"user_id": ["alice"], "title": ["Raw upload"], "tags": ["beach,Sunset"]},
        body=png_bytes(32, 32),
        binary_media_types=["image/*"],
        authorizer=claims("alice"),
    ),
    # A retry-safe upload: the same event again is answered from the first (Idempotent-Replayed).
    "upload_idempotent.json": upload(
        upload_body(title="Sent twice", image_base64=base64.b64encode(png_bytes(40, 30)).decode("ascii")),
        headers={"Idempotency-Key": ["5b0c1f9e-8d4a-4f2b-9c3e-1a7d6e5f4b3c"]},
    ),
    # The same file as upload.json, stored again on purpose (without the flag: 200, duplicate).
    "upload_allow_duplicate.json": event(
        "POST",
        "/images",
        "/images",
        headers={"Content-Type": ["image/png"], "User-Agent": ["curl/8.5.0"]},
        query={"user_id": ["alice"], "title": ["Sunset, again"], "allow_duplicate": ["true"]},
        body=png_bytes(64, 48),
        binary_media_types=["image/*"],
        authorizer=claims("alice"),
    ),
    "upload_direct.json": event(
        "POST",
        "/images/uploads",
        "/images/uploads",
        headers=JSON_HEADERS,
        body=json.dumps({"title": "From my phone", "tags": ["sunset"], "content_type": "image/jpeg"}).encode(),
        authorizer=claims("alice"),
    ),
    "s3_upload_completed.json": object_created_event(
        "images-00000000-0000-4000-8000-000000000000",
        "uploads/01JDQ8ZB3F2T6X8W4N5R7K9M0Q",
        95,
        "d41d8cd98f00b204e9800998ecf8427e",
        "UploadFunction",
    ),
    # In the Cognito mode a listing by user takes the owner id (sub), not the user name.
    "list_by_user.json": listing(user_id=sub_of("alice"), limit="10"),
    "list_by_tag.json": listing(tag="sunset"),
    "list_by_user_and_tag.json": listing(user_id=sub_of("alice"), tag="sunset"),
    "list_missing_filter.json": listing(limit="10"),
    # Is this file already there? (the SHA-256 of upload.json's picture, as sent)
    "list_by_checksum.json": listing(
        user_id=sub_of("alice"), sha256=hashlib.sha256(png_bytes(64, 48)).hexdigest(), limit="10"
    ),
    "list_bad_token.json": listing(user_id=sub_of("alice"), next_token="forged"),  # noqa: S106 - a deliberately bad token
    "get.json": by_id("GET"),
    "get_not_found.json": by_id("GET", image_id="01JDQ8ZB3F2T6X8W4N5R7K9M0Z"),
    "get_invalid_id.json": by_id("GET", image_id="..%2Fetc%2Fpasswd"),
    # The example image is stored at version 1: its current ETag, and one of a state it is no longer in.
    "get_if_none_match.json": by_id("GET", extra_headers={"If-None-Match": [etag_of(EXAMPLE_IMAGE_ID, 1)]}),
    "download.json": by_id("GET", "/download"),
    "download_display.json": by_id("GET", "/download", query={"variant": ["display"]}),
    "download_thumbnail.json": by_id("GET", "/download", query={"variant": ["thumbnail"]}),
    "edit.json": by_id(
        "PATCH", user="alice", body=json.dumps({"title": "Sunset, edited", "tags": ["sunset", "pier"]}).encode()
    ),
    "edit_not_owner.json": by_id("PATCH", user="mallory", body=b'{"title": "mine now"}'),
    "edit_if_match.json": by_id(
        "PATCH", user="alice", body=b'{"title": "Sunset"}', extra_headers={"If-Match": [etag_of(EXAMPLE_IMAGE_ID, 1)]}
    ),
    "edit_stale.json": by_id(
        "PATCH", user="alice", body=b'{"title": "Lost?"}', extra_headers={"If-Match": [etag_of(EXAMPLE_IMAGE_ID, 0)]}
    ),
    "delete_stale.json": by_id("DELETE", user="alice", extra_headers={"If-Match": [etag_of(EXAMPLE_IMAGE_ID, 0)]}),
    "delete_not_owner.json": by_id("DELETE", user="mallory"),
    "delete_anonymous.json": by_id("DELETE"),
    "delete.json": by_id("DELETE", user="alice"),
}


def main() -> int:
    for name, body in EVENTS.items():
        if "Records" in body:  # fixed times, so regenerating changes nothing
            body["Records"][0]["eventTime"] = "2026-11-25T12:00:00.000Z"
            body["Records"][0]["s3"]["object"]["sequencer"] = "0A1B2C3D4E5F6071"
        (ROOT / "events" / name).write_text(json.dumps(body, indent=2) + "\n")
    print(f"wrote {len(EVENTS)} events to events/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
