"""The contract tests' own local mode (``make serve``'s code) on a free port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localapi.app import LocalApp


@pytest.fixture(scope="session")
def contract_app() -> Iterator[LocalApp]:
    app = LocalApp(port=0).start()
    yield app
    app.stop()
