"""Cold start: the time to import each function's handler module in a fresh interpreter.

Importing the handler is Lambda's init phase for our code: the layer, Pillow, and the two boto3
clients the module creates. The baseline is the least any Python function that talks to DynamoDB
and S3 pays: ``import boto3`` and the same two clients. Both run in the same session, interleaved
in a shuffled order, and the median of many runs is compared (the ratio's target is <= 1.15).

Each run is ``python -I -B``: a fresh interpreter that ignores the caller's environment and
writes no bytecode. Lambda's file system is read-only, so a layer shipped without ``.pyc`` files
compiles its sources at every cold start; the layers' Makefiles ship bytecode, and the compile
time of any layer source that still has none is measured separately.
The code comes from the ``sam build`` output when there is one, as Lambda would load it: the
function's directory first, then each of its layers' ``python`` directory, in the template's order.

The upload function imports Pillow on its first request that needs it, not during init: the
variant "+ first upload" also imports what that request imports (``image_service.imaging`` and
``image_service.location``), the cold start as a first ``POST /images`` sees it.

The verdict is the *paired* ratio. On this kind of VM one interpreter runs the same imports up to
~50% faster or slower than the next (the baseline alone: 270 to 410 ms back to back), so the
ratio of two medians of 25 runs moves by ±0.08 between runs: it once gave the get function 1.16x
for ~9 ms of its own imports on ~270 ms. A paired run measures both in one interpreter: the
baseline (``import boto3`` and the two clients), then the handler's import with ``boto3.client``
answering those same two clients (the handler creates the same two: their cost is the
baseline's), then what the first upload imports. Its ratio, (baseline + the rest) / baseline, is
free of the interpreter's speed, and its median over the rounds varies by about ±0.005. The
medians of separate runs, as the issue first measured, are still reported beside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from localapi.aws_backend import AwsEmulation
from localapi.template import FunctionSpec, Template

from . import harness

TARGET_RATIO = 1.15
REPEATS = 25

# Runs in the child interpreter. Timing starts after the child's own json/sys/time imports (and
# after any "preload" modules), as Lambda's runtime has loaded its own modules when it imports the
# handler. Prints the times and the Pillow modules the interpreter ended up with.
_CHILD = r"""
import importlib, json, sys, time
paths, job = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.path[:0] = paths
for name in job.get("preload", []):
    importlib.import_module(name)


def clients():
    import os
    import boto3
    from botocore.config import Config

    # The same clients as image_service.aws.make_clients, nothing else.
    common = {"retries": {"mode": "standard", "max_attempts": 3}, "connect_timeout": 2, "read_timeout": 5}
    region = os.environ["AWS_REGION"]
    return {
        "dynamodb": boto3.client("dynamodb", region_name=region, config=Config(**common)),
        "s3": boto3.client("s3", region_name=region, config=Config(**common, signature_version="s3v4")),
    }


wall, cpu = time.perf_counter(), time.process_time()
split = {}
if job["kind"] == "baseline":
    clients()
elif job["kind"] == "paired":
    made = clients()
    split = {
        "baseline_wall_ms": (time.perf_counter() - wall) * 1000,
        "baseline_cpu_ms": (time.process_time() - cpu) * 1000,
    }
    import boto3
    boto3.client = lambda service_name, *args, **kwargs: made[service_name]
    importlib.import_module(job["module"])
    for name in job.get("then", []):
        importlib.import_module(name)
elif job["kind"] == "modules":
    for name in job["modules"]:
        importlib.import_module(name)
elif job["kind"] == "compile":
    for path in job["files"]:
        with open(path, encoding="utf-8") as source:
            compile(source.read(), path, "exec")
else:
    importlib.import_module(job["module"])
    for name in job.get("then", []):
        importlib.import_module(name)
