"""DynamoDB rows and the objects they hold: the one place attribute values are written and read.

Values are converted by boto3's own ``TypeSerializer`` / ``TypeDeserializer`` (part of the boto3
every function already loads; importing them costs well under a millisecond): ``str`` is ``S``,
``int`` is ``N``, ``bool`` is ``BOOL``, a tuple or list is ``L``. ``None`` means "no such
attribute": rows never hold ``NULL``. Every number stored is an integer, so ``N`` reads back as
``int``, and every list as a tuple (the models' field type): ``RowDeserializer`` says how.

Each row's fields are those of its model (``_fields``): an image row is the ``Image``
plus its ``version`` and the checksum index key, a tag row is the ``Image`` plus its tag's keys,
a pending row is the ``UploadRequest`` plus its status and expiry. A field a model gained later
(``width``, ``variants``...) reads back as its default on rows written before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, TypeVar

from boto3.dynamodb.types import DYNAMODB_CONTEXT, TypeDeserializer, TypeSerializer

from .models import Image, UploadRequest

if TYPE_CHECKING:
    from types_boto3_dynamodb.literals import ReturnValuesOnConditionCheckFailureType
    from types_boto3_dynamodb.type_defs import AttributeValueTypeDef

# A row, a key or an expression's values, as the low-level client sends and returns them.
Item = dict[str, "AttributeValueTypeDef"]
Model = TypeVar("Model")


class Condition(TypedDict):
    """A conditional write's condition, spread (``**``) into the write's request."""

    ConditionExpression: str
    ExpressionAttributeNames: dict[str, str]
    ExpressionAttributeValues: Item
    # Never set. Declared so that the type checker knows a condition brings no other value for
    # this key of the Put, Delete or Update it is spread into.
    ReturnValuesOnConditionCheckFailure: NotRequired[ReturnValuesOnConditionCheckFailureType]


def condition(expression: str, names: dict[str, str], values: Mapping[str, Any]) -> Condition:
    """The condition ``expression`` with its attribute ``names`` and ``values`` (plain Python)."""
    return {
        "ConditionExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": to_item(values),
    }


class RowDeserializer(TypeDeserializer):
    """boto3's ``TypeDeserializer``, reading values as the models hold them: ``N`` as an ``int``
    (every number stored is one) and ``L`` as a tuple.

    Each value's conversion is boto3's own method for its type, found in a table made once: the
    base class finds it by name (an f-string and a ``getattr``) for every value, which was half of
    the ~18 µs a row took (a page of 21 rows: 0.37 -> 0.18 ms). A type the table lacks (none of
    our rows' types, or a boto3 whose methods are named otherwise) takes the base class's way.
    """

    _TYPES = ("S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS")

    def __init__(self) -> None:
        super().__init__()
        methods = {kind: getattr(self, f"_deserialize_{kind.lower()}", None) for kind in self._TYPES}
        self._methods: dict[str, Callable[[Any], Any]] = {k: m for k, m in methods.items() if m is not None}

    def deserialize(self, value: Any) -> Any:
        if len(value) == 1:
            ((kind, raw),) = value.items()
            method = self._methods.get(kind)
            if method is not None:
                return method(raw)
        return _plain(super().deserialize(value))

    def _deserialize_n(self, value: str) -> int:
        try:
            return int(value)
        except ValueError:  # an exponent or a fraction: DynamoDB may spell an integer "1E+3"
            return int(DYNAMODB_CONTEXT.create_decimal(value))  # as the base class reads it

    def _deserialize_l(self, value: list[Any]) -> tuple[Any, ...]:
        return tuple(map(self.deserialize, value))


def _plain(value: Any) -> Any:
    """What ``RowDeserializer`` gives for a value the base class converted (``Decimal``, list)."""
    kind = type(value)  # exact types: the deserializer's own (str, bool, Decimal, list...)
    if kind is Decimal:
        return int(value)
    if kind is list:
        return tuple(map(_plain, value))
    return value


_SERIALIZER = TypeSerializer()
_DESERIALIZER = RowDeserializer()

# Fields an image row may lack: written before the field existed (the model has no default).
_IMAGE_ROW_DEFAULTS: dict[str, Any] = {"title": "", "description": "", "tags": (), "width": 0, "height": 0}
_PENDING_ROW_DEFAULTS: dict[str, Any] = {"title": "", "description": "", "tags": ()}
# The field lists: a row holds its model's fields under the same names.
IMAGE_FIELDS = frozenset(Image._fields)
UPLOAD_REQUEST_FIELDS = frozenset(UploadRequest._fields)
PENDING = "pending"
REJECTED = "rejected"


def to_item(values: Mapping[str, Any]) -> Item:
    """Attribute values of ``values`` (a row, a key, or an expression's values); ``None`` is left out."""
    return {name: _SERIALIZER.serialize(value) for name, value in values.items() if value is not None}


def attribute_value(value: Any) -> Any:
    """One attribute value as ``RowDeserializer`` reads it. What our rows hold (a string, an
    integer, a list of them) is read here without a call into the deserializer: mapping a page of
    20 rows took ~20% less time; any other value (BOOL, a map, a set, a number in another
    spelling) is the deserializer's."""
    if len(value) == 1:
        text = value.get("S")
        if text is not None:
            return text
        number = value.get("N")
        if number is not None and number.isdecimal():
            return int(number)
        listed = value.get("L")
        if listed is not None:
            return tuple(map(attribute_value, listed))
    return _DESERIALIZER.deserialize(value)


def from_item(item: Item) -> dict[str, Any]:
    """The plain Python values of a row: ``int`` for numbers, tuples for lists."""
    return {name: attribute_value(value) for name, value in item.items()}


def _model(cls: type[Model], names: frozenset[str], item: Item, defaults: Mapping[str, Any]) -> Model:
    """A ``cls`` of the ``names`` among a row's attributes; the others (keys, version...) are
    not read at all."""
    values = dict(defaults)
    for name, value in item.items():
        if name in names:
            # Most fields are strings: read in place, without a call (a page of 20: ~20% of its mapping).
            text = value.get("S")
            values[name] = text if text is not None and len(value) == 1 else attribute_value(value)
    return cls(**values)


def status_of(item: Item) -> str | None:
    """A row's ``status``: ``PENDING`` or ``REJECTED`` for a direct upload's, ``None`` for an image's."""
    return str(attribute_value(item["status"])) if "status" in item else None


def version_of(item: Item) -> int:
    """An image row's version (1 for rows written before versions were kept)."""
    return int(attribute_value(item["version"])) if "version" in item else 1


def checksum_key(user_id: str, received_sha256: str) -> str:
    """The ``user_sha256-index`` key: one user's copies of one file."""
    return f"{user_id}#{received_sha256}"


def user_tag_key(user_id: str, tag: str) -> str:
    """The ``user_tag-index`` key: one user's photos with one tag."""
    return f"{user_id}#{tag}"


def _values(model: Image | UploadRequest) -> dict[str, Any]:
    """A model's fields by name. An unknown name is no attribute at all (not an empty one), as
    on the rows written before names were kept."""
    names = IMAGE_FIELDS if isinstance(model, Image) else UPLOAD_REQUEST_FIELDS
    return {**{name: getattr(model, name) for name in names}, "user_name": model.user_name or None}


def _listed(image: Image) -> dict[str, Any]:
    """The image's listed fields, with the checksum index key when the received file's is known."""
    if not image.received_sha256:
        return {**_values(image), "received_sha256": None}
    return {**_values(image), "user_sha256": checksum_key(image.user_id, image.received_sha256)}


def image_to_item(image: Image, version: int = 1) -> Item:
    """The ``images`` row of ``image`` at ``version``."""
    return to_item({**_listed(image), "version": version})


def tag_to_item(image: Image, tag: str) -> Item:
    """The ``image_tags`` row of ``image`` under ``tag``: a copy of its listed fields (no version)."""
    return to_item({**_listed(image), "tag": tag, "user_tag": user_tag_key(image.user_id, tag)})


def item_to_image(item: Item) -> Image:
    """The ``Image`` of an ``images`` row or an ``image_tags`` row."""
    return _model(Image, IMAGE_FIELDS, item, _IMAGE_ROW_DEFAULTS)


def pending_to_item(image_id: str, request: UploadRequest, expires_at: int) -> Item:
    """A direct upload waiting for its object. No ``created_at``: the sparse ``user_id-index``
    leaves it out, so it never shows in a listing; ``expires_at`` lets DynamoDB's TTL remove it."""
    assert request.user_id is not None
    return to_item(
        {"image_id": image_id, "status": PENDING, **_values(request), "expires_at": expires_at, "version": 1}
    )


def item_to_pending(item: Item) -> UploadRequest:
    return _model(UploadRequest, UPLOAD_REQUEST_FIELDS, item, _PENDING_ROW_DEFAULTS)


def rejected_to_item(image_id: str, code: str, message: str, expires_at: int) -> Item:
    """Why a direct upload was refused, in place of its pending row until ``expires_at``."""
    return to_item(
        {"image_id": image_id, "status": REJECTED, "code": code, "message": message, "expires_at": expires_at}
    )
