"""DynamoDB answers serialised at the speed of ``json.dumps`` in the local AWS emulation.

moto 5.2 serialises every response by walking botocore's output shape. An ``AttributeValue`` has
ten members (S, N, B, SS, NS, BS, M, L, NULL, BOOL) and moto's attribute picker tries several
spellings of each, for every attribute of every item: about 80% of a 21-item Query (17 ms of
21 ms on a quiet machine) goes there, against under 1 ms for the same dicts through
``json.dumps``. Items are the one hot shape, so only they take a short path: the rest of each
response (envelope, counts, keys, errors, timestamps, every other service) still goes through
moto's own serialiser.

The short path produces the same JSON as moto's serialiser for every value moto's backend hands
it (``tests``: ``local/tests/test_fast_dynamodb.py`` compares both on every attribute type and
fails when moto's serialiser, its registry or the AttributeValue shape changes). Anything it does
not recognise (a member name outside the ten, a value of an unexpected type) goes to moto's
serialiser.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from moto.core import serialize


class _Fallback(Exception):
    """A value the short path does not know: moto's serialiser takes the whole attribute."""


def _blob(value: Any) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes | bytearray):
        raise _Fallback
    return base64.b64encode(value).decode("ascii")


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise _Fallback
    return value


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _Fallback
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise _Fallback
    return value


def _map(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Fallback
    return {key: attribute_value(item) for key, item in value.items()}


_MEMBER: dict[str, Callable[[Any], Any]] = {
    "S": _string,
    "N": _string,
    "B": _blob,
    "SS": lambda value: [_string(item) for item in _list(value)],
    "NS": lambda value: [_string(item) for item in _list(value)],
    "BS": lambda value: [_blob(item) for item in _list(value)],
    "M": _map,
    "L": lambda value: [attribute_value(item) for item in _list(value)],
    "NULL": _flag,
    "BOOL": _flag,
}
MEMBERS = frozenset(_MEMBER)


def attribute_value(value: Any) -> dict[str, Any]:
    """One ``AttributeValue`` as moto's JSON serialiser writes it (None members dropped)."""
    if not isinstance(value, dict):
        raise _Fallback
    out: dict[str, Any] = {}
    for name, member in value.items():
        if member is None:
            continue
        convert = _MEMBER.get(name)
        if convert is None:
            raise _Fallback
        out[name] = convert(member)
    return out


class FastDynamoDBSerializer(serialize.JSONSerializer):
    """moto's JSON serialiser, with items (``AttributeValue``) written directly."""

    def _serialize_type_structure(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        if key and shape.name == "AttributeValue":
            try:
                serialized[key] = attribute_value(value)
                return
            except _Fallback:
                pass
        super()._serialize_type_structure(serialized, value, shape, key)

    def _serialize_type_map(self, serialized: Any, value: Any, shape: Any, key: str) -> None:
        """An item (name -> AttributeValue) in one go: moto's own map walk would dispatch each
        attribute to the method above, by name, with its bookkeeping (~10% of a 21-item Query)."""
        if shape.value.name == "AttributeValue" and isinstance(value, dict):
            try:
                entries = {name: attribute_value(member) if name else _no_name() for name, member in value.items()}
            except _Fallback:
                pass
            else:
                map_obj = self.MAP_TYPE()
                map_obj.update(entries)
                self._default_serialize(serialized, map_obj, shape, key)
                return
        super()._serialize_type_map(serialized, value, shape, key)


def _no_name() -> Any:
    raise _Fallback  # moto serialises a member without a name differently: its own walk does it


def install() -> None:
    """Use the short path for DynamoDB's JSON protocol in this process (the emulation's own)."""
    serialize.SERVICE_SPECIFIC_SERIALIZERS.setdefault("dynamodb", {})["json"] = FastDynamoDBSerializer
