"""An iPhone photo (HEIC, with a GPS position) through the gallery (issue 19, item 3): the page
takes the file, the service stores it, and Chromium, which cannot draw HEIC itself, shows its
JPEG thumbnail in the grid and its JPEG display variant in the viewer, neither holding the GPS."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import screenshot
from tests.support.heif_photos import has_gps, heic_photo

pytestmark = pytest.mark.browser

# The picture is drawn (naturalWidth > 0) from a loaded source, not the placeholder.
SHOWN = "i => i.complete && i.naturalWidth > 0 && !i.classList.contains('placeholder')"


def test_a_heic_photo_with_gps_shows_as_thumbnail_and_display(open_app: Any, new_page: Any) -> None:
    page, recorder = new_page("desktop")
    page.goto(open_app.url + "/")
    page.get_by_test_id("user-input").fill("iris")
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("signed-in-user")).to_have_text("iris")

    photo = heic_photo((1920, 1440), xmp=True)
    assert has_gps(photo)
    # What a phone hands the browser; the page reads the type from the bytes, not from this.
    page.get_by_test_id("upload-input").set_input_files(
        [{"name": "IMG_0042.HEIC", "mimeType": "image/heic", "buffer": photo}]
    )
    expect(page.locator(".queue-item")).to_have_count(1)
    # Chromium cannot draw HEIC: the queued file's tile names its format rather than staying blank.
    expect(page.locator(".queue-preview")).to_have_attribute("data-format", "HEIC")
    screenshot(page, "desktop", "heic-queued")
    page.get_by_test_id("upload-submit").click()
    cards = page.get_by_test_id("photo-card")
    expect(cards).to_have_count(1, timeout=30_000)
    image_id = cards.first.get_attribute("data-image-id")

    thumbnail = cards.first.locator("img")
    page.wait_for_function(f"() => ({SHOWN})(document.querySelector('[data-testid=photo-card] img'))")
    assert thumbnail.evaluate("i => i.naturalWidth") == 320
    screenshot(page, "desktop", "heic-thumbnail")

    cards.first.locator(".card-open").click()
    viewer = page.get_by_test_id("photo-view")
    expect(viewer).to_be_visible()
    page.wait_for_function(
        f"() => ({SHOWN})(document.querySelector('[data-testid=photo-view-image]'))"
        " && document.querySelector('[data-testid=photo-view-image]').naturalWidth === 1600"
    )
    shown = page.get_by_test_id("photo-view-image").get_attribute("src")
    assert f"/displays/{image_id}" in shown
    expect(viewer).to_contain_text("1920 × 1440 px")
    expect(viewer).to_contain_text(re.compile(r"· HEIC"))
    screenshot(page, "desktop", "heic-display")

    # What Chromium drew, fetched again: JPEGs without any location.
    for source in (shown, thumbnail.get_attribute("src")):
        body = requests.get(source, timeout=10).content
        assert body[:3] == b"\xff\xd8\xff" and not has_gps(body)
    assert not recorder.errors
