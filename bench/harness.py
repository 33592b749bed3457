"""Shared plumbing: paths, the template's environments, loading handlers, metering AWS calls.

AWS calls are counted with botocore's public event hooks on the clients the handlers create at
import. The hooks go on a fresh boto3 default session *before* a handler module is imported:
botocore copies a session's event handlers into every client it creates, so exactly the
handler's own clients are metered, and nothing else (the bench's admin clients use their own
session).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import logging
import math
import os
import platform
import random
import statistics
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
from PIL import Image, PngImagePlugin

from image_service.log import JsonFormatter
from localapi.events import build_proxy_event
from localapi.template import FunctionSpec, Template

ROOT = Path(__file__).resolve().parent.parent
LAYER_DIR = ROOT / "layers" / "storage"
LOCAL_DIR = ROOT / "local"
TEMPLATE_PATH = ROOT / "template.yaml"
BUILD_DIR = ROOT / ".aws-sam" / "build"
RESULTS_DIR = ROOT / "bench" / "results"
REGION = "us-east-1"
# moto accepts any credentials; these say plainly that nothing here is real.
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret"}
CURSOR_SECRET = "bench-cursor-secret-0123456789abcdef"  # noqa: S105 - signs the bench's own cursors
# DynamoDB bills reads in 4 KB units (half a unit when eventually consistent) and writes in 1 KB
# units (two per item inside a transaction).
READ_UNIT_BYTES = 4096
WRITE_UNIT_BYTES = 1024


def run_isolated(arguments: list[str], env: dict[str, str], *, timeout: float, what: str) -> dict[str, Any]:
    """``python -I -B ARGUMENTS`` in a fresh interpreter (no site, user paths or bytecode writes:
    what a measured child must not inherit), whose last line of output is its JSON result."""
    done = subprocess.run(
        [sys.executable, "-I", "-B", *arguments], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def load_template() -> Template:
    return Template(TEMPLATE_PATH, secrets={"CursorSigningSecret": CURSOR_SECRET})


def deployed_environment(spec: FunctionSpec) -> dict[str, str]:
    """The environment Lambda would give ``spec``: the template's variables, region, credentials."""
    return {**spec.environment, **FAKE_CREDENTIALS, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}


