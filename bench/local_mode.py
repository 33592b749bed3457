"""The local mode under load: ``make serve`` started for real, driven over loopback.

1. ``make serve PORT=0`` is started as a process; the clock runs from that moment to the first
   ``200`` of a listing (the AWS emulation, the gateway and the list function's cold start).
2. Photos are written straight into the local AWS emulation with the layer's item builders (the
   API's write routes need sign-in; reads are what is measured here).
3. Each scenario runs for a fixed time per concurrency level, after an unmeasured warm-up that
   starts the function workers (their cold starts are reported from the server's log).

The load generator is a pool of threads with one keep-alive HTTP connection each.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from image_service.ids import new_image_id
from image_service.images_repository import image_to_item
from image_service.models import Image
from image_service.service import created_at_of, object_key_for
from image_service.tag_index import TagIndex

from . import harness
from .reads import write_batch

DURATION_S = 10.0
WARMUP_S = 2.0
CONCURRENCY = (1, 4)
SEED_IMAGES = 100
_API_LINE = re.compile(r"Image service API:\s+(http://\S+)")
_AWS_LINE = re.compile(r"AWS emulation \(moto\):\s+(http://\S+)")
_COLD_LINE = re.compile(r"cold start: (\w+) init ([\d.]+) ms")


class Server:
    """``make serve`` in its own process group, stopped the way Ctrl-C would stop it."""

    def __init__(self, scratch: Path) -> None:
        self.log = scratch / "serve.log"
        env = {k: v for k, v in os.environ.items() if k not in ("STATE_DIR", "PORT", "AWS_ENDPOINT_URL", "MAKEFLAGS")}
        self.started = time.perf_counter()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["make", "--no-print-directory", "-s", "-C", str(harness.ROOT), "serve", "PORT=0"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_urls(self, timeout: float = 180.0) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            api, aws = _API_LINE.search(text), _AWS_LINE.search(text)
            if api and aws:
                return api.group(1), aws.group(1)
            if self.process.poll() is not None:
                break
            time.sleep(0.01)
        raise RuntimeError(f"make serve did not start:\n{self.output()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM to our own process group (make and the server); the server stops its children."""
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.killpg(group, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.process.wait(timeout=10)


def first_success(base_url: str, path: str, timeout: float = 120.0) -> None:
    parts = urlsplit(base_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.01)
    raise RuntimeError("the local mode never answered 200")


def seed(aws_url: str, count: int) -> list[str]:
    """Write ``count`` photos of one user, all with one tag, into the local AWS emulation."""
    environment = harness.load_template().functions()[0].environment
    dynamodb = boto3.session.Session().client(
        "dynamodb",
        region_name=harness.REGION,
        endpoint_url=aws_url,
        config=Config(retries={"max_attempts": 1}),
        **{k.lower(): v for k, v in harness.FAKE_CREDENTIALS.items()},
    )
    tags = TagIndex(None, environment["IMAGE_TAGS_TABLE_NAME"])
    rows: list[tuple[str, dict[str, Any]]] = []
    ids = []
    start = int(time.time() * 1000) - count
    for index in range(count):
        image_id = new_image_id(start + index)
        image = Image(
            image_id=image_id,
            user_id="load-user",
            title=f"photo {index}",
            description="A photo written for the load test.",
            tags=("load-tag",),
            content_type="image/jpeg",
            size_bytes=2_500_000,
            sha256="0" * 64,
            width=4032,
            height=3024,
            created_at=created_at_of(start + index),
            object_key=object_key_for(image_id),
        )
        ids.append(image_id)
        rows.append((environment["IMAGES_TABLE_NAME"], image_to_item(image)))
        rows += [(environment["IMAGE_TAGS_TABLE_NAME"], a["Put"]["Item"]) for a in tags.put_actions(image)]
    for offset in range(0, len(rows), 25):
        write_batch(dynamodb, rows[offset : offset + 25])
    return ids


def load(base_url: str, paths: list[str], concurrency: int, seconds: float) -> dict[str, Any]:
    """Requests/s and latency of GETs of ``paths`` (picked at random) for ``seconds``."""
    parts = urlsplit(base_url)
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    stop_at = time.perf_counter() + seconds

    def client(slot: int) -> None:
        picker = random.Random(slot)  # noqa: S311 - load pattern, not secrets
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            while time.perf_counter() < stop_at:
                path = picker.choice(paths)
                started = time.perf_counter()
                try:
                    connection.request("GET", path)
                    response = connection.getresponse()
                    response.read()
                    ok = response.status == 200
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                    ok = False
                if ok:
                    latencies[slot].append((time.perf_counter() - started) * 1000)
                else:
                    errors[slot] += 1
        finally:
            connection.close()

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    merged = [value for per_client in latencies for value in per_client]
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "requests": len(merged),
        "errors": sum(errors),
        "rps": round(len(merged) / elapsed, 1),
        "p50_ms": round(harness.percentile(merged, 0.50), 1),
        "p90_ms": round(harness.percentile(merged, 0.90), 1),
        "p99_ms": round(harness.percentile(merged, 0.99), 1),
        "max_ms": round(max(merged), 1) if merged else None,
    }


def run(
    *,
    seconds: float = DURATION_S,
    warmup: float = WARMUP_S,
    concurrency: tuple[int, ...] = CONCURRENCY,
    seed_images: int = SEED_IMAGES,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-local-") as scratch:
        server = Server(Path(scratch))
        try:
            api_url, aws_url = server.wait_for_urls()
            url_ready = time.perf_counter() - server.started
            first_success(api_url, "/images?user_id=first-request")
            first_ok = time.perf_counter() - server.started
            ids = seed(aws_url, seed_images)
            scenarios = {
                "get": [f"/images/{image_id}" for image_id in ids],
                "list by user": ["/images?user_id=load-user&limit=20"],
                "list by tag": ["/images?tag=load-tag&limit=20"],
            }
            results: dict[str, list[dict[str, Any]]] = {}
            for name, paths in scenarios.items():
                load(api_url, paths, max(concurrency), warmup)  # starts the workers: not measured
                results[name] = [load(api_url, paths, level, seconds) for level in concurrency]
        finally:
            server.stop()
            output = server.output()
    cold = [{"function": m.group(1), "init_ms": float(m.group(2))} for m in _COLD_LINE.finditer(output)]
    return {
        "command": "make serve PORT=0",
        "seed_images": seed_images,
        "seconds_per_run": seconds,
        "serve_to_listening_s": round(url_ready, 2),
        "serve_to_first_200_s": round(first_ok, 2),
        "scenarios": results,
        "worker_cold_starts": cold,
    }
