"""POST /images: store a new image and its metadata."""

from __future__ import annotations

from typing import Any

from image_service.config import Settings
from image_service.http import LambdaResponse, api_handler, json_response, request_body
from image_service.service import ImageService
from image_service.validation import parse_upload

SETTINGS = Settings.from_env()
SERVICE = ImageService.from_settings(SETTINGS)  # created once per container, reused while warm


@api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> LambdaResponse:
    new_image = parse_upload(request_body(event), max_image_bytes=SETTINGS.max_image_bytes)
    image = SERVICE.upload(new_image)
    return json_response(201, image.to_public_dict())