@contextlib.contextmanager
def patched_environ(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` (and no endpoint override) for the block, then restored."""
    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


class _LogMeter(logging.Filter):
    """Counts what the handlers log (CloudWatch bills log ingestion by the byte) and drops it.

    The bench's own output is its table; the JSON lines are measured, not printed.
    """

    def __init__(self, meter: AwsMeter) -> None:
        super().__init__()
        self._meter = meter
        self._formatter = JsonFormatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if self._meter.current is not None:
            self._meter.current.log_lines += 1
            self._meter.current.log_bytes += len(self._formatter.format(record).encode()) + 1
        return False


@contextlib.contextmanager
def metered_logs(meter: AwsMeter) -> Iterator[None]:
    """Count and silence the layer's log lines for the block."""
    logger = logging.getLogger("image_service")
    log_filter = _LogMeter(meter)
    logger.addFilter(log_filter)
    try:
        yield
    finally:
        logger.removeFilter(log_filter)


# -- DynamoDB item sizes (for the read/write unit estimates) --------------------------------


def attribute_value_size(value: dict[str, Any]) -> int:  # noqa: PLR0911 - one branch per DynamoDB type
    """Bytes DynamoDB counts for one attribute value (its documented item-size rules)."""
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "B":
        return len(data)
    if kind == "N":
        digits = len(data.lstrip("-").replace(".", "").strip("0")) or 1
        return (digits + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(attribute_value_size(element) + 1 for element in data)
    if kind == "M":
        return 3 + sum(len(name.encode()) + attribute_value_size(element) + 1 for name, element in data.items())
    if kind in ("SS", "BS"):
        return sum(len(element if isinstance(element, bytes) else element.encode()) for element in data)
    if kind == "NS":
        return sum(attribute_value_size({"N": element}) for element in data)
    raise ValueError(f"unknown attribute type {kind}")


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_value_size(value) for name, value in item.items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


# -- metering ------------------------------------------------------------------------------


@dataclass
class CallRecord:
    """One AWS API call a handler made, and what DynamoDB read or wrote for it."""

    name: str  # e.g. "dynamodb.Query", "s3.PutObject"
    items_read: int = 0  # items DynamoDB evaluated (Query ScannedCount, items found by Get/BatchGet)
    read_units: float = 0.0  # estimate from the sizes of the items returned
    items_written: int = 0
    write_units: float = 0.0  # estimate from the sizes of the items sent


@dataclass
class Measurement:
    calls: list[CallRecord] = field(default_factory=list)
    http_requests: int = 0  # attempts on the wire (retries would show here, not in calls)
    local_signatures: int = 0  # pre-signed URLs and POST forms: signed in the function, no request sent
    log_lines: int = 0
    log_bytes: int = 0

    def call_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(call.name for call in self.calls).items()))

    def summary(self) -> dict[str, Any]:
        return {
            "calls": self.call_counts(),
            "call_total": len(self.calls),
            "http_requests": self.http_requests,
            "local_signatures": self.local_signatures,
            "items_read": sum(call.items_read for call in self.calls),
            "items_read_by_call": {
                name: sum(c.items_read for c in self.calls if c.name == name) for name in self.call_counts()
            },
            "read_units_est": sum(call.read_units for call in self.calls),
            "items_written": sum(call.items_written for call in self.calls),
            "write_units_est": sum(call.write_units for call in self.calls),
            "log_lines": self.log_lines,
            "log_bytes": self.log_bytes,
        }


class AwsMeter:
    """Counts the API calls, HTTP attempts and local signatures of clients it is attached to."""

    def __init__(self) -> None:
        self.current: Measurement | None = None

    def attach(self, events: Any) -> None:
        events.register("before-parameter-build", self._remember_params, unique_id="bench-params")
        events.register("before-call", self._before_call, unique_id="bench-before-call")
        events.register("after-call", self._after_call, unique_id="bench-after-call")
        events.register("before-sign", self._before_sign, unique_id="bench-before-sign")
        # First in line, so it also sees requests that a stub (moto) answers without sending.
        events.register_first("before-send", self._before_send, unique_id="bench-before-send")

    @contextlib.contextmanager
    def measure(self) -> Iterator[Measurement]:
        measurement = Measurement()
        self.current = measurement
        try:
            yield measurement
        finally:
            self.current = None

    # The hooks: botocore passes keyword arguments only.

    def _remember_params(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> None:
        if self.current is None:
            return
        service = model.service_model.service_id.hyphenize()
        record = CallRecord(name=f"{service}.{model.name}")
        params = context.get("bench_params") or {}
        record.items_written, record.write_units = _writes(model.name, params)
        context["bench_record"] = record
        self.current.calls.append(record)

    def _after_call(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        record = context.get("bench_record")
        if record is not None:
            record.items_read, record.read_units = _reads(model.name, context.get("bench_params") or {}, parsed)

    def _before_sign(self, signature_version: Any = None, **_: Any) -> None:
        # Pre-signed URLs sign with a "-query" signature (it travels in the URL), pre-signed POST
        # forms with "-presign-post"; a request that is sent signs with neither.
        if self.current is not None and str(signature_version).endswith(("-query", "-presign-post")):
            self.current.local_signatures += 1

    def _before_send(self, **_: Any) -> None:
        if self.current is not None:
            self.current.http_requests += 1


def _reads(operation: str, params: dict[str, Any], parsed: dict[str, Any]) -> tuple[int, float]:
    """Items read and the read units they cost (estimated from the returned items' sizes)."""
    factor = 1.0 if params.get("ConsistentRead") else 0.5
    if operation in ("Query", "Scan"):
        items = parsed.get("Items", [])
        size = sum(item_size(item) for item in items)
        return int(parsed.get("ScannedCount", parsed.get("Count", len(items)))), _units(size, READ_UNIT_BYTES) * factor
    if operation == "GetItem":
        item = parsed.get("Item")
        # A GetItem that finds nothing still costs one unit.
        return (1 if item else 0), _units(item_size(item) if item else 0, READ_UNIT_BYTES) * factor
    if operation == "BatchGetItem":
        items = [item for table_items in parsed.get("Responses", {}).values() for item in table_items]
        units = sum(_units(item_size(item), READ_UNIT_BYTES) for item in items) * 0.5
        return len(items), units
    if operation == "TransactGetItems":
        items = [entry.get("Item") for entry in parsed.get("Responses", []) if entry.get("Item")]
        return len(items), sum(2 * _units(item_size(item), READ_UNIT_BYTES) for item in items)
    return 0, 0.0


def _writes(operation: str, params: dict[str, Any]) -> tuple[int, float]:
    """Items written and the write units they cost (deletes and updates counted at 1 KB)."""

    def units(action: dict[str, Any]) -> int:
        item = action.get("Item")
        return _units(item_size(item), WRITE_UNIT_BYTES) if item else 1

    if operation == "TransactWriteItems":
        actions = [next(iter(entry.values())) for entry in params.get("TransactItems", [])]
        return len(actions), float(sum(2 * units(action) for action in actions))
    if operation == "BatchWriteItem":
        requests = [r for table in params.get("RequestItems", {}).values() for r in table]
        return len(requests), float(sum(units(next(iter(r.values()))) for r in requests))
    if operation in ("PutItem", "DeleteItem", "UpdateItem"):
        return 1, float(units(params))
    return 0, 0.0


# -- handlers ------------------------------------------------------------------------------


class LambdaContext:
    aws_request_id = "bench-request"
    function_name = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


@dataclass
class LoadedFunction:
    spec: FunctionSpec
    module: ModuleType
    handler: Callable[[dict[str, Any], Any], dict[str, Any]]

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.handler(event, LambdaContext())


_loaded_count = Counter[str]()


def load_function(spec: FunctionSpec, meter: AwsMeter) -> LoadedFunction:
    """Import ``spec``'s handler module as Lambda would (its environment, clients made at import).

    Each call makes a new module object (a new "container"), so loads never share clients.
    """
    module_name, handler_name = spec.handler.rsplit(".", 1)
    _loaded_count[spec.logical_id] += 1
    unique = f"bench_{spec.logical_id}_{_loaded_count[spec.logical_id]}"
    module_spec = importlib.util.spec_from_file_location(unique, spec.code_dir / f"{module_name}.py")
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {spec.code_dir / module_name}.py")
    module = importlib.util.module_from_spec(module_spec)
    session = boto3.Session()
    meter.attach(session.events)
    previous = boto3.DEFAULT_SESSION
    boto3.DEFAULT_SESSION = session
    try:
        with patched_environ(deployed_environment(spec)):
            module_spec.loader.exec_module(module)
    finally:
        boto3.DEFAULT_SESSION = previous
    return LoadedFunction(spec=spec, module=module, handler=getattr(module, handler_name))


def admin_clients() -> tuple[Any, Any]:
    """Unmetered DynamoDB and S3 clients (for creating tables and seeding data)."""
    return admin_client("dynamodb"), admin_client("s3")


def admin_client(service: str) -> Any:
    """An unmetered client of ``service`` (e.g. Secrets Manager, to create the cursor key)."""
    session = boto3.Session(
        region_name=REGION,
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    return session.client(service)


def route_table(template: Template) -> dict[tuple[str, str], FunctionSpec]:
    """(method, resource path) -> the function the template routes it to."""
    return {(route.method, route.path): spec for spec in template.functions() for route in spec.routes}


def api_event(
    method: str,
    resource: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: str | bytes | None = None,
    content_type: str = "application/json",
    caller: str | None = None,
) -> dict[str, Any]:
    """An API Gateway (REST) proxy event, as the local mode builds it; ``caller`` adds Cognito claims.

    A ``bytes`` body of an ``image/*`` type arrives base64-encoded, as the template's binary media
    types make API Gateway send it.
    """
    path = resource
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    event = build_proxy_event(
        method=method,
        resource=resource,
        path=path,
        path_parameters=path_parameters,
        query={name: [value] for name, value in (query or {}).items()},
        headers={"Content-Type": [content_type]} if body is not None else {},
        body=body.encode() if isinstance(body, str) else body,
        binary_media_types=["image/*"],
    )
    if caller is not None:
        # What API Gateway's Cognito authorizer passes on: the verified ID token's claims.
        event["requestContext"]["authorizer"] = {
            "claims": {"sub": caller, "cognito:username": caller, "token_use": "id"}
        }
    return event


# -- images --------------------------------------------------------------------------------


def small_png(size: tuple[int, int] = (32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


def noise_png(target_bytes: int, seed: int = 5) -> bytes:
    """A valid PNG of exactly ``target_bytes``: random pixels (incompressible) plus a text chunk as padding."""
    width = 1024
    row_bytes = width * 3 + 1  # a filter byte per row
    overhead = 1024  # signature, IHDR, IEND, zlib framing and the padding chunk's own framing
    height = max(1, (target_bytes - overhead) // row_bytes)
    rng = random.Random(seed)  # noqa: S311 - test pixels, not secrets
    while True:
        picture = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG", compress_level=1)
        spare = target_bytes - len(buffer.getvalue()) - 12 - len(b"pad\0")
        if spare >= 0:
            break
        height -= max(1, -spare // row_bytes + 1)
    info = PngImagePlugin.PngInfo()
    info.add_text("pad", "x" * spare)
    return _exact(picture, target_bytes, format="PNG", compress_level=1, pnginfo=info)


def photo_jpeg(target_bytes: int) -> bytes:
    """A camera-like JPEG of exactly ``target_bytes``: ~5.3 pixels per byte (24 MP at 4.5 MB).

    A smooth gradient with fine noise, saved at the quality that fills ``target_bytes``; rows are
    trimmed to come within one comment segment of the target, and a comment pads the rest.
    """
    pixels = target_bytes * 16 // 3
    width = max(48, int((pixels * 3 / 2) ** 0.5))

    def make(rows: int) -> Any:
        gradient = Image.linear_gradient("L").resize((width, rows))
        noise = Image.effect_noise((width, rows), 8)
        return Image.merge("RGB", (gradient, noise, Image.blend(gradient, noise, 0.5)))

    def size(image: Any, quality: int) -> int:
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=quality)
        return len(buffer.getvalue())

    rows = max(32, pixels // width)
    picture = make(rows)
    low, high = 30, 98  # the highest quality that stays under the target
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if size(picture, middle) <= target_bytes else (low, middle - 1)
    room = 60_000  # a comment segment holds up to 65,533 bytes
    step = 16  # whole JPEG blocks of rows
    for _ in range(10):
        current = size(picture, low)
        if current > target_bytes - 4:
            rows -= step
            picture = picture.crop((0, 0, width, rows))
        elif current < target_bytes - room:
            rows = max(rows + step, int(rows * (target_bytes - room / 2) / current) // step * step)
            picture = make(rows)
        else:
            break
    spare = target_bytes - size(picture, low) - 4  # a comment's marker and length
    return _exact(picture, target_bytes, format="JPEG", quality=low, comment=b"x" * spare)


def _exact(picture: Any, target_bytes: int, **options: Any) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, **options)
    data = buffer.getvalue()
    if len(data) != target_bytes:
        raise RuntimeError(f"generated {len(data)} bytes, wanted {target_bytes}")
    return data


# -- statistics and context ----------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (no interpolation: a reported p99 is a latency that happened)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def describe(values: list[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "p25": percentile(values, 0.25),
        "p75": percentile(values, 0.75),
        "max": max(values),
        "runs": len(values),
    }


def machine() -> dict[str, Any]:
    """Where and when the figures were taken."""
    cpu = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory_gb = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    versions = {}
    for package in ("boto3", "botocore", "moto", "pillow"):
        with contextlib.suppress(PackageNotFoundError):
            versions[package] = version(package)
    commit = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": versions,
        "commit": commit,
        "load_average": load_average(),
    }


def load_average() -> list[float]:
    """1, 5 and 15 minute load averages: how busy the machine was (other work skews timings)."""
    with contextlib.suppress(OSError):
        return [round(value, 2) for value in os.getloadavg()]
    return []


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    temporary.replace(path)
