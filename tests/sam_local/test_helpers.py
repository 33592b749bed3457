"""What the Docker path hands the SAM CLI, checked without Docker (these run in ``make test``)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sam_local
import with_docker

from localapi.aws_backend import LOCAL_CREDENTIALS
from localapi.template import Template
from tests.support.environment import ROOT
from tests.support.sam_local_gaps import KNOWN_GAPS

ENDPOINT = "http://172.17.0.1:4566"


def template(**parameters: str) -> Template:
    return Template(ROOT / "template.yaml", parameters=parameters)


def test_env_vars_give_each_function_the_local_modes_environment(tmp_path: Path) -> None:
    local = template()
    path = sam_local.write_env_vars(local, ENDPOINT, tmp_path)
    env = json.loads(path.read_text())
    assert sorted(env) == sorted(spec.logical_id for spec in local.functions())
    tables = {d["TableName"] for d in local.table_definitions()}
    for function, variables in env.items():
        assert variables["AWS_ENDPOINT_URL"] == ENDPOINT, function
        assert variables["S3_BUCKET_NAME"] == local.bucket_names()[0]
        assert {variables["IMAGES_TABLE_NAME"], variables["IMAGE_TAGS_TABLE_NAME"]} <= tables
        assert not set(LOCAL_CREDENTIALS) & set(variables)  # credentials go through the SAM CLI's own path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_env_vars_name_the_cursor_secret_but_never_hold_its_value(tmp_path: Path) -> None:
    """The containers read the key from the emulation's Secrets Manager, as Lambda reads AWS's."""
    local = template()
    env = json.loads(sam_local.write_env_vars(local, ENDPOINT, tmp_path).read_text())
    assert env["ListFunction"]["CURSOR_SECRET_ARN"].endswith(":secret:" + local.secret_name("CursorSigningSecret"))
    text = json.dumps(env)
    assert all(value not in text for value in local.secrets.values())
    assert "resolve:secretsmanager" not in text


def test_sam_process_gets_local_credentials_and_never_the_users_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-real-session")
    env = sam_local.sam_environment(ENDPOINT)
    assert "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
    assert env["AWS_ACCESS_KEY_ID"] == LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    # The SAM CLI's own STS call goes to the emulation, not to AWS.
    assert env["AWS_ENDPOINT_URL_STS"] == ENDPOINT


def test_sam_local_arguments_use_the_local_image_and_the_emulation(tmp_path: Path) -> None:
    args = sam_local.sam_local_args("start-api", template(AuthMode="none"), ENDPOINT, tmp_path / "env.json")
    assert args[1:3] == ["local", "start-api"]
    assert args[args.index("--invoke-image") + 1] == sam_local.IMAGE
    assert "--skip-pull-image" in args
    overrides = args[args.index("--parameter-overrides") + 1].split()
    assert f"EndpointUrl={ENDPOINT}" in overrides and "AuthMode=none" in overrides


def test_a_loopback_endpoint_is_refused_since_containers_cannot_reach_it() -> None:
    with (
        pytest.raises(SystemExit, match="loopback"),
        sam_local.emulation_for_containers(template(), "http://127.0.0.1:5000"),
    ):
        pass


def test_missing_docker_is_a_skip_on_a_laptop_and_a_failure_in_ci(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert with_docker.unavailable("no Docker engine answers", or_skip=True) == 0
    assert "was not run" in capsys.readouterr().err
    assert with_docker.unavailable("no Docker engine answers", or_skip=False) == 1
    monkeypatch.setenv("CI", "true")
    assert with_docker.unavailable("no Docker engine answers", or_skip=True) == 1


def test_every_known_sam_local_gap_names_an_existing_e2e_test() -> None:
    """A renamed or deleted test must not leave a stale entry that would silently match nothing."""
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "tests/e2e"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.splitlines()
    node_ids = [line for line in collected if line.startswith("tests/e2e/")]
    assert node_ids, "no e2e test collected"
    assert sorted(set(KNOWN_GAPS) - set(node_ids)) == []


def test_the_e2e_client_talks_to_a_server_it_did_not_start() -> None:
    """E2E_BASE_URL mode: the suite's client must not need the in-process local mode's internals."""
    import http.server
    import threading

    from tests.support.local_mode import Api, ExternalApp

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"items": [], "next_token": null}')

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        api = Api(url, ExternalApp(url, "http://127.0.0.1:9"))
        assert api.request("GET", "/images?user_id=alice").json() == {"items": [], "next_token": None}
        assert api.app.template.functions()  # resolvable: the secrets are known
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("stdout", "summary"),
    [
        ('{"statusCode": 201, "body": "{}"}', "status 201"),
        ('{"errorType": "Runtime.UnmarshalError", "errorMessage": "x"}', "error Runtime.UnmarshalError"),
        ('{"finalised": []}', "a response that is not an HTTP one"),
        ("", "no response"),
    ],
)
def test_make_sam_invoke_says_what_the_function_answered(stdout: str, summary: str) -> None:
    assert sam_local.describe(stdout) == summary
