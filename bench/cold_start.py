"""Cold start: the time to import each function's handler module in a fresh interpreter.

Importing the handler is Lambda's init phase for our code: the layer, Pillow, and the two boto3
clients the module creates. The baseline is the least any Python function that talks to DynamoDB
and S3 pays: ``import boto3`` and the same two clients. Both run in the same session, interleaved
in a shuffled order, and the median of many runs is compared (the ratio's target is <= 1.15).

Each run is ``python -I -B``: a fresh interpreter that ignores the caller's environment and
writes no bytecode. Lambda's file system is read-only, so a layer shipped without ``.pyc`` files
compiles its own sources at every cold start; that compile time is measured separately.
The code comes from the ``sam build`` output when there is one, as Lambda would load it: the
function's directory first, then the layer's ``python`` directory.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from . import harness

TARGET_RATIO = 1.15
REPEATS = 15

# Runs in the child interpreter. Timing starts after the child's own json/sys/time imports,
# as Lambda's runtime has already loaded its own modules when it imports the handler.
_CHILD = r"""
import json, sys, time
paths, mode, extra = json.loads(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = paths


def clients():
    import os
    import boto3
    from botocore.config import Config

    # The same clients as image_service.aws.make_clients, nothing else.
    common = {"retries": {"mode": "standard", "max_attempts": 3}, "connect_timeout": 2, "read_timeout": 5}
    region = os.environ["AWS_REGION"]
    boto3.client("dynamodb", region_name=region, config=Config(**common))
    boto3.client("s3", region_name=region, config=Config(**common, signature_version="s3v4"))


wall, cpu = time.perf_counter(), time.process_time()
if mode == "baseline":
    clients()
elif mode == "pillow_after_boto3":
    clients()
    wall, cpu = time.perf_counter(), time.process_time()
    import PIL.Image
elif mode == "pillow":
    import PIL.Image
elif mode == "compile":
    for path in extra:
        with open(path, encoding="utf-8") as source:
            compile(source.read(), path, "exec")
else:
    import importlib

    importlib.import_module(mode)
result = {
    "wall_ms": (time.perf_counter() - wall) * 1000,
    "cpu_ms": (time.process_time() - cpu) * 1000,
    "pillow_loaded": "PIL.Image" in sys.modules,
}
print(json.dumps(result))
"""


def code_layout(build_dir: Path | None) -> tuple[str, dict[str, Path], Path]:
    """("built" or "source", function logical id -> code dir, layer import dir)."""
    template = harness.load_template()
    specs = template.functions()
    if build_dir is not None and all((build_dir / spec.logical_id).is_dir() for spec in specs):
        layer_dirs = [path / "python" for path in build_dir.iterdir() if (path / "python").is_dir()]
        if len(layer_dirs) == 1:
            return "built", {spec.logical_id: build_dir / spec.logical_id for spec in specs}, layer_dirs[0]
    return "source", {spec.logical_id: spec.code_dir for spec in specs}, harness.LAYER_DIR


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


def run_child(paths: list[Path], mode: str, env: dict[str, str], extra: Any = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-I", "-B", "-c", _CHILD, json.dumps([str(p) for p in paths]), mode, json.dumps(extra)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start child {mode} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    *,
    repeats: int = REPEATS,
    warmup: bool = True,
    build_dir: Path | None = harness.BUILD_DIR,
    functions: list[str] | None = None,
) -> dict[str, Any]:
    template = harness.load_template()
    layout, code_dirs, layer_dir = code_layout(build_dir)
    specs = [spec for spec in template.functions() if functions is None or spec.logical_id in functions]
    base_env = child_environment({})
    variants: dict[str, tuple[list[Path], str, dict[str, str], Any]] = {
        "baseline": ([], "baseline", base_env, None),
        "pillow": ([layer_dir], "pillow", base_env, None),
        "pillow_after_boto3": ([layer_dir], "pillow_after_boto3", base_env, None),
    }
    layer_sources = sorted(str(path) for path in (layer_dir / "image_service").glob("*.py"))
    for spec in specs:
        module = spec.handler.rsplit(".", 1)[0]
        env = child_environment(spec.environment)
        variants[spec.logical_id] = ([code_dirs[spec.logical_id], layer_dir], module, env, None)
    variants["compile"] = ([], "compile", base_env, layer_sources)

    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    order = list(variants)
    shuffler = random.Random(7)  # noqa: S311 - run order, not secrets
    first = 0 if warmup else 1  # round 0 only warms the file cache
    for round_number in range(first, repeats + 1):
        shuffler.shuffle(order)
        for name in order:
            paths, mode, env, extra = variants[name]
            sample = run_child(paths, mode, env, extra)
            if round_number > 0:
                samples[name].append(sample)
    return summarize(samples, [spec.logical_id for spec in specs], layout, repeats, len(layer_sources))


def summarize(
    samples: dict[str, list[dict[str, Any]]], functions: list[str], layout: str, repeats: int, sources: int
) -> dict[str, Any]:
    stats = {
        name: {
            "wall_ms": harness.describe([s["wall_ms"] for s in runs]),
            "cpu_ms": harness.describe([s["cpu_ms"] for s in runs]),
            "pillow_loaded": any(s["pillow_loaded"] for s in runs),
        }
        for name, runs in samples.items()
    }
    baseline = stats["baseline"]
    pillow_marginal = stats["pillow_after_boto3"]["wall_ms"]["median"]
    per_function = {}
    for name in functions:
        wall, cpu = stats[name]["wall_ms"]["median"], stats[name]["cpu_ms"]["median"]
        ratio = wall / baseline["wall_ms"]["median"]
        per_function[name] = {
            "median_ms": round(wall, 1),
            "median_cpu_ms": round(cpu, 1),
            "baseline_ms": round(baseline["wall_ms"]["median"], 1),
            "ratio": round(ratio, 3),
            "ratio_cpu": round(cpu / baseline["cpu_ms"]["median"], 3),
            "over_baseline_ms": round(wall - baseline["wall_ms"]["median"], 1),
            "imports_pillow": stats[name]["pillow_loaded"],
            "pillow_share": round(pillow_marginal / wall, 3) if stats[name]["pillow_loaded"] else 0.0,
            "meets_target": ratio <= TARGET_RATIO,
        }
    return {
        "layout": layout,
        "repeats": repeats,
        "target_ratio": TARGET_RATIO,
        "functions": per_function,
        "pillow": {
            "import_alone_ms": round(stats["pillow"]["wall_ms"]["median"], 1),
            "import_after_boto3_ms": round(pillow_marginal, 1),
        },
        "layer_compile_ms": round(stats["compile"]["wall_ms"]["median"], 1),
        "layer_source_files": sources,
        "variants": stats,
    }
