"""DELETE /images/{image_id}: remove the object, the metadata and every tag mapping (owner only)."""

from __future__ import annotations

from typing import Any

from image_service import metrics
from image_service.aws import make_clients
from image_service.config import Settings
from image_service.edits import Edits
from image_service.etags import parse_precondition
from image_service.http import LambdaResponse, api_handler, header, no_content
from image_service.identity import writer_id
from image_service.validation import parse_image_id

SETTINGS = Settings.from_env()
EDITS = Edits(SETTINGS, make_clients(SETTINGS))  # created once per container, reused while warm


@api_handler(SETTINGS)
def lambda_handler(event: dict[str, Any], context: Any) -> LambdaResponse:
    caller = writer_id(event, SETTINGS.auth_mode)
    if_match = parse_precondition(header(event, "If-Match"), "If-Match")
    EDITS.delete(parse_image_id(event.get("pathParameters")), caller=caller, if_match=if_match)
    metrics.deleted()
    return no_content()
