"""Signing in the three ways the page can (config.json decides), and the page served on its own
port for an API elsewhere (`make web`), in a real browser."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import expect

from localapi.web import make_web_server
from tests.support.browser import card_ids, screenshot, sign_in, sign_out, wait_for_thumbnails
from tests.support.photos import jpeg

pytestmark = pytest.mark.browser

# Never resolved or reached: the browser's requests to it are answered by the test (page.route).
HOSTED_UI = "https://auth.gallery.test"


def upload_one(page: Any, title: str, kind: str = "dawn") -> str:
    before = set(card_ids(page))
    page.get_by_test_id("upload-input").set_input_files(
        [{"name": f"{kind}.jpg", "mimeType": "image/jpeg", "buffer": jpeg(kind, seed=5)}]
    )
    page.get_by_test_id("upload-title").first.fill(title)
    page.get_by_test_id("upload-submit").click()
    expect(page.locator(".queue-item[data-state=done]")).to_have_count(1, timeout=60_000)
    page.wait_for_function("n => document.querySelectorAll('[data-testid=photo-card]').length > n", arg=len(before))
    (new,) = set(card_ids(page)) - before
    return new


def token_for(app: Any, user: str) -> str:
    response = requests.post(f"{app.url}/_local/token", json={"username": user}, timeout=20)
    assert response.status_code == 200, response.text
    return response.json()["id_token"]


def test_cognito_mode_signs_in_with_tokens_and_only_the_owner_may_change_a_photo(
    cognito_app: Any, new_page: Any
) -> None:
    page, recorder = new_page("desktop")
    page.goto(cognito_app.url + "/")
    sign_in(page, "alice")  # the page asks /_local/token for an ID token, as `make token` does
    image_id = upload_one(page, "Alice's dawn")
    writes = [r for r in recorder.requests if r.method in ("POST", "PATCH", "DELETE") and "/images" in r.url]
    assert writes and all(r.headers.get("authorization", "").startswith("Bearer ") for r in writes)
    stored = requests.get(f"{cognito_app.url}/images/{image_id}", timeout=20).json()
    # The owner comes from the token: its sub, with the user name shown beside the photo.
    assert stored["user_name"] == "alice" and stored["user_id"] != "alice"

    sign_out(page)
    sign_in(page, "bob")
    page.goto(f"{cognito_app.url}/?user={stored['user_id']}")
    page.locator(f'[data-image-id="{image_id}"] .card-open').click()
    expect(page.get_by_test_id("photo-view-title")).to_have_text("Alice's dawn")
    expect(page.get_by_test_id("edit-button")).to_be_hidden()
    expect(page.get_by_test_id("delete-button")).to_be_hidden()
    screenshot(page, "desktop", "cognito-someone-elses-photo")

    # Hidden controls are a courtesy; the API is what refuses.
    bob = {"Authorization": f"Bearer {token_for(cognito_app, 'bob')}"}
    url = f"{cognito_app.url}/images/{image_id}"
    assert requests.patch(url, json={"title": "mine now"}, headers=bob, timeout=20).status_code == 403
    assert requests.delete(url, headers=bob, timeout=20).status_code == 403
    assert requests.delete(url, timeout=20).status_code == 401
    assert requests.get(url, timeout=20).json()["title"] == "Alice's dawn"


def test_a_rejected_token_signs_the_page_out_with_a_clear_message(cognito_app: Any, new_page: Any) -> None:
    # The browser itself logs the API's 401 answer as a failed resource; that one is expected here.
    page, _ = new_page("desktop", allow_console=(r"status of 401",))
    page.goto(cognito_app.url + "/")
    forged = token_for(cognito_app, "mallory")[:-4] + "AAAA"
    page.evaluate(
        "token => localStorage.setItem('gallery.session', JSON.stringify("
        "{mode: 'token', user: 'mallory', token, expiresAt: Date.now() + 3600e3}))",
        forged,
    )
    page.reload()
    expect(page.get_by_test_id("signed-in-user")).to_have_text("mallory")
    page.get_by_test_id("upload-input").set_input_files(
        [{"name": "night.jpg", "mimeType": "image/jpeg", "buffer": jpeg("night")}]
    )
    page.get_by_test_id("upload-submit").click()
    expect(page.get_by_test_id("error-banner")).to_contain_text("Your sign-in has expired")
    expect(page.get_by_test_id("sign-in")).to_be_visible()  # signed out, as the API said
    screenshot(page, "desktop", "cognito-expired-sign-in")


def test_deployed_sign_in_goes_through_the_hosted_ui_with_pkce(cognito_app: Any, new_page: Any) -> None:
    """config.json names a Cognito domain (as `make deploy` writes it): the page sends people to the
    hosted UI and trades the code it gets back for tokens. The test plays Cognito's part."""
    page, recorder = new_page("desktop")
    config = {"api_url": "", "auth_mode": "cognito", "cognito": {"domain": HOSTED_UI, "client_id": "web-client"}}
    page.route("**/config.json", lambda route: route.fulfill(json=config))
    seen: dict[str, Any] = {}

    def hosted_ui(route: Any) -> None:
        request = route.request
        url = urlsplit(request.url)
        if url.path == "/oauth2/authorize":
            seen["authorize"] = query = {k: v[0] for k, v in parse_qs(url.query).items()}
            back = f"{query['redirect_uri']}?code=the-code&state={query['state']}"
            route.fulfill(status=302, headers={"Location": back})
        elif url.path == "/oauth2/token":
            seen["token"] = {k: v[0] for k, v in parse_qs(request.post_data).items()}
            body = {"id_token": token_for(cognito_app, "dana"), "access_token": "x", "token_type": "Bearer"}
            route.fulfill(json=body, headers={"Access-Control-Allow-Origin": "*"})
        elif url.path == "/logout":
            seen["logout"] = {k: v[0] for k, v in parse_qs(url.query).items()}
            route.fulfill(status=302, headers={"Location": seen["logout"]["logout_uri"]})
        else:
            route.abort()

    page.route(f"{HOSTED_UI}/**", hosted_ui)
    page.goto(f"{cognito_app.url}/?tag=dawn")
    expect(page.get_by_test_id("user-input")).to_be_hidden()  # the hosted page asks for the name
    page.get_by_test_id("sign-in").click()
    expect(page.get_by_test_id("signed-in-user")).to_have_text("dana")
    expect(page).to_have_url(re.compile(r"/\?tag=dawn$"))  # back where they were, code gone from the URL

    authorize, token = seen["authorize"], seen["token"]
    assert authorize["response_type"] == "code" and authorize["client_id"] == "web-client"
    assert authorize["code_challenge_method"] == "S256" and len(authorize["code_challenge"]) == 43
    assert authorize["redirect_uri"] == f"{cognito_app.url}/"
    assert token["grant_type"] == "authorization_code" and token["code"] == "the-code"
    assert token["redirect_uri"] == authorize["redirect_uri"] and len(token["code_verifier"]) >= 43

    # The hosted UI's token works against the API like any other.
    page.goto(f"{cognito_app.url}/")
    image_id = upload_one(page, "Dana's snow", "snow")
    assert requests.get(f"{cognito_app.url}/images/{image_id}", timeout=20).json()["user_name"] == "dana"

    page.get_by_test_id("sign-out").click()
    expect(page.get_by_test_id("sign-in")).to_be_visible()
    assert seen["logout"] == {"client_id": "web-client", "logout_uri": f"{cognito_app.url}/"}
    assert not [r for r in recorder.requests if r.url.startswith(HOSTED_UI) and r.failure]


