"""ETags and preconditions (issue 19, item 5): strong quoted tags from the row's version, strong
If-Match and weak If-None-Match comparison, malformed headers refused."""

from __future__ import annotations

import pytest

from image_service.errors import BadRequest
from image_service.etags import etag_for, parse_precondition


def test_etag_is_strong_quoted_and_differs_by_version_and_image() -> None:
    tag = etag_for("01JDQ8ZB3F2T6X8W4N5R7K9M0Z", 1)
    assert tag.startswith('"v1-') and tag.endswith('"') and "W/" not in tag
    assert tag != etag_for("01JDQ8ZB3F2T6X8W4N5R7K9M0Z", 2)
    assert tag != etag_for("01JDQ8ZB3F2T6X8W4N5R7K9M0Y", 1)


def test_if_match_uses_strong_comparison_and_if_none_match_weak() -> None:
    tag = etag_for("01JDQ8ZB3F2T6X8W4N5R7K9M0Z", 3)
    weak = parse_precondition(f"W/{tag}", "If-Match")
    assert weak is not None and not weak.matches_strongly(tag) and weak.matches_weakly(tag)
    listed = parse_precondition(f'"other", {tag}', "If-Match")
    assert listed is not None and listed.matches_strongly(tag)
    star = parse_precondition("*", "If-Match")
    assert star is not None and star.matches_strongly(tag)
    assert parse_precondition(None, "If-Match") is None


@pytest.mark.parametrize("value", ["", "v1-abc", '"unterminated', '"a" "b"', '"a",b', "**", '"in"side"', ",", "W/x"])
def test_a_malformed_precondition_is_400(value: str) -> None:
    with pytest.raises(BadRequest) as raised:
        parse_precondition(value, "If-Match")
    assert raised.value.code == "invalid_precondition"
