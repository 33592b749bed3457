"""``items``: rows are built and read by boto3's TypeSerializer / TypeDeserializer, and keep the
exact shape (attribute names and types) the tables have always held: item sizes, and so the
read and write units billed, are unchanged."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from image_service.idempotency import COMPLETED, IN_PROGRESS, Record
from image_service.items import (
    RowDeserializer,
    from_item,
    image_to_item,
    item_to_image,
    item_to_pending,
    pending_to_item,
    rejected_to_item,
    status_of,
    tag_to_item,
    version_of,
)
from image_service.models import UploadRequest
from tests.support.builders import example_image

IMAGE = example_image()
ROW = {
    "image_id": {"S": "01JDQ8ZB3F2T6X8W4N5R7K9M0Z"},
    "user_id": {"S": "0b6f4a52"},
    "user_name": {"S": "alice"},
    "created_at": {"S": "2026-11-25T12:00:00.000Z"},
    "title": {"S": "Sunset"},
    "description": {"S": ""},
    "tags": {"L": [{"S": "sunset"}, {"S": "beach"}]},
    "content_type": {"S": "image/png"},
    "size_bytes": {"N": "5120"},
    "sha256": {"S": "a" * 64},
    "width": {"N": "32"},
    "height": {"N": "24"},
    "object_key": {"S": "images/01JDQ8ZB3F2T6X8W4N5R7K9M0Z"},
    "variants": {"L": [{"S": "original"}, {"S": "thumbnail"}, {"S": "display"}]},
    "location_removed": {"BOOL": True},
    "received_sha256": {"S": "b" * 64},
    "user_sha256": {"S": "0b6f4a52#" + "b" * 64},
    "version": {"N": "3"},
}


def test_an_image_row_has_the_tables_shape_and_reads_back() -> None:
    assert image_to_item(IMAGE, 3) == ROW
    assert item_to_image(ROW) == IMAGE
    assert version_of(ROW) == 3 and status_of(ROW) is None


def test_unknown_names_and_checksums_are_no_attribute_at_all() -> None:
    older = IMAGE._replace(user_name=None, received_sha256=None)
    row = image_to_item(older)
    assert not {"user_name", "received_sha256", "user_sha256"} & set(row)
    assert "NULL" not in str(row)
    assert item_to_image(row) == older


def test_a_row_written_before_later_fields_reads_with_their_defaults() -> None:
    first_release = {
        name: ROW[name]
        for name in ("image_id", "user_id", "created_at", "content_type", "size_bytes", "sha256", "object_key")
    }
    image = item_to_image(first_release)
    assert (image.title, image.description, image.tags, image.width, image.height) == ("", "", (), 0, 0)
    assert (image.variants, image.location_removed, image.user_name) == (("original",), False, None)
    assert version_of(first_release) == 1


def test_a_tag_row_is_the_image_row_without_version_plus_its_keys() -> None:
    expected = {name: value for name, value in ROW.items() if name != "version"}
    expected |= {"tag": {"S": "beach"}, "user_tag": {"S": "0b6f4a52#beach"}}
    assert tag_to_item(IMAGE, "beach") == expected
    assert item_to_image(tag_to_item(IMAGE, "beach")) == IMAGE


def test_pending_and_rejected_rows() -> None:
    request = UploadRequest(
        user_id="0b6f4a52", title="t", description="", tags=("a",), content_type="image/jpeg", user_name="alice"
    )
    row = pending_to_item(IMAGE.image_id, request, 1_800_000_000)
    assert row == {
        "image_id": {"S": IMAGE.image_id},
        "status": {"S": "pending"},
        "user_id": {"S": "0b6f4a52"},
        "title": {"S": "t"},
        "description": {"S": ""},
        "tags": {"L": [{"S": "a"}]},
        "content_type": {"S": "image/jpeg"},
        "keep_location": {"BOOL": False},
        "user_name": {"S": "alice"},
        "expires_at": {"N": "1800000000"},
        "version": {"N": "1"},
    }
    assert item_to_pending(row) == request and status_of(row) == "pending"
    rejected = rejected_to_item(IMAGE.image_id, "image_damaged", "cut off", 1_800_000_000)
    assert rejected == {
        "image_id": {"S": IMAGE.image_id},
        "status": {"S": "rejected"},
        "code": {"S": "image_damaged"},
        "message": {"S": "cut off"},
        "expires_at": {"N": "1800000000"},
    }


def test_idempotency_records_in_progress_and_completed() -> None:
    claim = Record("k", IN_PROGRESS, "f", 200, in_progress_until=120)
    assert claim.to_item() == {
        "key": {"S": "k"},
        "status": {"S": IN_PROGRESS},
        "fingerprint": {"S": "f"},
        "expires_at": {"N": "200"},
        "in_progress_until": {"N": "120"},
    }
    done = Record("k", COMPLETED, "f", 200, status_code=201, response_body="{}", etag='"v1-x"')
    assert Record.from_item(done.to_item()) == done
    assert Record.from_item(claim.to_item()) == claim
    assert claim.live(119) and not claim.live(120)  # its invocation's lease is over
    assert done.live(199) and not done.live(200)


def _as_models_hold(value: object) -> object:
    """boto3's stock TypeDeserializer output, in the models' types: ints and tuples."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return tuple(_as_models_hold(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_models_hold(v) for k, v in value.items()}
    return value


