"""Every photo fits whole in the viewer, at every window size and orientation (issue 20, item 1).

A 1000x1500 portrait at a 1280x860 window used to be drawn 872x1308 in an 872x812 stage: the
bottom 40% was cut off. Here every shape (portrait, landscape, panorama, a very tall one, a tiny
one) is opened in windows from a phone held either way to a wide desktop, and the picture as drawn
(its box, and inside it the part ``object-fit`` paints) must lie inside the viewport and inside the
stage that clips it, with the photo's own proportions.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import PHONE, Recorder, screenshot
from tests.support.photos import jpeg

pytestmark = pytest.mark.browser

SHAPES = {
    "portrait": (1000, 1500),
    "landscape": (1500, 1000),
    "panorama": (3000, 600),
    "tall": (600, 2400),
    "tiny": (40, 30),
}
WINDOWS = {
    "desktop": ({"width": 1280, "height": 860}, False),
    "laptop-short": ({"width": 1366, "height": 600}, False),
    "desktop-narrow-tall": ({"width": 900, "height": 1200}, False),
    "phone": ({"width": 375, "height": 812}, True),
    "phone-landscape": ({"width": 812, "height": 375}, True),
    "small-phone": ({"width": 320, "height": 568}, True),
}

# The rectangle the picture is painted in: the element's box, narrowed by object-fit: contain.
DRAWN = """() => {
  const img = document.querySelector('[data-testid=photo-view-image]');
  const box = img.getBoundingClientRect();
  const stage = document.querySelector('#viewer-stage').getBoundingClientRect();
  const fit = getComputedStyle(img).objectFit;
  let width = box.width, height = box.height;
  if (fit === 'contain' || fit === 'scale-down') {
    let k = Math.min(box.width / img.naturalWidth, box.height / img.naturalHeight);
    if (fit === 'scale-down') k = Math.min(k, 1);
    width = img.naturalWidth * k;
    height = img.naturalHeight * k;
  }
  const left = box.left + (box.width - width) / 2, top = box.top + (box.height - height) / 2;
  return {
    box: [box.left, box.top, box.right, box.bottom],
    drawn: [left, top, left + width, top + height],
    stage: [stage.left, stage.top, stage.right, stage.bottom],
    viewport: [0, 0, innerWidth, innerHeight],
    natural: [img.naturalWidth, img.naturalHeight],
  };
}"""


def display_size(size: tuple[int, int], max_side: int = 1600) -> tuple[int, int]:
    """What the viewer shows: the display variant, longest side at most 1600 px (never enlarged)."""
    scale = min(1.0, max_side / max(size))
    return round(size[0] * scale), round(size[1] * scale)


def inside(inner: list[float], outer: list[float], slack: float = 1.0) -> bool:
    return (
        inner[0] >= outer[0] - slack
        and inner[1] >= outer[1] - slack
        and inner[2] <= outer[2] + slack
        and inner[3] <= outer[3] + slack
    )


@pytest.fixture(scope="module")
def shapes(open_app: Any) -> dict[str, str]:
    """Each shape uploaded once (raw POST /images), name -> image id."""
    ids = {}
    for seed, (name, size) in enumerate(SHAPES.items()):
        response = requests.post(
            f"{open_app.url}/images",
            params={"user_id": "fitter", "title": name},
            data=jpeg("lake", size=size, seed=seed),
            headers={"Content-Type": "image/jpeg"},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        ids[name] = response.json()["image_id"]
    return ids


@pytest.mark.parametrize("window", list(WINDOWS))
def test_every_photo_fits_whole_in_the_viewer(open_app: Any, browser: Any, shapes: dict[str, str], window: str) -> None:
    viewport, phone = WINDOWS[window]
    options = {**PHONE, "viewport": viewport} if phone else {"viewport": viewport}
    context = browser.new_context(**options)
    recorder = Recorder()
    try:
        page = context.new_page()
        page.on("console", recorder.on_console)
        page.on("pageerror", recorder.on_page_error)
        page.goto(f"{open_app.url}/?user=fitter")
        for name, image_id in shapes.items():
            page.locator(f'[data-testid=photo-card][data-image-id="{image_id}"] .card-open').click()
            expect(page.get_by_test_id("photo-view")).to_be_visible()
            page.wait_for_function(
                "() => { const i = document.querySelector('[data-testid=photo-view-image]');"
                " return i.complete && i.naturalWidth > 0 && !i.classList.contains('placeholder')"
                " && i.currentSrc.includes('/displays/'); }"
            )
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
            geometry = page.evaluate(DRAWN)
            where = f"{name} {SHAPES[name]} at {viewport['width']}x{viewport['height']}: {geometry}"
            assert geometry["natural"] == list(display_size(SHAPES[name])), where
            assert inside(geometry["box"], geometry["viewport"]), "the image's box leaves the window: " + where
            assert inside(geometry["box"], geometry["stage"]), "the stage clips the image's box: " + where
            assert inside(geometry["drawn"], geometry["stage"]), "the picture is cut off: " + where
            left, top, right, bottom = geometry["drawn"]
            width, height = right - left, bottom - top
            ratio = SHAPES[name][0] / SHAPES[name][1]
            assert abs(width / height - ratio) / ratio < 0.03, "the picture is stretched: " + where
            if name != "tiny":  # a big photo uses the room it has: it touches two sides of the stage
                stage = geometry["stage"]
                assert abs(width - (stage[2] - stage[0])) <= 2 or abs(height - (stage[3] - stage[1])) <= 2, (
                    "the picture is smaller than the stage allows: " + where
                )
            if name in ("portrait", "panorama"):
                screenshot(page, "phone" if phone else "desktop", f"viewer-fit-{window}-{name}")
            page.keyboard.press("Escape")
            expect(page.get_by_test_id("photo-view")).to_be_hidden()
    finally:
        context.close()
    assert not recorder.errors, recorder.errors
