"""Property-based API fuzzing (schemathesis) of every operation in the spec, over HTTP.

Runs against the local mode: the real functions, behind the API Gateway emulator, on moto.
Each operation gets requests generated from the spec, valid ones (positive mode) and invalid
ones (negative mode), and every response must:
- not be a 5xx (``not_a_server_error``);
- conform to the spec: documented status, media type and headers (schemathesis' own checks)
  and body schema (``Contract.response_problems``);
- be a refusal if schemathesis generated the request as invalid and the project's reading of the
  spec agrees (``rejects_invalid_data``, schemathesis' ``negative_data_rejection``);
- agree with the spec's verdict on the request (``agrees_with_the_spec``): a request the spec
  rejects is refused, one it accepts is served or refused only with an ``x-semantic-errors``.

Bounded for CI: ``CONTRACT_FUZZ_EXAMPLES`` examples per operation (default 40) and a timeout.
Both auth modes are fuzzed: the open mode, and the signed-in mode (AUTH_MODE=cognito, every
request with an ID token from the local Cognito emulation) with a quarter of the examples.
Upload bodies get a real image of their declared type half of the time, so valid uploads are
stored and their ``201`` responses checked too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    status_code_conformance,
)

from localapi.app import LocalApp
from tests.support import contract_generators as generators
from tests.support.contract import SPEC_PATH, assert_exchange_conforms, contract

EXAMPLES = int(os.environ.get("CONTRACT_FUZZ_EXAMPLES", "40"))
CONFIG = schemathesis.Config.from_dict(
    # Methods API Gateway has for a REST API: TRACE or QUERY never reach it (the local mode's
    # HTTP server answers those itself, with 501).
    {"phases": {"coverage": {"unexpected-methods": ["get", "put", "post", "delete", "options", "patch"]}}}
)
SCHEMA = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG)
# schemathesis sends the other image types' bytes as they are; HEIC and HEIF the same way.
schemathesis.serializer.alias("image/heic", "image/webp")
schemathesis.serializer.alias("image/heif", "image/webp")


@SCHEMA.hook
def flatmap_case(context: schemathesis.HookContext, case: schemathesis.Case) -> st.SearchStrategy[Any]:
    """Half of the uploads carry a real picture of their declared type, so they can succeed.

    A swapped body may turn a case generated as invalid into a valid one: such cases are
    remembered (``SWAPPED``) and ``negative_data_rejection`` does not judge them (the project's
    own ``agrees_with_the_spec`` still does, on the request actually sent).
    """
    if case.operation.label != "POST /images":
        return st.just(case)
    if isinstance(case.body, dict) and case.body.get("content_type") in generators.FORMATS:
        picture = generators.image_base64(case.body["content_type"])
        return st.sampled_from([case, replace_body(case, {**case.body, "image_base64": picture})])
    if (case.media_type or "").startswith("image/"):
        real = [(media_type, generators.image_bytes(media_type)) for media_type in generators.FORMATS]
        return st.sampled_from([None, *real]).map(lambda choice: case if choice is None else raw(case, *choice))
    return st.just(case)


SWAPPED: set[int] = set()  # id() of the cases whose body the hook replaced


def replace_body(case: schemathesis.Case, body: Any) -> schemathesis.Case:
    case.body = body
    SWAPPED.add(id(case))
    return case


def raw(case: schemathesis.Case, media_type: str, data: bytes) -> schemathesis.Case:
    case.media_type = media_type
    case.body = data
    SWAPPED.add(id(case))
    return case


# Ids of images stored before the run, so that GET, download and DELETE are not only ever 404.
STORED_IDS: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def stored_images(contract_app: LocalApp) -> None:
    for number in range(8):
        # The same picture each time, eight photos: allow_duplicate (else the first is answered).
        body = {"user_id": "fuzz", "tags": [f"t{number % 3}"], "content_type": "image/gif", "allow_duplicate": True}
        response = requests.post(
            f"{contract_app.url}/images",
            json={**body, "image_base64": generators.image_base64("image/gif")},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        STORED_IDS.append(response.json()["image_id"])


@SCHEMA.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: Any) -> st.SearchStrategy[Any]:
    if not STORED_IDS or not isinstance(path_parameters, dict) or "image_id" not in path_parameters:
        return st.just(path_parameters)
    return st.just(path_parameters) | st.sampled_from(STORED_IDS).map(lambda image_id: {"image_id": image_id})


@schemathesis.check
def agrees_with_the_spec(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool:
    request = response.request
    body = request.body.encode() if isinstance(request.body, str) else request.body
    headers = {name: ", ".join(values) for name, values in response.headers.items()}
    problems = contract().exchange_problems(
        request.method or "", request.url or "", request.headers, body, response.status_code, headers, response.content
    )
    if problems:
        raise AssertionError("\n".join(problems))
    return True


# 414 URI_TOO_LONG / 431 REQUEST_HEADER_FIELDS_TOO_LARGE: a rejection too, which schemathesis'
# negative_data_rejection does not count as one (a generated query can be longer than the limit).
GATEWAY_SIZE_REFUSALS = (414, 431)


@schemathesis.check
def rejects_invalid_data(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> Any:
    """schemathesis' ``negative_data_rejection``: a request the spec rejects (standard JSON Schema,
    no ``x-normalize``) must be refused. Drift such as counting tags after merging fails here."""
    if id(case) in SWAPPED or not _contract_rejects(response):
        return True
    if response.status_code in GATEWAY_SIZE_REFUSALS:
        return True  # refused at the front door (URL or headers over API Gateway's 10,240 bytes)
    return negative_data_rejection(ctx, response, case)


def _contract_rejects(response: schemathesis.Response) -> bool:
    """The project's reading of the spec (ECMAScript patterns with the ``regex`` module, and the
    declared ``x-normalize``) also rejects the request. schemathesis reads ``\\p{L}`` as Latin
    letters only, so on its own it would call "東京" an invalid tag; and it ignores ``x-normalize``
    (" Beach" is the tag "beach")."""
    request = response.request
    spec = contract()
    parts = urlsplit(request.url or "")
    matched = spec.match(request.method or "", unquote(parts.path) or "/")
    if matched is None:
        return True
    op, path_parameters = matched
    body = request.body.encode() if isinstance(request.body, str) else request.body
    content_type = request.headers.get("Content-Type")
    query = parse_qs(parts.query, keep_blank_values=True)
    return bool(spec.request_problems(op, path_parameters, query, body, content_type))


CHECKS = [
    not_a_server_error,
    rejects_invalid_data,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    # Not schemathesis' response_schema_conformance: it reads the Tag pattern's \p{L} as Latin
    # letters only and would refuse "東京" in a response; agrees_with_the_spec checks every
    # response body against the spec with an ECMAScript-faithful reading instead.
    agrees_with_the_spec,
]


@pytest.mark.timeout(120)
@SCHEMA.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_operation_under_fuzzing(case: schemathesis.Case, contract_app: LocalApp) -> None:
    case.call_and_validate(base_url=contract_app.url, checks=CHECKS, timeout=30)


SIGNED_IN_EXAMPLES = max(EXAMPLES // 4, 5)


@pytest.fixture(scope="module")
def signed_in_app() -> Iterator[tuple[LocalApp, str]]:
    """The local mode with AUTH_MODE=cognito, and an ID token from its Cognito emulation."""
    app = LocalApp(port=0, auth_mode="cognito").start()
    response = requests.post(f"{app.url}/_local/token", json={"username": "fuzz"}, timeout=30)
    assert response.status_code == 200, response.text
    yield app, response.json()["id_token"]
    app.stop()


# The signed-in mode (AUTH_MODE=cognito): the same checks, every request with a valid token, so
# the fuzzing reaches the functions instead of stopping at the gateway's 401.
@pytest.mark.timeout(120)
@SCHEMA.parametrize()
@settings(max_examples=SIGNED_IN_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_operation_under_fuzzing_signed_in(case: schemathesis.Case, signed_in_app: tuple[LocalApp, str]) -> None:
    app, token = signed_in_app
    case.call_and_validate(base_url=app.url, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, timeout=30)


@pytest.mark.parametrize(
    "body",
    [
        # JSON can escape half a surrogate pair. Such a title once crashed the store (500) and such
        # a key the response (502): neither is text, both are a 400 now.
        '{"user_id": "a", "title": "\\ud800", "content_type": "image/gif", "image_base64": "%s"}',
        '{"\\udc00": 1, "user_id": "a", "content_type": "image/gif", "image_base64": "%s"}',
    ],
)
def test_escaped_lone_surrogates_are_a_400(contract_app: LocalApp, body: str) -> None:
    response = requests.post(
        f"{contract_app.url}/images",
        data=body % generators.image_base64("image/gif"),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert_exchange_conforms(response)
