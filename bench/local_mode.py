"""The local mode under load: ``make serve`` started for real, driven over loopback.

1. ``make serve PORT=0`` is started as a process; the clock runs from that moment to the first
   ``200`` of a listing (the AWS emulation, the gateway and the list function's cold start).
2. Photos are written straight into the local AWS emulation with the layer's item builders (the
   API's write routes need sign-in; reads are what is measured here).
3. Each scenario runs for a fixed time per concurrency level, after an unmeasured warm-up that
   starts the function workers (their cold starts are reported from the server's log).

4. Each route's own overhead: its p50 at one client minus the p50 of what the route asks of the
   AWS emulation (the layer's use-case call the handler makes, in this process, signed with
   the function's own role, so IAM enforcement counts as emulation), measured in interleaved rounds.
5. Where a Docker engine answers (never started here), ``make sam-api`` runs beside it and every
   route is measured on both in interleaved rounds: the ratio per route.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from image_service.aws import Clients
from image_service.config import Settings
from image_service.ids import created_at_of, new_image_id
from image_service.items import image_to_item
from image_service.models import Image
from image_service.object_keys import object_key_for
from image_service.reads import Listing, Reads
from image_service.secret_store import with_cursor_secret
from image_service.tag_index import TagIndex
from image_service.validation import parse_list_query

from . import harness
from .reads import write_batch

DURATION_S = 10.0
WARMUP_S = 2.0
CONCURRENCY = (1, 4)
SEED_IMAGES = 100
ROUNDS = 4  # interleaved rounds of the overhead and make sam-api comparisons
OVERHEAD_TARGET_MS = 1.5
FIRST_ANSWER_TARGET_S = 1.5
# make serve against warm `sam local start-api`, p50 at one client (issue 18)
SAM_API_TARGETS = {"get": 3.0, "list by user": 2.0, "list by tag": 2.0}
ROUTE_FUNCTIONS = {"get": "GetFunction", "list by user": "ListFunction", "list by tag": "ListFunction"}
_API_LINE = re.compile(r"Image service API[^:]*:\s+(http://\S+)")
_AWS_LINE = re.compile(r"AWS emulation \(moto\):\s+(http://\S+)")
_COLD_LINE = re.compile(r"cold start: (\w+) init ([\d.]+) ms")


class Server:
    """``make serve`` in its own process group, stopped the way Ctrl-C would stop it."""

    def __init__(self, scratch: Path, target: str = "serve", port: int = 0) -> None:
        self.target = target
        self.log = scratch / f"{target}.log"
        env = {k: v for k, v in os.environ.items() if k not in ("STATE_DIR", "PORT", "AWS_ENDPOINT_URL", "MAKEFLAGS")}
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
        )
        ids.append(image_id)
        rows.append((environment["IMAGES_TABLE_NAME"], image_to_item(image)))
        rows += [(environment["IMAGE_TAGS_TABLE_NAME"], a["Put"]["Item"]) for a in tags.put_actions(image)]
    for offset in range(0, len(rows), 25):
        write_batch(dynamodb, rows[offset : offset + 25])
    return ids


def load(base_url: str, paths: list[str], concurrency: int, seconds: float) -> dict[str, Any]:
    """Requests/s and latency of GETs of ``paths`` (picked at random) for ``seconds``."""
    merged, errors, elapsed = drive(base_url, paths, concurrency, seconds)
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


def drive(base_url: str, paths: list[str], concurrency: int, seconds: float) -> tuple[list[float], int, float]:
    """(latencies in ms of the 200s, errors, elapsed s) of GETs of ``paths`` for ``seconds``."""
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
    return [value for per_client in latencies for value in per_client], sum(errors), elapsed


def repeat(call: Callable[[int], Any], seconds: float) -> list[float]:
    """Latencies in ms of ``call(i)`` made one after another for ``seconds``."""
    latencies = []
    stop_at = time.perf_counter() + seconds
    index = 0
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        call(index)
        latencies.append((time.perf_counter() - started) * 1000)
        index += 1
    return latencies


def _role_session(aws_url: str, function: str) -> dict[str, str]:
    """The function's own role, assumed in the emulation as Lambda assumes it (so the emulation
    checks every call as it checks the function's); the developer's keys if IAM is off."""
    developer = {k.lower(): v for k, v in harness.FAKE_CREDENTIALS.items()}
    iam = boto3.session.Session().client("iam", region_name=harness.REGION, endpoint_url=aws_url, **developer)
    roles = [r["Arn"] for r in iam.list_roles()["Roles"] if r["RoleName"].endswith(f"-{function}Role")]
    if not roles:
        return developer
    sts = boto3.session.Session().client("sts", region_name=harness.REGION, endpoint_url=aws_url, **developer)
    credentials = sts.assume_role(RoleArn=roles[0], RoleSessionName="bench")["Credentials"]
    return {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }


def emulation_calls(aws_url: str, ids: list[str]) -> dict[str, Callable[[int], Any]]:
    """Per route, what its handler asks of AWS: the layer's service call, against the emulation."""
    specs = {spec.logical_id: spec for spec in harness.load_template().functions()}
    settings_of: dict[str, tuple[Settings, Clients]] = {}
    for function in set(ROUTE_FUNCTIONS.values()):
        environment = dict(specs[function].environment)  # the secret's ARN as the local mode gives it
        session = boto3.session.Session(region_name=harness.REGION, **_role_session(aws_url, function))
        clients = Clients(session.client("dynamodb", endpoint_url=aws_url), session.client("s3", endpoint_url=aws_url))
        settings = Settings.from_env({**environment, "AWS_ENDPOINT_URL": aws_url, "AWS_REGION": harness.REGION})
        if settings.cursor_secret_id:
            settings = with_cursor_secret(settings, session.client("secretsmanager", endpoint_url=aws_url))
        settings_of[function] = (settings, clients)
    by_user = parse_list_query({"user_id": "load-user", "limit": "20"})
    by_tag = parse_list_query({"tag": "load-tag", "limit": "20"})
    get, listing = Reads(*settings_of["GetFunction"]), Listing(*settings_of["ListFunction"])
    return {
        "get": lambda i: get.get(ids[i % len(ids)]).to_public_dict(),
        "list by user": lambda i: listing.list(by_user).to_public_dict(),
        "list by tag": lambda i: listing.list(by_tag).to_public_dict(),
    }


