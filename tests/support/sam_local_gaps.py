"""Whether this run is ``make test-sam-local``'s, and what ``sam local start-api`` does not emulate.

``KNOWN_GAPS`` names e2e checks of API Gateway behaviour the SAM CLI does not reproduce; its
conftest marks them strict xfail there (docs/local-modes.md lists them).
"""

from __future__ import annotations

import os

import pytest

SAM_LOCAL = os.environ.get("SAM_LOCAL_TESTS") == "1"
AGAINST_SAM_API = SAM_LOCAL and bool(os.environ.get("E2E_BASE_URL"))
NOT_RUN = "the Docker path (sam local invoke / start-api) was not run: `make test-sam-local` runs it"
needs_docker = pytest.mark.skipif(not SAM_LOCAL, reason=NOT_RUN)

_GATEWAY_RESPONSES = "sam local start-api answers 403 itself, without the template's GatewayResponses (no code)"
_PAYLOAD_LIMIT = "sam local start-api answers an event over Lambda's 6 MB with 502, not API Gateway's 413"
_NOT_UTF8 = "sam local start-api puts a non-UTF-8 text body into an event the runtime cannot parse (502)"
_BAD_INPUT = "tests/e2e/test_bad_input.py::test_bad_request_gets_its_4xx_and_changes_nothing"
# Node id -> what the SAM CLI does differently from API Gateway (and from `make serve`).
KNOWN_GAPS: dict[str, str] = {
    **{
        f"{_BAD_INPUT}[{case}]": _GATEWAY_RESPONSES
        for case in (
            "get-id-traversal",
            "get-id-encoded-slash",
            "put-images",
            "delete-collection",
            "post-to-image",
            "put-image",
            "post-download",
            "delete-download",
            "unknown-route",
            "trailing-segment",
        )
    },
    "tests/e2e/test_routes.py::test_error_responses_are_json_with_message_and_code": (
        "sam local start-api sends no x-amzn-RequestId header"
    ),
    f"{_BAD_INPUT}[event-over-6-mb]": _PAYLOAD_LIMIT,
    f"{_BAD_INPUT}[raw-event-over-6-mb]": _PAYLOAD_LIMIT,
    "tests/e2e/test_routes.py::test_request_over_lambdas_payload_limit_is_413_and_stores_nothing": _PAYLOAD_LIMIT,
    f"{_BAD_INPUT}[not-utf8]": _NOT_UTF8,
    # A type that is not a binary media type (image/tiff) reaches the runtime as text.
    f"{_BAD_INPUT}[raw-unsupported-type]": _NOT_UTF8,
    # A photo under a type that is not a binary media type (a form, text, none): text with bytes
    # that are not UTF-8, which API Gateway replaces and the SAM CLI cannot put into an event.
    f"{_BAD_INPUT}[multipart-form]": _NOT_UTF8,
    "tests/e2e/test_upload_styles.py::test_a_multipart_form_from_curl_is_415_with_what_to_send": _NOT_UTF8,
    **{
        f"tests/e2e/test_upload_styles.py::test_an_undeclared_image_is_415_with_what_to_send[{case}]": _NOT_UTF8
        for case in (
            "headers0-Content-Type application/x-www-form-urlencoded",
            "headers1-Content-Type text/plain",
            "headers2-no Content-Type",
        )
    },
    "tests/e2e/test_upload_styles.py::test_size_errors_name_the_route_for_bigger_photos": _PAYLOAD_LIMIT,
    "tests/e2e/test_iam.py::test_presigned_get_with_a_bad_signature_is_refused": (
        "make sam-api's containers sign with the developer's key, whose URLs the emulation does not check"
    ),
}
