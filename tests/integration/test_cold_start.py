"""What a function cannot work without is checked while it initialises (Lambda's init), so a
misconfigured function fails to start instead of answering its first request with a 500."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from image_service.aws import make_clients
from image_service.config import Settings
from image_service.reads import Listing
from tests.support.environment import FUNCTIONS
from tests.support.functions import fresh_function


def test_settings_without_a_bucket_name_are_refused() -> None:
    with pytest.raises(ValueError, match="S3_BUCKET_NAME"):
        Settings.from_env({"IMAGES_TABLE_NAME": "images"})


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_a_missing_bucket_name_fails_the_cold_start(
    aws: SimpleNamespace, monkeypatch: pytest.MonkeyPatch, logical_id: str
) -> None:
    # Given every function's environment but the bucket's name
    monkeypatch.delenv("S3_BUCKET_NAME")
    # When a new container imports the handler, Then the import fails, naming what is missing
    with pytest.raises(ValueError, match="S3_BUCKET_NAME"):
        fresh_function(logical_id, f"{logical_id}_without_bucket")


def test_a_listing_without_its_cursor_key_cannot_be_built() -> None:
    # Given settings as the environment gives them: the cursor key only comes from Secrets Manager
    settings = Settings.from_env({"S3_BUCKET_NAME": "images"})
    assert settings.cursor_secret == b""
    # Then the list function's use case refuses to exist without it (its init fails)
    with pytest.raises(ValueError, match="cursor key"):
        Listing(settings, make_clients(settings))
