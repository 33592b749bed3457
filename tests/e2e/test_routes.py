"""Every route over real HTTP against the local mode: the README's walk-through, and the gateway's
own answers (unknown route, payload limit)."""

from __future__ import annotations

import base64
import time

import requests

from tests.support.images import picture
from tests.support.local_mode import Api


def test_walk_through_upload_list_get_download_delete(api: Api, user: str, tag: str) -> None:
    # Upload
    created = api.upload(user, tags=[tag.upper(), "Other"], title="Sunset")
    image_id = created["image_id"]
    assert created["tags"] == [tag, "other"] and created["title"] == "Sunset"

    # List by user, by tag, by both
    assert api.list_all(user_id=user) == [image_id]
    assert image_id in api.list_all(tag=tag)
    assert api.list_all(user_id=user, tag=tag) == [image_id]

    # Get
    response = api.request("GET", f"/images/{image_id}")
    assert response.status_code == 200 and response.json() == created

    # Download: the pre-signed URL serves the very bytes that were uploaded
    download = api.request("GET", f"/images/{image_id}/download").json()
    assert download["expires_in"] == 300
    assert requests.get(download["url"], timeout=10).content == picture("PNG")

    # Delete, then everything about it is gone
    assert api.request("DELETE", f"/images/{image_id}").status_code == 204
    assert api.request("GET", f"/images/{image_id}").status_code == 404
    assert api.request("DELETE", f"/images/{image_id}").status_code == 404
    assert api.list_all(user_id=user) == [] and api.list_all(tag=tag) == []
    assert requests.get(download["url"], timeout=10).status_code == 404


def test_pagination_over_http_has_no_gaps_or_duplicates(api: Api, user: str) -> None:
    ids = [api.upload(user)["image_id"] for _ in range(5)]
    first = api.request("GET", "/images", params={"user_id": user, "limit": 2}).json()
    assert len(first["items"]) == 2 and first["next_token"]
    assert api.list_all(user_id=user, limit="2") == ids[::-1]


def test_unknown_route_and_method_are_missing_authentication_token(api: Api) -> None:
    for method, path in [
        ("GET", "/nope"),
        ("PUT", "/images"),
        ("POST", "/images/01JDQ8ZB3F2T6X8W4N5R7K9M0P"),
        ("POST", "/"),  # GET / is the web gallery, which the local mode serves beside the API
    ]:
        response = api.request(method, path)
        assert response.status_code == 403, (method, path)
        assert response.json()["message"] == "Missing Authentication Token"


def test_request_over_lambdas_payload_limit_is_413_and_stores_nothing(api: Api, user: str) -> None:
    before = api.storage()
    huge = base64.b64encode(b"\0" * 4_800_000).decode()  # 6.4 MB of base64
    response = api.request("POST", "/images", json={"user_id": user, "content_type": "image/png", "image_base64": huge})
    assert response.status_code == 413
    assert response.json()["message"]
    assert api.storage() == before


def test_error_responses_are_json_with_message_and_code(api: Api) -> None:
    response = api.request("POST", "/images", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"message": "request body is not valid JSON", "code": "invalid_json"}
    assert response.headers["x-amzn-RequestId"]


def test_a_listing_signs_each_thumbnail(api: Api, user: str) -> None:
    """A gallery draws a page from one request: each item carries its thumbnail's URL.

    A page's URLs are signed together, the first by botocore's signer and the others reusing its
    query string (image_service.download_urls): every one of them must pass S3's signature check.
    """
    image_ids = [api.upload(user)["image_id"] for _ in range(3)]
    items = api.request("GET", "/images", params={"user_id": user}).json()["items"]
    assert [item["image_id"] for item in items] == image_ids[::-1]
    for item in items:
        assert 240 <= item["thumbnail"]["expires_in"] <= 300 and "X-Amz-Expires=300" in item["thumbnail"]["url"]
        assert f"/thumbnails/{item['image_id']}.jpg" in item["thumbnail"]["url"]
        fetched = requests.get(item["thumbnail"]["url"], timeout=10)
        assert fetched.status_code == 200 and fetched.content[:2] == b"\xff\xd8"  # a JPEG
    assert "thumbnail" not in api.request("GET", f"/images/{image_ids[0]}").json()  # listings only


def test_a_page_listed_again_soon_gives_the_same_thumbnail_urls(api: Api, user: str) -> None:
    """A browser caches by URL: the page listed again draws from its cache (image_service.recent_urls),
    and says no more time than the URLs have left."""
    image_id = api.upload(user)["image_id"]
    first = api.request("GET", "/images", params={"user_id": user}).json()["items"][0]["thumbnail"]
    time.sleep(1.1)  # signed again, the URL would differ from the next second on (its X-Amz-Date)
    again = api.request("GET", "/images", params={"user_id": user}).json()["items"][0]["thumbnail"]
    assert again["url"] == first["url"] and 240 <= again["expires_in"] <= first["expires_in"] <= 300
    # The download route is another function (another container): its URL is its own.
    download = api.request("GET", f"/images/{image_id}/download", params={"variant": "thumbnail"}).json()
    assert requests.get(download["url"], timeout=10).content == requests.get(first["url"], timeout=10).content
