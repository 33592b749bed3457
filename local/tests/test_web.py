"""The web gallery's files as the local mode and `make web` serve them (no browser needed)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from localapi import web
from localapi.app import LocalApp


def get(base: str, path: str) -> requests.Response:
    return requests.get(base + path, timeout=20)


def test_the_gallery_is_served_at_the_root_beside_the_api(fixture_app: LocalApp) -> None:
    page = get(fixture_app.url, "/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.content == (web.WEB_DIR / "index.html").read_bytes()
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert get(fixture_app.url, "/index.html").content == page.content
    assert get(fixture_app.url, "/config.json").json() == {"api_url": "", "auth_mode": "none"}
    # The API is untouched: an unknown path still gets API Gateway's answer, not a page.
    assert get(fixture_app.url, "/web/nothing-here.js").status_code == 403
    assert requests.post(fixture_app.url + "/", timeout=20).status_code == 403


def test_every_file_the_page_refers_to_is_served_from_this_origin(fixture_app: LocalApp) -> None:
    html = get(fixture_app.url, "/").text
    references = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert "web/js/main.js" in references and "web/styles.css" in references
    for reference in references:
        assert not re.match(r"(https?:)?//", reference), f"{reference}: no CDN, the page must work offline"
        answer = get(fixture_app.url, "/" + reference)
        assert answer.status_code == 200, reference
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    # Module imports too: every "./x.js" a module imports exists.
    for path in sorted((web.WEB_DIR / "js").glob("*.js")):
        for imported in re.findall(r'from "\./([\w-]+\.js)"', path.read_text()):
            assert get(fixture_app.url, f"/web/js/{imported}").status_code == 200, (path.name, imported)
        assert get(fixture_app.url, f"/web/js/{path.name}").headers["Content-Type"].startswith("text/javascript")


def test_the_page_loads_nothing_from_elsewhere() -> None:
    for path in web.site_files().values():
        text = path.read_text()
        assert not re.search(r"""(?:src|href|url\(|import\s*\(?|from)\s*["']?(?:https?:)?//""", text), path
        assert "@import" not in text and "fonts." not in text, path


def test_the_data_testids_of_the_contract_are_in_the_markup() -> None:
    html = (web.WEB_DIR / "index.html").read_text()
    scripts = "".join(path.read_text() for path in (web.WEB_DIR / "js").glob("*.js"))
    contract = [
        "user-input", "sign-in", "upload-input", "upload-title", "upload-tags", "upload-submit",
        "upload-progress", "photo-card", "tag-chip", "photo-view", "edit-button", "delete-button",
        "confirm-delete", "error-banner",
    ]  # fmt: skip
    for testid in contract:  # in the markup, or set by the scripts that build cards and chips
        assert f'data-testid="{testid}"' in html or f'"data-testid": "{testid}"' in scripts, testid
    assert "card.dataset.imageId = " in scripts and '"data-tag": tag' in scripts
    readme = (Path(web.WEB_DIR).parent / "docs" / "web.md").read_text()
    for testid in contract:
        assert f"`{testid}`" in readme, f"docs/web.md does not list {testid}"


def test_page_config_for_each_way_of_signing_in() -> None:
    assert web.page_config() == {"api_url": "", "auth_mode": "none"}
    assert web.page_config(api_url="http://127.0.0.1:3000/", auth_mode="cognito") == {
        "api_url": "http://127.0.0.1:3000",
        "auth_mode": "cognito",
        "token_url": "/_local/token",
    }
    hosted = web.page_config(auth_mode="cognito", cognito_domain="https://x.auth.test/", cognito_client_id="c")
    assert hosted["cognito"] == {"domain": "https://x.auth.test", "client_id": "c"} and "token_url" not in hosted
    private = web.page_config(auth_mode="cognito", public_reads=False)
    assert private["public_reads"] is False
    assert "public_reads" not in web.page_config(public_reads=False)  # the open mode has no tokens to send
    with pytest.raises(ValueError):
        web.page_config(auth_mode="basic")


def test_url_paths_never_collide_with_the_api() -> None:
    paths = web.site_files()
    assert "/" in paths and "/config.json" in paths
    assert all(path in ("/", "/config.json") or path.startswith("/web/") for path in paths)
    assert not any(path.startswith("/images") or path.startswith("/_local") for path in paths)


@pytest.fixture
def web_server(fixture_app: LocalApp) -> Iterator[web.WebServer]:
    server = web.make_web_server(fixture_app.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_make_web_serves_the_site_for_another_api_and_nothing_else(
    fixture_app: LocalApp, web_server: web.WebServer
) -> None:
    page = get(web_server.url, "/")
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert get(web_server.url, "/config.json").json() == {"api_url": fixture_app.url, "auth_mode": "none"}
    assert get(web_server.url, "/web/js/main.js").status_code == 200
    assert get(web_server.url, "/images").status_code == 404  # not a proxy for the API
    assert get(web_server.url, "/web/../template.yaml").status_code == 404
    # No token forwarding in the open mode.
    assert requests.post(web_server.url + "/_local/token", json={"username": "a"}, timeout=20).status_code == 404


def test_make_web_forwards_sign_in_to_the_local_cognito_emulation() -> None:
    app = LocalApp(port=0, auth_mode="cognito").start()
    server = web.make_web_server(app.url, auth_mode="cognito")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = requests.post(server.url + "/_local/token", json={"username": "zoe"}, timeout=20)
        assert answer.status_code == 200 and json.loads(answer.content)["username"] == "zoe"
        refused = requests.post(server.url + "/_local/token", json={"username": "no spaces"}, timeout=20)
        assert refused.status_code == 400
    finally:
        server.shutdown()
        server.server_close()
        app.stop()
