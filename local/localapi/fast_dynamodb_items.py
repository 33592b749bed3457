"""moto's DynamoDB item bookkeeping at the speed of plain Python, with the same results.

A profile of a 21-item index Query in moto 5.2.5 (``bench/emulation_probe.py``), after the
serialiser's short path (``fast_dynamodb``), spent most of its time on three walks of every item,
each written generically:

- ``Item.size()`` (~20%), for the 1 MB page cut: it builds a throw-away ``DynamoType`` for every
  member of a set and every value of a map, and is called twice for each item of a page;
- ``copy.deepcopy`` of the page (~17%), which isolates the returned items from the stored ones: the
  copy itself is cheap (moto's own ``__deepcopy__``), ``copy.deepcopy``'s dispatch around every
  node is not;
- ``dynamo_to_dict`` (~10%), which turns the answer into plain dicts: it asks ``hasattr(value,
  "to_json")`` of every string, a failed attribute lookup each.

Each is replaced by a function that computes the same thing over the same objects, in the server
process only (``install``). Nothing outlives a request (a Query remembers the sizes it computed
until it returns), so a write is seen by the next read as before. Each
function covers the shapes moto builds (``DynamoType`` trees of exact types) and hands anything
else to moto's own code, so a value it does not expect gets moto's answer or moto's error.
``local/tests/test_fast_dynamodb_items.py`` compares both on every attribute type, checks the 1 MB
cut and the isolation of results, and fails when the moto code these functions mirror changes.
"""

from __future__ import annotations

import base64
import copy
import functools
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from moto.dynamodb import responses
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import Table

_SETS = frozenset(("SS", "NS", "BS"))
_ITS_OWN_CAST = frozenset(("S", "B", "BOOL"))  # kinds whose cast_value is their value
# Values dynamo_to_dict returns as they are: exact types that are not datetimes, have no
# ``to_json`` and are neither dicts nor lists.
_PLAIN = frozenset((str, int, float, bool, bytes, type(None)))

# moto's originals, for what the short paths do not know.
ORIGINAL_DYNAMO_TYPE_SIZE = DynamoType.size
ORIGINAL_ITEM_SIZE = Item.size
ORIGINAL_DYNAMO_TYPE_DEEPCOPY = DynamoType.__deepcopy__
ORIGINAL_ITEM_DEEPCOPY = Item.__deepcopy__
ORIGINAL_DYNAMO_TO_DICT = responses.dynamo_to_dict
ORIGINAL_CAST_VALUE = DynamoType.__dict__["cast_value"]
ORIGINAL_QUERY = Table.query


class _Fallback(Exception):
    """A value outside the shapes moto builds: moto's own code handles the whole value."""


def _bytesize(value: Any) -> int:
    """moto's ``bytesize``: UTF-8 length of a string, length of bytes (anything else raises as it does)."""
    if type(value) is str and value.isascii():
        return len(value)
    return len(value if isinstance(value, bytes) else value.encode("utf-8"))


def _scalar_size(kind: str, value: Any) -> int:
    """``DynamoType({kind: value}).size()`` for a kind that holds no other values (not a set, list
    or map): a number's length as written, 1 for a boolean (NULL holds one too), else bytesize."""
    if kind == "N":
        return len(str(value))
    if isinstance(value, bool):
        return 1
    return _bytesize(value)


def _tree_size(node: Any) -> int:
    """``DynamoType.size`` of a tree made of exact ``DynamoType`` nodes (else ``_Fallback``)."""
    if type(node) is not DynamoType:
        raise _Fallback
    kind, value = node.type, node.value
    if kind == "S" and type(value) is str:  # most attributes: moto's bytesize, its UTF-8 length
        return len(value) if value.isascii() else len(value.encode("utf-8"))
    if kind in _SETS:  # moto sizes each member as a DynamoType of the set's member kind
        member_kind = kind[0]
        return sum(_scalar_size(member_kind, member) for member in value)
    if kind == "L":
        return sum(_tree_size(member) for member in value)
    if kind == "M":  # moto sizes a copy, DynamoType(member): for a DynamoType tree, the same size
        return sum(_bytesize(key) + _tree_size(member) for key, member in value.items())
    return _scalar_size(kind, value)


def dynamo_type_size(self: DynamoType) -> int:
    try:
        return _tree_size(self)
    except _Fallback:
        return ORIGINAL_DYNAMO_TYPE_SIZE(self)


def item_size(self: Item) -> int:
    sizes: dict[int, tuple[Item, int]] | None = getattr(_page, "sizes", None)
    if sizes is not None:
        known = sizes.get(id(self))
        if known is not None and known[0] is self:
            return known[1]
    try:
        total = 0
        for key, value in self.attrs.items():
            total += _bytesize(key) + _tree_size(value)
    except _Fallback:
        total = ORIGINAL_ITEM_SIZE(self)
    if sizes is not None:
        sizes[id(self)] = (self, total)  # the item is held, so its id is not reused meanwhile
    return total


# Sizes of the stored items a Query is reading, for that Query only: it asks each item's size twice
# (for the 1 MB cut, then to add it up) and changes no item meanwhile. Per thread: requests that
# run in parallel in-process have their own.
_page = threading.local()


