"""The local mode under load: ``make serve`` started for real, driven over loopback.

1. First answer: ``make serve`` started afresh several times (``first_answer.py``); the median time
   from starting it to the first ``200`` of a listing, against the 1.5 s target.
2. Photos are written straight into the local AWS emulation with the layer's item builders (the
   API's write routes need sign-in; reads are what is measured here).
3. Each scenario runs for a fixed time per concurrency level, after an unmeasured warm-up that
   starts the function workers (their cold starts are reported from the server's log).
   The AWS emulation against the other engines installed (``emulation.py``): DynamoDB calls in-process.
4. Each route's own overhead: its p50 at one client minus the p50 of the AWS calls its handler made
   in the same requests. The server runs with ``LOCALAPI_SERVER_TIMING``: the function's worker
   times the handler and its AWS calls (signed with the function's role, IAM checks included) and
   each answer says so in a ``Server-Timing`` header, so both figures come from the same requests.
5. Where a Docker engine answers (this module never starts one; ``python3 scripts/with_docker.py
   make bench`` does), ``make sam-api`` runs beside it and every route is measured on both in
   interleaved rounds: the ratio per route.

The load generator is a pool of threads with one keep-alive HTTP connection each.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from image_service.ids import created_at_of, new_image_id
from image_service.items import image_to_item
from image_service.models import Image
from image_service.object_keys import object_key_for
from image_service.tag_index import TagIndex
from localapi.worker import SERVER_TIMING

from . import emulation, first_answer, harness
from .reads import write_batch

DURATION_S = 10.0
WARMUP_S = 2.0
CONCURRENCY = (1, 4)
SEED_IMAGES = 100
ROUNDS = 4  # interleaved rounds of the make sam-api comparison
OVERHEAD_TARGET_MS = 1.5
# make serve against warm `sam local start-api`, p50 at one client (issue 18)
SAM_API_TARGETS = {"get": 3.0, "list by user": 2.0, "list by tag": 2.0}
_API_LINE = re.compile(r"Image service API[^:]*:\s+(http://\S+)")
_AWS_LINE = re.compile(r"AWS emulation \(moto\):\s+(http://\S+)")
_COLD_LINE = re.compile(r"cold start: (\w+) init ([\d.]+) ms")


class Server:
    """``make serve`` in its own process group, stopped the way Ctrl-C would stop it."""

    def __init__(self, scratch: Path, target: str = "serve", port: int = 0, env: dict[str, str] | None = None) -> None:
        self.target = target
        self.log = scratch / f"{target}.log"
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("STATE_DIR", "PORT", "AWS_ENDPOINT_URL", "MAKEFLAGS")},
            **(env or {}),
        }
        self.started = time.perf_counter()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["make", "--no-print-directory", "-s", "-C", str(harness.ROOT), target, f"PORT={port}"],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_urls(self, timeout: float = 600.0) -> tuple[str, str]:
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
        """SIGTERM to our own process group (make and the server); the server stops its children.
        ``make sam-api`` gets Ctrl-C's SIGINT, as its own test stops it (its containers go too)."""
        group = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGINT if self.target == "sam-api" else signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=120 if self.target == "sam-api" else 30)
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


def seed(aws_url: str, count: int, ids: list[str] | None = None) -> list[str]:
    """Write ``count`` photos of one user, all with one tag, into the local AWS emulation (with
    the ids ``ids`` when given: the same photos in a second emulation)."""
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
    chosen = list(ids or [])
    ids = []
    start = int(time.time() * 1000) - count
    for index in range(count):
        image_id = chosen[index] if chosen else new_image_id(start + index)
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
            # As an upload stores them: a listing signs each photo's thumbnail URL.
            variants=("original", "thumbnail", "display"),
        )
        ids.append(image_id)
        rows.append((environment["IMAGES_TABLE_NAME"], image_to_item(image)))
        rows += [(environment["IMAGE_TAGS_TABLE_NAME"], a["Put"]["Item"]) for a in tags.put_actions(image)]
    for offset in range(0, len(rows), 25):
        write_batch(dynamodb, rows[offset : offset + 25])
    return ids


