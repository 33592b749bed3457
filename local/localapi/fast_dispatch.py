"""moto's per-request dispatch without the work that gives the same result every time.

Two steps of ``BaseResponse.call_action`` ran for every request of every service in moto 5.2.5:

- it lists the members of the service's response class (``inspect.getmembers``: 0.1-0.2 ms) to
  check that the action is one of its methods; a class's methods do not change while the server
  runs, so each class is listed once;
- it rewrites ``<RequestId>...</RequestId>`` in the body with a regular expression that starts a
  match at every character (~0.1 ms for a 21-item Query's JSON); a body without ``<RequestId>``
  has nothing to rewrite, so the expression runs only on bodies that have one.

``local/tests/test_fast_dispatch.py`` checks both against moto's own and fails when the moto code
they rely on changes.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.core import responses

ORIGINAL_METHOD_NAMES = responses.method_names_from_class
ORIGINAL_ENRICH_RESPONSE = responses.BaseResponse._enrich_response
MARKER = "<RequestId>"  # what the expression's look-behind needs before any match


def enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    """``BaseResponse._enrich_response``: moto's own, which sets the headers, on an empty body when
    the real one cannot match (a str without the marker; other bodies make moto's ``re.sub`` fail,
    which it ignores), and on the real body otherwise."""
    if isinstance(body, str) and MARKER in body:
        return ORIGINAL_ENRICH_RESPONSE(headers, body)  # type: ignore[no-any-return]
    headers, _ = ORIGINAL_ENRICH_RESPONSE(headers, "")
    return headers, body


def install() -> None:
    """Use these in this process (the emulation's own)."""
    responses.method_names_from_class = functools.cache(ORIGINAL_METHOD_NAMES)
    responses.BaseResponse._enrich_response = staticmethod(enrich_response)  # type: ignore[method-assign,assignment]
