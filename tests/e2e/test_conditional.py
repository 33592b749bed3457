"""No lost edits over HTTP (issue 19, item 5), and the display variant, through the local mode."""

from __future__ import annotations

import io

import requests
from PIL import Image

from tests.support.local_mode import Api, fresh_session
from tests.support.threads import all_at_once


def test_etag_304_and_412_through_the_gateway(api: Api, user: str) -> None:
    image_id = api.upload(user)["image_id"]
    got = api.request("GET", f"/images/{image_id}")
    etag = got.headers["ETag"]
    assert "ETag" in got.headers["Access-Control-Expose-Headers"]
    same = api.request("GET", f"/images/{image_id}", headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    edited = api.request("PATCH", f"/images/{image_id}", json={"title": "first"}, headers={"If-Match": etag})
    assert edited.status_code == 200 and edited.headers["ETag"] != etag
    before = api.storage()
    stale = api.request("PATCH", f"/images/{image_id}", json={"title": "lost"}, headers={"If-Match": etag})
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    gone = api.request("DELETE", f"/images/{image_id}", headers={"If-Match": etag})
    assert gone.status_code == 412
    assert api.storage() == before
    assert api.request("DELETE", f"/images/{image_id}", headers={"If-Match": "*"}).status_code == 204


def test_the_preflight_allows_the_precondition_headers(api: Api, user: str) -> None:
    image_id = api.upload(user)["image_id"]
    preflight = api.request(
        "OPTIONS",
        f"/images/{image_id}",
        headers={"Origin": "http://example.test", "Access-Control-Request-Method": "PATCH"},
    )
    allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"if-match", "if-none-match"} <= allowed


def test_two_edits_from_the_same_etag_at_once_one_wins_one_is_412(api: Api, user: str) -> None:
    image_id = api.upload(user)["image_id"]
    etag = api.request("GET", f"/images/{image_id}").headers["ETag"]

    def edit(title: str) -> int:
        return (
            fresh_session(api)
            .request("PATCH", f"/images/{image_id}", json={"title": title}, headers={"If-Match": etag})
            .status_code
        )

    outcomes = all_at_once([lambda: edit("mine"), lambda: edit("theirs")])
    assert sorted(outcomes) == [200, 412], outcomes
    final = api.request("GET", f"/images/{image_id}")
    assert final.json()["title"] in ("mine", "theirs") and final.headers["ETag"] != etag


def test_the_display_variant_downloads_as_a_jpeg(api: Api, user: str) -> None:
    image = api.upload(user, fmt="JPEG")
    assert image["variants"] == ["original", "thumbnail", "display"]
    answer = api.request("GET", f"/images/{image['image_id']}/download", params={"variant": "display"}).json()
    fetched = requests.get(answer["url"], timeout=10)
    assert fetched.status_code == 200 and fetched.headers["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(fetched.content)) as display:
        assert display.format == "JPEG" and max(display.size) <= 1600
