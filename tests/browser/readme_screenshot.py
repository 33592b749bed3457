"""Make docs/gallery.png, the screenshot at the top of the README: the gallery of a user with a
dozen photos, in a real browser against the local mode.

    PYTHONPATH=.:local:layers/storage:layers/imaging .venv/bin/python -m tests.browser.readme_screenshot
"""

from __future__ import annotations

import sys
from pathlib import Path

import requests
from playwright.sync_api import sync_playwright

from localapi.app import LocalApp
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, sign_in, wait_for_thumbnails
from tests.support.photos import jpeg

OUTPUT = Path(__file__).resolve().parent.parent.parent / "docs" / "gallery.png"
PHOTOS = [
    ("coast", "Morning at the coast", "beach,sea"),
    ("sunset", "Last light over the bay", "sunset,sea"),
    ("forest", "Pine ridge trail", "forest,hiking"),
    ("snow", "First snow on the pass", "snow,mountains"),
    ("night", "Moonrise at camp", "night,stars"),
    ("desert", "Red canyon, noon", "desert,travel"),
    ("lake", "Still water", "lake,mountains"),
    ("dawn", "Pink dawn", "dawn"),
    ("coast", "Windy headland", "sea,travel"),
    ("forest", "Valley of firs", "forest"),
]


def main() -> int:
    app = LocalApp(port=0).start()
    try:
        for seed, (kind, title, tags) in enumerate(reversed(PHOTOS)):
            response = requests.post(
                f"{app.url}/images",
                params={"user_id": "maya", "title": title, "tags": tags},
                data=jpeg(kind, size=(960, 720), seed=seed + 11),
                headers={"Content-Type": "image/jpeg"},
                timeout=30,
            )
            response.raise_for_status()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(**DESKTOP).new_page()
            page.goto(app.url + "/")
            sign_in(page, "maya")
            wait_for_thumbnails(page)
            page.mouse.move(0, 0)
            page.screenshot(path=str(OUTPUT), animations="disabled")
            browser.close()
    finally:
        app.stop()
    print(f"wrote {OUTPUT}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
