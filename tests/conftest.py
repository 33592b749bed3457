"""Shared fixtures: the template's environment, moto-backed AWS, the functions and sample images.

Tables and the bucket are created from ``template.yaml`` itself (through the local mode's template
reader), so the tests can never drift from the deployed schema.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parent.parent
# Both layers (the imaging layer adds Pillow's modules to the package image_service).
sys.path[:0] = [
    str(ROOT / "layers" / "storage"),
    str(ROOT / "layers" / "imaging"),
    str(ROOT / "local"),
    str(ROOT / "scripts"),
]

from moto import mock_aws  # noqa: E402  (imported before any client is created, so moto sees them all)

from localapi.resources import create_resources  # noqa: E402
from localapi.template import Template  # noqa: E402

TEST_CURSOR_SECRET = "test-cursor-secret-0123456789abcdef"
TEMPLATE = Template(ROOT / "template.yaml", secrets={"CursorSigningSecret": TEST_CURSOR_SECRET})
FUNCTIONS = {spec.logical_id: spec for spec in TEMPLATE.functions()}

# One process runs all four functions: give it the union of their environments.
os.environ.update(
    {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
)
os.environ.pop("AWS_ENDPOINT_URL", None)
for _spec in FUNCTIONS.values():
    os.environ.update(_spec.environment)


@pytest.fixture
def aws() -> Iterator[SimpleNamespace]:
    """A fresh moto account with the template's tables and bucket."""
    from image_service.aws import make_clients
    from image_service.config import Settings

    with mock_aws():
        dynamodb, s3 = make_clients(Settings.from_env())
        secretsmanager = boto3.client("secretsmanager", region_name=os.environ["AWS_DEFAULT_REGION"])
        create_resources(TEMPLATE, dynamodb, s3, secretsmanager)
        yield SimpleNamespace(
            dynamodb=dynamodb,
            s3=s3,
            secretsmanager=secretsmanager,
            bucket=os.environ["S3_BUCKET_NAME"],
            images_table=os.environ["IMAGES_TABLE_NAME"],
            tags_table=os.environ["IMAGE_TAGS_TABLE_NAME"],
        )


def storage_snapshot(aws: SimpleNamespace) -> dict[str, Any]:
    """Everything stored: object keys and both tables' rows (to prove nothing changed)."""
    objects = aws.s3.list_objects_v2(Bucket=aws.bucket).get("Contents", [])
    return {
        "objects": sorted(obj["Key"] for obj in objects),
        "images": sorted(json.dumps(i, sort_keys=True) for i in aws.dynamodb.scan(TableName=aws.images_table)["Items"]),
        "tags": sorted(json.dumps(i, sort_keys=True) for i in aws.dynamodb.scan(TableName=aws.tags_table)["Items"]),
    }


@pytest.fixture
def snapshot(aws: SimpleNamespace) -> Callable[[], dict[str, Any]]:
    return lambda: storage_snapshot(aws)


_loaded: dict[str, ModuleType] = {}


def fresh_function(logical_id: str, name: str) -> ModuleType:
    """Import a function's handler module as a new container would (not ``load_function``'s cache)."""
    spec = FUNCTIONS[logical_id]
    module_name, _ = spec.handler.rsplit(".", 1)
    module_spec = importlib.util.spec_from_file_location(name, spec.code_dir / f"{module_name}.py")
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def load_function(logical_id: str) -> ModuleType:
    """Import a function's handler module from its folder, once (a warm container)."""
    if logical_id not in _loaded:
        _loaded[logical_id] = fresh_function(logical_id, f"function_{logical_id}")
    return _loaded[logical_id]


class FakeContext:
    aws_request_id = "test-request-id"
    function_name = "test"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def invoke(logical_id: str, event: dict[str, Any]) -> dict[str, Any]:
    handler_name = FUNCTIONS[logical_id].handler.rsplit(".", 1)[1]
    return getattr(load_function(logical_id), handler_name)(event, FakeContext())


def picture(fmt: str = "PNG", size: tuple[int, int] = (32, 24)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buffer, format=fmt)
    return buffer.getvalue()


