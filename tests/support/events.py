"""The sample events in events/: what each must answer, the function the template routes it to, and
the example image the get/download/delete events name."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from make_events import sub_of

from tests.support.environment import FUNCTIONS, ROOT
from tests.support.images import picture

EVENTS_DIR = ROOT / "events"
EXAMPLE_IMAGE_ID = "01JDQ8ZB3F2T6X8W4N5R7K9M0P"

EXPECTED: dict[str, tuple[int, str | None]] = {
    "upload.json": (201, None),
    "upload_anonymous.json": (401, "unauthorized"),
    "upload_impersonation.json": (403, "forbidden"),
    "upload_invalid_json.json": (400, "invalid_json"),
    "upload_bad_base64.json": (400, "invalid_base64"),
    "upload_not_an_image.json": (400, "invalid_image"),
    "upload_type_mismatch.json": (400, "content_type_mismatch"),
    "upload_raw.json": (201, None),
    "upload_direct.json": (201, None),
    "upload_idempotent.json": (201, None),
    "upload_allow_duplicate.json": (201, None),
    "s3_upload_completed.json": (0, None),  # not an API event: no HTTP status
    "list_by_user.json": (200, None),
    "list_by_tag.json": (200, None),
    "list_by_user_and_tag.json": (200, None),
    "list_missing_filter.json": (400, "missing_filter"),
    "list_by_checksum.json": (200, None),
    "list_bad_token.json": (400, "invalid_next_token"),
    "get.json": (200, None),
    "get_not_found.json": (404, "not_found"),
    "get_invalid_id.json": (400, "invalid_image_id"),
    "download.json": (200, None),
    "download_thumbnail.json": (200, None),
    "download_display.json": (200, None),
    "get_if_none_match.json": (304, None),
    "edit_if_match.json": (200, None),
    "edit_stale.json": (412, "precondition_failed"),
    "delete_stale.json": (412, "precondition_failed"),
    "edit.json": (200, None),
    "edit_not_owner.json": (403, "forbidden"),
    "delete_not_owner.json": (403, "forbidden"),
    "delete_anonymous.json": (401, "unauthorized"),
    "delete.json": (204, None),
}
"""Event file -> (status, error code) with the template's defaults (AuthMode=cognito), as
`sam local invoke` and `make invoke` run them."""


def function_for(event: dict[str, Any]) -> str:
    """The function the template routes this event to (so events/ cannot drift from the template)."""
    if "Records" in event:
        bucket = event["Records"][0]["s3"]["bucket"]["name"]
        key = event["Records"][0]["s3"]["object"]["key"]
        for logical_id, spec in FUNCTIONS.items():
            if any(t.bucket == bucket and key.startswith(t.prefix) for t in spec.s3_triggers):
                return logical_id
        raise AssertionError(f"no S3 trigger for {bucket}/{key}")
    for logical_id, spec in FUNCTIONS.items():
        if any(r.method == event["httpMethod"] and r.path == event["resource"] for r in spec.routes):
            return logical_id
    raise AssertionError(f"no route for {event['httpMethod']} {event['resource']}")


def seed_example_image(aws: SimpleNamespace) -> None:
    """The image the get/download/delete events name, stored as an upload would store it."""
    from image_service.blob_store import BlobStore
    from image_service.images_repository import ImagesRepository
    from image_service.models import Image
    from image_service.object_keys import display_key_for, object_key_for, thumbnail_key_for
    from image_service.tag_index import TagIndex

    data = picture()
    image = Image(
        image_id=EXAMPLE_IMAGE_ID,
        user_id=sub_of("alice"),  # the owner id in the events' claims
        user_name="alice",
        title="Sunset",
        description="",
        tags=("sunset",),
        content_type="image/png",
        size_bytes=len(data),
        sha256="0" * 64,
        width=32,
        height=24,
        created_at="2026-11-25T12:00:00.000Z",
        object_key=object_key_for(EXAMPLE_IMAGE_ID),
        variants=("original", "thumbnail", "display"),
    )
    blobs = BlobStore(aws.s3, aws.bucket)
    blobs.put(image.object_key, data, content_type="image/png")
    blobs.put(thumbnail_key_for(EXAMPLE_IMAGE_ID), picture("JPEG"), content_type="image/jpeg")
    blobs.put(display_key_for(EXAMPLE_IMAGE_ID), picture("JPEG"), content_type="image/jpeg")
    ImagesRepository(aws.dynamodb, aws.images_table, TagIndex(aws.dynamodb, aws.tags_table)).add(image)


def seed_example_image_into(emulation: Any) -> None:
    """``seed_example_image`` in a running AWS emulation (``localapi.aws_backend.AwsEmulation``)."""
    dynamodb, s3 = emulation.clients()
    names = {d["TableName"] for d in emulation.template.table_definitions()}
    seed_example_image(
        SimpleNamespace(
            dynamodb=dynamodb,
            s3=s3,
            bucket=emulation.template.bucket_names()[0],
            images_table=next(n for n in names if n.endswith("-images")),
            tags_table=next(n for n in names if n.endswith("-image_tags")),
        )
    )
