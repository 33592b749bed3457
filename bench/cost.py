"""What a million operations cost on AWS, from what the bench measures and public on-demand prices.

One account in moto, the real handlers, a camera-like 2.5 MB JPEG (the bench's photo model) with
three tags. Each operation is measured as in ``calls`` (AWS calls, DynamoDB read/write units from
item sizes, bytes of the function's own logs) and timed in process: the median of ``repeats``
invocations is taken as the Lambda duration at the function's memory size from the template.
That duration includes moto answering in the same process, and this machine's load: it is an
estimate of Lambda's billed milliseconds, not a measurement of them.

What the client does with the answer is counted too: a download fetches the original from S3 (one
GET and its bytes out to the internet), a gallery page fetches its thumbnails. Cold starts, the
free tier, CloudWatch's per-request metrics and API Gateway's access log lines are left out.
"""

from __future__ import annotations

import base64
import json
import statistics
import time
from typing import Any

from moto import mock_aws

from localapi.resources import create_resources

from . import harness
from .calls import Scenario

# AWS's public on-demand prices for us-east-1 (AWS public price pages as of 2025-11, the latest
# this project has checked; DynamoDB's on-demand prices are those after the 50% cut of 2024-11-01).
PRICES_AS_OF = "2025-11"
REGION = "us-east-1"
PRICES = {
    "lambda_gb_second": 0.0000166667,  # x86_64
    "lambda_request": 0.20 / 1e6,
    "api_gateway_rest_request": 3.50 / 1e6,  # first 333 million a month
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand read request unit
    "dynamodb_gb_month": 0.25,
    "s3_gb_month": 0.023,  # S3 Standard, first 50 TB
    "s3_put": 0.005 / 1000,  # PUT, COPY, POST, LIST
    "s3_get": 0.0004 / 1000,  # GET and all other requests (DeleteObject(s) is free)
    "transfer_out_gb": 0.09,  # to the internet, first 10 TB a month
    "logs_ingested_gb": 0.50,  # CloudWatch Logs
}
GB = 1024**3
PHOTO_BYTES = 2_500_000  # the bench's photo model (reads.py): a 12 MP phone photo
TAGS = ["sunset", "beach", "travel"]
PAGE = 20
MILLION = 1_000_000
# DynamoDB stores 100 bytes of overhead per item and per index entry.
ITEM_OVERHEAD_BYTES = 100


