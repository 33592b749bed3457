"""Real phone photos over HTTP against the local mode: pre-signed direct uploads finalised by the
S3 event, raw binary uploads, thumbnails and location privacy."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import time
from typing import Any

import pytest
import requests
from PIL import Image

from image_service.location import strip_location
from tests.support.images import GPS, ORIENTATION, phone_jpeg, picture
from tests.support.local_mode import Api, objects, start_upload


def exif_of(data: bytes) -> Image.Exif:
    with Image.open(io.BytesIO(data)) as opened:
        return opened.getexif()


def post_file(started: dict, data: bytes, content_type: str = "image/jpeg") -> None:
    upload = started["upload"]
    response = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("photo.jpg", data, content_type)}, timeout=60
    )
    assert response.status_code in (200, 201, 204), response.text


def wait_for(api: Api, image_id: str, timeout: float = 30.0) -> requests.Response:
    deadline = time.monotonic() + timeout
    while True:
        response = api.request("GET", f"/images/{image_id}")
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def assert_rejected_and_removed(api: Api, started: dict, user: str, code: str, timeout: float = 30.0) -> None:
    """The S3 event removed the uploaded file, nothing of it is listed, and GET says why."""
    upload_key = f"uploads/{started['image_id']}"
    deadline = time.monotonic() + timeout
    while objects(api, upload_key) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert objects(api, upload_key) == []
    response = api.request("GET", f"/images/{started['image_id']}")
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code and response.json()["message"].startswith("the upload was rejected: ")
    assert api.request("GET", f"/images/{started['image_id']}/download").status_code == 404
    assert api.list_all(user_id=user) == []


def test_twelve_megabyte_photo_goes_direct_to_storage(api: Api, user: str, tag: str) -> None:
    original = phone_jpeg(target_bytes=12_000_000)
    assert len(original) > 11_000_000  # far over the 4.5 MB a JSON upload allows

    started = start_upload(api, user, tags=[tag])
    assert started["max_bytes"] == 25 * 1024 * 1024
    fields = started["upload"]["fields"]
    assert fields["key"] == f"uploads/{started['image_id']}" and fields["Content-Type"] == "image/jpeg"
    assert api.request("GET", f"/images/{started['image_id']}").status_code == 404  # not visible yet

    post_file(started, original)
    response = wait_for(api, started["image_id"])
    assert response.status_code == 200, response.text
    image = response.json()
    assert image["location_removed"] is True and image["variants"] == ["original", "thumbnail", "display"]
    assert api.list_all(user_id=user, tag=tag) == [started["image_id"]]

    # The stored photo is the upload minus its GPS block, byte for byte, orientation kept.
    url = api.request("GET", f"/images/{started['image_id']}/download").json()["url"]
    served = requests.get(url, timeout=60).content
    assert served == strip_location(original, "image/jpeg")[0]
    assert served != original and len(original) - len(served) < 1000
    assert GPS not in exif_of(served) and exif_of(served)[ORIENTATION] == 6
    assert image["size_bytes"] == len(served)
    assert image["sha256"] == hashlib.sha256(served).hexdigest()  # of the stored bytes, GPS removed
    assert objects(api, f"uploads/{started['image_id']}") == []  # the upload object is gone


def test_jpeg_with_gps_comes_back_without_it_unless_kept(api: Api, user: str) -> None:
    for keep in (False, True):
        response = api.request(
            "POST",
            "/images",
            data=phone_jpeg(),
            headers={"Content-Type": "image/jpeg"},
            # The same file twice: the second is stored anew (else the first is answered, 200).
            params={"user_id": user, "keep_location": str(keep).lower(), "allow_duplicate": "true"},
        )
        assert response.status_code == 201, response.text
        assert response.json()["location_removed"] is (not keep)
        url = api.request("GET", f"/images/{response.json()['image_id']}/download").json()["url"]
        assert (GPS in exif_of(requests.get(url, timeout=10).content)) is keep


def test_thumbnail_has_the_configured_size_and_is_upright(api: Api, user: str) -> None:
    response = api.request(
        "POST",
        "/images",
        data=phone_jpeg(size=(1200, 800), orientation=6),
        headers={"Content-Type": "image/jpeg"},
        params={"user_id": user},
    )
    image = response.json()
    # Stored 1200x800, orientation 6 (a quarter turn): displayed, and reported, 800x1200.
    assert (image["width"], image["height"]) == (800, 1200)
    thumbnail = api.request("GET", f"/images/{image['image_id']}/download", params={"variant": "thumbnail"}).json()
    assert thumbnail["variant"] == "thumbnail"
    with Image.open(io.BytesIO(requests.get(thumbnail["url"], timeout=10).content)) as opened:
        # Orientation 6 (rotate 90°) is applied: the landscape photo's thumbnail stands upright.
        assert opened.format == "JPEG" and opened.size == (213, 320)  # 800x1200 scaled to a 320 px longest side
    assert api.request("GET", f"/images/{image['image_id']}/download", params={"variant": "poster"}).status_code == 400


def test_direct_upload_that_lies_about_its_type_is_removed(api: Api, user: str) -> None:
    started = start_upload(api, user)
    post_file(started, picture("PNG"), "image/jpeg")  # S3 would take it: the policy only sees the header
    assert_rejected_and_removed(api, started, user, "content_type_mismatch")


def test_direct_upload_over_the_maximum_is_refused_by_storage(api: Api, user: str) -> None:
    started = start_upload(api, user)
    upload = started["upload"]
    oversize = phone_jpeg() + b"\0" * (25 * 1024 * 1024)
    response = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("photo.jpg", oversize, "image/jpeg")}, timeout=60
    )
    # As S3 answers: the form's content-length-range is enforced before anything is stored.
    assert response.status_code == 400 and "<Code>EntityTooLarge</Code>" in response.text
    # Refused before anything is stored: no event, so the upload stays pending (404, unlisted).
    assert objects(api, f"uploads/{started['image_id']}") == []
    assert api.request("GET", f"/images/{started['image_id']}").status_code == 404
    assert api.list_all(user_id=user) == []


def test_never_completed_upload_is_invisible(api: Api, user: str, tag: str) -> None:
    started = start_upload(api, user, tags=[tag])
    assert api.request("GET", f"/images/{started['image_id']}").status_code == 404
    assert api.request("GET", f"/images/{started['image_id']}/download").status_code == 404
    assert api.request("DELETE", f"/images/{started['image_id']}").status_code == 404
    assert api.list_all(user_id=user) == [] and api.list_all(tag=tag) == []


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_raw_binary_upload_with_curl(api: Api, user: str, tmp_path: Any) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(phone_jpeg(gps=False))
    done = subprocess.run(
        [
            "curl",
            "-sS",
            "--data-binary",
            f"@{photo}",
            "-H",
            "Content-Type: image/jpeg",
            f"{api.base_url}/images?user_id={user}&title=Pier&tags=beach,Sunset",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    import json

    image = json.loads(done.stdout)
    assert image["user_id"] == user and image["tags"] == ["beach", "sunset"] and image["title"] == "Pier"
    url = api.request("GET", f"/images/{image['image_id']}/download").json()["url"]
    assert requests.get(url, timeout=10).content == photo.read_bytes()  # no GPS: stored as sent


def test_raw_upload_that_is_not_what_it_claims_is_400(api: Api, user: str) -> None:
    before = api.storage()
    response = api.request(
        "POST", "/images", data=picture("PNG"), headers={"Content-Type": "image/jpeg"}, params={"user_id": user}
    )
    assert response.status_code == 400 and response.json()["code"] == "content_type_mismatch"
    assert api.storage() == before
