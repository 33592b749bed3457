"""The browser tests' chromium (Debian's, never downloaded), their screenshots, and what a person does
on the gallery page: sign in and out, find a photo's card, wait for the thumbnails."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.support.environment import ROOT

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


def sign_in(page: Any, user: str) -> None:
    page.get_by_test_id("user-input").fill(user)
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("signed-in-user")).to_have_text(user)


def sign_out(page: Any) -> None:
    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()


def card_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all("[data-testid=photo-card]", "cards => cards.map(c => c.dataset.imageId)")


def card(page: Any, image_id: str) -> Any:
    return page.locator(f'[data-testid=photo-card][data-image-id="{image_id}"]')


def wait_for_thumbnails(page: Any) -> None:
    """Every card in the viewport shows its picture."""
    page.wait_for_function(
        """() => {
          const cards = [...document.querySelectorAll('[data-testid=photo-card]')]
            .filter(c => c.getBoundingClientRect().top < innerHeight);
          return cards.length > 0 && cards.every(c => {
            const img = c.querySelector('img');
            return img.complete && img.naturalWidth > 0 && c.classList.contains('loaded');
          });
        }"""
    )
