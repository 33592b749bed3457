"""DynamoDB items parsed straight from their JSON in a local function's worker.

The twin of ``fast_dynamodb`` on the client side. botocore parses every JSON response by walking
its output shape, and an ``AttributeValue`` is a structure of ten members (S, N, B, SS, NS, BS, M,
L, NULL, BOOL): for every attribute of every item, ``JSONParser._handle_structure`` looks up all
ten. A 21-item Query answer takes 1.7 ms of CPU that way and 0.4 ms here, 0.1 ms of which is
``json.loads`` (``python -m bench.parse_probe``): about 1 ms less of a worker's CPU per listing.
Items (and the maps and lists of them: ``Item``, ``Items``, ``LastEvaluatedKey``, ``Attributes``,
``Responses``...) are the one hot shape, so only they take a short path; everything else, and
every other service, goes through botocore's own code.

The short path returns what botocore's parser returns (``local/tests/test_fast_dynamodb_parser.py``
compares both on random items and every response that carries them): strings and numbers as
``str``, ``B`` as the ``bytes`` of the parser's own blob parser, sets and lists as lists, ``None``
where the JSON holds ``null``. It takes only what DynamoDB sends: an attribute value with exactly
one known member of the expected JSON type. Anything else (an unknown type key, two members, a
``null`` member, a number where a string belongs) goes to botocore's code from the enclosing
value, so botocore's behaviour is what the function sees.

Installed in the worker process only (``worker.py``), never in the layer: the functions do not
know they run locally. What this relies on in botocore, checked by ``compatible()`` at install
and by the test's canary: ``ResponseParserFactory.create_parser`` looks the parser class up in
``parsers.PROTOCOL_PARSERS`` on every response; ``JSONParser`` dispatches on
``_handle_<type name>(shape, value)``, parses blobs with ``self._blob_parser`` and returns strings
and booleans as decoded (it has no ``_handle_string`` or ``_handle_boolean``).
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from typing import Any

from botocore import parsers

# The members of DynamoDB's AttributeValue and the shape type each must have.
MEMBER_TYPES = {
    "S": "string",
    "N": "string",
    "B": "blob",
    "SS": "list",
    "NS": "list",
    "BS": "list",
    "M": "map",
    "L": "list",
    "NULL": "boolean",
    "BOOL": "boolean",
}
# The types of the list members and of the map's key and value.
NESTED_TYPES = {"SS": "string", "NS": "string", "BS": "blob", "L": "structure"}
ATTRIBUTE_VALUE = "AttributeValue"

Blob = Callable[[str], Any]


class _Fallback(Exception):
    """A value the short path does not know: botocore's parser takes the enclosing value."""


def _string(member: Any, blob: Blob) -> str:
    if type(member) is not str:
        raise _Fallback
    return member


def _flag(member: Any, blob: Blob) -> bool:
    if type(member) is not bool:
        raise _Fallback
    return member


def _blob(member: Any, blob: Blob) -> Any:
    if type(member) is not str:
        raise _Fallback
    return blob(member)


def _list(member: Any) -> list[Any]:
    if type(member) is not list:
        raise _Fallback
    return member


def _strings(member: Any, blob: Blob) -> list[Any]:
    # botocore keeps a null in any list as None.
    return [None if item is None else _string(item, blob) for item in _list(member)]


def _blobs(member: Any, blob: Blob) -> list[Any]:
    return [None if item is None else _blob(item, blob) for item in _list(member)]


def _values(member: Any, blob: Blob) -> list[Any]:
    return [attribute_value(item, blob) for item in _list(member)]


_MEMBER: dict[str, Callable[[Any, Blob], Any]] = {
    "S": _string,
    "N": _string,
    "B": _blob,
    "SS": _strings,
    "NS": _strings,
    "BS": _blobs,
    "M": lambda member, blob: attribute_map(member, blob),  # defined below
    "L": _values,
    "NULL": _flag,
    "BOOL": _flag,
}


def attribute_value(value: Any, blob: Blob) -> dict[str, Any] | None:
    """One ``AttributeValue`` as botocore's JSON parser returns it (``None`` for JSON ``null``)."""
    if value is None:
        return None
    if type(value) is not dict or len(value) != 1:
        raise _Fallback
    ((name, member),) = value.items()
    convert = _MEMBER.get(name)
    if convert is None:
        raise _Fallback
    return {name: convert(member, blob)}


def attribute_map(value: Any, blob: Blob) -> dict[str, Any]:
    """An item, a key or an ``M``: attribute names to ``AttributeValue``."""
    if type(value) is not dict:
        raise _Fallback
    return {name: attribute_value(item, blob) for name, item in value.items()}