PHISHING = "Your account is locked. Call +1 555 0100 to unlock it"


def test_hosted_sign_in_checks_the_state_before_it_shows_anything_from_the_url(cognito_app: Any, new_page: Any) -> None:
    """Issue 14, item 8: a link anyone can craft (/?error=x&error_description=ANY TEXT) used to put
    that text in the banner before the OAuth state was checked. Now the state is checked first; an
    answer to a flow we did not start, or to another one, gets a fixed message, and even our own
    flow's error shows our words for its code, never the URL's description."""
    page, recorder = new_page("desktop")
    config = {"api_url": "", "auth_mode": "cognito", "cognito": {"domain": HOSTED_UI, "client_id": "web-client"}}
    page.route("**/config.json", lambda route: route.fulfill(json=config))
    seen: dict[str, Any] = {}

    def cancelling_hosted_ui(route: Any) -> None:  # the person presses "Cancel" on the hosted page
        url = urlsplit(route.request.url)
        if url.path == "/oauth2/authorize":
            seen["authorize"] = query = {k: v[0] for k, v in parse_qs(url.query).items()}
            back = (
                f"{query['redirect_uri']}?error=access_denied&error_description=Cognito+says+so&state={query['state']}"
            )
            route.fulfill(status=302, headers={"Location": back})
        else:
            seen.setdefault("other", []).append(route.request.url)
            route.abort()

    page.route(f"{HOSTED_UI}/**", cancelling_hosted_ui)
    banner = page.get_by_test_id("error-banner")
    text = PHISHING.replace(" ", "+")

    # 1. Nobody started a sign-in in this tab: the URL's words are not shown.
    page.goto(f"{cognito_app.url}/?error=access_denied&error_description={text}")
    expect(banner).to_contain_text("Sign-in failed. Please try again.")
    expect(page.locator("body")).not_to_contain_text("locked")
    expect(page).to_have_url(f"{cognito_app.url}/")  # the crafted query is gone from the address bar
    screenshot(page, "desktop", "hosted-sign-in-foreign-error")

    # 2. A sign-in was started, but the answer carries another state (someone else's link).
    page.evaluate(
        "() => sessionStorage.setItem('gallery.pkce', JSON.stringify({verifier: 'v', state: 'ours', returnTo: ''}))"
    )
    page.goto(f"{cognito_app.url}/?error=server_error&error_description={text}&state=theirs")
    expect(banner).to_contain_text("Sign-in failed. Please try again.")
    expect(page.locator("body")).not_to_contain_text("locked")

    # 3. A code with no flow of ours behind it is never traded for tokens.
    page.goto(f"{cognito_app.url}/?code=stolen-code&state=forged")
    expect(banner).to_contain_text("Sign-in failed. Please try again.")
    expect(page.get_by_test_id("sign-in")).to_be_visible()

    # 4. Our own flow, cancelled on the hosted page: our sentence for access_denied.
    page.goto(f"{cognito_app.url}/?tag=dawn")
    page.get_by_test_id("sign-in").click()
    expect(banner).to_contain_text("Sign-in was cancelled.")
    expect(page.locator("body")).not_to_contain_text("Cognito says so")
    expect(page).to_have_url(re.compile(r"/\?tag=dawn$"))  # back where they were
    assert "authorize" in seen and "other" not in seen  # no token request at any step
    assert not recorder.requests_to(r"/oauth2/token")


