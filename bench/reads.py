"""Items DynamoDB reads to list one page, as a user's and a tag's collection grows.

For each size N, one user owns N photos and one tag is on N photos. Only the user's *oldest*
2 x page photos carry the tag, and the tag's other photos belong to other users and are newer.
That is the worst case for a naive intersection: filtering the user's photos by tag (or the tag's
photos by user) would read through almost all N rows before it found a page. The design reads
``user_tag-index`` instead, so every listing must read the same number of items at every N.

The rows go straight into moto with BatchWriteItem, built by the layer's own item builders
(``image_to_item``, ``TagIndex.put_actions``), so they are exactly what uploads write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from moto import mock_aws

from image_service.ids import created_at_of, new_image_id
from image_service.items import image_to_item
from image_service.models import Image
from image_service.object_keys import object_key_for
from image_service.tag_index import TagIndex
from localapi.resources import create_resources

from . import harness
from .calls import Scenario, minimum_for

SIZES = (20, 2_000, 20_000)
PAGE = 20
_BATCH = 25  # BatchWriteItem's limit
_OTHER_OWNERS = 97  # the tag's other photos are spread over this many users


@dataclass(frozen=True)
class Collection:
    size: int
    user_id: str
    tag: str
    overlap: int  # photos of the user that carry the tag


def _images(size: int, page: int, start_ms: int) -> tuple[Collection, Iterator[Any]]:
    collection = Collection(size, f"user-{size}", f"tag-{size}", min(size, 2 * page))

    def image(index: int, owner: str, tags: tuple[str, ...]) -> Image:
        moment = start_ms + index  # one millisecond apart: ids and created_at strictly ordered
        image_id = new_image_id(moment)
        return Image(
            image_id=image_id,
            user_id=owner,
            title=f"photo {index}",
            description="A photo taken for the benchmark, with a description of typical length.",
            tags=tags,
            content_type="image/jpeg",
            size_bytes=2_500_000,
            sha256="0" * 64,
            width=4032,
            height=3024,
            created_at=created_at_of(moment),
            object_key=object_key_for(image_id),
        )

    def generate() -> Iterator[Any]:
        index = 0
        for _ in range(collection.overlap):  # the oldest: the user's photos with the tag
            yield image(index, collection.user_id, (collection.tag,))
            index += 1
        for other in range(size - collection.overlap):  # then, interleaved, the rest of each
            yield image(index, collection.user_id, (f"mine-{size}",))
            yield image(index + 1, f"other-{size}-{other % _OTHER_OWNERS}", (collection.tag,))
            index += 2

    return collection, generate()


def build(dynamodb: Any, template: Any, sizes: tuple[int, ...], page: int) -> tuple[list[Collection], int]:
    """Write every collection into moto; returns them and the number of rows written."""
    environment = template.functions()[0].environment  # the table names are global
    images_table, tags_table = environment["IMAGES_TABLE_NAME"], environment["IMAGE_TAGS_TABLE_NAME"]
    tag_index = TagIndex(None, tags_table)  # only its item builder is used: no client needed
    collections = []
    pending: list[tuple[str, dict[str, Any]]] = []
    written = 0
    for number, size in enumerate(sizes):
        collection, images = _images(size, page, start_ms=1_700_000_000_000 + number * 10_000_000)
        collections.append(collection)
        for image in images:
            pending.append((images_table, image_to_item(image)))
            pending += [(tags_table, action["Put"]["Item"]) for action in tag_index.put_actions(image)]
            while len(pending) >= _BATCH:
                written += write_batch(dynamodb, pending[:_BATCH])
                del pending[:_BATCH]
    while pending:
        written += write_batch(dynamodb, pending[:_BATCH])
        del pending[:_BATCH]
    return collections, written


def write_batch(dynamodb: Any, rows: list[tuple[str, dict[str, Any]]]) -> int:
    request: dict[str, list[dict[str, Any]]] = {}
    for table, item in rows:
        request.setdefault(table, []).append({"PutRequest": {"Item": item}})
    while request:
        request = dynamodb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    return len(rows)


def listings(collection: Collection) -> list[tuple[str, dict[str, str], int]]:
    """(name, query, photos in the listing) for the three listings of ``collection``."""
    return [
        ("list by user", {"user_id": collection.user_id}, collection.size),
        ("list by tag", {"tag": collection.tag}, collection.size),
        ("list by user+tag", {"user_id": collection.user_id, "tag": collection.tag}, collection.overlap),
    ]


def page_bound(name: str, page: int) -> int:
    """Most items a page may read: the page plus one row of look-ahead (every listing is one Query;
    the tag rows carry the listed fields)."""
    return page + 1


def run(*, sizes: tuple[int, ...] = SIZES, page: int = PAGE) -> dict[str, Any]:
    template = harness.load_template()
    meter = harness.AwsMeter()
    with mock_aws(), harness.metered_logs(meter):
        dynamodb, s3 = harness.admin_clients()
        create_resources(template, dynamodb, s3, harness.admin_client("secretsmanager"))
        started = time.perf_counter()
        collections, written = build(dynamodb, template, sizes, page)
        build_seconds = time.perf_counter() - started
        scenario = Scenario(template, meter)
        rows = []
        for collection in collections:
            for name, query, total in listings(collection):
                rows += _pages(scenario, collection, name, {**query, "limit": str(page)}, total, page)
    return {
        "page_size": page,
        "sizes": list(sizes),
        "rows_written": written,
        "build_seconds": round(build_seconds, 1),
        "pages": rows,
        "flat": flatness(rows),
    }


def _pages(
    scenario: Scenario, collection: Collection, name: str, query: dict[str, str], total: int, page: int
) -> list[dict[str, Any]]:
    """Cost of page 1 and, if there is one, page 2 of a listing."""
    rows = []
    token = None
    for number in (1, 2):
        response, cost = scenario.request("GET", "/images", query={**query, **({"next_token": token} if token else {})})
        body = json.loads(response["body"])
        if response["statusCode"] != 200:
            raise AssertionError(f"{name} of {collection.size}: {response}")
        expected = min(page, total - (number - 1) * page)
        if len(body["items"]) != expected:
            found = len(body["items"])
            raise AssertionError(f"{name} of {collection.size}, page {number}: {found} items, not {expected}")
        rows.append(
            {
                "listing": name,
                "collection_size": collection.size,
                "listing_size": total,
                "page": number,
                "items_returned": len(body["items"]),
                "calls": cost["calls"],
                "items_read": cost["items_read"],
                "items_read_by_call": cost["items_read_by_call"],
                "read_units_est": cost["read_units_est"],
                "bound": page_bound(name, page),
                "minimum_calls": minimum_for(name)[0],
            }
        )
        token = body["next_token"]
        if not token:
            break
    return rows


def flatness(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per listing: the most items any page read at each size, and the growth between the two largest.

    The two largest sizes both hold more than a page, so their pages are alike: any growth
    between them is work that grows with the collection.
    """
    result = {}
    for name in sorted({row["listing"] for row in rows}):
        mine = [row for row in rows if row["listing"] == name]
        sizes = sorted({r["collection_size"] for r in mine})
        most = {size: max(r["items_read"] for r in mine if r["collection_size"] == size) for size in sizes}
        before, largest = (sizes[-2], sizes[-1]) if len(sizes) > 1 else (sizes[-1], sizes[-1])
        result[name] = {
            "max_items_read": {str(size): most[size] for size in sizes},
            "growth": round(most[largest] / most[before], 2) if most[before] else None,
            "within_bound": all(r["items_read"] <= r["bound"] for r in mine),
            "calls_at_minimum": all(r["calls"] == r["minimum_calls"] for r in mine),
        }
    return result
