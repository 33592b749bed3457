"""Toward internet scale, by arithmetic and simulation (docs/scaling.md): ``python -m bench.scaling``.

Per-key load: the write and read units each partition key receives at a given upload rate, from
the sizes of the rows uploads really write (the bench's photo model, ``reads._images``, through the
layer's own item builders), against DynamoDB's per-partition limits.

Hot tags: a tag's rows written over ``shards`` partition keys (``tag#0`` .. ``tag#K-1``, the shard
from the image id) and read back by a scatter-gather page: each shard is queried newest first
from the cursor, the answers merged, and a shard asked again only if its rows ran out before the
page was decided. The simulation checks that every page is exactly the unsharded page (no gap, no
duplicate, same order) and counts the rows and read units it costs. No Scan anywhere.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from typing import Any

from . import harness

PARTITION_WCU = 1000  # per partition key (more exactly: per partition), per second
PARTITION_RCU = 3000
TRANSACTION_FACTOR = 2  # a transactional write consumes twice the units
RATES = (1_000, 10_000, 100_000)
HOT_TAG_SHARE = 0.01  # the hottest tag's share of all uploads (an assumption, stated in the doc)
TAGS_PER_PHOTO = 3
PAGE = 20


def row_sizes() -> dict[str, int]:
    """Bytes of the rows one upload writes, from the bench's photo model."""
    from image_service.items import image_to_item  # noqa: PLC0415
    from image_service.tag_index import TagIndex  # noqa: PLC0415

    from .reads import _images  # noqa: PLC0415

    _, images = _images(1, 1, start_ms=1_700_000_000_000)
    image = next(iter(images))._replace(tags=("sunset", "beach", "travel"))
    tag_row = TagIndex(None, "t").put_actions(image)[0]["Put"]["Item"]
    return {"image_row": harness.item_size(image_to_item(image)), "tag_row": harness.item_size(tag_row)}


def key_load(rate: int, sizes: dict[str, int]) -> list[dict[str, Any]]:
    """Write units per second on the busiest partition key of each table and index at ``rate`` uploads/s."""
    image_wcu = math.ceil(sizes["image_row"] / 1024)
    tag_wcu = math.ceil(sizes["tag_row"] / 1024)
    hot_tag_rows = rate * HOT_TAG_SHARE
    rows = [
        # image_id: random-looking ULIDs spread over every partition; the whole table's load.
        ("images (image_id)", "all partitions together", rate * image_wcu * TRANSACTION_FACTOR, False),
        # user_id-index: one user's uploads; a person uploads a few a minute, a bot could do more.
        ("user_id-index (user_id)", "a busy account at 10 uploads/s", 10 * image_wcu, True),
        (
            "image_tags (tag)",
            f"the hottest tag ({HOT_TAG_SHARE:.0%} of uploads)",
            hot_tag_rows * tag_wcu * TRANSACTION_FACTOR,
            True,
        ),
        ("user_tag-index (user#tag)", "a busy account's tag at 10 uploads/s", 10 * tag_wcu, True),
    ]
    result = []
    for name, what, wcu, limited in rows:
        result.append(
            {
                "key": name,
                "busiest": what,
                "wcu_per_s": round(wcu),
                "share_of_partition_limit": round(wcu / PARTITION_WCU, 2) if limited else None,
            }
        )
    return result


def shard_of(image_id: str, shards: int) -> int:
    return int.from_bytes(hashlib.sha256(image_id.encode()).digest()[:4], "big") % shards


def simulate(total: int = 20_000, shards: int = 8, page: int = PAGE, pages: int = 5) -> dict[str, Any]:
    """Page through one tag of ``total`` photos sharded ``shards`` ways; compare with one partition."""
    sizes = row_sizes()
    ids = sorted(
        (harness_id(index) for index in range(total)), reverse=True
    )  # newest first, as a Query with ScanIndexForward=False
    partitions: dict[int, list[str]] = {k: [] for k in range(shards)}
    for image_id in ids:
        partitions[shard_of(image_id, shards)].append(image_id)
    cursor: str | None = None
    results = []
    for number in range(1, pages + 1):
        got, rows_read, queries, read_units = scatter_gather(partitions, cursor, page, sizes["tag_row"])
        start = 0 if cursor is None else ids.index(cursor) + 1
        expected = ids[start : start + page]
        if got != expected:
            raise AssertionError(f"page {number}: sharded page differs from the unsharded one")
        results.append({"page": number, "queries": queries, "rows_read": rows_read, "read_units": read_units})
        cursor = got[-1]
    unsharded_units = math.ceil((page + 1) * sizes["tag_row"] / 4096) / 2
    return {
        "photos": total,
        "shards": shards,
        "page": page,
        "pages": results,
        "exact": True,
        "unsharded_read_units_per_page": unsharded_units,
        "tag_row_bytes": sizes["tag_row"],
    }


def scatter_gather(
    partitions: dict[int, list[str]], cursor: str | None, page: int, row_bytes: int
) -> tuple[list[str], int, int, float]:
    """One exact page: (ids, rows read, queries made, read units)."""
    per_shard = math.ceil((page + 1) / len(partitions)) + 1
    fetched: dict[int, list[str]] = {}
    exhausted: dict[int, bool] = {}
    rows_read = queries = 0
    read_units = 0.0

    def query(shard: int, after: str | None, limit: int) -> None:
        nonlocal rows_read, queries, read_units
        rows = [i for i in partitions[shard] if after is None or i < after][:limit]
        fetched.setdefault(shard, []).extend(rows)
        exhausted[shard] = len(rows) < limit
        rows_read += len(rows)
        queries += 1
        read_units += max(1, math.ceil(len(rows) * row_bytes / 4096)) / 2  # eventually consistent

    for shard in partitions:
        query(shard, cursor, per_shard)
    while True:
        merged = sorted((i for rows in fetched.values() for i in rows), reverse=True)[: page + 1]
        boundary = merged[-1] if len(merged) > page else None
        # A shard whose last fetched row is still above the page's boundary may hold rows inside it.
        short = [
            s for s, rows in fetched.items() if not exhausted[s] and rows and (boundary is None or rows[-1] > boundary)
        ]
        if not short:
            return merged[:page], rows_read, queries, read_units
        for shard in short:
            query(shard, fetched[shard][-1], per_shard)


def harness_id(index: int) -> str:
    from image_service.ids import new_image_id  # noqa: PLC0415

    return new_image_id(1_700_000_000_000 + index)


def run() -> dict[str, Any]:
    sizes = row_sizes()
    return {
        "row_bytes": sizes,
        "key_load": {str(rate): key_load(rate, sizes) for rate in RATES},
        "sharded_tag": [simulate(shards=k) for k in (1, 4, 8, 16)],
    }


if __name__ == "__main__":
    json.dump(run(), sys.stdout, indent=1)
    print()
