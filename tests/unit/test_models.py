"""The API's image object and page, as ``models`` shapes them (api/openapi.yaml's Image)."""

from __future__ import annotations

from image_service.models import ImagePage
from tests.support.builders import example_image


def test_the_image_object_has_every_public_field_and_never_the_object_key() -> None:
    image = example_image(tags=("sunset", "beach"), variants=("original", "thumbnail"), received_sha256="ab" * 32)
    body = image.to_public_dict()
    assert body == {
        "image_id": image.image_id,
        "user_id": image.user_id,
        "title": image.title,
        "description": image.description,
        "tags": ["sunset", "beach"],
        "content_type": image.content_type,
        "size_bytes": image.size_bytes,
        "sha256": image.sha256,
        "width": image.width,
        "height": image.height,
        "created_at": image.created_at,
        "variants": ["original", "thumbnail"],
        "location_removed": image.location_removed,
        "user_name": image.user_name,
        "received_sha256": "ab" * 32,
    }
    assert type(body["tags"]) is list and type(body["variants"]) is list  # JSON arrays, not the model's tuples


def test_an_image_stored_before_names_and_checksums_shows_its_id_and_no_checksum() -> None:
    body = example_image()._replace(user_name=None, received_sha256=None).to_public_dict()
    assert body["user_name"] == body["user_id"]
    assert "received_sha256" not in body and "object_key" not in body


def test_changing_a_shown_object_leaves_the_image_unchanged() -> None:
    image = example_image(tags=("a",))
    body = image.to_public_dict()
    body["tags"].append("b")
    body["title"] = "changed"
    assert image.tags == ("a",) and image.to_public_dict()["title"] == image.title


def test_a_page_puts_each_thumbnail_beside_its_image() -> None:
    first, second = (
        example_image(image_id="01JDQ8ZB3F2T6X8W4N5R7K9M0A"),
        example_image(image_id="01JDQ8ZB3F2T6X8W4N5R7K9M0B"),
    )
    page = ImagePage(
        items=[first, second], next_token="t", thumbnail_urls={second.image_id: "https://x/t"}, urls_expire_in=60
    )
    body = page.to_public_dict()
    assert [item["image_id"] for item in body["items"]] == [first.image_id, second.image_id]
    assert "thumbnail" not in body["items"][0]
    assert body["items"][1]["thumbnail"] == {"url": "https://x/t", "expires_in": 60}
    assert body["next_token"] == "t"


def test_a_new_image_shows_no_bytes_in_its_repr() -> None:
    from image_service.models import NewImage

    data = b"\xff\xd8\xff" + b"secret pixels" * 1000
    new = NewImage(None, "a title", "", ("a",), "image/jpeg", 4, 3, data)
    shown = repr(new)
    assert "secret pixels" not in shown and str(len(data)) in shown and "image/jpeg" in shown


def test_settings_show_whether_the_cursor_key_is_set_but_not_the_key() -> None:
    from image_service.config import Settings

    settings = Settings.from_env({"S3_BUCKET_NAME": "b"})
    assert "cursor_secret=b''" in repr(settings) and "bucket_name='b'" in repr(settings)
    keyed = settings._replace(cursor_secret=b"k3y-bytes-never-shown")
    assert "k3y-bytes-never-shown" not in repr(keyed) and "cursor_secret=b'<set>'" in repr(keyed)
