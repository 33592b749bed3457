"""`make serve` for a new user: hints on puzzling refusals, a busy port, a crash with STATE_DIR,
`make help` and `serve --help`."""

from __future__ import annotations

import base64
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from localapi import app as app_module
from localapi.app import LocalApp

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURE_TEMPLATE = Path(__file__).resolve().parent / "fixture" / "template.yaml"
MARK = "LOCALAPI_TEST_MARK"


def marked_processes(mark: str) -> list[int]:
    """Processes whose environment carries ``mark`` (what a start left behind)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"{MARK}={mark}".encode() in environ.split(b"\0") and state != "Z":
            found.append(int(entry.name))
    return found


def wait_for_no_marked_processes(mark: str) -> list[int]:
    for _ in range(100):
        left = marked_processes(mark)
        if not left:
            return []
        time.sleep(0.1)
    return left


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def run_serve(*args: str, mark: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "localapi", "serve", *args],
        cwd=ROOT,
        env={"PYTHONPATH": "local", "PATH": os.environ.get("PATH", "/usr/bin:/bin"), MARK: mark, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# -- hints on API Gateway's puzzling answers (issue 20, item 7) -------------------------------------


def test_unknown_route_keeps_api_gateways_answer_with_a_local_hint(fixture_app: LocalApp) -> None:
    response = requests.get(fixture_app.url + "/nowhere", timeout=20)
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token", "code": "MISSING_AUTHENTICATION_TOKEN"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert "no route GET /nowhere" in response.headers["x-local-hint"]
    assert "/docs" in response.headers["x-local-hint"]


def test_hint_is_safe_whatever_the_path(fixture_app: LocalApp) -> None:
    response = requests.get(fixture_app.url + "/caf%C3%A9%0d%0aX-Injected:%20yes", timeout=20)
    assert response.status_code == 403 and "X-Injected" not in response.headers
    assert response.headers["x-local-hint"].isascii()


def test_missing_token_in_cognito_mode_points_at_make_token() -> None:
    app = LocalApp(port=0, auth_mode="cognito").start()
    try:
        response = requests.post(app.url + "/images", json={}, timeout=20)
        assert response.status_code == 401
        assert response.json() == {"message": "Unauthorized", "code": "UNAUTHORIZED"}
        assert "make token USER=alice" in response.headers["x-local-hint"]
        assert "no Authorization header" in response.headers["x-local-hint"]
    finally:
        app.stop()


# -- a busy port (item 8) --------------------------------------------------------------------------


def test_busy_port_is_named_with_the_way_out_and_nothing_is_left_running(busy_port: int) -> None:
    mark = uuid.uuid4().hex
    done = run_serve("--port", str(busy_port), mark=mark)
    assert done.returncode == 1
    assert f"port {busy_port} on 127.0.0.1 is busy" in done.stderr
    assert "PORT=8080 make serve" in done.stderr
    assert "Traceback" not in done.stderr
    assert wait_for_no_marked_processes(mark) == []


def test_busy_aws_port_is_named_too(busy_port: int) -> None:
    mark = uuid.uuid4().hex
    done = run_serve("--port", "0", mark=mark, AWS_PORT=str(busy_port))
    assert done.returncode == 1
    assert f"AWS emulation's port {busy_port}" in done.stderr and "AWS_PORT=8080" in done.stderr
    assert "Traceback" not in done.stderr
    assert wait_for_no_marked_processes(mark) == []


def test_a_start_that_fails_after_the_emulation_started_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    mark = uuid.uuid4().hex
    monkeypatch.setenv(MARK, mark)  # the moto child inherits it

    def broken(self: object) -> object:
        assert marked_processes(mark), "the emulation should be running at this point"
        raise RuntimeError("failed on purpose")

    monkeypatch.setattr(app_module.S3EventRelay, "start", broken)
    with pytest.raises(RuntimeError, match="on purpose"):
        LocalApp(port=0).start()
    assert wait_for_no_marked_processes(mark) == []


def test_a_busy_port_in_process_starts_nothing(busy_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    mark = uuid.uuid4().hex
    monkeypatch.setenv(MARK, mark)
    with pytest.raises(OSError):
        LocalApp(port=busy_port, template_path=FIXTURE_TEMPLATE).start()
    assert marked_processes(mark) == []


# -- STATE_DIR survives a crash (item 9) -----------------------------------------------------------


class Served:
    """`python -m localapi serve` as a process of its own, with a state directory."""

    def __init__(self, state_dir: Path, mark: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localapi", "serve", "--port", "0", "--state-dir", str(state_dir)],
            cwd=ROOT,
            env={
                "PYTHONPATH": "local",
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                MARK: mark,
                "LOCALAPI_SAVE_INTERVAL": "0.2",
            },
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        assert self.process.stderr is not None
        self.url = ""
        for line in self.process.stderr:
            found = re.search(r"Image service API:\s+(http://\S+)", line)
            if found:
                self.url = found.group(1)
                break
        assert self.url, "the local mode did not start"

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            self.process.wait(timeout=60)


def test_state_dir_keeps_the_photos_after_kill_9(tmp_path: Path) -> None:
    from tests.support.images import picture

    mark = uuid.uuid4().hex
    served = Served(tmp_path, mark)
    try:
        body = {"user_id": "crasher", "content_type": "image/png", "image_base64": base64.b64encode(picture()).decode()}
        created = requests.post(served.url + "/images", json=body, timeout=30)
        assert created.status_code == 201, created.text
        image_id = created.json()["image_id"]
        for _ in range(200):  # saved as it goes, not on a clean stop
            state = tmp_path / "state.json"
            if state.exists() and image_id in state.read_text():
                break
            time.sleep(0.05)
        served.kill()
    finally:
        served.stop()
    # The AWS emulation notices and stops with it: nothing of the crashed run is left.
    assert wait_for_no_marked_processes(mark) == []
    again = Served(tmp_path, mark)
    try:
        assert requests.get(f"{again.url}/images/{image_id}", timeout=30).status_code == 200
        url = requests.get(f"{again.url}/images/{image_id}/download", timeout=30).json()["url"]
        assert requests.get(url, timeout=30).content == picture()
    finally:
        again.stop()
    assert wait_for_no_marked_processes(mark) == []


# -- make help, serve --help, ENV_VARS (item 11) -----------------------------------------------------


def test_make_help_lists_every_target() -> None:
    makefile = (ROOT / "Makefile").read_text()
    targets = {t for line in re.findall(r"^\.PHONY:(.*)$", makefile, re.M) for t in line.split()} - {"help"}
    shown = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    missing = sorted(t for t in targets if not re.search(rf"(make |\| ){re.escape(t)}\b", shown))
    assert missing == []


def test_serve_help_describes_every_option() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "localapi", "serve", "--help"],
        cwd=ROOT,
        env={"PYTHONPATH": "local", "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    flat = " ".join(shown.split())
    for option, words in {
        "--port": "0 picks a free one",
        "--aws-port": "AWS emulation",
        "--state-dir": "saved as they change",
        "--env-vars": "ENV_VARS=env.json",
        "--auth-mode": "make token",
        "--host": "address to listen on",
    }.items():
        assert option in flat and words in flat, option


def test_env_vars_reach_serve_through_make() -> None:
    shown = subprocess.run(
        ["make", "-n", "serve", "ENV_VARS=env.json"],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k not in ("PORT", "MAKEFLAGS")},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "localapi serve --port 3000 --env-vars env.json" in shown


def test_a_state_dir_of_the_older_format_is_read_and_rewritten(tmp_path: Path) -> None:
    import json

    from localapi.aws_backend import AwsEmulation
    from localapi.persistence import StateStore
    from localapi.template import Template

    emulation = AwsEmulation(Template(FIXTURE_TEMPLATE)).start()
    try:
        bucket = emulation.template.bucket_names()[0]
        old = {"key": "images/x", "content_type": "image/png", "body": base64.b64encode(b"abc").decode()}
        (tmp_path / "state.json").write_text(json.dumps({"tables": {}, "objects": {bucket: [old]}}))
        store = StateStore(tmp_path, emulation)
        assert store.load() == 1
        assert emulation.clients()[1].get_object(Bucket=bucket, Key="images/x")["Body"].read() == b"abc"
        assert store.save() is True
        saved = json.loads((tmp_path / "state.json").read_text())["objects"][bucket]
        assert [(o["key"], o["content_type"]) for o in saved] == [("images/x", "image/png")]
        assert (tmp_path / "blobs" / saved[0]["blob"]).read_bytes() == b"abc"
        assert store.save() is False  # nothing changed: nothing written
    finally:
        emulation.stop()
