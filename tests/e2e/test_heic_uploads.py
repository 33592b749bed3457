"""iPhone photos (HEIC) over HTTP against the local mode, on all three ways in (issue 19, item 3):
JSON with base64, the raw body, and the pre-signed direct upload finalised by the S3 event. Each
becomes a listed photo whose original, thumbnail and display variant hold no GPS position unless
the uploader keeps it, and whose variants are JPEGs every browser shows."""

from __future__ import annotations

import base64
import hashlib
import io
import time
from collections.abc import Callable

import pytest
import requests
from PIL import Image

from tests.support.heif_photos import MAKE, has_gps, heic_photo
from tests.support.local_mode import Api

Upload = Callable[[Api, str, bytes, bool], str]  # (api, user, photo, keep_location) -> image id


def by_json(api: Api, user: str, photo: bytes, keep: bool) -> str:
    body = {
        "user_id": user,
        "title": "IMG_0042",
        "content_type": "image/heic",
        "keep_location": keep,
        "image_base64": base64.b64encode(photo).decode(),
    }
    response = api.request("POST", "/images", json=body)
    assert response.status_code == 201, response.text
    return response.json()["image_id"]


def by_raw_body(api: Api, user: str, photo: bytes, keep: bool) -> str:
    response = api.request(
        "POST",
        "/images",
        data=photo,
        headers={"Content-Type": "image/heic"},
        params={"user_id": user, "title": "IMG_0042", "keep_location": str(keep).lower()},
    )
    assert response.status_code == 201, response.text
    return response.json()["image_id"]


def by_direct_upload(api: Api, user: str, photo: bytes, keep: bool) -> str:
    body = {"user_id": user, "content_type": "image/heic", "title": "IMG_0042", "keep_location": keep}
    started = api.request("POST", "/images/uploads", json=body)
    assert started.status_code == 201, started.text
    upload = started.json()["upload"]
    posted = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("IMG_0042.HEIC", photo, "image/heic")}, timeout=60
    )
    assert posted.status_code in (200, 201, 204), posted.text
    image_id = started.json()["image_id"]
    deadline = time.monotonic() + 30
    while api.request("GET", f"/images/{image_id}").status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)  # the S3 event finalises it
    return image_id


def served(api: Api, image_id: str, variant: str) -> bytes:
    answer = api.request("GET", f"/images/{image_id}/download", params={"variant": variant})
    assert answer.status_code == 200, answer.text
    return requests.get(answer.json()["url"], timeout=30).content


@pytest.mark.parametrize("upload", [by_json, by_raw_body, by_direct_upload], ids=["json", "raw", "direct"])
def test_a_heic_with_gps_becomes_a_listed_photo_with_nothing_served_holding_gps(
    api: Api, user: str, upload: Upload
) -> None:
    photo = heic_photo((1920, 1440), xmp=True)
    assert has_gps(photo)
    image_id = upload(api, user, photo, False)

    image = api.request("GET", f"/images/{image_id}").json()
    assert (image["content_type"], image["width"], image["height"]) == ("image/heic", 1920, 1440)
    assert image["location_removed"] is True and image["variants"] == ["original", "thumbnail", "display"]
    assert image["received_sha256"] == hashlib.sha256(photo).hexdigest() != image["sha256"]
    assert image_id in [
        item["image_id"] for item in api.request("GET", "/images", params={"user_id": user}).json()["items"]
    ]

    # The original: the same HEIC, the same length, its GPS erased and everything else kept.
    original = served(api, image_id, "original")
    assert original[4:12] == b"ftypheic" and len(original) == len(photo) and not has_gps(original)
    assert image["sha256"] == hashlib.sha256(original).hexdigest()
    with Image.open(io.BytesIO(original)) as stored, Image.open(io.BytesIO(photo)) as sent:
        assert stored.getexif()[0x010F] == MAKE and stored.tobytes() == sent.tobytes()

    for variant, size in (("thumbnail", (320, 240)), ("display", (1600, 1200))):
        data = served(api, image_id, variant)
        with Image.open(io.BytesIO(data)) as shown:
            assert shown.format == "JPEG" and shown.size == size, variant
        assert b"Exif" not in data and not has_gps(data), variant


def test_keep_location_stores_the_heic_as_sent_and_the_variants_still_hold_none(api: Api, user: str) -> None:
    photo = heic_photo((640, 480))
    image_id = by_raw_body(api, user, photo, True)
    assert api.request("GET", f"/images/{image_id}").json()["location_removed"] is False
    assert served(api, image_id, "original") == photo
    for variant in ("thumbnail", "display"):
        assert not has_gps(served(api, image_id, variant))


def test_a_heic_sent_as_octet_stream_or_declared_heif_is_taken(api: Api, user: str) -> None:
    photo = heic_photo((300, 200), gps=False)
    for content_type, stored_as in (("application/octet-stream", "image/heic"), ("image/heif", "image/heif")):
        response = api.request(
            "POST",
            "/images",
            data=photo,
            headers={"Content-Type": content_type},
            params={"user_id": user, "allow_duplicate": "true"},
        )
        assert response.status_code == 201, response.text
        assert (response.json()["content_type"], response.json()["width"]) == (stored_as, 300)


def test_a_damaged_heic_is_400_on_the_raw_path_and_nothing_is_stored(api: Api, user: str) -> None:
    photo = heic_photo((300, 200))
    before = api.storage()
    response = api.request(
        "POST",
        "/images",
        data=photo[: len(photo) // 2],
        headers={"Content-Type": "image/heic"},
        params={"user_id": user},
    )
    assert response.status_code == 400 and response.json()["code"] == "image_damaged", response.text
    assert api.storage() == before
