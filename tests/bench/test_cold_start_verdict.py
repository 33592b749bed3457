"""The cold-start verdict is the paired ratio: measured in one interpreter, it is free of how fast
that interpreter happened to run, which swings the ratio of two separate medians."""

from __future__ import annotations

from typing import Any

from bench.cold_start import TARGET_RATIO, summarize


def run(wall_ms: float, baseline_ms: float | None = None) -> dict[str, Any]:
    sample: dict[str, Any] = {"wall_ms": wall_ms, "cpu_ms": wall_ms, "pil_modules": []}
    if baseline_ms is not None:
        sample |= {"baseline_wall_ms": baseline_ms, "baseline_cpu_ms": baseline_ms}
    return sample


def test_the_verdict_follows_the_paired_ratio_not_the_ratio_of_medians() -> None:
    # The handler's runs met slow interpreters, the baseline's fast ones: 1.30x by medians. In
    # each paired run the handler's own imports are 5% of that run's baseline, whatever its speed.
    speeds = [0.8, 1.0, 1.2, 1.4, 1.6]
    samples = {
        "baseline": [run(200 * s) for s in speeds[:3] * 2],
        "pillow": [run(30.0)],
        "compile": [run(0.0)],
        "Get": [run(260 * s) for s in speeds[2:] * 2],
        "Get paired": [run(210 * s, 200 * s) for s in speeds],
    }
    result = summarize(samples, ["Get"], "source", 5, 0)["functions"]["Get"]
    assert result["ratio"] > TARGET_RATIO and not result["meets_target_by_medians"]
    assert result["paired_ratio_cpu"] == 1.05 and result["paired_ratio_cpu_iqr"] == [1.05, 1.05]
    assert result["meets_target"]


def test_a_paired_ratio_over_the_target_is_missed() -> None:
    samples = {
        "baseline": [run(200.0)],
        "pillow": [run(30.0)],
        "compile": [run(0.0)],
        "Upload": [run(220.0)],
        "Upload paired": [run(232.0, 200.0), run(236.0, 200.0), run(240.0, 200.0)],
    }
    result = summarize(samples, ["Upload"], "source", 3, 0)["functions"]["Upload"]
    assert result["meets_target_by_medians"]  # 1.10x by medians
    assert result["paired_ratio_cpu"] == 1.18 and not result["meets_target"]