def load(base_url: str, paths: list[str], concurrency: int, seconds: float) -> dict[str, Any]:
    """Requests/s and latency of GETs of ``paths`` (picked at random) for ``seconds``."""
    samples, errors, elapsed = drive(base_url, paths, concurrency, seconds)
    merged = [ms for ms, _ in samples]
    return {
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "requests": len(merged),
        "errors": errors,
        "rps": round(len(merged) / elapsed, 1),
        "p50_ms": round(harness.percentile(merged, 0.50), 1),
        "p90_ms": round(harness.percentile(merged, 0.90), 1),
        "p99_ms": round(harness.percentile(merged, 0.99), 1),
        "max_ms": round(max(merged), 1) if merged else None,
    }


def drive(
    base_url: str, paths: list[str], concurrency: int, seconds: float
) -> tuple[list[tuple[float, str | None]], int, float]:
    """GETs of ``paths`` for ``seconds``: ((ms, its Server-Timing header) of each 200, errors, elapsed s)."""
    parts = urlsplit(base_url)
    samples: list[list[tuple[float, str | None]]] = [[] for _ in range(concurrency)]
    errors = [0] * concurrency
    stop_at = time.perf_counter() + seconds

    def client(slot: int) -> None:
        picker = random.Random(slot)  # noqa: S311 - load pattern, not secrets
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            while time.perf_counter() < stop_at:
                path = picker.choice(paths)
                started = time.perf_counter()
                timing = None
                try:
                    connection.request("GET", path)
                    response = connection.getresponse()
                    response.read()
                    ok = response.status == 200
                    timing = response.getheader("Server-Timing")
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                    ok = False
                if ok:
                    samples[slot].append(((time.perf_counter() - started) * 1000, timing))
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
    return [sample for per_client in samples for sample in per_client], sum(errors), elapsed


def server_timing(header: str | None) -> dict[str, float]:
    """``handler;dur=3.1, aws;dur=2.4`` as {"handler": 3.1, "aws": 2.4}."""
    metrics = {}
    for part in (header or "").split(","):
        name, _, duration = part.strip().partition(";dur=")
        if name and duration:
            metrics[name] = float(duration)
    return metrics


def own_overhead_ms(route_p50: float, aws_p50: float) -> float:
    """A route's own overhead as reported: the difference of its two p50s, each to 0.01 ms. The
    difference is rounded too, so that the verdict judges the figure shown (5.36 - 3.86 is
    1.5000000000000004 in floating point, and was called a miss of the 1.5 ms target)."""
    return round(round(route_p50, 2) - round(aws_p50, 2), 2)


def overhead(api_url: str, scenarios: dict[str, list[str]], seconds: float) -> dict[str, dict[str, Any]]:
    """Per route, one client: its p50 and, from the same requests, the p50 of the AWS calls its
    handler made and of the handler's whole run, both timed inside the function's worker
    (``LOCALAPI_SERVER_TIMING``); a route's own overhead is its p50 minus its AWS calls' p50."""
    results = {}
    for name, paths in scenarios.items():
        samples = [(ms, server_timing(header)) for ms, header in drive(api_url, paths, 1, seconds)[0]]
        samples = [(ms, timing) for ms, timing in samples if {"handler", "aws"} <= set(timing)]
        route = [ms for ms, _ in samples]
        aws = [timing["aws"] for _, timing in samples]
        handler = [timing["handler"] for _, timing in samples]
        route_p50, aws_p50 = harness.percentile(route, 0.5), harness.percentile(aws, 0.5)
        own = own_overhead_ms(route_p50, aws_p50)
        results[name] = {
            "route_p50_ms": round(route_p50, 2),
            "aws_calls_p50_ms": round(aws_p50, 2),
            "handler_p50_ms": round(harness.percentile(handler, 0.5), 2),
            "overhead_ms": own,
            # Per request, the route minus its handler's whole run: gateway, hand-off, marshalling.
            "outside_handler_p50_ms": round(harness.percentile([ms - t["handler"] for ms, t in samples], 0.5), 2),
            "samples": len(samples),
            "meets_target": own <= OVERHEAD_TARGET_MS,
        }
    return results