result = {
    "wall_ms": (time.perf_counter() - wall) * 1000,
    "cpu_ms": (time.process_time() - cpu) * 1000,
    "pil_modules": sorted(name for name in sys.modules if name == "PIL" or name.startswith("PIL.")),
    **split,
}
print(json.dumps(result))
"""


# What a first POST /images imports besides the handler (Pillow, through the imaging layer).
FIRST_UPLOAD_MODULES = ["image_service.imaging", "image_service.location"]


def code_layout(build_dir: Path | None) -> tuple[str, dict[str, list[Path]]]:
    """("built" or "source", function logical id -> its import path: code dir, then its layers)."""
    template = harness.load_template()
    specs = template.functions()
    layer_ids = {
        template.root / resource["Properties"]["ContentUri"]: logical_id
        for logical_id, resource in template.resources.items()
        if resource.get("Type") == "AWS::Serverless::LayerVersion"
    }
    sources = {spec.logical_id: [spec.code_dir, *spec.layer_dirs] for spec in specs}
    if build_dir is not None and all(
        (build_dir / name).is_dir() for name in [*(spec.logical_id for spec in specs), *layer_ids.values()]
    ):
        built = {
            spec.logical_id: [
                build_dir / spec.logical_id,
                *(build_dir / layer_ids[d] / "python" for d in spec.layer_dirs),
            ]
            for spec in specs
        }
        # A build older than the sources would measure code that is no longer there.
        if all(same_code(s, b) for f in built for s, b in zip(sources[f], built[f], strict=True)):
            return "built", built
    return "source", sources


def same_code(source: Path, built: Path) -> bool:
    """Whether every Python file under ``source`` is in ``built``, the same."""
    for path in source.rglob("*.py"):
        copy = built / path.relative_to(source)
        if not copy.is_file() or copy.read_bytes() != path.read_bytes():
            return False
    return True


def without_bytecode(paths: list[Path]) -> list[Path]:
    """The ``image_service`` sources under ``paths`` that ship no ``.pyc`` (compiled at each cold start)."""
    tag = sys.implementation.cache_tag
    sources = sorted({source for path in paths for source in (path / "image_service").glob("*.py")})
    return [s for s in sources if not (s.parent / "__pycache__" / f"{s.stem}.{tag}.pyc").is_file()]


def child_environment(extra: dict[str, str]) -> dict[str, str]:
    """A Lambda-like environment: region and credentials set, no config files, nothing else."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_REGION": harness.REGION,
        "AWS_DEFAULT_REGION": harness.REGION,
        **harness.FAKE_CREDENTIALS,
        **extra,
    }


