"""Peak memory of one upload of the largest allowed image, as a multiple of the image's size.

Two real images of exactly ``MAX_IMAGE_BYTES``: a camera-like JPEG (24 megapixels, so decoding
it in full would take 16x its size) and a PNG of random pixels (nothing compresses it away).
Each measurement is a fresh process (``memory_probe.py``) that imports the upload handler, warms
it with a tiny upload, then uploads the big one:

- ``tracemalloc``: the peak of Python allocations during the handler call; the event itself
  (which the Lambda runtime already holds) is not counted.
- ``rss``: the process's resident memory before the call and its high-water mark during it.
  The growth counts C allocations too (Pillow's decoded pixels, which tracemalloc cannot see);
  the high-water mark itself is what Lambda reports as "Max Memory Used".

The least the design can hold at once is the base64 text parsed out of the JSON body (4/3 of the
image) plus the decoded bytes (1x): 2.33x. Hashing streams over the bytes and costs nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image

from . import harness
from .cold_start import child_environment, code_layout

MINIMUM_MULTIPLE = 4 / 3 + 1
PROBE = Path(__file__).resolve().parent / "memory_probe.py"
# glibc returns memory above this size to the system when it is freed (a fixed threshold also
# stops glibc raising it on its own), so the high-water mark counts live buffers, not heap that
# was freed while the event was built and then reused.
_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
FORMATS = {"image/jpeg": harness.photo_jpeg, "image/png": harness.noise_png}


def _probe(mode: str, image: Path, content_type: str, code: Path, layer: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-I", "-B", str(PROBE), mode, str(image), content_type, str(code), str(layer)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory probe ({mode}) failed: {done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["status"] != 201:
        raise RuntimeError(f"the measured upload was refused: {result}")
    return result


def run(
    *, image_bytes: int | None = None, rss_runs: int = 3, build_dir: Path | None = harness.BUILD_DIR
) -> dict[str, Any]:
    template = harness.load_template()
    spec = next(s for s in template.functions() if ("POST", "/images") in {(r.method, r.path) for r in s.routes})
    limit = int(spec.environment["MAX_IMAGE_BYTES"])
    size = image_bytes or limit
    layout, code_dirs, layer_dir = code_layout(build_dir)
    code = code_dirs[spec.logical_id]
    # Loopback and a closed port: the probe's stub answers first, and nothing can leave the machine.
    env = child_environment({**spec.environment, **_MALLOC, "AWS_ENDPOINT_URL": "https://127.0.0.1:9"})
    uploads = {}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        for content_type, make in FORMATS.items():
            image = Path(scratch) / content_type.replace("/", ".")
            image.write_bytes(make(size))
            traced = _probe("tracemalloc", image, content_type, code, layer_dir, env)
            rss = [_probe("rss", image, content_type, code, layer_dir, env) for _ in range(rss_runs)]
            uploads[content_type] = _summary(traced, rss, image)
    return {
        "layout": layout,
        "function": spec.logical_id,
        "memory_size_mb": spec.memory_mb,
        "max_image_bytes": limit,
        "image_bytes": size,
        "minimum_multiple": round(MINIMUM_MULTIPLE, 2),
        "uploads": uploads,
    }


def _summary(traced: dict[str, Any], rss: list[dict[str, Any]], image: Path) -> dict[str, Any]:
    with Image.open(image) as picture:
        width, height = picture.size
    size = traced["image_bytes"]
    extra = max(r["rss_peak_bytes"] - r["rss_before_bytes"] for r in rss)
    return {
        "pixels": f"{width}x{height}",
        "decoded_bytes": width * height * 3,
        "body_chars": traced["body_chars"],
        "aws_requests": traced["aws_requests"],
        "tracemalloc_peak_bytes": traced["peak_bytes"],
        "tracemalloc_multiple": round(traced["peak_bytes"] / size, 2),
        "rss_growth_bytes": extra,
        "rss_growth_multiple": round(extra / size, 2),
        "rss_peak_bytes": max(r["rss_peak_bytes"] for r in rss),
        "rss_hwm_reset": all(r["hwm_reset"] for r in rss),
        "handler_ms": harness.describe([r["duration_ms"] for r in rss]),
    }