def fail_call(
    client: Any,
    operation: str,
    code: str = "InternalServerError",
    status: int = 500,
    *,
    skip: int = 0,
    fields: dict[str, Any] | None = None,
) -> Callable[[], None]:
    """Make ``client``'s ``operation`` (e.g. ``"TransactWriteItems"``) fail with ``code``.

    Uses botocore's public ``before-call`` hook, which short-circuits the request. ``skip`` lets
    that many calls through first (to fail a later step that uses the same operation), and
    ``fields`` adds to the error response (e.g. ``CancellationReasons``). Returns a function that
    removes the fault again.
    """
    service = client.meta.service_model.service_id.hyphenize()
    calls = {"seen": 0}

    def short_circuit(**_: Any) -> tuple[Any, dict[str, Any]] | None:
        calls["seen"] += 1
        if calls["seen"] <= skip:
            return None  # no short circuit: this call goes through
        return SimpleNamespace(status_code=status), {
            "Error": {"Code": code, "Message": "injected fault"},
            "ResponseMetadata": {"HTTPStatusCode": status},
            **(fields or {}),
        }

    event_name = f"before-call.{service}.{operation}"
    client.meta.events.register(event_name, short_circuit, unique_id=f"fault-{operation}")
    return lambda: client.meta.events.unregister(event_name, unique_id=f"fault-{operation}")


@dataclass(frozen=True)
class Layer:
    """The layer's use cases, each built as the functions build theirs: from ``Settings`` and the
    container's clients (here the moto ones, where faults are injected)."""

    settings: Any
    clients: Any
    uploads: Any
    reads: Any
    listing: Any
    edits: Any


def build_layer(settings: Any, clients: Any, clock_ms: Callable[[], int] | None = None) -> Layer:
    from image_service.edits import Edits
    from image_service.ids import current_ms
    from image_service.reads import Listing, Reads
    from image_service.uploads import Uploads

    clock = clock_ms or current_ms
    return Layer(
        settings=settings,
        clients=clients,
        uploads=Uploads(settings, clients, clock_ms=clock),
        reads=Reads(settings, clients, clock_ms=clock),
        listing=Listing(settings, clients, clock_ms=clock),
        edits=Edits(settings, clients, clock_ms=clock),
    )


@pytest.fixture
def service(aws: SimpleNamespace) -> Layer:
    """The layer's use cases wired to the moto clients."""
    from image_service.aws import Clients
    from image_service.config import Settings
    from image_service.secret_store import with_cursor_secret

    settings = with_cursor_secret(Settings.from_env(), aws.secretsmanager)  # as the list function does
    return build_layer(settings, Clients(aws.dynamodb, aws.s3))


# Each function's warm use cases: the handler module's attribute, and the ``Layer`` field it gets.
HANDLER_USE_CASES = {
    "UploadFunction": {"UPLOADS": "uploads", "EDITS": "edits"},
    "DeleteFunction": {"EDITS": "edits"},
    "GetFunction": {"READS": "reads"},
    "ListFunction": {"LISTING": "listing"},
}


def wire_handlers(monkeypatch: pytest.MonkeyPatch, layer: Layer, *logical_ids: str) -> None:
    """Point the handlers' warm use cases (all four functions', or ``logical_ids``') at ``layer``."""
    for logical_id in logical_ids or tuple(HANDLER_USE_CASES):
        module = load_function(logical_id)
        for attribute, field_name in HANDLER_USE_CASES[logical_id].items():
            monkeypatch.setattr(module, attribute, getattr(layer, field_name))


def new_image(user_id: str = "alice", tags: tuple[str, ...] = (), title: str = "a photo") -> Any:
    from image_service.models import NewImage

    return NewImage(
        user_id=user_id,
        title=title,
        description="",
        tags=tags,
        content_type="image/png",
        width=32,
        height=24,
        data=picture(),
    )


def example_image(**changes: Any) -> Any:
    """An ``Image`` as the tables hold one, every field set (``changes`` replace some)."""
    from dataclasses import replace

    from image_service.models import Image

    image = Image(
        image_id="01JDQ8ZB3F2T6X8W4N5R7K9M0Z",
        user_id="0b6f4a52",
        user_name="alice",
        title="Sunset",
        description="",
        tags=("sunset", "beach"),
        content_type="image/png",
        size_bytes=5120,
        sha256="a" * 64,
        width=32,
        height=24,
        created_at="2026-11-25T12:00:00.000Z",
        object_key="images/01JDQ8ZB3F2T6X8W4N5R7K9M0Z",
        variants=("original", "thumbnail", "display"),
        location_removed=True,
        received_sha256="b" * 64,
    )
    return replace(image, **changes)


