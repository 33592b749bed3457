"""GET /images/{image_id} (the image object) and GET /images/{image_id}/download[?variant=thumbnail]
(a pre-signed URL of the original or its thumbnail)."""

from __future__ import annotations

from typing import Any

from image_service.aws import make_clients
from image_service.config import Settings
from image_service.etags import parse_precondition
from image_service.http import (
    LambdaResponse,
    api_handler,
    header,
    json_response,
    not_modified,
    query_parameters,
    with_etag,
)
from image_service.reads import Reads
from image_service.validation import parse_image_id, parse_variant

SETTINGS = Settings.from_env()
READS = Reads(SETTINGS, make_clients(SETTINGS))  # created once per container, reused while warm


@api_handler(SETTINGS)
def lambda_handler(event: dict[str, Any], context: Any) -> LambdaResponse:
    image_id = parse_image_id(event.get("pathParameters"))
    if event.get("resource", "").endswith("/download"):
        return json_response(200, READS.download_url(image_id, parse_variant(query_parameters(event))))
    if_none_match = parse_precondition(header(event, "If-None-Match"), "If-None-Match")
    image, etag = READS.get_with_etag(image_id)
    if if_none_match is not None and if_none_match.matches_weakly(etag):
        return not_modified(etag)
    return with_etag(json_response(200, image.to_public_dict()), etag)
