"""The uploader's smaller promises (issue 20, items 2 and 3): a message goes once it is out of date,
a photo the service refused for its bytes is not offered again, a failed bar stops moving, a
rejected direct upload says why as soon as the service knows, tags follow one rule everywhere,
edit errors belong to their field, and sizes are in MiB."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from tests.support.browser import card, screenshot, sign_in
from tests.support.photos import jpeg

pytestmark = pytest.mark.browser

# A JPEG's first bytes and nothing a decoder can use: the service refuses it for what it is.
BROKEN_JPEG = b"\xff\xd8\xff\xe0" + b"not really a picture " * 200
DAMAGED = {"message": "The photo is damaged: its data ends before the picture does.", "code": "image_damaged"}


def bar_is_still(page: Any, index: int) -> bool:
    return page.evaluate(
        """i => { const bar = document.querySelectorAll('[data-testid=upload-progress]')[i];
                 return !bar.matches(':indeterminate') && getComputedStyle(bar).animationName === 'none'; }""",
        index,
    )


def force_direct(page: Any) -> None:
    """The stack's request limit refuses every photo in a body (413): each one goes direct."""
    too_big = {"message": "Request Too Long", "code": "payload_too_large"}
    page.route(re.compile(r"/images\?"), lambda route: route.fulfill(status=413, json=too_big)
               if route.request.method == "POST" else route.continue_())  # fmt: skip


def test_refused_files_then_a_success_then_a_photo_that_can_never_be_stored(open_app: Any, new_page: Any) -> None:
    # The service's 400 for the broken photo is logged by the browser as a failed resource.
    page, recorder = new_page("desktop", allow_console=(r"status of 400",))
    page.goto(open_app.url + "/")
    sign_in(page, "hana")
    banner = page.get_by_test_id("error-banner")

    page.get_by_test_id("upload-input").set_input_files(
        [
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"shopping list"},
            {"name": "renamed.jpg", "mimeType": "image/jpeg", "buffer": b"this is not a jpeg at all"},
        ]
    )
    expect(banner).to_contain_text("2 files were not added")

    # A later success: the old message is out of date and goes.
    page.get_by_test_id("upload-input").set_input_files(
        [{"name": "pier.jpg", "mimeType": "image/jpeg", "buffer": jpeg("coast", seed=5)}]
    )
    page.get_by_test_id("upload-submit").click()
    expect(page.get_by_test_id("photo-card")).to_have_count(1, timeout=30_000)
    expect(banner).to_be_hidden()

    # A photo the service refuses for its bytes: its reason stays beside it, the bar is still,
    # and the button does not offer to send it again (it could never succeed).
    page.get_by_test_id("upload-input").set_input_files(
        [{"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": BROKEN_JPEG}]
    )
    expect(page.locator(".queue-item")).to_have_count(1)  # the finished one was cleared
    page.get_by_test_id("upload-submit").click()
    item = page.locator(".queue-item").first
    expect(item).to_have_attribute("data-state", "rejected")
    expect(item.locator(".q-status")).to_contain_text("damaged")  # a JPEG header, then no picture
    expect(banner).to_contain_text("broken.jpg")
    expect(page.get_by_test_id("upload-submit")).to_be_hidden()
    expect(page.locator("#queue-summary")).to_have_text("1 refused")
    expect(page.locator("#queue-clear")).to_have_text("Done")
    assert bar_is_still(page, 0)
    screenshot(page, "desktop", "upload-refused-photo")
    posts = len(recorder.requests_to(r"/images\?", "POST"))
    assert posts == 2  # pier.jpg and broken.jpg, once each

    # Sizes are said in binary units, named as such.
    expect(item.locator(".queue-size")).to_have_text(re.compile(r"^\d+(\.\d)? KiB$"))
    expect(page.locator("#upload-hint")).to_contain_text("up to 25 MiB each")


def test_a_rejected_direct_upload_shows_the_services_reason_at_once(open_app: Any, new_page: Any) -> None:
    """The gallery half of issue 20, item 2, against the contract: while a direct upload is processing,
    GET /images/{id} answers 404; once the service has refused it, a 4xx with its reason (played here
    by the test, so the page is checked whatever the API does yet)."""
    page, recorder = new_page("desktop", allow_console=(r"status of (404|413|422)",))
    page.goto(open_app.url + "/")
    sign_in(page, "ivan")
    force_direct(page)
    asked: list[str] = []

    def image(route: Any) -> None:
        asked.append(route.request.url)
        if len(asked) == 1:  # still processing (the real service may already know: answer for it)
            route.fulfill(status=404, json={"message": "image not found", "code": "not_found"})
        else:
            route.fulfill(status=422, json=DAMAGED)

    page.route(re.compile(r"/images/[0-9A-Z]{26}$"), image)
    page.get_by_test_id("upload-input").set_input_files(
        [{"name": "cut-off.jpg", "mimeType": "image/jpeg", "buffer": BROKEN_JPEG}]
    )
    page.get_by_test_id("upload-submit").click()
    item = page.locator(".queue-item").first
    expect(item).to_have_attribute("data-state", "rejected", timeout=10_000)  # not the 60 s timeout
    expect(item.locator(".q-status")).to_have_text(DAMAGED["message"])
    expect(page.get_by_test_id("error-banner")).to_contain_text(f"cut-off.jpg: {DAMAGED['message']}")
    expect(page.get_by_test_id("upload-submit")).to_be_hidden()
    assert bar_is_still(page, 0)  # it was moving while processing; a refusal stops it
    assert len(recorder.requests_to(r"/images/uploads$", "POST")) == 1 and len(asked) == 2
    screenshot(page, "desktop", "direct-upload-rejected")


