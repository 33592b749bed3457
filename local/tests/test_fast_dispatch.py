"""The emulation's dispatch short paths give moto's results, and the canary fails when the moto code
they rely on changes."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Iterator

import pytest
from moto.core import responses
from moto.dynamodb.responses import DynamoHandler
from moto.moto_api._internal import mock_random
from moto.s3.responses import S3Response
from moto.sqs.responses import SQSResponse

from localapi import fast_dispatch


@pytest.fixture()
def installed() -> Iterator[None]:
    assert responses.method_names_from_class is fast_dispatch.ORIGINAL_METHOD_NAMES, "installed before the test"
    saved = responses.method_names_from_class, vars(responses.BaseResponse)["_enrich_response"]
    fast_dispatch.install()
    yield
    responses.method_names_from_class, responses.BaseResponse._enrich_response = saved  # type: ignore[method-assign]


def test_action_names_are_moto_s_listed_once_a_class(installed: None) -> None:
    for handler in (DynamoHandler, S3Response, SQSResponse):
        assert responses.method_names_from_class(handler) == fast_dispatch.ORIGINAL_METHOD_NAMES(handler)
        assert responses.method_names_from_class(handler) is responses.method_names_from_class(handler)
    assert "get_item" in responses.method_names_from_class(DynamoHandler)


BODIES = [
    '{"Items": [], "note": "RequestId"}',  # JSON, no marker: nothing to rewrite
    "<Response><RequestId>old</RequestId></Response>",
    "<RequestId>unclosed",
    "<requestid>other case</requestid>",
    b"<RequestId>bytes are not rewritten</RequestId>",
    "",
    None,
]


@pytest.mark.parametrize("body", BODIES)
def test_responses_are_enriched_as_moto_does(body: str | bytes | None) -> None:
    def enrich(function: object) -> tuple[dict[str, str], object]:
        mock_random.seed(7)  # the same request id from both
        return function({"status": 404, "x": "y"}, body)  # type: ignore[operator]

    assert enrich(fast_dispatch.enrich_response) == enrich(fast_dispatch.ORIGINAL_ENRICH_RESPONSE)
    headers, _ = enrich(fast_dispatch.enrich_response)
    assert headers["status"] == "404" and len(headers["x-amzn-requestid"]) == 52


MIRRORED = {
    "method_names_from_class": fast_dispatch.ORIGINAL_METHOD_NAMES,
    "BaseResponse._enrich_response": fast_dispatch.ORIGINAL_ENRICH_RESPONSE,
}
FINGERPRINT = "7f8bc91c4411bb63"


def test_canary_the_moto_code_relied_on_is_unchanged() -> None:
    sources = "\n".join(f"{name}\n{inspect.getsource(code)}" for name, code in MIRRORED.items())
    assert hashlib.sha256(sources.encode()).hexdigest()[:16] == FINGERPRINT
    call_action = inspect.getsource(responses.BaseResponse.call_action)
    # Names are only tested for membership, for the class of the handler (fixed once defined).
    assert "method_names = method_names_from_class(self.__class__)" in call_action
    assert call_action.count("method_names") == 3 and "if action in method_names:" in call_action
    assert call_action.count("self._enrich_response(headers, body)") == 2
    overriding = [cls for cls in _subclasses(responses.BaseResponse) if "_enrich_response" in vars(cls)]
    assert overriding == []


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
