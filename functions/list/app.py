"""GET /images?user_id=&tag=&limit=&next_token=: a page of images, newest first."""

from __future__ import annotations

from typing import Any

from image_service.aws import make_clients
from image_service.config import Settings
from image_service.http import LambdaResponse, api_handler, json_response, query_parameters
from image_service.reads import Listing
from image_service.secret_store import with_cursor_secret
from image_service.validation import parse_list_query

# GetSecretValue once per container, during init: without its key the function does not start.
SETTINGS = with_cursor_secret(Settings.from_env())
LISTING = Listing(SETTINGS, make_clients(SETTINGS))  # created once per container, reused while warm


@api_handler(SETTINGS)
def lambda_handler(event: dict[str, Any], context: Any) -> LambdaResponse:
    query = parse_list_query(query_parameters(event))
    return json_response(200, LISTING.list(query).to_public_dict())
