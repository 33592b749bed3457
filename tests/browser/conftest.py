"""A real browser (Debian's chromium, driven by Playwright) against the local mode.

The tests marked ``browser`` run with ``make test-browser`` (which sets BROWSER_TESTS=1 and
installs chromium when it is missing); ``make test`` skips them, so it does not need a browser.
Playwright never downloads a browser here: it launches the system's (CHROMIUM, default
/usr/bin/chromium). Every page fails its test on a console error or an uncaught exception.
Screenshots of each step go to build/screenshots/ (desktop-NN-*.png and phone-NN-*.png).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from localapi.app import LocalApp
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, PHONE, Recorder


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: needs chromium; run by `make test-browser`")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("BROWSER_TESTS") == "1":
        return
    skip = pytest.mark.skip(reason="a real browser test: run it with `make test-browser`")
    for item in items:
        if item.get_closest_marker("browser"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"no browser at {CHROMIUM}: `make test-browser` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def open_app() -> Iterator[LocalApp]:
    """`make serve` as it runs by default: the open mode."""
    app = LocalApp(port=0).start()
    yield app
    app.stop()


@pytest.fixture(scope="module")
def cognito_app() -> Iterator[LocalApp]:
    """`AUTH_MODE=cognito make serve`: writes need an ID token."""
    app = LocalApp(port=0, auth_mode="cognito").start()
    yield app
    app.stop()


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., tuple[Any, Recorder]]]:
    """``new_page("desktop" | "phone")`` -> (page, recorder); no console error allowed."""
    contexts: list[Any] = []
    recorders: list[Recorder] = []

    def make(device: str = "desktop", *, allow_console: tuple[str, ...] = ()) -> tuple[Any, Recorder]:
        context = browser.new_context(**(PHONE if device == "phone" else DESKTOP))
        contexts.append(context)
        context.set_default_timeout(15_000)
        page = context.new_page()
        recorder = Recorder(allowed=[re.compile(p) for p in allow_console])
        page.on("console", recorder.on_console)
        page.on("pageerror", recorder.on_page_error)
        page.on("request", lambda request: recorder.requests.append(request))
        recorders.append(recorder)
        return page, recorder

    yield make
    for context in contexts:
        context.close()
    errors = [error for recorder in recorders for error in recorder.errors]
    assert not errors, "the page logged errors:\n" + "\n".join(errors)