@pytest.fixture
def web_server(cognito_app: Any) -> Iterator[Any]:
    """`AUTH_MODE=cognito make web API_URL=<the local mode>`: the page on a port of its own."""
    server = make_web_server(cognito_app.url, auth_mode="cognito")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_make_web_serves_the_page_for_an_api_on_another_origin(
    cognito_app: Any, web_server: Any, new_page: Any
) -> None:
    config = requests.get(f"{web_server.url}/config.json", timeout=20).json()
    assert config == {"api_url": cognito_app.url, "auth_mode": "cognito", "token_url": "/_local/token"}

    page, recorder = new_page("desktop")
    page.goto(f"{web_server.url}/")
    sign_in(page, "erin")  # through this server, which forwards to the local mode's /_local/token
    image_id = upload_one(page, "Erin's lake", "lake")  # cross-origin: the API's CORS lets it in
    wait_for_thumbnails(page)
    api_calls = [r for r in recorder.requests if r.url.startswith(cognito_app.url)]
    assert {r.method for r in api_calls} >= {"GET", "POST"}
    assert all(r.all_headers().get("origin") == web_server.url for r in api_calls if r.method == "POST")

    page.locator(f'[data-image-id="{image_id}"] .card-open').click()
    page.get_by_test_id("edit-button").click()
    page.get_by_test_id("edit-title").fill("Erin's lake, edited from another origin")
    page.get_by_test_id("edit-save").click()  # PATCH with Authorization: a CORS preflight first
    expect(page.get_by_test_id("photo-view-title")).to_have_text("Erin's lake, edited from another origin")
    screenshot(page, "desktop", "make-web-other-origin")


def test_a_private_gallery_shows_nothing_before_sign_in_and_sends_the_token_on_reads(
    cognito_app: Any, new_page: Any
) -> None:
    """The stack's PublicReads=false (publish_web writes public_reads: false into config.json)."""
    page, recorder = new_page("desktop")
    config = {"api_url": "", "auth_mode": "cognito", "token_url": "/_local/token", "public_reads": False}
    page.route("**/config.json", lambda route: route.fulfill(json=config))
    page.goto(f"{cognito_app.url}/?tag=dawn")
    expect(page.get_by_text("This gallery is private")).to_be_visible()
    assert not recorder.requests_to(r"/images")  # nothing asked for without a token

    sign_in(page, "gina")
    expect(
        page.get_by_role("heading", name="Nothing here yet").or_(page.get_by_test_id("photo-card").first)
    ).to_be_visible()
    reads = [r for r in recorder.requests_to(r"/images\?") if r.method == "GET"]
    assert reads and all(r.headers.get("authorization", "").startswith("Bearer ") for r in reads)
