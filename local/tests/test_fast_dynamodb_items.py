"""The emulation's item short paths (size, copy, conversion) answer exactly as moto does.

Each test runs moto as shipped and with ``fast_dynamodb_items`` installed, and compares; the canary
fails when the moto code the short paths mirror changes, so an upgrade cannot silently change our
answers or silently lose the speed-up.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import inspect
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.core.base_backend import InstanceTrackerMeta
from moto.core.common_models import BaseModel
from moto.dynamodb import responses
from moto.dynamodb.models import dynamodb_backends, utilities
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table
from werkzeug.test import Client

from localapi import fast_dynamodb_items
from tests.support.moto_wire import call, moto_client, reset_dynamodb

TABLE = "items"
INHERITED = object()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture()
def client() -> Iterator[Client]:
    reset_dynamodb()
    yield moto_client()
    reset_dynamodb()


@pytest.fixture()
def install() -> Iterator[Callable[[], None]]:
    """Installs the short paths when called; moto's own attributes are back after the test."""
    assert DynamoType.size is fast_dynamodb_items.ORIGINAL_DYNAMO_TYPE_SIZE, "installed before the test"
    saved = [(owner, name, vars(owner).get(name, INHERITED)) for owner, name, _ in fast_dynamodb_items.REPLACEMENTS]
    yield fast_dynamodb_items.install
    for owner, name, value in saved:
        if value is INHERITED:  # Item.__new__ is BaseModel's
            vars(owner).get(name) and delattr(owner, name)
        else:
            setattr(owner, name, value)


