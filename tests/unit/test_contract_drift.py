"""Spec and code agree where schemathesis' negative-data check found drift (issue 14, item 9)."""

from __future__ import annotations

import base64
import json

import pytest

from image_service.errors import BadRequest
from image_service.validation import MAX_TAGS, normalize_tags, parse_upload
from tests.support.contract import contract
from tests.support.images import picture


@pytest.mark.parametrize("tags", [["cat"] * (MAX_TAGS + 1), ["cat", "Cat", " cat "] * 4])
def test_tags_count_as_sent_as_the_specs_max_items_says(tags: list[str]) -> None:
    assert contract().spec["components"]["schemas"]["TagsInput"]["maxItems"] == MAX_TAGS
    with pytest.raises(BadRequest) as refused:
        normalize_tags(tags)
    assert refused.value.code == "too_many_tags"


def test_repeats_within_the_limit_are_merged() -> None:
    assert normalize_tags(["Cat", "cat", " CAT", "dog"]) == ("cat", "dog")


@pytest.mark.parametrize("query", [{"user_id": "not valid!"}, {"user_id": "alice"}, {"title": "x"}])
def test_query_parameters_with_a_json_body_are_refused_not_ignored(query: dict[str, str]) -> None:
    body = json.dumps(
        {"user_id": "bob", "content_type": "image/png", "image_base64": base64.b64encode(picture()).decode()}
    )
    with pytest.raises(BadRequest) as refused:
        parse_upload(body, max_image_bytes=10_000_000, params=query)
    assert refused.value.code == "unknown_field"
    assert parse_upload(body, max_image_bytes=10_000_000, params={}).user_id == "bob"
