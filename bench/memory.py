"""Peak memory of one upload of the largest allowed image, as a multiple of the image's size.

Three ways in, each at its own limit: ``POST /images`` with the image base64-encoded in JSON and
with the image as the raw body (both up to ``MAX_IMAGE_BYTES``, Lambda's payload limit), and the
S3 event that finalises a direct upload (up to ``MAX_DIRECT_UPLOAD_BYTES``). The images are real:
a camera-like JPEG (~5 pixels per byte, so decoding it in full would take 16x its size) and a PNG
of random pixels (nothing compresses it away). Each measurement is a fresh process
(``memory_probe.py``) that imports the upload function, warms it with a tiny upload, then
uploads the big one:

- ``tracemalloc``: the peak of Python allocations during the handler call; the event itself
  (which the Lambda runtime already holds) is not counted.
- ``rss``: the process's resident memory before the call and its high-water mark during it.
  The growth counts C allocations too (Pillow's decoded pixels, which tracemalloc cannot see);
  the high-water mark itself is what Lambda reports as "Max Memory Used".

The least each way can hold at once: the image's bytes (1x); through JSON also the base64 text
parsed out of the body (4/3): 2.33x. Hashing streams over the bytes and costs nothing.

Two phases of an upload hold different things, so their peaks do not add up: parsing (the minimum
above; a direct upload's ``BlobStore.read`` reads the object in one piece, 1x: it held a bytearray
of chunks and its copy, 2x, until the fourth round of issue 18), then making the variants, which
holds the image (1x) and the output buffer Pillow's progressive, optimised JPEG encoder reserves in
one piece, width x height bytes of the display variant (1.7 MB for 1600 x 1067, whatever the
upload's size; mostly never written, so it costs little resident memory, but tracemalloc counts it
all). ``expected_peak_bytes`` is the larger phase: on small images (the smoke test's) the display's
reservation sets the peak, at the limits parsing does.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from image_service.config import Settings

from . import harness
from .cold_start import child_environment, code_layout

PROBE = Path(__file__).resolve().parent / "memory_probe.py"
# glibc returns memory above this size to the system when it is freed (a fixed threshold also
# stops glibc raising it on its own), so the high-water mark counts live buffers, not heap that
# was freed while the event was built and then reused.
_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}
MAKERS = {"image/jpeg": harness.photo_jpeg, "image/png": harness.noise_png}


@dataclass(frozen=True)
class Case:
    style: str  # json | raw | direct
    content_type: str
    limit_variable: str  # the environment variable that caps this way in
    minimum_multiple: float


CASES = (
    Case("json", "image/jpeg", "MAX_IMAGE_BYTES", 4 / 3 + 1),
    Case("json", "image/png", "MAX_IMAGE_BYTES", 4 / 3 + 1),
    Case("raw", "image/jpeg", "MAX_IMAGE_BYTES", 1.0),
    Case("direct", "image/png", "MAX_DIRECT_UPLOAD_BYTES", 1.0),
)
# What the parsing phase holds at its peak, as a multiple of the image: the minimum.
PARSE_MULTIPLE = {"json": 4 / 3 + 1, "raw": 1.0, "direct": 1.0}


def display_encoder_bytes(width: int, height: int, max_side: int = Settings._field_defaults["display_max_side"]) -> int:
    """Width x height of the display variant: what Pillow reserves to encode it (see above)."""
    scale = min(1.0, max_side / max(width, height))
    return max(1, round(width * scale)) * max(1, round(height * scale))


def expected_peak_bytes(style: str, image_bytes: int, width: int, height: int) -> int:
    """The larger of the two phases' peaks (module docstring): parsing, or making the variants."""
    return max(round(PARSE_MULTIPLE[style] * image_bytes), image_bytes + display_encoder_bytes(width, height))


def _probe(mode: str, case: Case, image: Path, paths: list[Path], env: dict[str, str]) -> dict[str, Any]:
    code, *layers = paths
    arguments = [mode, case.style, str(image), case.content_type, str(code), os.pathsep.join(map(str, layers))]
    result = harness.run_isolated([str(PROBE), *arguments], env, timeout=300, what=f"memory probe ({mode}, {case})")
    if not result["ok"]:
        raise RuntimeError(f"the measured upload did not succeed: {result}")
    return result


def run(*, scale: float = 1.0, rss_runs: int = 3, build_dir: Path | None = harness.BUILD_DIR) -> dict[str, Any]:
    """Measure every case at its limit (times ``scale``: the smoke test uses small images).

    ``rss_runs`` 0: one process measures both ways (quicker, for the smoke test).
    """
    template = harness.load_template()
    spec = next(s for s in template.functions() if ("POST", "/images") in {(r.method, r.path) for r in s.routes})
    routes = harness.route_table(template)
    layout, import_paths = code_layout(build_dir)
    paths = import_paths[spec.logical_id]
    # Loopback and a closed port: the probe's stub answers first, and nothing can leave the machine.
    env = child_environment({**spec.environment, **_MALLOC, "AWS_ENDPOINT_URL": "https://127.0.0.1:9"})
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as scratch:
        for case in CASES:
            if case.style == "direct" and ("POST", "/images/uploads") not in routes:
                continue
            limit = int(spec.environment[case.limit_variable])
            image = Path(scratch) / f"{case.style}-{case.content_type.replace('/', '.')}"
            image.write_bytes(MAKERS[case.content_type](int(limit * scale)))
            if rss_runs:
                traced = _probe("tracemalloc", case, image, paths, env)
                rss = [_probe("rss", case, image, paths, env) for _ in range(rss_runs)]
            else:
                traced = _probe("both", case, image, paths, env)
                rss = [traced]
            summary = _summary(traced, rss, image)
            width, height = map(int, summary["pixels"].split("x"))
            expected = expected_peak_bytes(case.style, summary["image_bytes"], width, height)
            summary.update(expected_peak_bytes=expected, peak_over_expected=round(traced["peak_bytes"] / expected, 3))
            results.append({**asdict(case), "limit_bytes": limit, **summary})
    return {
        "layout": layout,
        "function": spec.logical_id,
        "memory_size_mb": spec.memory_mb,
        "cases": results,
    }


def _summary(traced: dict[str, Any], rss: list[dict[str, Any]], image: Path) -> dict[str, Any]:
    with Image.open(image) as picture:
        width, height = picture.size
    size = traced["image_bytes"]
    growth = max(r["rss_peak_bytes"] - r["rss_before_bytes"] for r in rss)
    return {
        "image_bytes": size,
        "pixels": f"{width}x{height}",
        "decoded_bytes": width * height * 3,
        "aws_requests": traced["aws_requests"],
        "tracemalloc_peak_bytes": traced["peak_bytes"],
        "tracemalloc_multiple": round(traced["peak_bytes"] / size, 2),
        "rss_growth_bytes": growth,
        "rss_growth_multiple": round(growth / size, 2),
        "rss_peak_bytes": max(r["rss_peak_bytes"] for r in rss),
        "rss_hwm_reset": all(r["hwm_reset"] for r in rss),
        "handler_ms": harness.describe([r["duration_ms"] for r in rss]),
    }
