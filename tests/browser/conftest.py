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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from localapi.app import LocalApp
from tests.conftest import ROOT

SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root, where chromium's sandbox cannot start
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # No traffic of the browser's own (updates, sync, safe browsing): only the pages' requests.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"viewport": {"width": 1280, "height": 860}}
PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


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


@dataclass
class Recorder:
    """What a page did: console errors, uncaught exceptions and every request it made."""

    errors: list[str] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def on_console(self, message: Any) -> None:
        if message.type == "error" and not any(p.search(message.text) for p in self.allowed):
            self.errors.append(f"console.error: {message.text}")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(f"uncaught: {error}")

    def requests_to(self, pattern: str, method: str | None = None) -> list[Any]:
        return [r for r in self.requests if re.search(pattern, r.url) and (method is None or r.method == method)]


_steps: dict[str, int] = {}


def screenshot(page: Any, device: str, name: str) -> Path:
    """build/screenshots/<device>-NN-<name>.png, numbered in the order the steps happen."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _steps[device] = _steps.get(device, 0) + 1
    path = SCREENSHOTS / f"{device}-{_steps[device]:02d}-{name}.png"
    page.screenshot(path=str(path), animations="disabled")  # transitions finished, not half-way
    return path


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
