"""Writes of images: POST /images (JSON with base64, or the raw image as the body: image/* or
application/octet-stream),
POST /images/uploads (a pre-signed S3 POST for large photos), PATCH /images/{image_id} (edit),
and the S3 ObjectCreated events that finalise direct uploads.

Pillow (the imaging layer) is imported by the first request that decodes an image, not during
init: editing and starting a direct upload never need it, and a first POST /images pays the same
either way (docs/performance.md, "Cold start").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

from image_service import log, metrics
from image_service.aws import make_clients
from image_service.config import Settings
from image_service.edits import Edits
from image_service.etags import parse_precondition
from image_service.http import (
    LambdaResponse,
    api_handler,
    header,
    json_response,
    query_as_sent,
    query_parameters,
    request_body,
    request_bytes,
    with_etag,
)
from image_service.idempotency import IdempotencyStore, scope_of
from image_service.identity import uploader, writer_id
from image_service.uploads import Uploads
from image_service.validation import (
    is_raw_upload,
    parse_edit,
    parse_image_id,
    parse_raw_upload,
    parse_upload,
    parse_upload_request,
    refuse_unreadable_upload,
)

SETTINGS = Settings.from_env()
CLIENTS = make_clients(SETTINGS)  # created once per container, reused while warm
UPLOADS = Uploads(SETTINGS, CLIENTS)
EDITS = Edits(SETTINGS, CLIENTS)
IDEMPOTENCY = IdempotencyStore(CLIENTS.dynamodb, SETTINGS.idempotency_table) if SETTINGS.idempotency_table else None


def create(event: dict[str, Any]) -> LambdaResponse:
    content_type = header(event, "Content-Type")
    raw = is_raw_upload(content_type)  # image/* or application/octet-stream: binary media types
    if raw:
        new_image = parse_raw_upload(
            request_bytes(event), content_type, query_parameters(event), max_image_bytes=SETTINGS.max_image_bytes
        )
    else:
        body = request_body(event)
        refuse_unreadable_upload(content_type, body)
        new_image = parse_upload(body, max_image_bytes=SETTINGS.max_image_bytes, params=query_as_sent(event))
    owner = uploader(event, SETTINGS.auth_mode, new_image.user_id)
    image, duplicate = UPLOADS.upload_unless_duplicate(
        new_image._replace(user_id=owner.user_id, user_name=owner.user_name)
    )
    if duplicate:  # the caller has this very file already: that photo, nothing stored
        return json_response(200, {**image.to_public_dict(), "duplicate": True})
    metrics.image_stored("raw" if raw else "json", image.size_bytes)
    return json_response(201, image.to_public_dict())


def start_direct_upload(event: dict[str, Any]) -> LambdaResponse:
    request = parse_upload_request(request_body(event))
    owner = uploader(event, SETTINGS.auth_mode, request.user_id)
    return json_response(
        201, UPLOADS.start_direct_upload(request._replace(user_id=owner.user_id, user_name=owner.user_name))
    )


def edit(event: dict[str, Any]) -> LambdaResponse:
    caller = writer_id(event, SETTINGS.auth_mode)
    image_id = parse_image_id(event.get("pathParameters"))
    if_match = parse_precondition(header(event, "If-Match"), "If-Match")
    image, etag = EDITS.edit_with_etag(image_id, parse_edit(request_body(event)), caller=caller, if_match=if_match)
    return with_etag(json_response(200, image.to_public_dict()), etag)


ROUTES = {
    ("POST", "/images"): create,
    ("POST", "/images/uploads"): start_direct_upload,
    ("PATCH", "/images/{image_id}"): edit,
}


@api_handler(SETTINGS)
def api_request(event: dict[str, Any], context: Any) -> LambdaResponse:
    route = ROUTES[(event.get("httpMethod", ""), event.get("resource", ""))]
    if IDEMPOTENCY is None:
        return route(event)
    # Every route here is a write that takes Idempotency-Key: a repeat is answered from the record.
    return IDEMPOTENCY.run(event, context, lambda: scope_of(event, SETTINGS.auth_mode), lambda: route(event))


def finalise_uploads(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """S3 ObjectCreated on uploads/: an error propagates so that Lambda retries the event."""
    finalised = []
    with log.request_context(context):
        for record in event["Records"]:
            image = UPLOADS.finalise_upload(unquote_plus(record["s3"]["object"]["key"]))
            if image is not None:
                finalised.append(image.image_id)
                metrics.image_stored("direct", image.size_bytes, arrived_at=record.get("eventTime"))
    return {"finalised": finalised}


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    if event.get("Records") and event["Records"][0].get("eventSource") == "aws:s3":
        return finalise_uploads(event, context)
    return api_request(event, context)