def ok(client: Client, operation: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = call(client, operation, body)
    assert status == 200, answer
    return dict(json.loads(answer))


def create_table(client: Client) -> None:
    ok(
        client,
        "CreateTable",
        {
            "TableName": TABLE,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [
                {"AttributeName": name, "AttributeType": "S"} for name in ("pk", "sk", "user", "created")
            ],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "all",
                    "KeySchema": [
                        {"AttributeName": "user", "KeyType": "HASH"},
                        {"AttributeName": "created", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                },
                {
                    "IndexName": "keys",
                    "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
                {
                    "IndexName": "include",
                    "KeySchema": [
                        {"AttributeName": "user", "KeyType": "HASH"},
                        {"AttributeName": "created", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title", "picture"]},
                },
            ],
        },
    )


def rich_item(index: int) -> dict[str, Any]:
    """Every attribute type, nested, with non-ASCII strings and binaries."""
    return {
        "pk": {"S": "album"},
        "sk": {"S": f"photo#{index:02d}"},
        "user": {"S": "zoë 📷" if index % 3 else "bob"},
        "created": {"S": f"2024-01-{index + 1:02d}T00:00:00.000Z"},
        "title": {"S": f"Ünïcode title {index}"},
        "blank": {"S": ""},
        "photo_bytes": {"N": str(2_500_000 + index)},
        "ratio": {"N": "-1.25E+3"},
        "picture": {"B": b64(bytes([index, 0, 255]) + "é".encode())},
        "tags": {"SS": ["sunset", f"tag{index}", "ü"]},
        "numbers": {"NS": ["1", "2.5", str(index)]},
        "blobs": {"BS": [b64(b"\x01"), b64(bytes([index + 2]))]},
        "flag": {"BOOL": index % 2 == 0},
        "nothing": {"NULL": True},
        "seq": {"L": [{"S": "x"}, {"N": "1"}, {"L": [{"BOOL": False}]}, {"M": {}}, {"B": b64(b"z")}]},
        "nested": {"M": {"mid": {"M": {"deep": {"SS": ["q"]}, "n": {"NULL": True}}}, "e": {"L": []}, "ß": {"N": "3"}}},
    }


def query(index: str | None = None, **extra: Any) -> dict[str, Any]:
    if index:
        base = {"IndexName": index, "KeyConditionExpression": "#u = :u", "ExpressionAttributeNames": {"#u": "user"}}
        values = {":u": {"S": "zoë 📷"}}
    else:
        base = {"KeyConditionExpression": "pk = :p"}
        values = {":p": {"S": "album"}}
    values.update(extra.pop("values", {}))
    return {"TableName": TABLE, **base, "ExpressionAttributeValues": values, **extra}


class Conversation:
    """Calls made in order, each answer kept: (operation, status, body)."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.answers: list[tuple[str, int, bytes]] = []

    def say(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        status, answer = call(self.client, operation, body)
        self.answers.append((operation, status, answer))
        return dict(json.loads(answer)) if answer else {}


KEY = {"pk": {"S": "album"}, "sk": {"S": "photo#04"}}


def reads(say: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
    say("GetItem", {"TableName": TABLE, "Key": KEY})
    say("GetItem", {"TableName": TABLE, "Key": KEY, "ConsistentRead": True, "ReturnConsumedCapacity": "TOTAL"})
    say("GetItem", {"TableName": TABLE, "Key": KEY, "ProjectionExpression": "picture, nested.mid, seq[2], tags"})
    say("GetItem", {"TableName": TABLE, "Key": KEY, "AttributesToGet": ["title", "blobs"]})
    say("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": "album"}, "sk": {"S": "missing"}}})
    for capacity in ("NONE", "TOTAL", "INDEXES"):
        say("Query", query(ReturnConsumedCapacity=capacity))
        say("Query", query("all", ReturnConsumedCapacity=capacity))
    say("Query", query("all", ScanIndexForward=False))
    say("Query", query("keys"))
    say("Query", query("include"))
    say("Query", query(Select="COUNT"))
    say("Query", query(ProjectionExpression="sk, nested.mid.deep, seq[1]"))
    say("Query", query(FilterExpression="flag = :t", values={":t": {"BOOL": True}}))
    say("Query", query(FilterExpression="contains(tags, :tag)", values={":tag": {"S": "tag3"}}))
    say("Query", query(FilterExpression="size(tags) > :two", values={":two": {"N": "2"}}))
    say("Query", query(KeyConditionExpression="pk = :p AND begins_with(sk, :s)", values={":s": {"S": "photo#0"}}))
    between = {":a": {"S": "photo#02"}, ":b": {"S": "photo#05"}}
    say("Query", query(KeyConditionExpression="pk = :p AND sk BETWEEN :a AND :b", values=between))
    say("Query", query("all", KeyConditionExpression="#u = :u AND created > :c", values={":c": {"S": "2024-01-03"}}))
    legacy = {
        "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "album"}]}},
        "QueryFilter": {"flag": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": False}]}},
    }
    say("Query", {"TableName": TABLE, **legacy})
    for index_name in (None, "all"):  # paginate: Limit and ExclusiveStartKey
        page = say("Query", query(index_name, Limit=2))
        while "LastEvaluatedKey" in page:
            page = say("Query", query(index_name, Limit=2, ExclusiveStartKey=page["LastEvaluatedKey"]))
    say("Scan", {"TableName": TABLE})
    say("Scan", {"TableName": TABLE, "IndexName": "include", "Limit": 3})
    big = {"FilterExpression": "photo_bytes > :n", "ExpressionAttributeValues": {":n": {"N": "2500004"}}}
    say("Scan", {"TableName": TABLE, **big})
    say("BatchGetItem", {"RequestItems": {TABLE: {"Keys": [KEY, {"pk": {"S": "album"}, "sk": {"S": "photo#01"}}]}}})
    say("TransactGetItems", {"TransactItems": [{"Get": {"TableName": TABLE, "Key": KEY}}]})


UPDATES: list[tuple[str, dict[str, Any]]] = [
    ("SET photo_bytes = photo_bytes + :one, title = :t", {":one": {"N": "1"}, ":t": {"S": "new ✓"}}),
    ("SET #l = list_append(#l, :more)", {":more": {"L": [{"S": "appended"}]}}),
    ("SET nested.mid.deep = :d", {":d": {"SS": ["r", "s"]}}),
    ("ADD tags :tag", {":tag": {"SS": ["added"]}}),
    ("REMOVE picture, numbers", {}),
]


def writes_read_back(say: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
    for expression, values in UPDATES:
        body: dict[str, Any] = {"TableName": TABLE, "Key": KEY, "UpdateExpression": expression}
        body |= {"ReturnValues": "ALL_NEW", "ExpressionAttributeValues": values} if values else {}
        body |= {"ExpressionAttributeNames": {"#l": "seq"}} if "#l" in expression else {}
        say("UpdateItem", body)
        say("GetItem", {"TableName": TABLE, "Key": KEY})
        say("Query", query("all"))
    replaced = {**rich_item(4), "title": {"S": "replaced"}}
    say("PutItem", {"TableName": TABLE, "Item": replaced, "ReturnValues": "ALL_OLD"})
    say("Query", query())
    say("DeleteItem", {"TableName": TABLE, "Key": KEY, "ReturnValues": "ALL_OLD"})
    say("GetItem", {"TableName": TABLE, "Key": KEY})
    say("Query", query("all"))
    other = {"pk": {"S": "album"}, "sk": {"S": "photo#02"}}
    change = {"UpdateExpression": "SET title = :t", "ExpressionAttributeValues": {":t": {"S": "in a transaction"}}}
    transaction = [
        {"Put": {"TableName": TABLE, "Item": {**rich_item(20), "sk": {"S": "photo#20"}}}},
        {"Update": {"TableName": TABLE, "Key": other, **change}},
    ]
    refused = {"ConditionCheck": {"TableName": TABLE, "Key": KEY, "ConditionExpression": "attribute_exists(pk)"}}
    say("TransactWriteItems", {"TransactItems": [*transaction, refused]})  # cancelled: nothing written
    say("Query", query())
    say("TransactWriteItems", {"TransactItems": transaction})
    say("Query", query())


def errors(say: Callable[[str, dict[str, Any]], dict[str, Any]]) -> None:
    condition = {"ConditionExpression": "attribute_not_exists(pk)", "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}
    say("PutItem", {"TableName": TABLE, "Item": rich_item(1), **condition})
    say("GetItem", {"TableName": TABLE, "Key": {"pk": {"N": "1"}, "sk": {"S": "x"}}})
    say("GetItem", {"TableName": "missing", "Key": KEY})
    say("Query", query("nope"))
    say("Query", query(ReturnConsumedCapacity="SOME"))


def conversation(client: Client) -> list[tuple[str, int, bytes]]:
    """Reads of every kind, writes each read back, and errors."""
    create_table(client)
    talk = Conversation(client)
    for index in range(9):
        talk.say("PutItem", {"TableName": TABLE, "Item": rich_item(index)})
    talk.say("PutItem", {"TableName": TABLE, "Item": rich_item(4), "ReturnValues": "ALL_OLD"})
    for part in (reads, writes_read_back, errors):
        part(talk.say)
    return talk.answers


def test_a_conversation_gets_moto_answers_byte_for_byte(client: Client, install: Callable[[], None]) -> None:
    shipped = conversation(client)
    reset_dynamodb()
    install()
    fast = conversation(client)
    assert len(fast) == len(shipped) > 60
    for mine, theirs in zip(fast, shipped, strict=True):
        assert mine == theirs
    errors_meant = ["TransactWriteItems", "PutItem", "GetItem", "Query", "Query"]
    assert [operation for operation, status, _ in shipped if status != 200] == errors_meant  # and no others


def sized_item(sort_key: str, size: int) -> dict[str, Any]:
    """An item of exactly ``size`` bytes by moto's count, its payload mostly 2- and 4-byte UTF-8
    characters (a count of characters instead of bytes would be far off)."""
    attrs: dict[str, Any] = {
        "pk": {"S": "cut"},
        "sk": {"S": sort_key},
        "n": {"N": "12.5"},
        "tags": {"SS": ["é", "b"]},
        "m": {"M": {"k": {"L": [{"S": "ü"}, {"BOOL": True}]}}},
        "payload": {"S": ""},
    }
    room = size - fast_dynamodb_items.ORIGINAL_ITEM_SIZE(Item(DynamoType(attrs["pk"]), None, attrs))
    fours, rest = divmod(room, 4)
    attrs["payload"] = {"S": "📷" * fours + "é" * (rest // 2) + "x" * (rest % 2)}
    return attrs


@pytest.mark.parametrize(("third", "page"), [(RESULT_SIZE_LIMIT - 800_000, 3), (RESULT_SIZE_LIMIT - 800_000 + 1, 2)])
def test_the_1_mb_page_cut_falls_on_the_same_item(
    client: Client, install: Callable[[], None], third: int, page: int
) -> None:
    def pages() -> list[dict[str, Any]]:
        create_table(client)
        for sort_key, size in (("1", 400_000), ("2", 400_000), ("3", third), ("4", 10)):
            ok(client, "PutItem", {"TableName": TABLE, "Item": sized_item(sort_key, size)})
        cut = {
            "TableName": TABLE,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "cut"}},
        }
        answers = [ok(client, "Query", cut), ok(client, "Scan", {"TableName": TABLE})]
        third_key = {"pk": {"S": "cut"}, "sk": {"S": "3"}}
        grow = {"UpdateExpression": "SET p = :empty", "ExpressionAttributeValues": {":empty": {"S": ""}}}
        ok(client, "UpdateItem", {"TableName": TABLE, "Key": third_key, **grow})  # one byte more
        answers.append(ok(client, "Query", cut))
        ok(client, "DeleteItem", {"TableName": TABLE, "Key": {"pk": {"S": "cut"}, "sk": {"S": "2"}}})
        answers.append(ok(client, "Query", cut))
        ok(client, "PutItem", {"TableName": TABLE, "Item": sized_item("4", 405_000)})  # replaced, larger
        answers.append(ok(client, "Query", cut))
        reset_dynamodb()
        return answers

    shipped = pages()
    install()
    fast = pages()
    assert fast == shipped
    first, _, grown, deleted, replaced = fast
    assert first["Count"] == page  # the first three items fill 1,000,000 bytes exactly, or one more
    assert first["LastEvaluatedKey"]["sk"] == {"S": str(page)}
    assert grown["Count"] == 2  # the next read sees each write: no size is kept from one read to the next
    assert deleted["Count"] == 3 and "LastEvaluatedKey" not in deleted  # 400,000 + ~200,000 + 10
    assert replaced["Count"] == 2  # 400,000 + ~200,000 fit, 405,000 more do not


@pytest.mark.parametrize("size", [405_000, 405_001])
def test_the_item_size_limit_is_where_moto_puts_it(client: Client, install: Callable[[], None], size: int) -> None:
    def put() -> tuple[int, bytes]:
        create_table(client)
        answer = call(client, "PutItem", {"TableName": TABLE, "Item": sized_item("1", size)})
        reset_dynamodb()
        return answer

    shipped = put()
    install()
    assert put() == shipped
    assert shipped[0] == (200 if size == 405_000 else 400)


def backend_table(client: Client) -> Table:
    create_table(client)
    for index in range(3):
        ok(client, "PutItem", {"TableName": TABLE, "Item": rich_item(index)})
    return dynamodb_backends["123456789012"]["us-east-1"].get_table(TABLE)


def vandalise(item: Item) -> None:
    item.attrs["title"].value = "vandalised"
    item.attrs["tags"].value.append("vandalised")
    item.attrs["seq"].value[2].value.append(DynamoType({"S": "vandalised"}))
    item.attrs["nested"].value["mid"].value["deep"] = DynamoType({"S": "vandalised"})
    item.hash_key.value = "vandalised"
    del item.attrs["photo_bytes"]


def test_a_caller_changing_returned_items_does_not_change_the_table(
    client: Client, install: Callable[[], None]
) -> None:
    install()
    table = backend_table(client)
    stored = ok(client, "Scan", {"TableName": TABLE})
    queried, _, _ = table.query(DynamoType({"S": "album"}), None, [], None, None, True, None)
    bob = [("user", DynamoType({"S": "bob"}))]
    by_user, _, _ = table.query(None, None, [], None, None, True, None, index_name="all", hash_key_conditions=bob)
    scanned, _, _ = table.scan({}, None, None)
    assert len(queried) == len(scanned) == 3 and len(by_user) == 1
    for item in [*queried, *by_user, *scanned]:
        vandalise(item)
    assert ok(client, "Scan", {"TableName": TABLE}) == stored


def test_a_copy_keeps_what_the_original_shares_as_deepcopy_does(install: Callable[[], None]) -> None:
    install()
    shared = DynamoType({"L": [{"S": "a"}]})
    item = Item(DynamoType({"S": "k"}), None, {"k": {"S": "k"}})
    dict.update(item.attrs, {"one": shared, "two": shared})  # e.g. what SET a = b may leave behind
    twin = copy.deepcopy([item, item])
    assert twin[0] is twin[1] is not item
    assert twin[0].attrs["one"] is twin[0].attrs["two"] is not shared
    assert twin[0].attrs["one"].value[0] is not shared.value[0]
    assert type(twin[0].attrs) is LimitedSizeDict and twin[0].attrs["one"] == shared


def test_sizes_match_moto_on_every_kind_and_odd_values(install: Callable[[], None]) -> None:
    values = [DynamoType(value) for value in rich_item(5).values()]
    values += [
        DynamoType({"S": "x" * 10 + "é📷"}),
        DynamoType({"B": b"raw bytes"}),  # binaries are bytes after a projection
        DynamoType({"BS": [b"\x00", "AAE="]}),
        DynamoType({"N": 12}),  # odd: a number that is not a string
        DynamoType({"S": True}),
    ]
    odd_map = DynamoType({"M": {}})
    odd_map.value["raw"] = {"S": "a dict, not a DynamoType"}  # moto sizes DynamoType(member)
    values.append(odd_map)
    shipped = [fast_dynamodb_items.ORIGINAL_DYNAMO_TYPE_SIZE(value) for value in values]
    item = Item(DynamoType({"S": "k"}), None, rich_item(6))
    shipped_item = fast_dynamodb_items.ORIGINAL_ITEM_SIZE(item)
    install()
    assert [value.size() for value in values] == shipped
    assert item.size() == shipped_item
    with pytest.raises(AttributeError):  # moto's error for a value it cannot size
        DynamoType({"S": None}).size()


def test_conversion_and_cast_values_match_moto(install: Callable[[], None]) -> None:
    item = Item(DynamoType({"S": "k"}), None, rich_item(7))
    answer = {"Items": [item.attrs], "Count": 1, "LastEvaluatedKey": {"pk": {"S": "k"}}, "When": None}
    shipped = utilities.dynamo_to_dict(answer)
    casts = [value.cast_value for value in item.attrs.values()]
    install()
    assert responses.dynamo_to_dict(answer) == shipped
    assert [value.cast_value for value in item.attrs.values()] == casts


def test_items_are_no_longer_kept_for_ever(client: Client, install: Callable[[], None]) -> None:
    # The canary: moto keeps every model instance it makes (the copies a Query returns too).
    assert isinstance(Item, InstanceTrackerMeta) and "instances_tracked.append" in inspect.getsource(BaseModel.__new__)
    backend_table(client)
    body = query()
    tracked = len(Item.instances_tracked)  # type: ignore[attr-defined]
    ok(client, "Query", body)
    assert len(Item.instances_tracked) == tracked + 3  # type: ignore[attr-defined]
    install()
    ok(client, "Query", body)
    ok(client, "PutItem", {"TableName": TABLE, "Item": rich_item(8)})
    assert len(Item.instances_tracked) == tracked + 3  # type: ignore[attr-defined]


# The moto code the short paths mirror or rely on, as of moto 5.2.5. A change fails here: read the
# new code, adapt fast_dynamodb_items (or drop a short path), then update the fingerprint.
MIRRORED = {
    "DynamoType.size": fast_dynamodb_items.ORIGINAL_DYNAMO_TYPE_SIZE,
    "DynamoType.__init__": DynamoType.__init__,
    "DynamoType.__deepcopy__": fast_dynamodb_items.ORIGINAL_DYNAMO_TYPE_DEEPCOPY,
    "DynamoType.cast_value": fast_dynamodb_items.ORIGINAL_CAST_VALUE.fget,
    "Item.size": fast_dynamodb_items.ORIGINAL_ITEM_SIZE,
    "Item.__deepcopy__": fast_dynamodb_items.ORIGINAL_ITEM_DEEPCOPY,
    "utilities.bytesize": utilities.bytesize,
    "utilities.dynamo_to_dict": fast_dynamodb_items.ORIGINAL_DYNAMO_TO_DICT,
    "BaseModel.__new__": BaseModel.__new__,
    "Table.query": fast_dynamodb_items.ORIGINAL_QUERY,  # changes no item while it reads them
}
FINGERPRINT = "035fd3cbfb97c020"


def test_canary_the_moto_code_the_short_paths_mirror_is_unchanged() -> None:
    sources = "\n".join(f"{name}\n{inspect.getsource(code)}" for name, code in MIRRORED.items())
    assert hashlib.sha256(sources.encode()).hexdigest()[:16] == FINGERPRINT
    # Where moto calls them: the page cut and copy of Query and Scan, the answer's conversion.
    query, scan = inspect.getsource(fast_dynamodb_items.ORIGINAL_QUERY), inspect.getsource(Table.scan)
    assert "result.size()" in query and "results = copy.deepcopy(results)" in query
    assert "item.size()" in scan and "copy.deepcopy(item)" in scan
    assert "dynamo_to_dict(result)" in inspect.getsource(responses.DynamoResult)
    assert fast_dynamodb_items.ORIGINAL_DYNAMO_TO_DICT is utilities.dynamo_to_dict