# -- Hardening (issue 6): faults whose outcome the caller cannot see, and the storage invariants.


def lose_response(client: Any, operation: str) -> Callable[[], None]:
    """Let ``operation`` really happen, then fail as if its response was lost (a read timeout).

    The same botocore hook mechanism as ``fail_call``, on ``after-call``: the service has done the
    work, the caller sees ``ReadTimeoutError`` and cannot know it succeeded.
    """
    from botocore.exceptions import ReadTimeoutError

    service = client.meta.service_model.service_id.hyphenize()

    def lost(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="injected-fault")

    event_name = f"after-call.{service}.{operation}"
    client.meta.events.register(event_name, lost, unique_id=f"lost-{operation}")
    return lambda: client.meta.events.unregister(event_name, unique_id=f"lost-{operation}")


def _scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        rows += page["Items"]
    return rows


def _keys_of_row(row: dict[str, Any]) -> list[str]:
    """The object keys an image row says exist (the original, and any stored variants)."""
    from image_service.items import item_to_image
    from image_service.object_keys import keys_of

    return keys_of(item_to_image(row))


def storage_problems(
    dynamodb: Any, s3: Any, *, bucket: str, images_table: str, tags_table: str, user_id: str | None = None
) -> list[str]:
    """Every broken storage invariant, as readable lines (empty when storage is consistent).

    1. no metadata row points at a missing object (original or variant);
    2. no tag row points at missing metadata, and metadata and tag rows agree both ways;
    3. no object without metadata (what a failed upload or a half-done delete leaves behind).
    Rows of direct uploads still pending are not images yet, and their staging objects (under
    the layer's upload prefix) belong to them, not to an image. With ``user_id`` only that
    user's rows are checked (a shared local mode holds other tests' data); objects are always
    checked, since an orphan has no owner left to filter on.
    """
    from image_service.object_keys import UPLOAD_PREFIX

    objects: set[str] = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        objects |= {entry["Key"] for entry in page.get("Contents", [])}
    rows = _scan(dynamodb, images_table)
    all_images = {row["image_id"]["S"]: row for row in rows if "status" not in row}
    pending = {row["image_id"]["S"] for row in rows if "status" in row}
    all_tags = _scan(dynamodb, tags_table)
    referenced = {key for row in all_images.values() for key in _keys_of_row(row)}
    images = {k: v for k, v in all_images.items() if user_id is None or v["user_id"]["S"] == user_id}
    tags = [row for row in all_tags if user_id is None or row["user_id"]["S"] == user_id]
    tag_keys = {(row["tag"]["S"], row["image_id"]["S"]) for row in all_tags}

    problems = []
    for image_id, row in images.items():
        for key in _keys_of_row(row):
            if key not in objects:
                problems.append(f"metadata {image_id} points at missing object {key}")
        for tag in (item["S"] for item in row.get("tags", {}).get("L", [])):
            if (tag, image_id) not in tag_keys:
                problems.append(f"metadata {image_id} has tag {tag!r} but no tag row")
    for row in tags:
        image_id, tag = row["image_id"]["S"], row["tag"]["S"]
        image = all_images.get(image_id)
        if image is None:
            state = "a pending upload" if image_id in pending else "missing metadata"
            problems.append(f"tag row ({tag}, {image_id}) points at {state}")
        elif tag not in {item["S"] for item in image.get("tags", {}).get("L", [])}:
            problems.append(f"tag row ({tag}, {image_id}) is not among the image's tags")
        elif row.get("user_tag", {}).get("S") != f"{image['user_id']['S']}#{tag}":
            problems.append(f"tag row ({tag}, {image_id}) has a wrong user_tag")
        elif any(row.get(name) != value for name, value in image.items() if name != "version"):
            problems.append(f"tag row ({tag}, {image_id}) lists other fields than its image")
    orphans = sorted(key for key in objects - referenced if not key.startswith(UPLOAD_PREFIX))
    problems += [f"orphan object {key} (no metadata)" for key in orphans]
    return problems


def assert_storage_consistent(aws: SimpleNamespace) -> None:
    """Assert the three storage invariants on the ``aws`` fixture's tables and bucket."""
    problems = storage_problems(
        aws.dynamodb, aws.s3, bucket=aws.bucket, images_table=aws.images_table, tags_table=aws.tags_table
    )
    assert not problems, "storage is inconsistent:\n" + "\n".join(problems)
