"""CPU to parse one 21-item DynamoDB Query answer in a function's worker: botocore's JSON parser
against the local mode's short path (``local/localapi/fast_dynamodb_parser.py``), printed as JSON.

    python -m bench.parse_probe [--rounds 15] [--calls 200]

The answer is built from the layer's own rows (``image_to_item``: the fields a listing reads) and
parsed from the same bytes by both parsers, alternating in ``--rounds`` rounds of ``--calls``
parses each; the figures are medians of per-round CPU time (``time.process_time``), which a busy
machine disturbs less than wall time. Both parsers' results are checked equal first.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from botocore import parsers
from botocore.session import get_session

from image_service.items import image_to_item
from image_service.models import Image
from localapi.fast_dynamodb_parser import DynamoDBJSONParser

ITEMS = 21  # a page of 20 and the one that says another page exists


def query_answer(count: int = ITEMS) -> dict[str, Any]:
    """An HTTP answer to a GSI Query, as botocore's parsers receive it."""
    rows = [
        image_to_item(
            Image(
                image_id=f"{index:032x}",
                user_id="0b3c8a2e-1111-2222-3333-444455556666",
                title=f"Sunset over the bay {index}",
                description="A long evening walk along the shore, with friends and a camera.",
                tags=("sunset", "sea", "holiday"),
                content_type="image/jpeg",
                size_bytes=2_345_678 + index,
                sha256="ab" * 32,
                width=4032,
                height=3024,
                created_at=f"2026-12-01T10:{index:02d}:00.000000Z",
                object_key=f"originals/{index:032x}.jpg",
                variants=("original", "w320", "w1280"),
                user_name="alice",
                received_sha256="cd" * 32,
            )
        )
        for index in range(count)
    ]
    last = {name: rows[-1][name] for name in ("image_id", "user_id", "created_at")}
    body = {"Count": count, "ScannedCount": count, "Items": rows, "LastEvaluatedKey": last}
    headers = {"x-amzn-requestid": "probe", "content-type": "application/x-amz-json-1.0"}
    return {"status_code": 200, "headers": headers, "body": json.dumps(body).encode()}


def _cpu_ms(parser: type[parsers.ResponseParser], answer: dict[str, Any], shape: Any, calls: int) -> float:
    started = time.process_time()
    for _ in range(calls):
        parser().parse(answer, shape)  # a parser per answer, as botocore's endpoint makes them
    return (time.process_time() - started) / calls * 1000


def run(rounds: int, calls: int) -> dict[str, Any]:
    shape = get_session().get_service_model("dynamodb").operation_model("Query").output_shape
    answer = query_answer()
    if parsers.JSONParser().parse(answer, shape) != DynamoDBJSONParser().parse(answer, shape):
        raise AssertionError("the short path parsed the probe's answer differently")
    stock, short = [], []
    for _ in range(rounds):
        stock.append(_cpu_ms(parsers.JSONParser, answer, shape, calls))
        short.append(_cpu_ms(DynamoDBJSONParser, answer, shape, calls))
    started = time.process_time()
    for _ in range(calls):
        json.loads(answer["body"])
    stock_ms, short_ms = statistics.median(stock), statistics.median(short)
    return {
        "items": ITEMS,
        "answer_bytes": len(answer["body"]),
        "rounds": rounds,
        "calls": calls,
        "botocore_cpu_ms": round(stock_ms, 3),
        "short_path_cpu_ms": round(short_ms, 3),
        "json_loads_cpu_ms": round((time.process_time() - started) / calls * 1000, 3),
        "ratio": round(stock_ms / short_ms, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.parse_probe", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    print(json.dumps(run(args.rounds, args.calls)))


if __name__ == "__main__":
    main()
