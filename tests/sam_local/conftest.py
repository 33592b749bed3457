"""The SAM CLI's Docker path (``make test-sam-local``): what needs Docker runs only there.

``make test`` never starts containers: it runs this folder's Docker-free tests and says, at the end,
that the Docker path was not run.

``make test-sam-local`` runs tests/e2e against ``make sam-api`` (``E2E_BASE_URL``) in the same
pytest session as this folder, so the hook below also sees the e2e tests. There it

- skips the e2e tests that never use the ``api``/``local_app`` fixtures (they start the local mode
  in-process, so they would not test the SAM CLI at all), and
- marks as strict xfail the few checks of API Gateway behaviour that ``sam local start-api`` does
  not emulate (``KNOWN_GAPS`` in tests/support/sam_local_gaps.py; docs/local-modes.md lists them).
  Strict: the day the SAM CLI emulates one, the run fails and the entry must go.
"""

from __future__ import annotations

import pytest

from tests.support.sam_local_gaps import AGAINST_SAM_API, KNOWN_GAPS, NOT_RUN, SAM_LOCAL


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not AGAINST_SAM_API:
        return
    for item in items:
        if not item.nodeid.startswith("tests/e2e/"):
            continue
        if not {"api", "local_app"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.skip(reason="starts the local mode in-process: not a test of make sam-api"))
        elif item.nodeid in KNOWN_GAPS:
            item.add_marker(pytest.mark.xfail(reason=f"not emulated: {KNOWN_GAPS[item.nodeid]}", strict=True))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SAM_LOCAL:
        terminalreporter.write_line(f"NOTE: {NOT_RUN}")
