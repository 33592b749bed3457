"""The local mode's /docs page leads with the operations (issue 20, item 12).

The spec's introduction (sign-in, errors, limits) is long: drawn in full above the operations it
filled about 800 px before the first one. It is still on the page, a click away, under the title.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import screenshot

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_docs_open_with_the_operations(open_app: Any, new_page: Any, device: str) -> None:
    page, _ = new_page(device)
    page.goto(f"{open_app.url}/docs")
    first = page.locator(".opblock").first
    expect(first).to_be_visible()
    expect(page.locator(".info .title")).to_be_visible()
    expect(first.locator(".opblock-summary-method")).not_to_have_text("OPTIONS")  # preflights last
    # The first operation is on the first screen, with room below it for more.
    box = first.bounding_box()
    height = page.viewport_size["height"]
    bottom = box["y"] + box["height"]
    assert bottom < height * 0.75, f"the first operation ends {bottom:.0f} px down a {height} px window"
    screenshot(page, device, "api-docs")

    # The introduction is one click away, and says what it said.
    intro = page.get_by_test_id("docs-introduction")
    expect(intro).to_be_visible()
    expect(intro.locator(".markdown, .renderedMarkdown").first).to_be_hidden()
    intro.locator("summary").click()
    expect(intro.locator(".markdown, .renderedMarkdown").first).to_be_visible()
    expect(intro).to_contain_text("Authentication")
