"""End-to-end fixtures: the local mode (``make serve``'s code) on a free port, driven over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localapi.app import LocalApp
from tests.support.local_mode import EXTERNAL_AWS_ENDPOINT, EXTERNAL_BASE_URL, Api, ExternalApp


@pytest.fixture(scope="session")
def local_app() -> Iterator[LocalApp | ExternalApp]:
    if EXTERNAL_BASE_URL:
        yield ExternalApp(EXTERNAL_BASE_URL, EXTERNAL_AWS_ENDPOINT)
        return
    app = LocalApp(port=0).start()
    yield app
    app.stop()


@pytest.fixture
def api(local_app: LocalApp | ExternalApp) -> Api:
    return Api(local_app.url, local_app)


@pytest.fixture
def user() -> str:
    """A user id of this test's own, so tests sharing one local mode never see each other's photos."""
    import uuid

    return f"u-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def tag() -> str:
    import uuid

    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def app(local_app: LocalApp | ExternalApp) -> LocalApp:
    """The local mode this suite started, with IAM enforcement on (what the role tests need)."""
    if isinstance(local_app, ExternalApp):
        pytest.skip("the roles live in the local mode's own emulation")
    if not local_app.aws.function_credentials:
        pytest.skip("IAM enforcement is off (LOCAL_IAM=off)")
    return local_app
