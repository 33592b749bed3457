"""The README's curl walk-through (scripts/curl_examples.sh), run verbatim against the local mode."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.environment import ROOT
from tests.support.local_mode import Api

SCRIPT = ROOT / "scripts" / "curl_examples.sh"
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def run(api: Api, *args: str, cwd: Path) -> str:
    env = {**os.environ, "API_URL": api.base_url}
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, check=True, timeout=60
    ).stdout


def test_curl_walk_through(api: Api, user: str, tmp_path: Path) -> None:
    subprocess.run(["python3", str(ROOT / "scripts" / "sample_image.py"), "photo.png"], cwd=tmp_path, check=True)
    created = json.loads(run(api, "upload", "photo.png", user, "beach,Sunset", cwd=tmp_path))
    image_id = created["image_id"]
    assert created["tags"] == ["beach", "sunset"]
    assert [i["image_id"] for i in json.loads(run(api, "list_user", user, cwd=tmp_path))["items"]] == [image_id]
    assert image_id in [i["image_id"] for i in json.loads(run(api, "list_tag", "sunset", "100", cwd=tmp_path))["items"]]
    assert json.loads(run(api, "get", image_id, cwd=tmp_path)) == created
    run(api, "download", image_id, "back.png", cwd=tmp_path)
    assert (tmp_path / "back.png").read_bytes() == (tmp_path / "photo.png").read_bytes()
    assert run(api, "delete", image_id, cwd=tmp_path).strip() == "204"
    assert json.loads(run(api, "get", image_id, cwd=tmp_path))["code"] == "not_found"


def test_curl_upload_styles_and_edit(api: Api, user: str, tmp_path: Path) -> None:
    from tests.support.images import phone_jpeg

    (tmp_path / "big.jpg").write_bytes(phone_jpeg(target_bytes=6_000_000))  # over the JSON limit
    direct = json.loads(run(api, "upload_direct", "big.jpg", user, "phone", cwd=tmp_path).splitlines()[-1])
    assert direct["user_id"] == user and direct["tags"] == ["phone"] and direct["location_removed"] is True
    (tmp_path / "small.jpg").write_bytes(phone_jpeg(gps=False))
    raw = json.loads(run(api, "upload_raw", "small.jpg", user, "a,b", cwd=tmp_path))
    assert raw["tags"] == ["a", "b"] and raw["content_type"] == "image/jpeg"
    # An iPhone photo as the README's sample writes it: HEIC with a GPS position.
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "sample_image.py"), "photo.heic", "320", "240"],
        cwd=tmp_path,
        check=True,
    )
    heic = json.loads(run(api, "upload_raw", "photo.heic", user, "iphone", cwd=tmp_path))
    assert (heic["content_type"], heic["width"], heic["height"]) == ("image/heic", 320, 240)
    assert heic["location_removed"] is True
    edited = json.loads(run(api, "edit", raw["image_id"], '{"title": "Edited", "tags": ["c"]}', cwd=tmp_path))
    assert edited["title"] == "Edited" and edited["tags"] == ["c"]
