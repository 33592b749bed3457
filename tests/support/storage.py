"""What storage holds, and the storage invariants every failure must leave intact."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from image_service.items import item_to_image
from image_service.object_keys import UPLOAD_PREFIX, keys_of


def storage_snapshot(aws: SimpleNamespace) -> dict[str, Any]:
    """Everything stored: object keys and both tables' rows (to prove nothing changed)."""
    objects = aws.s3.list_objects_v2(Bucket=aws.bucket).get("Contents", [])
    return {
        "objects": sorted(obj["Key"] for obj in objects),
        "images": sorted(json.dumps(i, sort_keys=True) for i in aws.dynamodb.scan(TableName=aws.images_table)["Items"]),
        "tags": sorted(json.dumps(i, sort_keys=True) for i in aws.dynamodb.scan(TableName=aws.tags_table)["Items"]),
    }


def _scan(dynamodb: Any, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        rows += page["Items"]
    return rows


def _keys_of_row(row: dict[str, Any]) -> list[str]:
    """The object keys an image row says exist (the original, and any stored variants)."""
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
