#!/usr/bin/env python3
"""The SAM CLI's own Docker path: the real ``sam local invoke`` and ``sam local start-api``, each
function in a Lambda-like container, against the same AWS emulation as ``make serve``.

    python scripts/sam_local.py api [--port 3000] [--aws-port P]     (make sam-api)
    python scripts/sam_local.py invoke FUNCTION EVENT.json            (make sam-invoke)
    python scripts/sam_local.py test                                  (make test-sam-local)

Run it with .venv's python (it imports the local mode) where a Docker engine answers (the make
targets wrap it in scripts/with_docker.py). The AWS emulation is the local mode's own (moto, with the
template's tables and bucket), bound to the Docker bridge gateway: function containers do not share
this machine's loopback, and a URL signed for the gateway address is fetchable from here too.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "local"))

from localapi.app import TEMPLATE_PATH, function_environments  # noqa: E402
from localapi.aws_backend import LOCAL_CREDENTIALS, AwsEmulation, free_port, local_secrets  # noqa: E402
from localapi.functions import FunctionError  # noqa: E402
from localapi.notifications import S3EventRelay  # noqa: E402
from localapi.template import REGION, FunctionSpec, Template  # noqa: E402

SAM = Path(os.environ.get("SAM", ROOT / ".venv-tools" / "bin" / "sam"))
IMAGE = os.environ.get("LAMBDA_IMAGE", "image-service/lambda-python:3.11")
# A build of its own, so `make build` (the lint/test path) and this never write the same folder.
BUILD_DIR = ROOT / ".aws-sam" / "sam-local" / "build"
BUILT_TEMPLATE = BUILD_DIR / "template.yaml"
SOURCES = ("template.yaml", "functions", "layers")
LAMBDA_CONTAINERS = "label=sam.cli.container.type=lambda"


def say(message: str) -> None:
    print(f"sam-local: {message}", file=sys.stderr, flush=True)


# -- what sam local needs -----------------------------------------------------------------


def bridge_gateway() -> str:
    """The host's address on Docker's default bridge: where containers reach this machine."""
    inspect = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format", "{{json .IPAM.Config}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    for config in json.loads(inspect.stdout) or []:
        if config.get("Gateway") and ":" not in config["Gateway"]:
            return str(config["Gateway"])
        if config.get("Subnet") and ":" not in config["Subnet"]:
            # Some engines record no gateway for the default bridge: it is the subnet's first address.
            return str(next(ipaddress.ip_network(config["Subnet"]).hosts()))
    raise SystemExit("sam-local: Docker's bridge network has no IPv4 address")


def ensure_image() -> None:
    subprocess.run([str(ROOT / "scripts" / "lambda_image" / "build.sh"), IMAGE], check=True)


def _newest_source() -> float:
    newest = 0.0
    for name in SOURCES:
        path = ROOT / name
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        files = [p for p in files if "__pycache__" not in p.parts]
        newest = max([newest, *(p.stat().st_mtime for p in files)])
    return newest


def ensure_build() -> None:
    """``sam build`` into our own build folder, unless it is newer than every source."""
    if BUILT_TEMPLATE.exists() and BUILT_TEMPLATE.stat().st_mtime >= _newest_source():
        return
    say("sam build ...")
    started = time.monotonic()
    build = subprocess.run(
        [str(SAM), "build", "--template", str(ROOT / "template.yaml"), "--build-dir", str(BUILD_DIR)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if build.returncode != 0:
        sys.stderr.write(build.stdout + build.stderr)
        raise SystemExit("sam-local: sam build failed")
    BUILT_TEMPLATE.touch()  # sam build may keep old timestamps; the stamp is "built from sources as of now"
    say(f"built in {time.monotonic() - started:.1f} s")


def sam_environment(endpoint: str) -> dict[str, str]:
    """The SAM CLI's environment: it passes these credentials and region into every container.

    The emulation accepts any key; the local mode's make clear that nothing here is real, and a
    user's own AWS profile or session is never handed to a container. The SAM CLI itself asks STS
    for the account id before every run: pointed at the emulation, that takes milliseconds and
    sends nothing to AWS (otherwise it waits ~9 s for a network that may not be there).
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"}
    }
    env.update(LOCAL_CREDENTIALS)
    env.update(
        {
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ENDPOINT_URL_STS": endpoint,
            "SAM_CLI_TELEMETRY": "0",
        }
    )
    return env


