"""The AWS emulation's process, started as early as ``make serve`` can start it.

moto's server takes most of a second to import (boto3, Flask, moto's core), and so does the local
mode's own side (boto3 again, the gateway). ``python -m localapi serve`` starts moto here, before
it imports anything heavy, so the two imports run side by side on two cores instead of one after
the other; ``AwsEmulation`` then claims the process instead of starting one. Standard library only:
importing this module must cost nothing.

Only the default case is started early (any free port for moto, the default host); anything else
(an explicit AWS_PORT, whose busy port ``serve`` names first) starts as before.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

PARENT = "LOCALAPI_PARENT_PID"  # as localapi.moto_server.PARENT (which imports moto)
SWITCH = "LOCAL_IAM"  # as localapi.iam.SWITCH (not imported: it imports the template's YAML parser)
_early: dict[tuple[str, bool], tuple[int, subprocess.Popen[bytes]]] = {}


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def spawn(host: str, port: int, iam: bool) -> subprocess.Popen[bytes]:
    package_root = str(Path(__file__).resolve().parent.parent)
    return subprocess.Popen(
        [sys.executable, "-m", "localapi.moto_server", host, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,  # moto logs every request; the gateway's access log is enough
        start_new_session=True,  # Ctrl-C reaches only the server, which saves the data before stopping moto
        env={**os.environ, "PYTHONPATH": package_root, SWITCH: "on" if iam else "off", PARENT: str(os.getpid())},
    )


def start_early(argv: list[str]) -> None:
    """For ``serve`` with the default host and any AWS port: start moto now (it exits with us)."""
    if not argv or argv[0] != "serve" or any(a.startswith(("--aws-port", "--host", "-h", "--help")) for a in argv):
        return
    if int(os.environ.get("AWS_PORT", "0") or 0):
        return
    iam = "--no-iam" not in argv and os.environ.get(SWITCH, "on").strip().lower() not in ("off", "0", "false", "no")
    host = "127.0.0.1"
    port = free_port(host)
    _early[(host, iam)] = (port, spawn(host, port, iam))


def claim(host: str, port: int, iam: bool) -> tuple[int, subprocess.Popen[bytes] | None]:
    """The process started early for this emulation, if it fits (any port wanted, same IAM switch):
    (its port, the process); else (``port``, None), and a process that does not fit is stopped."""
    early = _early.pop((host, iam), None) if not port else None
    for _, (_, other) in list(_early.items()):
        other.terminate()
    _early.clear()
    if early is None:
        return port, None
    return early