def test_a_rejected_direct_upload_shows_the_reason_the_api_gives(open_app: Any, new_page: Any) -> None:
    page, _ = new_page("desktop", allow_console=(r"status of 4\d\d",))
    page.goto(open_app.url + "/")
    sign_in(page, "judy")
    force_direct(page)
    page.get_by_test_id("upload-input").set_input_files(
        [{"name": "cut-off.jpg", "mimeType": "image/jpeg", "buffer": BROKEN_JPEG}]
    )
    page.get_by_test_id("upload-submit").click()
    item = page.locator(".queue-item").first
    expect(item).to_have_attribute("data-state", "rejected", timeout=15_000)
    image_id = page.evaluate("() => performance.getEntriesByType('resource').map(e => e.name)"
                             ".find(n => /\\/images\\/[0-9A-Z]{26}$/.test(n))").rsplit("/", 1)[1]  # fmt: skip
    answer = requests.get(f"{open_app.url}/images/{image_id}", timeout=20)
    assert 400 <= answer.status_code < 500 and answer.status_code != 404
    expect(item.locator(".q-status")).to_have_text(answer.json()["message"])


def test_tags_follow_one_rule_and_edit_errors_belong_to_their_field(open_app: Any, new_page: Any) -> None:
    response = requests.post(
        f"{open_app.url}/images",
        params={"user_id": "kim", "title": "Pier", "tags": "sea"},
        data=jpeg("coast", size=(480, 360), seed=9),
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    image_id = response.json()["image_id"]
    page, _ = new_page("desktop", allow_console=(r"status of 400",))
    page.goto(open_app.url + "/")
    sign_in(page, "kim")

    # The filter and the forms read tags the same way: "Sun Set" is two tags, and the filter says
    # so (it shows one tag at a time) instead of calling them invalid.
    page.get_by_test_id("filter-tag").fill("Sun Set")
    page.get_by_test_id("filter-apply").click()
    expect(page.get_by_test_id("error-banner")).to_contain_text("is 2 tags (#sun #set)")
    page.get_by_test_id("filter-tag").fill("#Sea")
    page.get_by_test_id("filter-apply").click()
    expect(page).to_have_url(re.compile(r"/\?tag=sea$"))

    # The edit form shows what it will save before it saves: no silent split.
    card(page, image_id).locator(".card-open").click()
    page.get_by_test_id("edit-button").click()
    page.get_by_test_id("edit-tags").fill("Pier Walk, sea")
    expect(page.get_by_test_id("edit-tags-preview")).to_have_text("Saved as #pier #walk #sea")

    # A tag the rule refuses: the message is under the field and tied to it.
    tags = page.get_by_test_id("edit-tags")
    tags.fill("pier, walk!")
    page.get_by_test_id("edit-save").click()
    expect(page.get_by_test_id("edit-tags-error")).to_contain_text('"walk!" is not a valid tag')
    expect(tags).to_have_attribute("aria-invalid", "true")
    assert "edit-tags-error" in tags.get_attribute("aria-describedby").split()
    expect(tags).to_be_focused()
    screenshot(page, "desktop", "edit-tag-error")
    tags.fill("pier, walk")
    expect(tags).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("edit-tags-error")).to_be_hidden()

    # The title rule is rules.js's copy of the API's (a control character is refused at once) ...
    title = page.get_by_test_id("edit-title")
    title.fill("bell\x07")
    page.get_by_test_id("edit-save").click()
    expect(page.get_by_test_id("edit-title-error")).to_contain_text("title must not contain control characters")
    expect(title).to_have_attribute("aria-invalid", "true")
    assert "edit-title-error" in title.get_attribute("aria-describedby").split()
    expect(tags).not_to_have_attribute("aria-invalid", "true")
    title.fill("Pier walk")

    # ... and what only the API finds lands on the field it names (played by the test here).
    refusal = {"message": "description must be at most 2000 characters", "code": "invalid_field"}
    page.route(re.compile(r"/images/[0-9A-Z]{26}$"), lambda route: route.fulfill(status=400, json=refusal)
               if route.request.method == "PATCH" else route.continue_())  # fmt: skip
    page.get_by_test_id("edit-save").click()
    description = page.get_by_test_id("edit-description")
    expect(page.get_by_test_id("edit-description-error")).to_have_text(refusal["message"])
    expect(description).to_have_attribute("aria-invalid", "true")
    assert "edit-description-error" in description.get_attribute("aria-describedby").split()
    expect(description).to_be_focused()
    page.unroute(re.compile(r"/images/[0-9A-Z]{26}$"))
    page.get_by_test_id("edit-save").click()
    expect(page.get_by_test_id("photo-view-title")).to_have_text("Pier walk")
    stored = requests.get(f"{open_app.url}/images/{image_id}", timeout=20).json()
    assert stored["tags"] == ["pier", "walk"], json.dumps(stored)