def write_env_vars(template: Template, endpoint: str, directory: Path) -> Path:
    """An ``--env-vars`` file: every function's environment exactly as the local mode gives it.

    It carries the emulation's table and bucket names and the ARN of the cursor key, which the
    list function reads from the emulation's Secrets Manager at cold start (the emulation
    creates the secret with the template's ``secrets`` value). Made per run, in a private
    temporary folder, never committed.
    """
    template.secrets = template.secrets or local_secrets(template, None)
    environments = function_environments(template, endpoint, {})
    declared = {
        name: {k: v for k, v in env.items() if k not in LOCAL_CREDENTIALS} for name, env in environments.items()
    }
    path = directory / "env.json"
    path.write_text(json.dumps(declared, indent=2))
    path.chmod(0o600)
    return path


def sam_local_args(command: str, template: Template, endpoint: str, env_file: Path) -> list[str]:
    overrides = [f"EndpointUrl={endpoint}"]
    if "AuthMode" in template.parameters:
        overrides.append(f"AuthMode={template.parameters['AuthMode']}")
    return [
        str(SAM),
        "local",
        command,
        "--template",
        str(BUILT_TEMPLATE),
        "--invoke-image",
        IMAGE,
        "--skip-pull-image",
        "--parameter-overrides",
        " ".join(overrides),
        "--env-vars",
        str(env_file),
    ]


@contextmanager
def emulation_for_containers(template: Template, endpoint: str | None, port: int = 0) -> Iterator[str]:
    """The endpoint of a running emulation the containers can reach: the given one, or a new one."""
    if endpoint:
        host = endpoint.split("://", 1)[-1].split(":", 1)[0].split("/", 1)[0]
        if host in {"127.0.0.1", "localhost", "::1"}:
            raise SystemExit(f"sam-local: {endpoint} is this machine's loopback, which containers cannot reach")
        yield endpoint
        return
    emulation = AwsEmulation(template, host=bridge_gateway(), port=port).start()
    try:
        yield emulation.endpoint_url
    finally:
        emulation.stop()


# -- make sam-invoke ----------------------------------------------------------------------


def invoke(args: argparse.Namespace) -> int:
    """``sam local invoke``: one event, one function, the response on stdout (as ``make invoke``)."""
    ensure_image()
    ensure_build()
    template = Template(TEMPLATE_PATH)  # the template's defaults, as `make invoke` uses them
    with (
        emulation_for_containers(template, args.endpoint or os.environ.get("AWS_ENDPOINT_URL")) as endpoint,
        tempfile.TemporaryDirectory(prefix="sam-local.") as scratch,
    ):
        env_file = write_env_vars(template, endpoint, Path(scratch))
        command = [*sam_local_args("invoke", template, endpoint, env_file), args.function, "--event", args.event]
        started = time.monotonic()
        result = subprocess.run(
            command, cwd=ROOT, env=sam_environment(endpoint), stdout=subprocess.PIPE, text=True, check=False
        )
        took = time.monotonic() - started
        # The response alone on stdout, on a line of its own (the SAM CLI ends it with no newline).
        print(result.stdout.strip(), flush=True)
        say(f"sam local invoke {args.function}: {describe(result.stdout)} in {took:.1f} s")
        return result.returncode


