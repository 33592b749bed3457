"""The local mode serves the spec at /openapi.yaml and a Swagger UI page at /docs, offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import yaml

from localapi import docs
from localapi.app import LocalApp


def get(app: LocalApp, path: str) -> requests.Response:
    return requests.get(app.url + path, timeout=20)


def test_spec_is_served_as_it_is_in_the_repository(fixture_app: LocalApp) -> None:
    response = get(fixture_app, "/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/yaml")
    assert response.content == docs.SPEC_PATH.read_bytes()
    assert yaml.safe_load(response.content)["openapi"].startswith("3.")


def test_docs_page_loads_everything_from_this_server(fixture_app: LocalApp) -> None:
    page = get(fixture_app, "/docs")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]  # the browser refuses other origins
    assert get(fixture_app, "/docs/").content == page.content

    references = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/docs/swagger-ui-bundle.js" in references and "/docs/swagger-ui.css" in references
    for reference in references:
        assert reference.startswith("/"), f"{reference} is not on this server (no CDN: the page must work offline)"
        asset = get(fixture_app, reference)
        assert asset.status_code == 200, reference
        assert asset.content, reference
        assert asset.headers["X-Content-Type-Options"] == "nosniff"


def test_swagger_ui_is_the_packaged_one_and_reads_our_spec(fixture_app: LocalApp) -> None:
    from swagger_ui_bundle import swagger_ui_path

    bundle = get(fixture_app, "/docs/swagger-ui-bundle.js")
    assert bundle.headers["Content-Type"].startswith("text/javascript")
    assert bundle.content == (Path(str(swagger_ui_path)) / "swagger-ui-bundle.js").read_bytes()
    init = get(fixture_app, "/docs/init.js").text
    assert 'url: "/openapi.yaml"' in init
    assert "validatorUrl: null" in init  # Swagger UI would otherwise call an online validator
    assert not re.search(r"https?://", init)


def test_docs_routes_answer_get_only_and_leave_the_api_alone(fixture_app: LocalApp) -> None:
    assert all(path in ("/openapi.yaml",) or path.startswith("/docs") for path in docs.docs_routes())
    response = requests.post(fixture_app.url + "/docs", timeout=20)
    assert response.status_code == 403  # not a route of the API: the gateway's answer


def test_without_swagger_ui_installed_the_page_says_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(docs, "_assets_dir", lambda: None)
    status, _, body = docs.docs_routes()["/docs"]()
    assert status == 503
    assert b"requirements-dev.txt" in body
    assert docs.docs_routes()["/docs/swagger-ui-bundle.js"]()[0] == 404
