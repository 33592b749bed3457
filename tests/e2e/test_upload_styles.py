"""The common ways people send a photo to POST /images, through the local gateway (which applies
the template's BinaryMediaTypes as API Gateway does): each is accepted, or refused with a 415
that says exactly what to send."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.images import phone_jpeg
from tests.support.local_mode import Api


@pytest.mark.parametrize("content_type", ["image/jpg", "application/octet-stream", "Application/Octet-Stream"])
def test_a_jpeg_sent_as_image_jpg_or_octet_stream_is_stored_as_jpeg(api: Api, user: str, content_type: str) -> None:
    data = phone_jpeg(gps=False, size=(300, 200), orientation=1)
    response = api.request(
        "POST", "/images", data=data, headers={"Content-Type": content_type}, params={"user_id": user, "tags": "x"}
    )
    assert response.status_code == 201, response.text
    image = response.json()
    assert (image["content_type"], image["size_bytes"], image["tags"]) == ("image/jpeg", len(data), ["x"])
    assert (image["width"], image["height"]) == (300, 200)


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"Content-Type": "application/x-www-form-urlencoded"}, "Content-Type application/x-www-form-urlencoded"),
        ({"Content-Type": "text/plain"}, "Content-Type text/plain"),
        ({}, "no Content-Type"),
    ],
)
def test_an_undeclared_image_is_415_with_what_to_send(api: Api, user: str, headers: dict, named: str) -> None:
    before = api.storage()
    response = api.request("POST", "/images", data=phone_jpeg(), headers=headers, params={"user_id": user})
    assert response.status_code == 415, response.text
    body = response.json()
    assert body["code"] == "unsupported_media_type"
    assert named in body["message"]
    assert "curl --data-binary @photo.jpg -H 'Content-Type: image/jpeg'" in body["message"]
    assert "application/octet-stream" in body["message"] and "image_base64" in body["message"]
    assert api.storage() == before


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_multipart_form_from_curl_is_415_with_what_to_send(api: Api, user: str, tmp_path: Path) -> None:
    (tmp_path / "x.jpg").write_bytes(phone_jpeg())
    answer = subprocess.run(
        ["curl", "-sS", "-F", "file=@x.jpg", f"{api.base_url}/images?user_id={user}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    body = json.loads(answer)
    assert body["code"] == "unsupported_media_type"
    assert "multipart forms (curl -F) are not accepted" in body["message"] and "--data-binary" in body["message"]


def test_size_errors_name_the_route_for_bigger_photos(api: Api, user: str) -> None:
    # One byte over MaxImageBytes, under the payload limits: the function's 413.
    over = phone_jpeg()
    over += b"\0" * (4_500_001 - len(over))
    response = api.request(
        "POST",
        "/images",
        data=over,
        headers={"Content-Type": "image/jpeg"},
        params={"user_id": user},
    )
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "payload_too_large"
    assert "POST /images/uploads" in response.json()["message"]
    # Over Lambda's payload limit: the gateway's own 413 (the template's GatewayResponse).
    response = api.request(
        "POST", "/images", data=b"\0" * 6_500_000, headers={"Content-Type": "image/jpeg"}, params={"user_id": user}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "REQUEST_TOO_LARGE"
    assert "POST /images/uploads" in response.json()["message"]
