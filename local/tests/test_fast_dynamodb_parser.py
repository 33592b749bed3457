"""A worker's short path for DynamoDB items parses what botocore's own parser parses.

Each check sends the same HTTP response bytes through one client twice, with botocore's parser
and with the short path, and compares the results including types (``bytes`` against ``str``,
``bool`` against ``int``) and key order, or the exceptions raised. The canaries fail when
botocore changes what the short path relies on, or when the short path silently stops being used.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import parsers, xform_name
from botocore.awsrequest import AWSResponse
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.session import get_session
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.core.botocore_stubber import MockRawResponse

from localapi import fast_dynamodb_parser
from localapi.functions import FunctionPool
from localapi.template import Template

FIXTURE_TEMPLATE = Path(__file__).resolve().parent / "fixture" / "template.yaml"
TABLE = "images"
KEY = {"pk": {"S": "photo#1"}}
ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#"

# What DynamoDB sends: one member per attribute value, sets of strings, base64 for binary.
texts = st.text(max_size=12)
numbers = st.one_of(st.integers(), st.decimals(allow_nan=False, allow_infinity=False, places=3)).map(str)
blobs = st.binary(max_size=12).map(lambda data: base64.b64encode(data).decode())
scalars = st.one_of(
    texts.map(lambda text: {"S": text}),
    numbers.map(lambda number: {"N": number}),
    blobs.map(lambda blob: {"B": blob}),
    st.lists(texts, max_size=3).map(lambda items: {"SS": items}),
    st.lists(numbers, max_size=3).map(lambda items: {"NS": items}),
    st.lists(blobs, max_size=3).map(lambda items: {"BS": items}),
    st.booleans().map(lambda flag: {"BOOL": flag}),
    st.just({"NULL": True}),
)
attribute_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: {"L": items}),
        st.dictionaries(texts, inner, max_size=3).map(lambda members: {"M": members}),
    ),
    max_leaves=12,
)
items = st.dictionaries(texts, attribute_values, max_size=5)

# What it does not send: the short path must hand each of these to botocore.
junk = st.one_of(
    st.none(),
    st.integers(),
    st.booleans(),
    texts,
    st.lists(st.none() | texts, max_size=2),
    st.dictionaries(texts, st.none() | texts, max_size=2),
)
strange_values = st.one_of(
    st.dictionaries(st.sampled_from([*fast_dynamodb_parser.MEMBER_TYPES, "X", "__type"]), junk, max_size=2),
    junk,
)
wild_values = st.recursive(
    st.one_of(scalars, strange_values),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda items: {"L": items}),
        st.dictionaries(texts, inner, max_size=3).map(lambda members: {"M": members}),
    ),
    max_leaves=8,
)
wild_items = st.one_of(st.dictionaries(texts, wild_values, max_size=4), junk)


class CannedAnswers:
    """Answers a client's next request with ``status`` and ``body`` (botocore's ``before-send`` hook)."""

    def __init__(self) -> None:
        self.status = 200
        self.body = b"{}"

    def __call__(self, request: Any, **_: Any) -> AWSResponse:
        headers = {"x-amzn-RequestId": "canned", "Content-Type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, self.status, headers, MockRawResponse(self.body))


@pytest.fixture(scope="module")
def answers() -> CannedAnswers:
    return CannedAnswers()


@pytest.fixture(scope="module")
def dynamodb(answers: CannedAnswers) -> Any:
    client = boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://dynamodb.invalid",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # never sent anywhere
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
    )
    client.meta.events.register_first("before-send.dynamodb", answers)
    return client


@pytest.fixture(autouse=True, scope="module")
def stock_parser_after() -> Iterator[None]:
    yield
    fast_dynamodb_parser.uninstall()  # other tests in this process get botocore's parser


def typed(value: Any) -> Any:
    """``value`` with every type spelled out: ``True == 1`` and key order are differences here."""
    if isinstance(value, dict):
        return ("dict", [(typed(key), typed(item)) for key, item in value.items()])
    if isinstance(value, list):
        return ("list", [typed(item) for item in value])
    return (type(value).__name__, value)


def outcome(call: Callable[[], Any]) -> Any:
    """What a function sees: the parsed answer, the ``ClientError`` it raises, or another exception."""
    try:
        return ("answer", typed(call()))
    except ClientError as exc:
        return ("client error", type(exc).__name__, typed(exc.response))
    except Exception as exc:  # whatever botocore raises must be raised the same way
        return ("raised", type(exc).__name__, str(exc))


def both_parsers(call: Callable[[], Any]) -> tuple[Any, Any]:
    """``call``'s outcome with botocore's parser, then with the short path."""
    fast_dynamodb_parser.uninstall()
    stock = outcome(call)
    assert fast_dynamodb_parser.install()
    try:
        return stock, outcome(call)
    finally:
        fast_dynamodb_parser.uninstall()


def error_body(code: str, **fields: Any) -> dict[str, Any]:
    return {"__type": ERROR_PREFIX + code, "message": f"{code} happened", **fields}


def responses(item: Any, more: list[Any]) -> list[tuple[str, dict[str, Any], int, dict[str, Any]]]:
    """(operation, its parameters, HTTP status, the answer's JSON) for every answer carrying items."""
    listed = [item, *more]
    key = item if isinstance(item, dict) and len(item) < 3 else KEY
    get = {"TableName": TABLE, "Key": KEY}
    query = {"TableName": TABLE, "KeyConditionExpression": "pk = :pk", "ExpressionAttributeValues": {":pk": KEY["pk"]}}
    put = {"TableName": TABLE, "Item": KEY}
    page = {"Items": listed, "Count": len(listed), "ScannedCount": len(listed), "LastEvaluatedKey": key}
    return [
        ("GetItem", get, 200, {"Item": item, "ConsumedCapacity": {"TableName": TABLE, "CapacityUnits": 0.5}}),
        ("GetItem", get, 200, {}),
        ("Query", query, 200, page),
        ("Query", query, 200, {"Items": [], "Count": 0, "ScannedCount": 0}),
        ("Scan", {"TableName": TABLE}, 200, page),
        (
            "BatchGetItem",
            {"RequestItems": {TABLE: {"Keys": [KEY]}}},
            200,
            {
                "Responses": {TABLE: listed, "other": []},
                "UnprocessedKeys": {TABLE: {"Keys": [key, KEY], "ProjectionExpression": "pk"}},
            },
        ),
        (
            "TransactGetItems",
            {"TransactItems": [{"Get": {"TableName": TABLE, "Key": KEY}}]},
            200,
            {"Responses": [*({"Item": each} for each in listed), {}]},
        ),
        ("PutItem", put, 200, {"Attributes": item}),
        ("UpdateItem", {**get, "UpdateExpression": "SET a = :a", "ReturnValues": "ALL_NEW"}, 200, {"Attributes": item}),
        ("DeleteItem", {**get, "ReturnValues": "ALL_OLD"}, 200, {"Attributes": item}),
        ("PutItem", put, 400, error_body("ConditionalCheckFailedException", Item=item)),
        (
            "TransactWriteItems",
            {"TransactItems": [{"Put": {"TableName": TABLE, "Item": KEY}}]},
            400,
            error_body(
                "TransactionCanceledException",
                CancellationReasons=[{"Code": "ConditionalCheckFailed", "Item": item}, {"Code": "None"}],
            ),
        ),
        ("GetItem", get, 400, error_body("ResourceNotFoundException")),
    ]


def compare_all(dynamodb: Any, answers: CannedAnswers, item: Any, more: list[Any]) -> None:
    for operation, parameters, status, body in responses(item, more):
        answers.status, answers.body = status, json.dumps(body).encode()
        method = getattr(dynamodb, xform_name(operation))
        stock, fast = both_parsers(lambda: method(**parameters))  # noqa: B023 - called at once
        assert fast == stock, operation


@settings(max_examples=150, deadline=None)
@given(item=items, more=st.lists(items, max_size=3))
def test_items_parse_as_botocore_parses_them(dynamodb: Any, answers: CannedAnswers, item: Any, more: Any) -> None:
    compare_all(dynamodb, answers, item, more)


@settings(max_examples=150, deadline=None)
@given(item=wild_items, more=st.lists(wild_items, max_size=2))
def test_values_dynamodb_never_sends_parse_as_botocore_parses_them(
    dynamodb: Any, answers: CannedAnswers, item: Any, more: Any
) -> None:
    compare_all(dynamodb, answers, item, more)


RICH_ITEM: dict[str, Any] = {
    "pk": {"S": "photo#1"},
    "user": {"S": "zoë 📷"},
    "empty": {"S": ""},
    "size": {"N": "2500000"},
    "blob": {"B": base64.b64encode(b"\x00\xffbinary\n").decode()},
    "tags": {"SS": ["a", "b"]},
    "numbers": {"NS": ["1", "2.5"]},
    "blobs": {"BS": [base64.b64encode(b"\x01").decode()]},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "list": {"L": [{"S": "x"}, {"N": "1"}, {"L": []}, {"M": {}}]},
    "map": {"M": {"inner": {"M": {"deep": {"SS": ["q"]}}}, "e": {"L": []}}},
}


@pytest.mark.parametrize("index", range(len(responses(RICH_ITEM, []))))
def test_every_answer_with_items_takes_the_short_path(
    dynamodb: Any, answers: CannedAnswers, monkeypatch: pytest.MonkeyPatch, index: int
) -> None:
    operation, parameters, status, body = responses(RICH_ITEM, [{**RICH_ITEM, "pk": {"S": "photo#2"}}])[index]
    used: list[Any] = []
    for name in ("attribute_map", "attribute_value"):
        original = getattr(fast_dynamodb_parser, name)
        monkeypatch.setattr(
            fast_dynamodb_parser, name, lambda value, blob, f=original: used.append(value) or f(value, blob)
        )
    answers.status, answers.body = status, json.dumps(body).encode()
    method = getattr(dynamodb, xform_name(operation))
    stock, fast = both_parsers(lambda: method(**parameters))
    assert fast == stock
    carries_items = json.dumps(RICH_ITEM["blob"]) in json.dumps(body)
    # The canary: botocore still hands items to the handlers the short path overrides.
    assert bool(used) == carries_items, f"{operation}: the short path was {'' if used else 'not '}used"


@pytest.mark.parametrize(
    "value",
    [
        {"X": "unknown type"},
        {"S": "a", "N": "1"},
        {"N": "1", "S": "a"},
        {"S": None},
        {"S": 1},
        {"N": 1.5},
        {"BOOL": 1},
        {"NULL": "true"},
        {"B": "not base64!"},
        {"B": "YQ"},
        {"B": 1},
        {"SS": "abc"},
        {"SS": ["a", None]},
        {"NS": [None]},
        {"SS": ["a", None, 1]},
        {"BS": [None, "YQ=="]},
        {"L": "abc"},
        {"L": [None, {"S": "x"}]},
        {"L": [None, {"X": 1}]},
        {"M": {"a": None}},
        {"M": ["not", "a", "map"]},
        {"M": {"a": None, "b": {"X": 1}}},
        {"__type": "AttributeValue", "S": "x"},
        {},
        None,
        "not an attribute value",
        [{"S": "x"}],
    ],
)
def test_an_unexpected_value_gets_botocores_own_answer(dynamodb: Any, answers: CannedAnswers, value: Any) -> None:
    # An unknown type key is dropped by botocore ({"X": ...} reads as {}), a bad blob raises: as here.
    answers.status = 200
    for body in ({"Item": {"a": value, "b": {"S": "kept"}}}, {"Items": [{"a": value}], "Count": 1}):
        answers.body = json.dumps(body).encode()
        stock, fast = both_parsers(lambda: dynamodb.query(TableName=TABLE))
        assert fast == stock


def test_the_botocore_details_the_short_path_relies_on_are_unchanged() -> None:
    # The canary: if one of these changes, install() refuses and the worker parses as before.
    assert fast_dynamodb_parser.compatible() == []
    session = get_session()
    for service in ("dynamodb", "dynamodbstreams"):
        model = session.get_service_model(service)
        assert model.resolved_protocol == "json"
        assert fast_dynamodb_parser.is_attribute_value(model.shape_for("AttributeValue")), service
    model = session.get_service_model("dynamodb")
    assert fast_dynamodb_parser.is_attribute_map(model.shape_for("AttributeMap"))
    assert not fast_dynamodb_parser.is_attribute_value(model.shape_for("KeysAndAttributes"))
    try:
        assert fast_dynamodb_parser.install()
        # botocore looks the class up on every response: an installed parser is the one used.
        assert type(parsers.ResponseParserFactory().create_parser("json")) is fast_dynamodb_parser.DynamoDBJSONParser
    finally:
        fast_dynamodb_parser.uninstall()
    assert type(parsers.ResponseParserFactory().create_parser("json")) is parsers.JSONParser


def test_a_changed_botocore_keeps_its_own_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parsers.JSONParser, "_handle_boolean", lambda self, shape, value: value, raising=False)
    assert not fast_dynamodb_parser.install()
    assert parsers.PROTOCOL_PARSERS["json"] is parsers.JSONParser


def test_a_functions_worker_parses_with_the_short_path() -> None:
    pool = FunctionPool(Template(FIXTURE_TEMPLATE).function("EchoFunction"), environment={})
    try:
        event = {"httpMethod": "GET", "path": "/echo/x", "headers": {}, "body": None}
        body = json.loads(pool.invoke(event).payload["body"])
        assert body["json_parser"] == "DynamoDBJSONParser"
    finally:
        pool.close()