def _one_read(read: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(read)
    def reading(*args: Any, **kwargs: Any) -> Any:
        outer = getattr(_page, "sizes", None)
        _page.sizes = {}
        try:
            return read(*args, **kwargs)
        finally:
            _page.sizes = outer

    return reading


def cast_value(self: DynamoType) -> Any:
    """``DynamoType.cast_value``, which sorting and key matching ask of every item's keys: strings,
    binaries and booleans are their value (moto's last branch), the rest goes to moto."""
    if self.type in _ITS_OWN_CAST:
        return self.value
    return ORIGINAL_CAST_VALUE.fget(self)  # type: ignore[attr-defined]


def _copy_node(node: Any, memo: dict[int, Any]) -> Any:
    """``copy.deepcopy(node, memo)`` with moto's ``DynamoType.__deepcopy__`` called directly."""
    if type(node) is not DynamoType:
        return copy.deepcopy(node, memo)
    found = memo.get(id(node))
    if found is not None:  # shared nodes stay shared in the copy, as deepcopy keeps them
        return found
    result = DynamoType.__new__(DynamoType)
    memo[id(node)] = result
    kind = result.type = node.type
    value = node.value
    if kind == "L":
        result.value = [_copy_node(member, memo) for member in value]
    elif kind == "M":
        result.value = {key: _copy_node(member, memo) for key, member in value.items()}
    elif kind in _SETS:
        result.value = list(value)
    else:
        result.value = value
    return result


def dynamo_type_deepcopy(self: DynamoType, memo: dict[int, Any]) -> DynamoType:
    if type(self) is not DynamoType:
        return ORIGINAL_DYNAMO_TYPE_DEEPCOPY(self, memo)
    return _copy_node(self, memo)  # type: ignore[no-any-return]


def item_deepcopy(self: Item, memo: dict[int, Any]) -> Item:
    if type(self) is not Item or type(self.attrs) is not LimitedSizeDict:
        return ORIGINAL_ITEM_DEEPCOPY(self, memo)
    if id(self) in memo:
        return memo[id(self)]  # type: ignore[no-any-return]
    result = Item.__new__(Item)
    memo[id(self)] = result
    result.hash_key = _copy_node(self.hash_key, memo)
    result.range_key = _copy_node(self.range_key, memo)
    # As moto: the copy's attributes skip LimitedSizeDict's size check (the source passed it).
    attrs = LimitedSizeDict.__new__(LimitedSizeDict)
    dict.update(attrs, {key: _copy_node(value, memo) for key, value in self.attrs.items()})
    result.attrs = attrs
    return result


def _plain(node: Any) -> Any:
    """``dynamo_to_dict`` for the shapes moto's DynamoDB answers are made of (else ``_Fallback``)."""
    kind_of = type(node)
    if kind_of in _PLAIN:
        return node
    if kind_of is dict or kind_of is LimitedSizeDict:
        return {key: _plain(value) for key, value in node.items()}
    if kind_of is list:
        return [_plain(value) for value in node]
    if kind_of is DynamoType:
        return _plain_attribute(node)
    if isinstance(node, datetime):  # moto leaves them to the serialiser
        return node
    raise _Fallback


def _plain_attribute(node: DynamoType) -> dict[str, Any]:
    kind, value = node.type, node.value
    if kind == "B":  # raw bytes, which the serialiser encodes (a str is the wire's base64)
        return {"B": value if isinstance(value, bytes) else base64.b64decode(value)}
    if kind == "BS":
        return {"BS": [member if isinstance(member, bytes) else base64.b64decode(member) for member in value]}
    return {kind: _plain(value)}


def dynamo_to_dict(obj: Any) -> Any:
    try:
        return _plain(obj)
    except _Fallback:
        return ORIGINAL_DYNAMO_TO_DICT(obj)


def untracked_item(cls: type[Item], *args: Any, **kwargs: Any) -> Item:
    """``Item.__new__`` without moto's instance tracking (``BaseModel.__new__``), which keeps every
    ``Item`` ever made for ``/moto-api/data.json``: the copy of each item a Query or Scan returns,
    each item a write replaces. 40 KB a 21-item Query, never freed; after 2,000 of them a Query
    took 1.5x as long (the collector walks them all). data.json lists no DynamoDB items then
    (it listed each as ``{"range_key": ...}``, the one attribute it could write)."""
    return object.__new__(cls)


# (owner, attribute, replacement): what ``install`` sets (tests restore moto's from this list).
REPLACEMENTS: tuple[tuple[Any, str, Any], ...] = (
    (Item, "__new__", staticmethod(untracked_item)),
    (Item, "size", item_size),
    (Table, "query", _one_read(ORIGINAL_QUERY)),
    (Item, "__deepcopy__", item_deepcopy),
    (DynamoType, "size", dynamo_type_size),
    (DynamoType, "cast_value", property(cast_value)),
    (DynamoType, "__deepcopy__", dynamo_type_deepcopy),
    (responses, "dynamo_to_dict", dynamo_to_dict),
)


def install() -> None:
    """Use these functions in this process (the emulation's own)."""
    for owner, name, replacement in REPLACEMENTS:
        setattr(owner, name, replacement)
