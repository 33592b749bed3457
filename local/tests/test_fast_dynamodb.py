"""The emulation's short path for DynamoDB items writes what moto's own serialiser writes.

A canary: it fails when moto's serialiser, its registry or the AttributeValue shape change, so a
moto upgrade cannot silently change our answers or silently lose the speed-up.
"""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.session import get_session
from moto.core import serialize
from werkzeug.test import Client

from localapi import fast_dynamodb
from tests.support.moto_wire import call, moto_client, reset_dynamodb

RICH_ITEM: dict[str, Any] = {
    "pk": {"S": "photo#1"},
    "user": {"S": "zoë 📷"},
    "created": {"S": "2024-01-01T00:00:00.000Z"},
    "empty": {"S": ""},
    "size": {"N": "2500000"},
    "ratio": {"N": "-1.25E+3"},
    "big": {"N": "12345678901234567890123456789012345678"},
    "blob": {"B": base64.b64encode(b"\x00\xffbinary\n").decode()},
    "tags": {"SS": ["a", "b", "ü"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [base64.b64encode(b"\x01").decode(), base64.b64encode(b"\x02\x03").decode()]},
    "flag": {"BOOL": True},
    "off": {"BOOL": False},
    "nothing": {"NULL": True},
    "list": {"L": [{"S": "x"}, {"N": "1"}, {"L": []}, {"M": {}}, {"B": base64.b64encode(b"z").decode()}]},
    "map": {"M": {"inner": {"M": {"deep": {"SS": ["q"]}, "n": {"NULL": True}}}, "e": {"L": []}}},
}


@pytest.fixture()
def client() -> Iterator[Client]:
    yield moto_client()
    reset_dynamodb()


def answers(client: Client) -> list[tuple[int, bytes]]:
    call(
        client,
        "CreateTable",
        {
            "TableName": "canary",
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "user", "AttributeType": "S"},
                {"AttributeName": "created", "AttributeType": "S"},
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "by_user",
                    "KeySchema": [
                        {"AttributeName": "user", "KeyType": "HASH"},
                        {"AttributeName": "created", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        },
    )
    second = {**RICH_ITEM, "pk": {"S": "photo#2"}, "created": {"S": "2024-01-02T00:00:00.000Z"}}
    key = {"pk": {"S": "photo#1"}}
    return [
        call(client, "PutItem", {"TableName": "canary", "Item": RICH_ITEM}),
        call(client, "PutItem", {"TableName": "canary", "Item": second, "ReturnValues": "ALL_OLD"}),
        call(client, "PutItem", {"TableName": "canary", "Item": second, "ReturnValues": "ALL_OLD"}),
        call(client, "GetItem", {"TableName": "canary", "Key": key}),
        call(
            client, "GetItem", {"TableName": "canary", "Key": key, "ProjectionExpression": "blob, map.inner, list[4]"}
        ),
        call(client, "GetItem", {"TableName": "canary", "Key": {"pk": {"S": "missing"}}}),
        call(
            client,
            "Query",
            {
                "TableName": "canary",
                "IndexName": "by_user",
                "KeyConditionExpression": "#u = :u",
                "ExpressionAttributeNames": {"#u": "user"},
                "ExpressionAttributeValues": {":u": {"S": "zoë 📷"}},
                "Limit": 1,
                "ScanIndexForward": False,
                "ReturnConsumedCapacity": "TOTAL",
            },
        ),
        call(client, "Scan", {"TableName": "canary"}),
        call(client, "BatchGetItem", {"RequestItems": {"canary": {"Keys": [key, {"pk": {"S": "photo#2"}}]}}}),
        call(client, "TransactGetItems", {"TransactItems": [{"Get": {"TableName": "canary", "Key": key}}]}),
        call(
            client,
            "UpdateItem",
            {
                "TableName": "canary",
                "Key": key,
                "UpdateExpression": "SET size = size + :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
                "ReturnValues": "ALL_NEW",
            },
        ),
        call(
            client,
            "PutItem",
            {
                "TableName": "canary",
                "Item": RICH_ITEM,
                "ConditionExpression": "attribute_not_exists(pk)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        ),
        call(client, "DeleteItem", {"TableName": "canary", "Key": key, "ReturnValues": "ALL_OLD"}),
        call(client, "DescribeTable", {"TableName": "canary"}),
    ]


def test_short_path_answers_as_moto_does(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serialize, "SERVICE_SPECIFIC_SERIALIZERS", dict(serialize.SERVICE_SPECIFIC_SERIALIZERS))
    generic = answers(client)
    reset_dynamodb()
    used = []
    original = fast_dynamodb.attribute_value

    def counting(value: Any) -> dict[str, Any]:
        used.append(value)
        return original(value)

    monkeypatch.setattr(fast_dynamodb, "attribute_value", counting)
    fast_dynamodb.install()
    assert serialize.get_serializer_class("dynamodb", "json") is fast_dynamodb.FastDynamoDBSerializer
    fast = answers(client)
    assert used, "moto no longer hands AttributeValues to _serialize_type_structure: the short path is dead"
    assert [status for status, _ in fast] == [status for status, _ in generic]
    for (_, mine), (_, theirs) in zip(fast, generic, strict=True):
        if b"CreationDateTime" in theirs:  # DescribeTable: no items, same serialiser
            continue
        assert json.loads(mine) == json.loads(theirs)
        assert mine == theirs  # byte for byte: same key order, same escaping


def test_attribute_value_shape_is_the_one_the_short_path_knows() -> None:
    model = get_session().get_service_model("dynamodb")
    shape = model.shape_for("AttributeValue")
    assert set(shape.members) == fast_dynamodb.MEMBERS
    assert model.protocol == "json"
    assert callable(getattr(serialize.JSONSerializer, "_serialize_type_structure", None))
    # The item (a map of AttributeValues) short path replaces this walk, one attribute at a time.
    walk = inspect.getsource(serialize.JSONSerializer._serialize_type_map)
    assert "self._serialize(map_obj, sub_value, shape.value, sub_key)" in walk


def test_unknown_values_go_to_moto() -> None:
    for strange in ({"S": 1}, {"X": "y"}, {"L": "not a list"}, {"BOOL": "true"}, "not a dict"):
        with pytest.raises(fast_dynamodb._Fallback):
            fast_dynamodb.attribute_value(strange)


def test_module_list_is_cached_with_the_same_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import backends
    from moto.moto_server import werkzeug_app

    from localapi import moto_server

    # The canary: moto's dispatcher still asks this function on every request (else the cache is dead).
    assert "backends.list_of_moto_modules()" in inspect.getsource(werkzeug_app.DomainDispatcherApplication)
    listed = list(backends.list_of_moto_modules())
    monkeypatch.setattr(backends, "list_of_moto_modules", backends.list_of_moto_modules)  # restored after
    moto_server.cache_module_list()
    assert list(backends.list_of_moto_modules()) == listed and "dynamodb" in listed
    dispatcher = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
    assert dispatcher.get_backend_for_host("dynamodb") == "dynamodb"
