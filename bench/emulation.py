"""The AWS emulation against the other engines we can install: DynamoDB GetItem and a 21-item Query.

Each engine runs ``bench/emulation_probe.py`` in a fresh process, in interleaved rounds; the figure
is the median over rounds of each round's p50. Engines: moto as pinned, as shipped; the same with
the local mode's short paths (what ``make serve`` runs); and, when ``BENCH_ALT_MOTO_PYTHON`` names
the interpreter of an environment with another moto pin (e.g. 5.1.22), that one as shipped.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from typing import Any

from . import harness

ROUNDS = 3
CALLS = 60
ALT_PYTHON = "BENCH_ALT_MOTO_PYTHON"


def _probe(python: str, engine: str, calls: int) -> dict[str, Any]:
    paths = [str(harness.ROOT), str(harness.LOCAL_DIR)]
    done = subprocess.run(
        [python, "-m", "bench.emulation_probe", engine, "--calls", str(calls)],
        cwd=harness.ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)},
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(rounds: int = ROUNDS, calls: int = CALLS) -> dict[str, Any]:
    engines = {"local": (sys.executable, "local"), "shipped": (sys.executable, "shipped")}
    if os.environ.get(ALT_PYTHON):
        engines["other pin"] = (os.environ[ALT_PYTHON], "shipped")
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in engines}
    for _ in range(rounds):
        for name, (python, engine) in engines.items():
            runs[name].append(_probe(python, engine, calls))
    figures = {
        name: {
            "moto": results[0]["moto"],
            "get_item_ms": round(statistics.median(r["get_item_ms"] for r in results), 2),
            "query_21_ms": round(statistics.median(r["query_21_ms"] for r in results), 2),
        }
        for name, results in runs.items()
    }
    ours = figures["local"]
    others = [figures[name] for name in figures if name != "local"]
    return {
        "rounds": rounds,
        "calls": calls,
        "engines": figures,
        "other_pin_measured": "other pin" in figures,
        "meets_target": all(
            ours["get_item_ms"] <= other["get_item_ms"] and ours["query_21_ms"] <= other["query_21_ms"]
            for other in others
        ),
    }