# What a shape is, decided once per shape object (botocore keeps the shapes of an operation's
# output for the life of its client). Weak keys: a dropped client's shapes are not kept alive.
_VALUES: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_MAPS: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def is_attribute_value(shape: Any) -> bool:
    """Whether ``shape`` is DynamoDB's ``AttributeValue``, member for member as the short path reads it."""
    known = _VALUES.get(shape)
    if known is None:
        known = _VALUES[shape] = _looks_like_attribute_value(shape)
    return known


def _looks_like_attribute_value(shape: Any) -> bool:
    if shape.name != ATTRIBUTE_VALUE or shape.type_name != "structure":
        return False
    if shape.is_document_type or shape.is_tagged_union:  # both change how botocore reads it
        return False
    members = shape.members
    if {name: member.type_name for name, member in members.items()} != MEMBER_TYPES:
        return False
    if any(member.serialization.get("name", name) != name for name, member in members.items()):
        return False
    if any(members[name].member.type_name != kind for name, kind in NESTED_TYPES.items()):
        return False
    # A service's shape names are unique: the AttributeValue inside L and M is this one.
    nested = (members["L"].member, members["M"].value)
    return all(value.name == ATTRIBUTE_VALUE for value in nested) and members["M"].key.type_name == "string"


def is_attribute_map(shape: Any) -> bool:
    """Whether ``shape`` is a map of attribute names to ``AttributeValue`` (an item, a key)."""
    known = _MAPS.get(shape)
    if known is None:
        known = _MAPS[shape] = (
            shape.type_name == "map" and shape.key.type_name == "string" and is_attribute_value(shape.value)
        )
    return known


class DynamoDBJSONParser(parsers.JSONParser):
    """botocore's JSON parser, with DynamoDB items (``AttributeValue`` and maps of them) read directly."""

    def _handle_structure(self, shape: Any, value: Any) -> Any:
        if shape.name == ATTRIBUTE_VALUE and is_attribute_value(shape):
            try:
                return attribute_value(value, self._blob_parser)
            except _Fallback:
                pass
        return super()._handle_structure(shape, value)

    def _handle_map(self, shape: Any, value: Any) -> Any:
        if shape.value.name == ATTRIBUTE_VALUE and is_attribute_map(shape):
            try:
                return attribute_map(value, self._blob_parser)
            except _Fallback:
                pass
        return super()._handle_map(shape, value)

    def _handle_list(self, shape: Any, node: Any) -> Any:
        member = shape.member
        if member.type_name == "map" and member.value.name == ATTRIBUTE_VALUE and is_attribute_map(member):
            # An item list (Query, Scan, BatchGetItem): botocore keeps a null item as None.
            try:
                blob = self._blob_parser
                return [None if item is None else attribute_map(item, blob) for item in _list(node)]
            except _Fallback:
                pass
        return super()._handle_list(shape, node)


def compatible() -> list[str]:
    """What in botocore differs from what the short path relies on (empty: nothing)."""
    problems = []
    if parsers.PROTOCOL_PARSERS.get("json") not in (parsers.JSONParser, DynamoDBJSONParser):
        problems.append("PROTOCOL_PARSERS['json'] is no longer botocore's JSONParser")
    for name in ("_handle_structure", "_handle_map", "_handle_list", "_parse_shape"):
        if not callable(getattr(parsers.JSONParser, name, None)):
            problems.append(f"JSONParser has no {name}")
    for name in ("_handle_string", "_handle_boolean"):
        if hasattr(parsers.JSONParser, name):
            problems.append(f"JSONParser now converts with {name}: the short path would skip it")
    if not hasattr(parsers.JSONParser(), "_blob_parser"):
        problems.append("JSONParser has no _blob_parser")
    return problems


def install() -> bool:
    """Use the short path for every JSON-protocol response this process parses.

    Returns whether it is installed: if botocore changed what the short path relies on, it is
    not (botocore's own parser stays, a line on stderr says why) rather than risk different answers.
    """
    problems = compatible()
    if problems:
        print(f"localapi: botocore's own DynamoDB parsing kept ({'; '.join(problems)})", file=sys.stderr)
        return False
    parsers.PROTOCOL_PARSERS["json"] = DynamoDBJSONParser
    return True


def uninstall() -> None:
    """Back to botocore's own parser (tests, benchmarks)."""
    if parsers.PROTOCOL_PARSERS.get("json") is DynamoDBJSONParser:
        parsers.PROTOCOL_PARSERS["json"] = parsers.JSONParser
