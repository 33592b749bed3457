"""``http.api_handler``: built from ``Settings`` once per container, it keeps the container's
cold-start flag and gives every response the deployment's CORS origin."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from image_service.config import Settings
from image_service.errors import NotFound
from image_service.http import LambdaResponse, api_handler, json_response, json_text

GALLERY = "https://gallery.example"


class Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log_records() -> Iterator[list[logging.LogRecord]]:
    """What the layer's logger writes during the test."""
    logger = logging.getLogger("image_service")
    level, recorder = logger.level, Recorder()
    logger.addHandler(recorder)
    yield recorder.records
    logger.removeHandler(recorder)
    logger.setLevel(level)


def access_lines(records: list[logging.LogRecord]) -> list[logging.LogRecord]:
    return [record for record in records if record.getMessage() == "request"]


def settings(**env: str) -> Settings:
    return Settings.from_env({"S3_BUCKET_NAME": "images", **env})


def ok(event: dict[str, Any], context: Any) -> LambdaResponse:
    return json_response(200, {})


def missing(event: dict[str, Any], context: Any) -> LambdaResponse:
    raise NotFound("image not found")


def test_only_a_containers_first_request_is_its_cold_start(log_records: list[logging.LogRecord]) -> None:
    # Given two containers of one function (each imports the handler, so each builds its own)
    first_container = api_handler(settings())(ok)
    second_container = api_handler(settings())(ok)
    # When each answers requests
    for handler in (first_container, first_container, second_container, first_container):
        handler({}, None)
    # Then each one's first request, and only that one, is a cold start
    cold = [getattr(line, "cold_start", None) for line in access_lines(log_records)]
    assert cold == [True, False, True, False]


def test_every_response_carries_the_deployments_cors_origin() -> None:
    configured = settings(CORS_ALLOW_ORIGIN=GALLERY)
    assert api_handler(configured)(ok)({}, None)["headers"]["Access-Control-Allow-Origin"] == GALLERY
    refused = api_handler(configured)(missing)({}, None)
    assert refused["statusCode"] == 404
    assert refused["headers"]["Access-Control-Allow-Origin"] == GALLERY
    assert api_handler(settings())(ok)({}, None)["headers"]["Access-Control-Allow-Origin"] == "*"


def test_the_log_level_comes_from_the_settings(log_records: list[logging.LogRecord]) -> None:
    api_handler(settings(LOG_LEVEL="WARNING"))(ok)({}, None)
    assert logging.getLogger("image_service").level == logging.WARNING
    assert access_lines(log_records) == []  # the access line is INFO


@pytest.mark.parametrize(
    "value",
    [
        {"title": "Été à Zürich 📷", "tags": ["a", "b"], "size_bytes": 2_500_000, "next_token": None, "ok": True},
        {"control": 'line\nbreak\t\u0000 "quoted" back\\slash', "separators": "\u2028\u2029"},
        {"lone": "\ud800"},  # a client may send "\\ud800" in its JSON: orjson refuses it, json writes it
        {"big": 2**70},  # past orjson's 64 bits
        ["a tuple's values", ("x", 1)],
    ],
)
def test_json_text_is_what_json_would_write(value: Any) -> None:
    assert json_text(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