def run_child(paths: list[Path], job: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    arguments = ["-c", _CHILD, json.dumps([str(p) for p in paths]), json.dumps(job)]
    return harness.run_isolated(arguments, env, timeout=120, what=f"cold start child {job}")


Variant = tuple[list[Path], dict[str, Any], dict[str, str]]


def run(
    *,
    repeats: int = REPEATS,
    warmup: bool = True,
    build_dir: Path | None = harness.BUILD_DIR,
    functions: list[str] | None = None,
) -> dict[str, Any]:
    template = harness.load_template()
    layout, import_paths = code_layout(build_dir)
    specs = [spec for spec in template.functions() if functions is None or spec.logical_id in functions]
    uploader = next(s for s in template.functions() if ("POST", "/images") in {(r.method, r.path) for r in s.routes})
    with _secrets_for(template, specs) as endpoint:
        return _measure(specs, uploader, import_paths, endpoint, layout, repeats=repeats, warmup=warmup)


@contextlib.contextmanager
def _secrets_for(template: Template, specs: list[FunctionSpec]) -> Iterator[str | None]:
    """An AWS emulation holding the template's secrets, if a measured function reads one at init.

    The list function calls GetSecretValue while it initialises: that call is part of its cold
    start and is measured. The emulation answers on this machine, a shorter round trip than
    one to Secrets Manager in the function's region (see docs/performance.md).
    """
    if not any(name.endswith("_SECRET_ARN") for spec in specs for name in spec.environment):
        yield None
        return
    emulation = AwsEmulation(template).start()
    try:
        yield emulation.endpoint_url
    finally:
        emulation.stop()


def _measure(
    specs: list[FunctionSpec],
    uploader: FunctionSpec,
    import_paths: dict[str, list[Path]],
    endpoint: str | None,
    layout: str,
    *,
    repeats: int,
    warmup: bool,
) -> dict[str, Any]:
    base_env = child_environment({})
    handlers: dict[str, Variant] = {}
    for spec in specs:
        job = {"kind": "handler", "module": spec.handler.rsplit(".", 1)[0]}
        environment = dict(spec.environment)
        if endpoint and any(name.endswith("_SECRET_ARN") for name in environment):
            environment["AWS_ENDPOINT_URL"] = endpoint
        handlers[spec.logical_id] = (import_paths[spec.logical_id], job, child_environment(environment))
        if spec.logical_id == uploader.logical_id:
            job = {**job, "then": FIRST_UPLOAD_MODULES}
            handlers[f"{spec.logical_id} + first upload"] = (
                import_paths[spec.logical_id],
                job,
                handlers[spec.logical_id][2],
            )
    # Which Pillow modules each handler loads (this run also warms the file cache).
    pillow = {name: run_child(*variant)["pil_modules"] for name, variant in handlers.items()}
    everything = sorted({module for modules in pillow.values() for module in modules}) or ["PIL.Image"]
    all_layers = sorted({path for paths in import_paths.values() for path in paths[1:]})
    sources = [str(path) for path in without_bytecode(all_layers)]
    variants: dict[str, Variant] = {
        "baseline": ([], {"kind": "baseline"}, base_env),
        "pillow": (import_paths[uploader.logical_id][1:], {"kind": "modules", "modules": everything}, base_env),
        "compile": ([], {"kind": "compile", "files": sources}, base_env),
        **handlers,
    }
    for name, (paths, job, env) in handlers.items():
        variants[f"{name} paired"] = (paths, {**job, "kind": "paired"}, env)
        if pillow[name]:  # the same with Pillow loaded before anything is timed: the difference is Pillow's
            variants[f"{name} paired without Pillow"] = (paths, {**job, "kind": "paired", "preload": pillow[name]}, env)

    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    order = list(variants)
    shuffler = random.Random(7)  # noqa: S311 - run order, not secrets
    for round_number in range(0 if warmup else 1, repeats + 1):
        shuffler.shuffle(order)
        for name in order:
            sample = run_child(*variants[name])
            if round_number > 0:  # round 0 only warms the file cache
                samples[name].append(sample)
    shipped = len(sorted({s for p in all_layers for s in (p / "image_service").glob("*.py")})) - len(sources)
    return {**summarize(samples, list(handlers), layout, repeats, len(sources)), "layer_bytecode_files": shipped}


def summarize(
    samples: dict[str, list[dict[str, Any]]], functions: list[str], layout: str, repeats: int, sources: int
) -> dict[str, Any]:
    stats = {
        name: {
            "wall_ms": harness.describe([s["wall_ms"] for s in runs]),
            "cpu_ms": harness.describe([s["cpu_ms"] for s in runs]),
            "pil_modules": len(runs[0]["pil_modules"]),
        }
        for name, runs in samples.items()
    }
    for name, runs in samples.items():
        if "baseline_cpu_ms" in runs[0]:  # paired: each run's whole import over its own baseline
            stats[name]["ratio"] = harness.describe([s["wall_ms"] / s["baseline_wall_ms"] for s in runs])
            stats[name]["ratio_cpu"] = harness.describe([s["cpu_ms"] / s["baseline_cpu_ms"] for s in runs])
            stats[name]["own_cpu_ms"] = harness.describe([s["cpu_ms"] - s["baseline_cpu_ms"] for s in runs])
    baseline, baseline_cpu = stats["baseline"]["wall_ms"]["median"], stats["baseline"]["cpu_ms"]["median"]
    baseline_min = stats["baseline"]["wall_ms"]["min"]
    per_function = {}
    for name in functions:
        wall, cpu = stats[name]["wall_ms"]["median"], stats[name]["cpu_ms"]["median"]
        paired = stats[f"{name} paired"]
        # Pillow's part: the paired runs' own CPU time (all but the baseline) with Pillow and with it
        # loaded before the clock started.
        without = stats.get(f"{name} paired without Pillow", paired)
        pillow_ms = max(0.0, paired["own_cpu_ms"]["median"] - without["own_cpu_ms"]["median"])
        per_function[name] = {
            "median_ms": round(wall, 1),
            "median_cpu_ms": round(cpu, 1),
            "baseline_ms": round(baseline, 1),
            "ratio": round(wall / baseline, 3),
            "ratio_cpu": round(cpu / baseline_cpu, 3),
            # Fastest against fastest: the runs least disturbed by anything else on the machine.
            "ratio_of_minimums": round(stats[name]["wall_ms"]["min"] / baseline_min, 3),
            "over_baseline_ms": round(wall - baseline, 1),
            "imports_pillow": stats[name]["pil_modules"] > 0,
            "pillow_ms": round(pillow_ms, 1),
            "own_cpu_ms": round(paired["own_cpu_ms"]["median"], 1),
            "pillow_share": round(pillow_ms / (paired["own_cpu_ms"]["median"] + baseline_cpu), 3),
            "ratio_cpu_without_pillow": round(without["ratio_cpu"]["median"], 3),
            # The verdict (module docstring): both measured in one interpreter, the median of the rounds.
            "paired_ratio": round(paired["ratio"]["median"], 3),
            "paired_ratio_cpu": round(paired["ratio_cpu"]["median"], 3),
            "paired_ratio_cpu_iqr": [round(paired["ratio_cpu"]["p25"], 3), round(paired["ratio_cpu"]["p75"], 3)],
            "meets_target": paired["ratio_cpu"]["median"] <= TARGET_RATIO,
            "meets_target_by_medians": wall / baseline <= TARGET_RATIO,
            "meets_target_by_medians_cpu": cpu / baseline_cpu <= TARGET_RATIO,
        }
    return {
        "layout": layout,
        "repeats": repeats,
        "target_ratio": TARGET_RATIO,
        "functions": per_function,
        "pillow_import_alone_ms": round(stats["pillow"]["wall_ms"]["median"], 1),
        "pillow_modules": stats["pillow"]["pil_modules"],
        "layer_compile_ms": round(stats["compile"]["wall_ms"]["median"], 1),
        "layer_source_files": sources,
        "variants": stats,
    }