def describe(response: str) -> str:
    """``status 201`` for an API Gateway response, else what the function answered."""
    try:
        payload = json.loads(response.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "no response"
    if isinstance(payload, dict) and "statusCode" in payload:
        return f"status {payload['statusCode']}"
    if isinstance(payload, dict) and "errorType" in payload:
        return f"error {payload['errorType']}"
    return "a response that is not an HTTP one"


# -- make sam-api -------------------------------------------------------------------------


def answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout):  # noqa: S310 - our own loopback server
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the API is up
    except OSError:
        return False


class SamServer:
    """One long-running ``sam local start-*`` in a session of its own: it gets exactly one SIGINT
    from here, however this process was stopped, and then removes its warm containers."""

    def __init__(self, command: list[str], endpoint: str) -> None:
        self.name = " ".join(command[1:3])
        self.process = subprocess.Popen(command, cwd=ROOT, env=sam_environment(endpoint), start_new_session=True)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if not self.running():
            return
        say(f"stopping sam {self.name} ...")
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class StartLambdaPool:
    """What the local mode's S3 event relay needs of a function (``invoke``, ``spec``), served by
    ``sam local start-lambda``: the S3 events ``make serve`` delivers reach a Lambda-like container."""

    def __init__(self, spec: FunctionSpec, lambda_endpoint: str) -> None:
        self.spec = spec
        self._client = boto3.client(
            "lambda",
            endpoint_url=lambda_endpoint,
            region_name=REGION,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            config=Config(read_timeout=spec.timeout + 60, retries={"max_attempts": 1}),
        )

    def invoke(self, event: dict[str, Any]) -> Any:
        response = self._client.invoke(FunctionName=self.spec.logical_id, Payload=json.dumps(event).encode())
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            raise FunctionError(payload.decode(errors="replace")[:500])
        return json.loads(payload or b"null")


def read_secrets(path: str | None, template: Template) -> dict[str, str]:
    """The secrets' values: from ``path`` (JSON by logical id) when a caller must know them, else new."""
    return json.loads(Path(path).read_text()) if path else local_secrets(template, None)


def api(args: argparse.Namespace) -> int:
    """``sam local start-api`` (warm containers) on 127.0.0.1:PORT until Ctrl-C, and the template's
    S3 events delivered through ``sam local start-lambda``, as ``make serve`` delivers them."""
    if os.environ.get("AUTH_MODE", "none") != "none":
        say("sam local start-api does not run Cognito authorizers: make sam-api serves the open mode (AuthMode=none)")
        return 2
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    ensure_image()
    ensure_build()
    # Like `make serve`: the open mode, so the same requests work against both.
    template = Template(TEMPLATE_PATH, parameters={"AuthMode": "none"})
    template.secrets = read_secrets(args.secrets_file, template)
    url = f"http://127.0.0.1:{args.port}"
    servers: list[SamServer] = []
    relay: S3EventRelay | None = None
    before = set(lambda_containers())
    with (
        emulation_for_containers(template, None, args.aws_port) as endpoint,
        tempfile.TemporaryDirectory(prefix="sam-local.") as scratch,
    ):
        print(f"AWS emulation (moto): {endpoint}", file=sys.stderr, flush=True)
        env_file = write_env_vars(template, endpoint, Path(scratch))
        started = time.monotonic()
        try:
            servers.append(
                SamServer(
                    [
                        *sam_local_args("start-api", template, endpoint, env_file),
                        *("--host", "127.0.0.1", "--port", str(args.port), "--warm-containers", "EAGER"),
                        # The open mode has no authorizer; and the SAM CLI cannot parse the Fn::If that
                        # switches the Cognito one (securityDefinitions), so it must not try.
                        "--disable-authorizer",
                    ],
                    endpoint,
                )
            )
            subscribed = [spec for spec in template.functions() if spec.s3_triggers]
            lambda_url = f"http://127.0.0.1:{free_port('127.0.0.1')}"
            if subscribed:
                servers.append(
                    SamServer(
                        [
                            *sam_local_args("start-lambda", template, endpoint, env_file),
                            *("--host", "127.0.0.1", "--port", lambda_url.rsplit(":", 1)[1]),
                            *("--warm-containers", "LAZY", *(spec.logical_id for spec in subscribed)),
                        ],
                        endpoint,
                    )
                )
            ready = False
            while not stop.is_set() and all(server.running() for server in servers):
                if not ready and answers(f"{url}/images") and (not subscribed or answers(lambda_url)):
                    ready = True
                    subscriptions = [
                        (trigger, StartLambdaPool(spec, lambda_url))
                        for spec in subscribed
                        for trigger in spec.s3_triggers
                    ]
                    relay = S3EventRelay(AwsEmulation(template, *host_port(endpoint)).clients()[1], subscriptions)
                    relay.start()
                    took = time.monotonic() - started
                    print(f"Image service API (sam local start-api): {url}   ready in {took:.1f} s (Ctrl-C stops it)")
                    sys.stdout.flush()
                stop.wait(0.2)
        finally:
            if relay is not None:
                relay.stop()
            for server in servers:
                server.stop()
            leftovers = sorted(set(lambda_containers()) - before)  # only this run's, never a user's other ones
            if leftovers:
                say(f"removing containers sam left behind: {' '.join(leftovers)}")
                subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True, check=False)
    crashed = [server.name for server in servers if server.process.returncode not in (0, None) and not stop.is_set()]
    if crashed:
        say(f"{', '.join(crashed)} stopped by itself")
        return 1
    return 0


