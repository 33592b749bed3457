"""Bugs the contract tests found in the functions' input validation, pinned one by one.

Each was a request the spec rejects that the code accepted (or a 5xx): see test_request_rules.py
for the property that found them.
"""

from __future__ import annotations

import pytest

from image_service.errors import BadRequest
from image_service.validation import decode_base64, parse_image_id, parse_user_id

IMAGE_ID = "01JDQ8ZB3F2T6X8W4N5R7K9M0P"


def test_a_user_id_with_a_final_newline_is_refused() -> None:
    # Python's "$" also matches before a final newline: "alice\n" was stored as a user id.
    with pytest.raises(BadRequest) as refused:
        parse_user_id("alice\n")
    assert refused.value.code == "invalid_user_id"


def test_an_image_id_with_a_final_newline_is_refused() -> None:
    with pytest.raises(BadRequest) as refused:
        parse_image_id({"image_id": IMAGE_ID + "\n"})
    assert refused.value.code == "invalid_image_id"


@pytest.mark.parametrize("encoded", ["QUJD=", "QUJD==", "QUJD===", "QUJD====", "QUJDQQ==="])
def test_padding_after_a_complete_base64_group_is_refused(encoded: str) -> None:
    # binascii's strict mode accepts these; RFC 4648 (and the spec's pattern) do not.
    with pytest.raises(BadRequest) as refused:
        decode_base64(encoded)
    assert refused.value.code == "invalid_base64"


@pytest.mark.parametrize(("encoded", "decoded"), [("QUJD", b"ABC"), ("QUI=", b"AB"), ("QQ==", b"A")])
def test_canonical_base64_still_decodes(encoded: str, decoded: bytes) -> None:
    assert decode_base64(encoded) == decoded
