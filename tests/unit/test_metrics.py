"""CloudWatch metrics (EMF) from the metrics module: well-formed lines, the right dimensions, and only
values from the fixed sets (the handlers' metrics: tests/integration/test_metrics.py)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from image_service import metrics
from tests.support.emf import dimensions, emf_lines, values


def test_an_upload_is_one_line_with_count_and_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    metrics.image_stored("json", 5120)
    (entry,) = emf_lines(capsys.readouterr().out)
    assert dimensions(entry) == {"Stack": os.environ["STACK_NAME"], "Path": "json"}
    assert values(entry) == {"Uploads": (1, "Count"), "BytesStored": (5120, "Bytes")}


def test_a_direct_upload_carries_its_finalisation_lag(capsys: pytest.CaptureFixture[str]) -> None:
    arrived = (datetime.now(UTC) - timedelta(seconds=2)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    metrics.image_stored("direct", 10, arrived_at=arrived)
    metrics.image_stored("direct", 10, arrived_at="not a time")
    metrics.image_stored("direct", 10, arrived_at="2099-01-01T00:00:00.000Z")  # clocks apart: never negative
    first, unreadable, future = emf_lines(capsys.readouterr().out)
    lag, unit = values(first)["FinalisationLag"]
    assert unit == "Milliseconds" and 2000 <= lag < 60_000
    assert "FinalisationLag" not in values(unreadable)
    assert values(future)["FinalisationLag"] == (0, "Milliseconds")


def test_rejections_and_deletes_have_their_dimensions(capsys: pytest.CaptureFixture[str]) -> None:
    metrics.rejected("invalid_json")
    metrics.rejected("REQUEST_TOO_LARGE")
    metrics.deleted()
    rejected, gateway_style, deleted = emf_lines(capsys.readouterr().out)
    assert dimensions(rejected)["Code"] == "invalid_json" and values(rejected) == {"Rejections": (1, "Count")}
    assert dimensions(gateway_style)["Code"] == "REQUEST_TOO_LARGE"
    assert dimensions(deleted) == {"Stack": os.environ["STACK_NAME"]} and values(deleted) == {"Deletes": (1, "Count")}


@pytest.mark.parametrize("code", ["<script>", "a" * 65, "user alice", "", "Mixed_Case"])
def test_a_dimension_value_from_outside_the_fixed_sets_is_replaced(
    code: str, capsys: pytest.CaptureFixture[str]
) -> None:
    metrics.rejected(code)
    metrics.image_stored(code, 1)
    rejected, stored = emf_lines(capsys.readouterr().out)
    assert dimensions(rejected)["Code"] == "other" and dimensions(stored)["Path"] == "other"
