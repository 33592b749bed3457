"""The AWS emulation: a moto server on this machine with the template's tables and bucket.

moto keeps its state in memory, in a process of its own; ``persistence.py`` saves it to a state directory
as it changes, when the user asks for one.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from . import moto_process
from .iam import RoleSpec, create_roles, function_roles, iam_enforced
from .resources import create_buckets, create_secrets, create_tables
from .template import REGION, Template

logger = logging.getLogger("localapi")

# moto accepts any credentials; these make clear that nothing here is real.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local-secret"}
# The services the local mode's own start calls (the S3 event relay's queue is in SQS).
ADMIN_SERVICES = ("dynamodb", "s3", "secretsmanager", "iam", "sts", "sqs")


class AwsEmulation:
    """A moto server in its own process (so each emulation has its own state), plus admin clients."""

    def __init__(self, template: Template, host: str = "127.0.0.1", port: int = 0, iam: bool | None = None) -> None:
        self.template = template
        self.host = host
        # IAM enforcement (on unless LOCAL_IAM=off): each function's credentials, by logical id.
        self.iam = iam_enforced() if iam is None else iam
        port, self._early = moto_process.claim(host, port, self.iam)  # started by `serve` before its imports
        self.port = port or free_port(host)
        self._process: subprocess.Popen[bytes] | None = None
        self.function_credentials: dict[str, dict[str, str]] = {}
        # boto3's sessions are not thread-safe: clients are made under a lock, from this one.
        self._session = boto3.session.Session()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0, functions_ready: Callable[[], None] | None = None) -> AwsEmulation:
        """Start moto, create the template's resources and the functions' roles.

        ``functions_ready`` is called as soon as what a function's init needs exists (its role and
        the secrets it reads at cold start), while the tables and buckets are still being made:
        a worker can do its init meanwhile (nothing is served before this returns)."""
        self._process, self._early = self._early or moto_process.spawn(self.host, self.port, self.iam), None
        # SAM's translation of the template runs while moto starts (it costs an import of the translator).
        translation = _Background(function_roles, self.template)
        if self.iam:
            translation.start()
        # So do the admin clients: loading their service models is most of a client's cost.
        for service in ADMIN_SERVICES:
            if self.iam or service not in ("iam", "sts"):
                self.client(service)
        self._wait_until_up(timeout)
        # What a function's init needs comes first: its role and the secrets. Independent calls
        # overlap (moto applies them one at a time, but each side prepares its next call while
        # another waits).
        secrets = _Background(create_secrets, self.template, self.client("secretsmanager"))
        secrets.start()
        if self.iam:
            roles: list[RoleSpec] = translation.result()
            self.function_credentials = create_roles(roles, *self.iam_clients(), self.template)
        secrets.result()
        # The tables and buckets are made while a worker started in advance does its init.
        tables = _Background(create_tables, self.template, self.client("dynamodb"))
        buckets = _Background(create_buckets, self.template, self.client("s3"))
        for task in (tables, buckets):
            task.start()
        if functions_ready is not None:
            functions_ready()
        tables.result()
        buckets.result()
        return self

    def _wait_until_up(self, timeout: float) -> None:
        assert self._process is not None
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint_url}/moto-api/data.json", timeout=1):  # noqa: S310
                    return
            except OSError:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"the AWS emulation did not start on {self.endpoint_url}") from None
                time.sleep(0.02)

    def credentials_for(self, logical_id: str) -> dict[str, str]:
        """The credentials a function's worker gets: its role's session, or the developer's (IAM off)."""
        return self.function_credentials.get(logical_id, LOCAL_CREDENTIALS)

    def stop(self) -> None:
        if self._process is None and self._early is not None:  # claimed, never started
            self._process, self._early = self._early, None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def clients(self) -> tuple[Any, Any]:
        return self.client("dynamodb"), self.client("s3")

    def iam_clients(self) -> tuple[Any, Any]:
        return self.client("iam"), self.client("sts")

    def client(self, service: str) -> Any:
        """An admin client of the emulation with the developer's credentials: not a function's role,
        so nothing it does is refused. One per service, shared (boto3's clients are thread-safe)."""
        with self._clients_lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service,
                    region_name=REGION,
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
                )
            return self._clients[service]


class _Background(threading.Thread):
    """A call in a thread whose result (or exception) ``result()`` hands back."""

    def __init__(self, function: Any, *args: Any) -> None:
        super().__init__(daemon=True)
        self._call = lambda: function(*args)
        self._value: Any = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> Any:
        self.join()
        if self._error is not None:
            raise self._error
        return self._value


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def local_secrets(template: Template, state_dir: Path | None) -> dict[str, str]:
    """Values for the template's Secrets Manager secrets: random, kept in the state dir if any."""
    stored: dict[str, str] = {}
    path = state_dir / "secrets.json" if state_dir else None
    if path and path.exists():
        stored = json.loads(path.read_text())
    values = {logical_id: stored.get(logical_id) or secrets.token_urlsafe(36) for logical_id in template.secret_ids()}
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
        path.chmod(0o600)
    return values
