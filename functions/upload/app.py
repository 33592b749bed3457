"""Writes of image metadata: POST /images (a new image) and PATCH /images/{image_id} (an edit)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from image_service.config import Settings
from image_service.http import LambdaResponse, api_handler, json_response, request_body
from image_service.identity import owner_for_upload, writer_id
from image_service.service import ImageService
from image_service.validation import parse_edit, parse_image_id, parse_upload

SETTINGS = Settings.from_env()
SERVICE = ImageService.from_settings(SETTINGS)  # created once per container, reused while warm


def create(event: dict[str, Any]) -> LambdaResponse:
    new_image = parse_upload(request_body(event), max_image_bytes=SETTINGS.max_image_bytes)
    owner = owner_for_upload(event, SETTINGS.auth_mode, new_image.user_id)
    image = SERVICE.upload(replace(new_image, user_id=owner))
    return json_response(201, image.to_public_dict())


def edit(event: dict[str, Any]) -> LambdaResponse:
    caller = writer_id(event, SETTINGS.auth_mode)
    image_id = parse_image_id(event.get("pathParameters"))
    image = SERVICE.edit(image_id, parse_edit(request_body(event)), caller=caller)
    return json_response(200, image.to_public_dict())


ROUTES = {("POST", "/images"): create, ("PATCH", "/images/{image_id}"): edit}


@api_handler
def lambda_handler(event: dict[str, Any], context: Any) -> LambdaResponse:
    return ROUTES[(event.get("httpMethod", ""), event.get("resource", ""))](event)
