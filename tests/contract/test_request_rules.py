"""The functions' request validation accepts exactly what the spec accepts (in-process, fast).

For generated requests, valid and invalid, each is judged twice: by the spec
(``Contract.request_problems``) and by the layer's own parsing, the code the functions run. They
must agree: a request the spec rejects is refused with an error the operation documents; a
request the spec accepts is parsed into exactly its normalised form, or refused only with one of
the operation's ``x-semantic-errors``. Thousands of cases run in seconds because no storage is
involved; ``test_fuzz_http.py`` does the same over HTTP against the running functions.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from image_service.config import DEFAULT_MAX_IMAGE_BYTES
from image_service.errors import ServiceError
from image_service.validation import (
    parse_edit,
    parse_image_id,
    parse_list_query,
    parse_raw_upload,
    parse_upload,
    parse_upload_request,
    parse_variant,
    single_query_values,
)
from tests.support import contract_generators as generators
from tests.support.contract import SPEC_PATH, Operation, contract, normalize

CONTRACT = contract()
SCHEMA = schemathesis.openapi.from_path(SPEC_PATH)
UPLOAD = CONTRACT.operation("POST", "/images")
DIRECT = CONTRACT.operation("POST", "/images/uploads")
EDIT = CONTRACT.operation("PATCH", "/images/{image_id}")
LIST = CONTRACT.operation("GET", "/images")
# CONTRACT_EXAMPLES=5000 for a deeper search than CI's.
RULES = settings(
    max_examples=int(os.environ.get("CONTRACT_EXAMPLES", "300")),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


def assert_agree(op: Operation, problems: list[str], outcome: Any) -> None:
    """``outcome`` is what the code did: a parsed value, or the ``ServiceError`` it raised."""
    __tracebackhide__ = True
    verdict = "spec rejects" if problems else "spec accepts"
    event(f"{verdict}, code {'refuses: ' + outcome.code if isinstance(outcome, ServiceError) else 'accepts'}")
    if isinstance(outcome, ServiceError):
        status, code = outcome.status, outcome.code
        if problems:
            assert code in op.error_codes(status), f"{op.label}: {status} {code} is not documented ({outcome.message})"
        else:
            assert (status, code) in op.semantic_errors, (
                f"{op.label}: the spec accepts this request, but the code refused it: {status} {code} {outcome.message}"
            )
    else:
        assert not problems, f"{op.label}: the code accepted a request the spec rejects: {problems}"


# -- bodies: POST /images, POST /images/uploads, PATCH /images/{image_id} -----------------------


def outcome_of(parse: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return parse(*args, **kwargs)
    except ServiceError as exc:
        return exc


def assert_stored_as_normalised(outcome: Any, expected: dict[str, Any], *, edit: bool = False) -> None:
    """An accepted request is parsed into exactly the spec's normalisation of it."""
    __tracebackhide__ = True
    absent = None if edit else ""
    for name in ("title", "description"):
        if name in expected or not edit:
            assert getattr(outcome, name) == (expected.get(name) or ""), name
        else:
            assert getattr(outcome, name) is absent, name
    if "tags" in expected or not edit:
        assert list(outcome.tags) == (expected.get("tags") or [])
    if not edit:
        assert outcome.user_id == expected.get("user_id")
        assert outcome.content_type == expected["content_type"]
        assert outcome.keep_location == expected.get("keep_location", False)


def check_json_body(op: Operation, parse: Any, body: Any, **kwargs: Any) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    problems = CONTRACT.request_problems(op, {"image_id": generators.EXAMPLE_IMAGE_ID}, {}, raw, "application/json")
    # As the gateway hands it over: text, undecodable bytes replaced.
    outcome = outcome_of(parse, raw.decode("utf-8", errors="replace") or None, **kwargs)
    assert_agree(op, problems, outcome)
    if not isinstance(outcome, ServiceError):
        expected = normalize(json.loads(raw), op.body_schema("application/json") or {})
        assert_stored_as_normalised(outcome, expected, edit=op is EDIT)


def check_upload(body: Any) -> None:
    check_json_body(UPLOAD, parse_upload, body, max_image_bytes=DEFAULT_MAX_IMAGE_BYTES)


@RULES
@given(body=generators.upload_bodies(CONTRACT))
@example(body={"user_id": "alice\n", "content_type": "image/png", "image_base64": generators.image_base64("image/png")})
@example(
    body={
        "user_id": "a",
        "tags": [" Cafe\u0301 ", "café"],
        "content_type": " IMAGE/JPG; x=1",
        "keep_location": "TRUE",
        "image_base64": generators.image_base64("image/jpeg"),
    }
)
# CPython's strict base64 decoding accepts "=" after a complete group; RFC 4648 (and the spec) do not.
@example(body={"user_id": "a", "content_type": "image/gif", "image_base64": generators.image_base64("image/gif") + "="})
@example(
    body={"user_id": "a", "content_type": "image/gif", "image_base64": generators.image_base64("image/gif") + "===="}
)
# JSON can escape half a surrogate pair: text that can be neither stored nor echoed.
@example(
    body={
        "user_id": "a",
        "title": "\ud800",
        "content_type": "image/gif",
        "image_base64": generators.image_base64("image/gif"),
    }
)
@example(body={"\udc00": 1})
def test_upload_bodies_near_the_edges(body: dict[str, Any]) -> None:
    check_upload(body)


@RULES
@given(data=st.data(), mode=st.sampled_from(list(schemathesis.GenerationMode)), real_image=st.booleans())
def test_upload_bodies_generated_from_the_schema(
    data: st.DataObject, mode: schemathesis.GenerationMode, real_image: bool
) -> None:
    case = data.draw(SCHEMA["/images"]["POST"].as_strategy(generation_mode=mode, media_type="application/json"))
    body = case.body
    content_type = body.get("content_type") if isinstance(body, dict) else None
    if real_image and isinstance(content_type, str) and content_type in generators.FORMATS:
        body = {**body, "image_base64": generators.image_base64(content_type)}  # so it can be accepted
    check_upload(body)