_ATTRIBUTE_VALUES = st.recursive(
    st.one_of(
        st.builds(lambda s: {"S": s}, st.text(max_size=8)),
        st.builds(lambda n: {"N": str(n)}, st.integers(-(10**20), 10**20)),
        st.sampled_from([{"N": "1E+3"}, {"N": "5.0"}, {"N": "-0"}, {"N": "1e2"}]),
        st.builds(lambda b: {"BOOL": b}, st.booleans()),
        st.just({"NULL": True}),
        st.builds(lambda b: {"B": b}, st.binary(max_size=4)),
        st.builds(lambda s: {"SS": sorted(s)}, st.sets(st.text(max_size=3), min_size=1, max_size=3)),
        st.builds(lambda s: {"NS": [str(n) for n in s]}, st.sets(st.integers(0, 99), min_size=1, max_size=3)),
    ),
    lambda inner: st.one_of(
        st.builds(lambda items: {"L": items}, st.lists(inner, max_size=3)),
        st.builds(lambda items: {"M": items}, st.dictionaries(st.text(max_size=3), inner, max_size=3)),
    ),
    max_leaves=8,
)


@given(st.dictionaries(st.text(min_size=1, max_size=6), _ATTRIBUTE_VALUES, max_size=6))
def test_rows_read_as_boto3s_own_deserializer_reads_them_in_the_models_types(item: dict[str, Any]) -> None:
    stock = RowDeserializer.__bases__[0]()  # boto3's TypeDeserializer (unit tests import no boto3)
    expected = {name: _as_models_hold(stock.deserialize(value)) for name, value in item.items()}
    assert from_item(item) == expected


def test_numbers_are_ints_and_lists_tuples_whichever_way_dynamodb_spells_them() -> None:
    row = {"a": {"N": "1E+3"}, "b": {"N": "-7"}, "c": {"L": [{"N": "2"}, {"L": [{"S": "x"}]}]}}
    values = from_item(row)
    assert values == {"a": 1000, "b": -7, "c": (2, ("x",))}
    assert type(values["a"]) is int and type(values["c"]) is tuple


def test_a_type_without_a_known_method_takes_the_base_class_way() -> None:
    """A boto3 whose per-type methods are named otherwise still reads rows right (more slowly)."""
    deserializer = RowDeserializer()
    deserializer._methods.clear()  # as if no method had been found by its name
    assert deserializer.deserialize({"N": "12"}) == 12
    assert deserializer.deserialize({"L": [{"N": "1"}, {"S": "x"}]}) == (1, "x")
    with pytest.raises(TypeError):
        deserializer.deserialize({"XX": "1"})
    with pytest.raises(TypeError):
        deserializer.deserialize({})
