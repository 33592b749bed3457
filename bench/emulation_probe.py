"""One AWS emulation engine's DynamoDB speed, in a fresh process: printed as one JSON line.

    python -m bench.emulation_probe shipped|local [--calls 60]

A table of 30 photos (21 under one key of a global secondary index) is written through moto's WSGI
app in-process (no sockets, so only the engine's own work is timed); then GetItem and the 21-item
index Query, ``--calls`` times each, and the p50 of each. ``shipped``: moto as installed;
``local``: moto with the local mode's short paths (what ``make serve`` runs). Another moto pin
runs the same with its own interpreter (``BENCH_ALT_MOTO_PYTHON``): ``shipped`` needs only moto.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from importlib.metadata import version
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.test import Client

HEADERS = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=bench/20240101/us-east-1/dynamodb/aws4_request, "
    "SignedHeaders=host, Signature=0",
    "Content-Type": "application/x-amz-json-1.0",
    "Host": "dynamodb.us-east-1.amazonaws.com",
}
TABLE = "bench-photos"


def _call(client: Client, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(
        "/", data=json.dumps(body), headers={**HEADERS, "X-Amz-Target": f"DynamoDB_20120810.{operation}"}
    )
    if response.status_code != 200:
        raise RuntimeError(f"{operation}: {response.status_code} {response.get_data(as_text=True)[:200]}")
    return dict(json.loads(response.get_data()))


def _photo(index: int) -> dict[str, Any]:
    """An item shaped like the service's image rows (strings, numbers, a string set)."""
    return {
        "image_id": {"S": f"photo-{index:04d}"},
        "user_id": {"S": "load-user" if index < 21 else f"user-{index}"},
        "created_at": {"S": f"2026-01-01T00:00:{index:02d}.000Z"},
        "title": {"S": f"photo {index}"},
        "description": {"S": "A photo written for the emulation bench."},
        "tags": {"SS": ["load-tag", "sunset"]},
        "content_type": {"S": "image/jpeg"},
        "size_bytes": {"N": "2500000"},
        "width": {"N": "4032"},
        "height": {"N": "3024"},
        "sha256": {"S": "0" * 64},
        "object_key": {"S": f"images/photo-{index:04d}"},
    }


def measure(calls: int) -> dict[str, float]:
    client = Client(DomainDispatcherApplication(create_backend_app))
    _call(
        client,
        "CreateTable",
        {
            "TableName": TABLE,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": [{"AttributeName": "image_id", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"} for name in ("image_id", "user_id", "created_at")
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by-user",
                    "KeySchema": [
                        {"AttributeName": "user_id", "KeyType": "HASH"},
                        {"AttributeName": "created_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )
    for index in range(30):
        _call(client, "PutItem", {"TableName": TABLE, "Item": _photo(index)})
    get = {"TableName": TABLE, "Key": {"image_id": {"S": "photo-0007"}}}
    query = {
        "TableName": TABLE,
        "IndexName": "by-user",
        "KeyConditionExpression": "user_id = :u",
        "ExpressionAttributeValues": {":u": {"S": "load-user"}},
        "ScanIndexForward": False,
    }
    assert len(_call(client, "Query", query)["Items"]) == 21
    return {"get_item_ms": _p50(client, "GetItem", get, calls), "query_21_ms": _p50(client, "Query", query, calls)}


def _p50(client: Client, operation: str, body: dict[str, Any], calls: int) -> float:
    _call(client, operation, body)  # its first call builds what later ones reuse
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        _call(client, operation, body)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.emulation_probe")
    parser.add_argument("engine", choices=["shipped", "local"])
    parser.add_argument("--calls", type=int, default=60)
    args = parser.parse_args(argv)
    if args.engine == "local":
        from localapi import moto_server  # noqa: PLC0415 - only this engine has them

        moto_server.install_short_paths()
    print(json.dumps({"moto": version("moto"), **measure(args.calls)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
