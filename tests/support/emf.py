"""CloudWatch's embedded metric format (EMF) as the functions print it: lines parsed and checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

# CloudWatch's units (PutMetricData's StandardUnit).
UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
    "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
    "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
    "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
}  # fmt: skip


def emf_lines(text: str) -> list[dict[str, Any]]:
    """The EMF entries among ``text``'s lines, each checked against the format's rules."""
    entries = []
    for line in text.splitlines():
        entry = json.loads(line)
        if "_aws" not in entry:
            continue
        aws = entry["_aws"]
        assert isinstance(aws["Timestamp"], int) and abs(aws["Timestamp"] / 1000 - datetime.now(UTC).timestamp()) < 60
        for directive in aws["CloudWatchMetrics"]:
            assert directive["Namespace"] == "ImageService"
            for group in directive["Dimensions"]:
                assert 1 <= len(group) <= 30
                assert all(isinstance(entry[name], str) and entry[name] for name in group), (group, entry)
            for metric in directive["Metrics"]:
                assert metric["Unit"] in UNITS
                value = entry[metric["Name"]]
                assert isinstance(value, int | float) and not isinstance(value, bool) and value >= 0
        entries.append(entry)
    return entries


def dimensions(entry: dict[str, Any]) -> dict[str, str]:
    (directive,) = entry["_aws"]["CloudWatchMetrics"]
    (group,) = directive["Dimensions"]
    return {name: entry[name] for name in group}


def values(entry: dict[str, Any]) -> dict[str, tuple[float, str]]:
    (directive,) = entry["_aws"]["CloudWatchMetrics"]
    return {m["Name"]: (entry[m["Name"]], m["Unit"]) for m in directive["Metrics"]}
