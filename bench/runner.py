"""Run the sections, write one JSON file per section plus ``report.md``, print the tables."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import calls, cold_start, cost, emulation, first_answer, harness, local_mode, memory, package, reads, report

SECTIONS = ("calls", "reads", "cold", "memory", "package", "local", "cost")


@dataclass(frozen=True)
class Config:
    page: int = 20
    sizes: tuple[int, ...] = reads.SIZES
    cold_repeats: int = cold_start.REPEATS
    cold_warmup: bool = True
    cold_functions: tuple[str, ...] | None = None  # None: every function
    image_scale: float = 1.0  # images at this fraction of each upload limit
    rss_runs: int = 3
    local_seconds: float = local_mode.DURATION_S
    local_warmup: float = local_mode.WARMUP_S
    local_concurrency: tuple[int, ...] = local_mode.CONCURRENCY
    local_seed: int = local_mode.SEED_IMAGES
    local_sam_api: bool = True  # beside make sam-api when a Docker engine answers (never started here)
    local_rounds: int = local_mode.ROUNDS  # interleaved rounds of the make sam-api comparison
    local_first_rounds: int = first_answer.ROUNDS  # fresh starts of make serve for the first answer
    local_engine_rounds: int = emulation.ROUNDS  # fresh processes per AWS emulation engine
    local_engine_calls: int = emulation.CALLS
    cost_repeats: int = 5
    cost_photo_bytes: int = cost.PHOTO_BYTES
    build_dir: Path = field(default=harness.BUILD_DIR)


FULL = Config()
# `make test`: every section on tiny inputs, so the bench cannot rot (a few seconds each).
QUICK = Config(
    page=5,
    sizes=(5, 30, 60),
    cold_repeats=1,
    cold_warmup=False,
    cold_functions=("UploadFunction",),  # the one with Pillow: every variant runs
    image_scale=0.1,
    rss_runs=0,
    local_seconds=0.3,
    local_warmup=0.3,
    local_concurrency=(1, 2),
    local_seed=5,
    local_sam_api=False,  # `make test` never drives Docker containers
    local_rounds=1,
    local_first_rounds=1,
    local_engine_rounds=1,
    local_engine_calls=3,
    cost_repeats=1,
    cost_photo_bytes=200_000,
)


def _section(name: str, config: Config, build: Path | None) -> dict[str, Any]:
    runners: dict[str, Callable[[], dict[str, Any]]] = {
        "calls": lambda: calls.run(page=config.page),
        "reads": lambda: reads.run(sizes=config.sizes, page=config.page),
        "cold": lambda: cold_start.run(
            repeats=config.cold_repeats,
            warmup=config.cold_warmup,
            build_dir=build,
            functions=list(config.cold_functions) if config.cold_functions else None,
        ),
        "memory": lambda: memory.run(scale=config.image_scale, rss_runs=config.rss_runs, build_dir=build),
        "package": lambda: package.run(build),
        "cost": lambda: cost.run(repeats=config.cost_repeats, photo_bytes=config.cost_photo_bytes),
        "local": lambda: local_mode.run(
            seconds=config.local_seconds,
            warmup=config.local_warmup,
            concurrency=config.local_concurrency,
            seed_images=config.local_seed,
            sam_api=config.local_sam_api,
            rounds=config.local_rounds,
            first_answer_rounds=config.local_first_rounds,
            engine_rounds=config.local_engine_rounds,
            engine_calls=config.local_engine_calls,
        ),
    }
    return runners[name]()


def run(
    config: Config,
    out: Path,
    sections: tuple[str, ...] = SECTIONS,
    echo: Callable[[str], Any] = print,
) -> dict[str, dict[str, Any]]:
    """Run ``sections``; returns {section: the JSON written}."""
    context = harness.machine()
    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in asdict(config).items()}
    settings["build_dir"] = str(Path(settings["build_dir"]).relative_to(harness.ROOT))
    written: dict[str, dict[str, Any]] = {}
    markdown = [f"# make bench: {context['date']}\n", _machine_line(context) + "\n"]
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        needs_build = {"cold", "memory", "package"} & set(sections)
        build = package.snapshot(config.build_dir, Path(scratch)) if needs_build else None
        for name in sections:
            print(f"[bench] {name}...", file=sys.stderr, flush=True)
            started, load_before = time.perf_counter(), harness.load_average()
            results = _section(name, config, build)
            document = {
                "section": name,
                "machine": context,
                "config": settings,
                "seconds": round(time.perf_counter() - started, 1),
                "load_average": {"before": load_before, "after": harness.load_average()},
                "results": results,
            }
            harness.write_json(out / f"{name}.json", document)
            written[name] = document
            for table in report.tables(name, results):
                table.notes.append(f"load average before/after: {load_before} / {document['load_average']['after']}")
                echo(report.as_text(table))
                markdown.append(report.as_markdown(table))
    (out / "report.md").write_text("\n".join(markdown))
    return written


def _machine_line(context: dict[str, Any]) -> str:
    return (
        f"Machine: {context['cpu']}, {context['cores']} cores, {context['memory_gb']} GB RAM; {context['os']}; "
        f"Python {context['python']}; "
        + ", ".join(f"{name} {version}" for name, version in context["packages"].items())
        + f"; commit {context['commit']}."
    )