def _median_run(
    scenario: Scenario, repeats: int, request: Any
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Run ``request`` (a function returning (response, cost)) ``repeats`` times: the last
    response, its cost, and every cost (each with ``duration_ms``)."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        response, cost = request()
        runs.append({**cost, "duration_ms": (time.perf_counter() - started) * 1000})
    return response, runs[-1], runs


def _s3_requests(counts: dict[str, int]) -> float:
    price = 0.0
    for call, count in counts.items():
        if call in ("s3.PutObject", "s3.CopyObject", "s3.ListObjectsV2"):
            price += count * PRICES["s3_put"]
        elif call in ("s3.GetObject", "s3.HeadObject"):
            price += count * PRICES["s3_get"]
    return price


def price_of(operation: dict[str, Any]) -> dict[str, float]:
    """Dollars for one million of ``operation``, by service."""
    seconds = max(1.0, round(operation["duration_ms"])) / 1000  # Lambda bills whole milliseconds
    lambda_cost = PRICES["lambda_request"] + operation["memory_mb"] / 1024 * seconds * PRICES["lambda_gb_second"]
    parts = {
        "API Gateway": PRICES["api_gateway_rest_request"] if operation["api"] else 0.0,
        "Lambda": lambda_cost,
        "DynamoDB": operation["write_units_est"] * PRICES["dynamodb_write_unit"]
        + operation["read_units_est"] * PRICES["dynamodb_read_unit"],
        "S3 requests": _s3_requests(operation["calls"]) + operation.get("client_gets", 0) * PRICES["s3_get"],
        "data transfer out": operation.get("client_bytes", 0) / GB * PRICES["transfer_out_gb"],
        "CloudWatch Logs": operation["log_bytes"] / GB * PRICES["logs_ingested_gb"],
    }
    return {name: round(value * MILLION, 2) for name, value in parts.items()}


def storage_of(
    image_item: dict[str, Any], tag_rows: list[dict[str, Any]], photo: int, thumbnail: int
) -> dict[str, Any]:
    """Bytes one photo keeps stored, and the monthly price of a million of them."""
    image = harness.item_size(image_item) + ITEM_OVERHEAD_BYTES
    tags = sum(harness.item_size(row) + ITEM_OVERHEAD_BYTES for row in tag_rows)
    # Both indexes project ALL: user_id-index copies the image row, user_tag-index every tag row.
    dynamodb = 2 * image + 2 * tags
    s3 = photo + thumbnail
    return {
        "dynamodb_bytes_per_photo": dynamodb,
        "s3_bytes_per_photo": s3,
        "per_million_per_month": {
            "S3 storage": round(MILLION * s3 / GB * PRICES["s3_gb_month"], 2),
            "DynamoDB storage": round(MILLION * dynamodb / GB * PRICES["dynamodb_gb_month"], 2),
        },
    }


def run(*, repeats: int = 5, photo_bytes: int = PHOTO_BYTES) -> dict[str, Any]:
    template = harness.load_template()
    memory = {spec.logical_id: spec.memory_mb for spec in template.functions()}
    routes = harness.route_table(template)
    photo = harness.photo_jpeg(photo_bytes)
    meter = harness.AwsMeter()
    operations: list[dict[str, Any]] = []

    def keep(
        name: str, method: str, resource: str, cost: dict[str, Any], runs: list[dict[str, Any]], **extra: Any
    ) -> None:
        operations.append(
            {
                "operation": name,
                **cost,
                "duration_ms": round(statistics.median(r["duration_ms"] for r in runs), 1),
                "memory_mb": memory[routes[(method, resource)].logical_id],
                "api": True,
                **extra,
            }
        )

    with mock_aws(), harness.metered_logs(meter):
        dynamodb, s3 = harness.admin_clients()
        create_resources(template, dynamodb, s3, harness.admin_client("secretsmanager"))
        scenario = Scenario(template, meter)
        body = _upload_body("Sunset over the bay", "image/jpeg", photo)
        response, cost, runs = _median_run(
            scenario, repeats, lambda: scenario.request("POST", "/images", body=body, caller="alice")
        )
        keep("upload", "POST", "/images", cost, runs, note=f"{photo_bytes:,} B JPEG, {len(TAGS)} tags, JSON body")
        image = json.loads(response["body"])
        thumbnail_key = f"thumbnails/{image['image_id']}.jpg"
        thumbnail_bytes = s3.head_object(Bucket=_bucket(template), Key=thumbnail_key)["ContentLength"]
        ids = {"image_id": image["image_id"]}
        response, cost, runs = _median_run(
            scenario, repeats, lambda: scenario.request("GET", "/images/{image_id}", path_parameters=ids)
        )
        keep("get", "GET", "/images/{image_id}", cost, runs)
        response, cost, runs = _median_run(
            scenario, repeats, lambda: scenario.request("GET", "/images/{image_id}/download", path_parameters=ids)
        )
        keep(
            "download",
            "GET",
            "/images/{image_id}/download",
            cost,
            runs,
            client_gets=1,
            client_bytes=photo_bytes,
            note="+ the client's S3 GET of the original and its bytes out",
        )
        # A full page: more photos with the same tag (small ones: a listing reads metadata only).
        for _ in range(PAGE + 1 - repeats):
            scenario.request("POST", "/images", body=_small_upload(), caller="alice")
        for name, query in (("listing by user", {"user_id": "alice"}), ("listing by tag", {"tag": TAGS[0]})):
            page_query = {**query, "limit": str(PAGE)}
            response, cost, runs = _median_run(
                scenario, repeats, lambda q=page_query: scenario.request("GET", "/images", query=q)
            )
            listed = len(json.loads(response["body"])["items"])
            keep(
                name,
                "GET",
                "/images",
                cost,
                runs,
                client_gets=listed,
                client_bytes=listed * thumbnail_bytes,
                note=f"a page of {listed}, + the client's GETs of its {listed} thumbnails",
            )
        stored_items = dynamodb.get_item(
            TableName=_table(template, "IMAGES"), Key={"image_id": {"S": image["image_id"]}}
        )
        tag_rows = [
            dynamodb.get_item(
                TableName=_table(template, "IMAGE_TAGS"), Key={"tag": {"S": tag}, "image_id": {"S": image["image_id"]}}
            )["Item"]
            for tag in TAGS
        ]
        storage = storage_of(stored_items["Item"], tag_rows, photo_bytes, thumbnail_bytes)
        delete_runs = []
        for _ in range(repeats):  # each delete needs a photo of its own
            created = json.loads(scenario.request("POST", "/images", body=body, caller="alice")[0]["body"])
            started = time.perf_counter()
            response, cost = scenario.request(
                "DELETE", "/images/{image_id}", path_parameters={"image_id": created["image_id"]}, caller="alice"
            )
            delete_runs.append({**cost, "duration_ms": (time.perf_counter() - started) * 1000})
        keep("delete", "DELETE", "/images/{image_id}", delete_runs[-1], delete_runs)

    for operation in operations:
        operation["usd_per_million"] = price_of(operation)
        operation["usd_per_million_total"] = round(sum(operation["usd_per_million"].values()), 2)
    storage["per_million_per_month_total"] = round(sum(storage["per_million_per_month"].values()), 2)
    return {
        "region": REGION,
        "prices_as_of": PRICES_AS_OF,
        "prices": PRICES,
        "photo_bytes": photo_bytes,
        "thumbnail_bytes": thumbnail_bytes,
        "repeats": repeats,
        "operations": operations,
        "storage": storage,
        "write_units_by_tags": write_units_by_tags(),
    }


def write_units_by_tags(max_tags: int = 10) -> list[dict[str, Any]]:
    """Write units of an upload and of an edit (title changed, tags kept) with N tags, with the
    tag rows as they are now (a copy of the listed fields) and as they were (keys only)."""
    from image_service.items import image_to_item  # noqa: PLC0415
    from image_service.tag_index import TagIndex  # noqa: PLC0415

    from .reads import _images  # noqa: PLC0415 - the bench's photo model

    _, images = _images(1, 1, start_ms=1_700_000_000_000)
    model = next(iter(images))
    keys = {"tag", "image_id", "user_id", "user_tag", "created_at"}
    rows = []
    for count in range(max_tags + 1):
        image = model._replace(tags=tuple(f"tag{n}" for n in range(count)))
        image_units = harness._units(harness.item_size(image_to_item(image)), harness.WRITE_UNIT_BYTES)
        tag_items = [a["Put"]["Item"] for a in TagIndex(None, "t").put_actions(image)]
        copied = sum(harness._units(harness.item_size(item), harness.WRITE_UNIT_BYTES) for item in tag_items)
        bare = sum(
            harness._units(harness.item_size({k: v for k, v in item.items() if k in keys}), harness.WRITE_UNIT_BYTES)
            for item in tag_items
        )
        # In a transaction every unit counts twice. Before: an edit that kept the tags wrote no tag row.
        rows.append(
            {
                "tags": count,
                "upload_wcu": 2 * (image_units + copied),
                "upload_wcu_keys_only": 2 * (image_units + bare),
                "edit_wcu": 2 * (image_units + copied),
                "edit_wcu_keys_only": 2 * image_units,
            }
        )
    return rows


def _small_upload() -> str:
    return _upload_body("Another photo", "image/png", harness.small_png())


def _upload_body(title: str, content_type: str, image: bytes) -> str:
    """A ``POST /images`` JSON body with a caption of typical length and the bench's tags."""
    return json.dumps(
        {
            "user_id": "alice",
            "title": title,
            "description": "A photo of typical length for a caption, with a few words about it.",
            "tags": TAGS,
            "content_type": content_type,
            "image_base64": base64.b64encode(image).decode("ascii"),
            "allow_duplicate": True,  # the same bytes each round: measure a store, not a duplicate
        }
    )


def _bucket(template: Any) -> str:
    return template.functions()[0].environment["S3_BUCKET_NAME"]


def _table(template: Any, kind: str) -> str:
    return template.functions()[0].environment[f"{kind}_TABLE_NAME"]
