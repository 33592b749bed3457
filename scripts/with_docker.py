#!/usr/bin/env python3
"""Run a command with a Docker engine available.

    python3 scripts/with_docker.py [--or-skip] COMMAND [ARGS...]

A Docker engine that already answers (the user's) is used as it is and left alone: the command
simply runs. Where none answers and this is root on Debian (CI here), ``docker.io`` is installed if
missing and ``dockerd`` is started in the background for the duration of the command only; this
run then removes every container on that engine and stops ``dockerd`` by its process id. Where no
engine can be had the command fails, except with ``--or-skip`` outside CI (``CI=true``), where it
is skipped with a message saying so.

Standard library only: it runs before any environment exists.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0


def say(message: str) -> None:
    print(f"with_docker: {message}", file=sys.stderr, flush=True)


def docker_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        probe = subprocess.run(["docker", "info"], capture_output=True, timeout=20, check=False)
    except subprocess.TimeoutExpired:
        return False
    return probe.returncode == 0


def unavailable(reason: str, or_skip: bool) -> int:
    if or_skip and os.environ.get("CI") != "true":
        say(f"{reason}. SKIPPED: the Docker path (sam local) was not run.")
        return 0
    say(f"{reason}.")
    return 1


def install_docker() -> bool:
    say("installing docker.io ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "docker.io"]
    if subprocess.run(install, env=env, stdout=subprocess.DEVNULL, check=False).returncode == 0:
        return True
    # A machine that never ran apt-get update knows no package lists yet.
    subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
    return subprocess.run(install, env=env, stdout=subprocess.DEVNULL, check=False).returncode == 0


class OwnDockerd:
    """A dockerd this run started, in a session of its own so Ctrl-C reaches only the command."""

    def __init__(self) -> None:
        self.state = Path(tempfile.mkdtemp(prefix="with-docker."))
        self.log = (self.state / "dockerd.log").open("wb")
        self.process = subprocess.Popen(
            ["dockerd", "--pidfile", str(self.state / "dockerd.pid")],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self) -> bool:
        deadline = time.monotonic() + START_TIMEOUT
        while not docker_answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                sys.stderr.write((self.state / "dockerd.log").read_text(errors="replace")[-3000:])
                return False
            time.sleep(0.5)
        return True

    def stop(self) -> None:
        # Every container on this engine belongs to this run, since the run started the engine.
        listed = subprocess.run(["docker", "ps", "-aq"], capture_output=True, text=True, check=False)
        ids = listed.stdout.split()
        if ids:
            say(f"removing containers left behind: {' '.join(ids)}")
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            say(f"dockerd (pid {self.process.pid}) did not stop in {STOP_TIMEOUT:.0f} s; killing it")
            self.process.kill()
            self.process.wait()
        self.log.close()
        shutil.rmtree(self.state, ignore_errors=True)
        say(f"stopped dockerd (pid {self.process.pid})")


def run_command(command: list[str]) -> int:
    child = subprocess.Popen(command)

    def forward_term(signum: int, _frame: FrameType | None) -> None:
        child.send_signal(signum)

    # Ctrl-C reaches the command directly (same process group); this process only waits for the
    # command to finish its own cleanup. A TERM sent to this process alone is passed on.
    signal.signal(signal.SIGINT, lambda *_: None)
    signal.signal(signal.SIGTERM, forward_term)
    return child.wait()


def main(argv: list[str]) -> int:
    or_skip = bool(argv) and argv[0] == "--or-skip"
    command = argv[1:] if or_skip else argv
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    if docker_answers():
        os.execvp(command[0], command)  # noqa: S606 - the user's own command, as given
    if os.geteuid() != 0 or not Path("/etc/debian_version").exists():
        reason = "no Docker engine answers (start Docker, or run as root on Debian to have one started)"
        return unavailable(reason, or_skip)
    if shutil.which("dockerd") is None and not install_docker():
        return unavailable("could not install docker.io", or_skip)
    started = time.monotonic()
    engine = OwnDockerd()
    try:
        if not engine.wait_ready():
            return unavailable("dockerd did not start", or_skip)
        elapsed = time.monotonic() - started
        say(f"started dockerd (pid {engine.process.pid}) in {elapsed:.1f} s; it stops when the command ends")
        return run_command(command)
    finally:
        engine.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