def docker_answers() -> bool:
    """Whether a Docker engine answers here (this bench never starts one)."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def against_sam_api(
    scratch: Path,
    serve_url: str,
    scenarios: dict[str, list[str]],
    ids: list[str],
    seconds: float,
    warmup: float,
    rounds: int = ROUNDS,
) -> dict[str, Any]:
    """``make sam-api`` (warm containers) beside ``make serve``, same photos, interleaved rounds."""
    if not docker_answers():
        return {"measured": False, "reason": "not measured (no Docker)"}
    sam = Server(scratch, target="sam-api", port=free_port())
    try:
        try:
            sam_url, sam_aws = sam.wait_for_urls()
        except RuntimeError:
            tail = " | ".join(sam.output().strip().splitlines()[-3:])
            return {"measured": False, "reason": f"not measured (make sam-api did not start: {tail})"}
        ready_s = time.perf_counter() - sam.started
        seed(sam_aws, len(ids), ids=ids)
        routes = {}
        for name, paths in scenarios.items():
            drive(sam_url, paths, 1, warmup)  # starts the containers: not measured
            serve: list[float] = []
            sam_latencies: list[float] = []
            for _ in range(rounds):
                serve += [ms for ms, _ in drive(serve_url, paths, 1, seconds / rounds)[0]]
                sam_latencies += [ms for ms, _ in drive(sam_url, paths, 1, seconds / rounds)[0]]
            serve_p50, sam_p50 = harness.percentile(serve, 0.5), harness.percentile(sam_latencies, 0.5)
            ratio = sam_p50 / serve_p50 if serve_p50 else float("nan")
            routes[name] = {
                "serve_p50_ms": round(serve_p50, 2),
                "sam_api_p50_ms": round(sam_p50, 2),
                "ratio": round(ratio, 2),
                "target": SAM_API_TARGETS[name],
                "meets_target": ratio >= SAM_API_TARGETS[name],
                "samples": [len(serve), len(sam_latencies)],
            }
        return {
            "measured": True,
            "command": "make sam-api",
            "ready_s": round(ready_s, 2),
            "rounds": rounds,
            "routes": routes,
        }
    finally:
        sam.stop()


def run(
    *,
    seconds: float = DURATION_S,
    warmup: float = WARMUP_S,
    concurrency: tuple[int, ...] = CONCURRENCY,
    seed_images: int = SEED_IMAGES,
    sam_api: bool = True,
    rounds: int = ROUNDS,
    first_answer_rounds: int = first_answer.ROUNDS,
    engine_rounds: int = emulation.ROUNDS,
    engine_calls: int = emulation.CALLS,
) -> dict[str, Any]:
    # Fresh starts first, while nothing else of the bench runs: the median is the first-answer figure.
    first = first_answer.run(first_answer_rounds)
    engines = emulation.run(engine_rounds, engine_calls)
    with tempfile.TemporaryDirectory(prefix="bench-local-") as scratch:
        server = Server(Path(scratch), env={SERVER_TIMING: "1"})
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
            own = overhead(api_url, scenarios, seconds)
            beside = (
                against_sam_api(Path(scratch), api_url, scenarios, ids, seconds, warmup, rounds)
                if sam_api
                else {"measured": False, "reason": "not measured (not asked: the smoke-test sizes)"}
            )
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
        "first_answer": first,
        "emulation": engines,
        "overhead_target_ms": OVERHEAD_TARGET_MS,
        "overhead": own,
        "sam_api": beside,
        "scenarios": results,
        "worker_cold_starts": cold,
    }
