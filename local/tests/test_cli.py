"""`make invoke`'s code path and `make serve`'s persistence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from localapi.app import LocalApp

ROOT = Path(__file__).resolve().parent.parent.parent


def run_invoke(function: str, event: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "localapi", "invoke", function, event],
        cwd=ROOT,
        env={"PYTHONPATH": "local", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_invoke_prints_the_proxy_response() -> None:
    response = run_invoke("UploadFunction", "events/upload.json")
    assert response["statusCode"] == 201
    assert json.loads(response["body"])["tags"] == ["sunset", "beach"]


def test_invoke_of_a_bad_event_prints_the_4xx() -> None:
    response = run_invoke("ListFunction", "events/list_missing_filter.json")
    assert response["statusCode"] == 400 and json.loads(response["body"])["code"] == "missing_filter"


def test_state_dir_keeps_photos_across_restarts(tmp_path: Path) -> None:
    import base64

    from tests.support.images import picture

    app = LocalApp(port=0, state_dir=tmp_path).start()
    try:
        body = {"user_id": "keeper", "content_type": "image/png", "image_base64": base64.b64encode(picture()).decode()}
        image_id = requests.post(app.url + "/images", json=body, timeout=20).json()["image_id"]
        token_page = requests.get(app.url + "/images", params={"user_id": "keeper"}, timeout=20).json()
        assert [i["image_id"] for i in token_page["items"]] == [image_id]
    finally:
        app.stop()
    app = LocalApp(port=0, state_dir=tmp_path).start()
    try:
        assert requests.get(f"{app.url}/images/{image_id}", timeout=20).status_code == 200
        url = requests.get(f"{app.url}/images/{image_id}/download", timeout=20).json()["url"]
        assert requests.get(url, timeout=20).content == picture()
    finally:
        app.stop()


def test_without_state_dir_the_service_starts_empty() -> None:
    app = LocalApp(port=0).start()
    try:
        assert requests.get(app.url + "/images", params={"user_id": "keeper"}, timeout=20).json()["items"] == []
    finally:
        app.stop()
