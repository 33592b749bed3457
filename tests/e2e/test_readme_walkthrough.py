"""README.md's "Run it locally" walk-through, run verbatim (its bash blocks, as written) against a
local mode this test starts, in an empty directory; and what the curl script does when a user
gets something wrong (a missing file, a text file, a damaged photo)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from localapi.app import LocalApp
from tests.support.environment import ROOT
from tests.support.local_mode import Api

SCRIPT = ROOT / "scripts" / "curl_examples.sh"
SECTION = ("## Run it locally", "### What the local mode emulates")
# Blocks of the section not run here, each for a stated reason; any other block is run.
NOT_RUN = {
    "make serve ": "starts the server: the test starts the same local mode itself, on a free port",
    "make invoke ": "one function and one event: tests/e2e/test_invoke_events.py runs every event",
}
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")


def walkthrough_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(SECTION[0]), readme.index(SECTION[1])
    return re.findall(r"^```bash\n(.*?)^```", readme[start:end], flags=re.S | re.M)


def blocks_to_run() -> list[str]:
    blocks = walkthrough_blocks()
    skipped = [block for block in blocks if any(block.startswith(first) for first in NOT_RUN)]
    assert len(skipped) == len(NOT_RUN), "a block NOT_RUN names is no longer in the README's walk-through"
    return [block for block in blocks if block not in skipped]


@pytest.fixture
def own_local_mode() -> Iterator[LocalApp]:
    """A local mode of this test's own: the README's user is "alice", whom others also use."""
    app = LocalApp(port=0).start()
    yield app
    app.stop()


def workdir(tmp_path: Path) -> Path:
    """An empty directory where the README's relative paths (scripts/, .venv/) work as in a clone."""
    for name in ("scripts", ".venv"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


def test_the_readme_walkthrough_runs_verbatim(own_local_mode: LocalApp, tmp_path: Path) -> None:
    blocks = blocks_to_run()
    assert len(blocks) == 2 and "sample_image.py" in blocks[0] and "upload_direct big.jpg" in blocks[1]
    cwd = workdir(tmp_path)
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(blocks)],
        check=False,
        cwd=cwd,
        env={**os.environ, "API_URL": own_local_mode.url},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert '"code"' not in result.stdout, result.stdout[-2000:]  # no error answer anywhere
    assert "storage answered 204" in result.stdout
    # The sample photos are what the walk-through says: a PNG, a photo, and one over POST /images's limit.
    assert (cwd / "back.png").read_bytes() == (cwd / "photo.png").read_bytes()
    assert (cwd / "photo.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert 4_500_000 < (cwd / "big.jpg").stat().st_size < 25 * 1024 * 1024
    assert (cwd / "photo.heic").read_bytes()[4:12] == b"ftypheic"
    # What is left: the raw uploads (the JPEG, then the iPhone photo) and the direct one (newest,
    # edited); the PNG was deleted.
    api = Api(own_local_mode.url, own_local_mode)
    listed = api.request("GET", "/images", params={"user_id": "alice"}).json()["items"]
    assert [(item["title"], item["tags"]) for item in listed] == [
        ("New title", ["beach", "pier"]),
        ("photo", ["iphone"]),
        ("photo", ["beach"]),
    ]
    assert listed[0]["size_bytes"] == (cwd / "big.jpg").stat().st_size and listed[0]["content_type"] == "image/jpeg"
    assert (listed[1]["content_type"], listed[1]["location_removed"]) == ("image/heic", True)


def run_script(api: Api, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "API_URL": api.base_url}
    return subprocess.run(
        [str(SCRIPT), *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("command", ["upload", "upload_raw", "upload_direct"])
def test_a_missing_file_is_refused_before_anything_is_sent(api: Api, user: str, tmp_path: Path, command: str) -> None:
    before = api.storage()
    result = run_script(api, command, "photo.jpg", user, cwd=tmp_path)
    assert result.returncode != 0
    assert "no such file: photo.jpg" in result.stderr and "sample_image.py" in result.stderr
    assert api.storage() == before


@pytest.mark.parametrize("command", ["upload", "upload_raw", "upload_direct"])
def test_a_refused_upload_prints_the_services_answer_and_fails(
    api: Api, user: str, tmp_path: Path, command: str
) -> None:
    (tmp_path / "notes.txt").write_text("not a photo\n")
    result = run_script(api, command, "notes.txt", user, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stdout + result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["code"] == "unsupported_media_type" and answer["message"]


def test_upload_direct_of_a_damaged_photo_says_why_as_soon_as_it_is_known(api: Api, user: str, tmp_path: Path) -> None:
    from tests.support.images import phone_jpeg

    (tmp_path / "broken.jpg").write_bytes(
        b"\xff\xd8\xff\xe0" + phone_jpeg()[4:][:100]
    )  # cut off: a JPEG header, then nothing decodable
    result = run_script(api, "upload_direct", "broken.jpg", user, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["code"] == "image_damaged" and answer["message"].startswith("the upload was rejected: ")
    assert "refused (422)" in result.stderr