@RULES
@given(body=generators.upload_bodies(CONTRACT), with_image=st.booleans())
def test_direct_upload_requests_near_the_edges(body: dict[str, Any], with_image: bool) -> None:
    if not with_image:  # the metadata alone; with the image it is a field too many
        body.pop("image_base64", None)
    check_json_body(DIRECT, parse_upload_request, body)


@RULES
@given(body=generators.upload_bodies(CONTRACT), keep=st.sets(st.sampled_from(["title", "description", "tags", "x"])))
def test_edits_near_the_edges(body: dict[str, Any], keep: set[str]) -> None:
    check_json_body(EDIT, parse_edit, {name: value for name, value in body.items() if name in keep})


@RULES
@given(
    pairs=generators.raw_upload_queries(CONTRACT),
    content_type=generators.raw_content_types(CONTRACT),
    real_image=st.booleans(),
)
@example(pairs=[("user_id", "a"), ("tags", "A,,a, b")], content_type="image/jpg", real_image=True)
@example(pairs=[("user_id", "a"), ("keep_location", "")], content_type="image/png", real_image=True)
def test_raw_uploads_near_the_edges(pairs: list[tuple[str, str]], content_type: str, real_image: bool) -> None:
    multi = wire_query(pairs)
    declared = normalize(content_type, CONTRACT.spec["components"]["schemas"]["ContentType"])
    data = generators.image_bytes(declared) if real_image and declared in generators.FORMATS else b"not an image"
    problems = CONTRACT.request_problems(UPLOAD, {}, multi, data, content_type)
    outcome = outcome_of(
        lambda: parse_raw_upload(
            data,
            content_type,
            single_query_values(multi, {k: v[-1] for k, v in multi.items()}),
            max_image_bytes=DEFAULT_MAX_IMAGE_BYTES,
        )
    )
    assert_agree(UPLOAD, problems, outcome)


# -- GET /images --------------------------------------------------------------------------------


def wire_query(pairs: list[tuple[str, Any]]) -> dict[str, list[str]]:
    """A query encoded and decoded as on the wire (requests, then the gateway's parse_qs)."""
    url = requests.Request("GET", "http://api.test/images", params=pairs).prepare().url or ""
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def check_list(pairs: list[tuple[str, Any]]) -> None:
    multi = wire_query(pairs)
    problems = CONTRACT.request_problems(LIST, {}, multi, None)
    try:
        outcome: Any = parse_list_query(single_query_values(multi, {k: v[-1] for k, v in multi.items()}))
    except ServiceError as exc:
        outcome = exc
    assert_agree(LIST, problems, outcome)
    if not isinstance(outcome, ServiceError):
        parameters = {p["name"]: p for p in LIST.parameters_in("query")}
        given_values = {name: values[-1] for name, values in multi.items() if name in parameters and values[-1] != ""}
        assert outcome.user_id == given_values.get("user_id")
        assert outcome.tag == (
            normalize(given_values["tag"], parameters["tag"]["schema"]) if "tag" in given_values else None
        )
        assert outcome.limit == int(given_values.get("limit", parameters["limit"]["schema"]["default"]))
        assert outcome.next_token == given_values.get("next_token")


@RULES
@given(pairs=generators.list_queries(CONTRACT))
@example(pairs=[("user_id", "alice\n")])
@example(pairs=[("tag", " Sunset"), ("user_id", ""), ("limit", "0005")])
@example(pairs=[("user_id", "alice"), ("user_id", "bob")])
def test_list_queries_near_the_edges(pairs: list[tuple[str, str]]) -> None:
    check_list(pairs)


@RULES
@given(data=st.data(), mode=st.sampled_from(list(schemathesis.GenerationMode)))
def test_list_queries_generated_from_the_schema(data: st.DataObject, mode: schemathesis.GenerationMode) -> None:
    case = data.draw(SCHEMA["/images"]["GET"].as_strategy(generation_mode=mode))
    check_list(list((case.query or {}).items()))


# -- /images/{image_id} -------------------------------------------------------------------------


FUNCTION_ROUTES_WITH_ID = [op for op in CONTRACT.operations if op.parameters_in("path") and op.method != "OPTIONS"]


@pytest.mark.parametrize("op", FUNCTION_ROUTES_WITH_ID, ids=lambda op: op.label)
@RULES
@given(image_id=generators.image_ids())
@example(image_id=generators.EXAMPLE_IMAGE_ID + "\n")
def test_image_id_rules_agree_with_the_spec(op: Operation, image_id: str) -> None:
    problems = [p for p in CONTRACT.request_problems(op, {"image_id": image_id}, {}, None) if p.startswith("path ")]
    assert_agree(op, problems, outcome_of(parse_image_id, {"image_id": image_id}))


@RULES
@given(pairs=st.lists(st.tuples(st.sampled_from(["variant", "other"]), generators.variants()), max_size=3))
@example(pairs=[("variant", "")])
@example(pairs=[("variant", "Thumbnail")])
def test_download_variant_rules_agree_with_the_spec(pairs: list[tuple[str, str]]) -> None:
    op = CONTRACT.operation("GET", "/images/{image_id}/download")
    multi = wire_query(pairs)
    problems = CONTRACT.request_problems(op, {"image_id": generators.EXAMPLE_IMAGE_ID}, multi, None)
    outcome = outcome_of(lambda: parse_variant(single_query_values(multi, {k: v[-1] for k, v in multi.items()})))
    assert_agree(op, problems, outcome)