def overhead(
    api_url: str, scenarios: dict[str, list[str]], calls: dict[str, Callable[[int], Any]], seconds: float
) -> dict[str, dict[str, Any]]:
    """Per route: p50 of the route (one client) and of its emulation calls, in interleaved rounds."""
    results = {}
    for name, paths in scenarios.items():
        route: list[float] = []
        emulation: list[float] = []
        for _ in range(ROUNDS):
            route += drive(api_url, paths, 1, seconds / ROUNDS)[0]
            emulation += repeat(calls[name], seconds / ROUNDS)
        route_p50, emulation_p50 = harness.percentile(route, 0.5), harness.percentile(emulation, 0.5)
        own = round(route_p50, 2) - round(emulation_p50, 2)  # as reported
        results[name] = {
            "route_p50_ms": round(route_p50, 2),
            "emulation_p50_ms": round(emulation_p50, 2),
            "overhead_ms": round(own, 2),
            "samples": [len(route), len(emulation)],
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
    scratch: Path, serve_url: str, scenarios: dict[str, list[str]], ids: list[str], seconds: float, warmup: float
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
            for _ in range(ROUNDS):
                serve += drive(serve_url, paths, 1, seconds / ROUNDS)[0]
                sam_latencies += drive(sam_url, paths, 1, seconds / ROUNDS)[0]
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
        return {"measured": True, "command": "make sam-api", "ready_s": round(ready_s, 2), "routes": routes}
    finally:
        sam.stop()


def run(
    *,
    seconds: float = DURATION_S,
    warmup: float = WARMUP_S,
    concurrency: tuple[int, ...] = CONCURRENCY,
    seed_images: int = SEED_IMAGES,
    sam_api: bool = True,
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
            own = overhead(api_url, scenarios, emulation_calls(aws_url, ids), seconds)
            beside = (
                against_sam_api(Path(scratch), api_url, scenarios, ids, seconds, warmup)
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
        "first_answer_target_s": FIRST_ANSWER_TARGET_S,
        "first_answer_meets_target": first_ok <= FIRST_ANSWER_TARGET_S,
        "overhead_target_ms": OVERHEAD_TARGET_MS,
        "overhead": own,
        "sam_api": beside,
        "scenarios": results,
        "worker_cold_starts": cold,
    }
