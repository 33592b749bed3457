"""GET /images?user_id=&tag=&limit=&next_token=: a page of images, newest first."""

from __future__ import annotations

from typing import Any

from image_service.config import Settings
from image_service.http import LambdaResponse, api_handler, json_response, query_parameters
from image_service.secret_store import with_cursor_secret
from image_service.service import ImageService
from image_service.validation import parse_list_query

# GetSecretValue once per container, during init: without its key the function does not start.
SETTINGS = with_cursor_secret(Settings.from_env())
SERVICE = ImageService.from_settings(SETTINGS)  # created once per container, reused while warm


@api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> LambdaResponse:
    query = parse_list_query(query_parameters(event))
    return json_response(200, SERVICE.list(query).to_public_dict())
