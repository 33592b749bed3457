from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from localapi.app import LocalApp  # noqa: E402

FIXTURE_TEMPLATE = HERE / "fixture" / "template.yaml"


@pytest.fixture(scope="module")
def fixture_app() -> Iterator[LocalApp]:
    app = LocalApp(port=0, template_path=FIXTURE_TEMPLATE, stage="test").start()
    yield app
    app.stop()