def host_port(endpoint: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(endpoint)
    return parts.hostname or "", parts.port or 80


def lambda_containers() -> list[str]:
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", LAMBDA_CONTAINERS], capture_output=True, text=True, check=False
    )
    return listed.stdout.split()


# -- make test-sam-local ------------------------------------------------------------------


def make(*args: str, env: dict[str, str] | None = None, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    command = [os.environ.get("MAKE", "make"), "--no-print-directory", *args]
    return subprocess.run(command, cwd=ROOT, env=env, text=True, check=False, **kwargs)


def start_sam_api(port: int, aws_port: int, secrets_file: Path, log: Path) -> subprocess.Popen[bytes]:
    """``make sam-api``, its output (every container's log too) to ``log``: shown only if something fails."""
    with log.open("wb") as output:
        return subprocess.Popen(
            [os.environ.get("MAKE", "make"), "--no-print-directory", "sam-api", f"PORT={port}", f"AWS_PORT={aws_port}"],
            cwd=ROOT,
            env={**os.environ, "SAM_LOCAL_SECRETS_FILE": str(secrets_file)},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, so a Ctrl-C can be sent to it alone
        )


def ctrl_c(server: subprocess.Popen[bytes], timeout: float = 120) -> bool:
    """What Ctrl-C in its terminal does: SIGINT to the whole process group. False if it hangs."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        return False
    return True


def test(args: argparse.Namespace) -> int:
    """``make test-sam-local``: the e2e suite against ``make sam-api``, the events through both paths."""
    failures: list[str] = []
    figures: dict[str, str] = {}
    before = set(lambda_containers())

    started = time.monotonic()
    if make("lambda-image").returncode != 0:
        say("make lambda-image failed")
        return 1
    figures["make lambda-image"] = f"{time.monotonic() - started:.1f} s"
    ensure_build()

    port, aws_port = free_port("127.0.0.1"), free_port(bridge_gateway())
    url, endpoint = f"http://127.0.0.1:{port}", f"http://{bridge_gateway()}:{aws_port}"
    scratch = Path(tempfile.mkdtemp(prefix="sam-local-test."))
    # The suite forges and re-signs next_tokens, so it must know the key the functions use.
    secrets_file = scratch / "secrets.json"
    secrets_file.write_text(json.dumps(local_secrets(Template(TEMPLATE_PATH), None)))
    secrets_file.chmod(0o600)
    started = time.monotonic()
    log = scratch / "sam-api.log"
    server = start_sam_api(port, aws_port, secrets_file, log)
    try:
        while not answers(f"{url}/images"):
            if server.poll() is not None or time.monotonic() - started > 180:
                say("make sam-api did not come up")
                return 1
            time.sleep(0.1)
        figures["make sam-api: first answer after"] = f"{time.monotonic() - started:.1f} s"
        figures.update(measure_latency(url))
        env = {
            **os.environ,
            "E2E_BASE_URL": url,
            "E2E_AWS_ENDPOINT": endpoint,
            "E2E_SECRETS_FILE": str(secrets_file),
            "SAM_LOCAL_TESTS": "1",
        }
        suite = [str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "-q", "tests/e2e", "tests/sam_local"]
        if subprocess.run([*suite, *args.pytest_args], cwd=ROOT, env=env, check=False).returncode != 0:
            failures.append("pytest (the e2e suite against make sam-api, the events through both paths)")
    finally:
        stopping = time.monotonic()
        if not ctrl_c(server):
            failures.append("make sam-api did not stop within 120 s of Ctrl-C")
        figures["make sam-api: stop after Ctrl-C"] = f"{time.monotonic() - stopping:.1f} s"
        lines = log.read_text(errors="replace").splitlines()
        print(f"--- make sam-api output ({len(lines)} lines; the last 40) ---")
        print("\n".join(lines[-40:]))
        shutil.rmtree(scratch, ignore_errors=True)

    left = set(lambda_containers()) - before
    if left:
        failures.append(f"make sam-api left containers behind: {sorted(left)}")
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True, check=False)
    with socket.socket() as probe:
        if probe.connect_ex((bridge_gateway(), aws_port)) == 0:
            failures.append(f"the AWS emulation still answers on {endpoint} after make sam-api stopped")
    return report(figures, failures)


def report(figures: dict[str, str], failures: list[str]) -> int:
    print("\nsam local (Docker path), measured:")
    for name, value in figures.items():
        print(f"  {name:40} {value}")
    for failure in failures:
        print(f"FAILED: {failure}")
    print("test-sam-local: " + ("FAILED" if failures else "passed: Docker path run, no container left"))
    return 1 if failures else 0


def measure_latency(url: str, requests_count: int = 30) -> dict[str, str]:
    """Warm request latency of the running API (every container is warm: EAGER)."""
    timings = []
    for _ in range(requests_count):
        started = time.monotonic()
        answers(f"{url}/images?user_id=latency-probe", timeout=30)
        timings.append((time.monotonic() - started) * 1000)
    first, warm = timings[0], sorted(timings[1:])
    return {
        "GET /images: first request": f"{first:.0f} ms",
        f"GET /images: warm median of {len(warm)}": f"{statistics.median(warm):.0f} ms",
        "GET /images: warm p90": f"{warm[int(len(warm) * 0.9) - 1]:.0f} ms",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/sam_local.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    api_parser = commands.add_parser("api", help="sam local start-api (warm containers) until Ctrl-C")
    api_parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "3000")))
    api_parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_PORT", "0")))
    api_parser.add_argument(
        "--secrets-file",
        default=os.environ.get("SAM_LOCAL_SECRETS_FILE") or None,
        help="JSON {secret logical id: value}, for a caller that must know them (default: new random values)",
    )
    api_parser.set_defaults(run=api)

    invoke_parser = commands.add_parser("invoke", help="sam local invoke FUNCTION with EVENT")
    invoke_parser.add_argument("function")
    invoke_parser.add_argument("event")
    invoke_parser.add_argument("--endpoint", help="a running AWS emulation the containers can reach")
    invoke_parser.set_defaults(run=invoke)

    test_parser = commands.add_parser("test", help="the e2e suite against sam-api, the events through both paths")
    test_parser.add_argument("pytest_args", nargs="*", help="passed to pytest (e.g. -k walk)")
    test_parser.set_defaults(run=test)

    args = parser.parse_args(argv)
    if shutil.which("docker") is None:
        say("no docker command: run this through scripts/with_docker.py (the make targets do)")
        return 1
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
