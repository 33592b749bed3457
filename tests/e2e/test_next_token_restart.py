"""A next_token across a restart of the local mode (issue 20): kept with STATE_DIR, expired without."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import requests

from localapi.app import LocalApp
from tests.support.images import picture
from tests.support.local_mode import EXTERNAL_BASE_URL

pytestmark = pytest.mark.skipif(bool(EXTERNAL_BASE_URL), reason="starts and stops local modes of its own")


def _second_page_token(app: LocalApp) -> str:
    body = {
        "user_id": "restarter",
        "content_type": "image/png",
        "image_base64": base64.b64encode(picture()).decode(),
        "allow_duplicate": True,  # two photos of the same picture
    }
    for _ in range(2):
        assert requests.post(app.url + "/images", json=body, timeout=20).status_code == 201
    page = requests.get(app.url + "/images", params={"user_id": "restarter", "limit": "1"}, timeout=20).json()
    return str(page["next_token"])


def _list_with(app: LocalApp, token: str) -> requests.Response:
    return requests.get(
        app.url + "/images", params={"user_id": "restarter", "limit": "1", "next_token": token}, timeout=20
    )


def test_a_token_from_before_a_restart_has_expired() -> None:
    app = LocalApp(port=0).start()
    try:
        token = _second_page_token(app)
    finally:
        app.stop()
    app = LocalApp(port=0).start()  # a new emulation, with a new random key
    try:
        response = _list_with(app, token)
        assert (response.status_code, response.json()["code"]) == (400, "expired_next_token")
        assert response.json()["message"] == "next_token has expired: list again without next_token"
        assert _list_with(app, token[:-2] + "AA").json()["code"] == "expired_next_token"  # unknown key first
    finally:
        app.stop()


def test_with_state_dir_a_token_survives_a_restart(tmp_path: Path) -> None:
    app = LocalApp(port=0, state_dir=tmp_path).start()
    try:
        token = _second_page_token(app)
    finally:
        app.stop()
    app = LocalApp(port=0, state_dir=tmp_path).start()  # the key is kept in STATE_DIR
    try:
        response = _list_with(app, token)
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == 1
    finally:
        app.stop()
