"""The local mode's first answer: from ``make serve`` starting to the first ``200`` of a listing.

The clock runs from the moment ``make serve PORT=<free port>`` is started as a process to the first
``200`` of ``GET /images?user_id=alice``, polled over loopback; it covers the imports, the AWS
emulation's start (tables, bucket, secret, the functions' roles), the gateway and the list
function's cold start. One figure on a shared machine is noise: the bench reports the median of
several fresh starts, and ``--against DIR`` interleaves another checkout's ``make serve`` (another
worktree, e.g. main's) round by round, so both see the same load.

    python -m bench.first_answer [--rounds 9] [--against ../main]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import harness

TARGET_S = 1.5  # issue 16 and 18: make serve answers within 1.5 s
ROUNDS = 7
PATH = "/images?user_id=alice"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _answers(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", PATH)
        response = connection.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) used so far by ``root`` and every live process below it."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        total += times.get(pid, 0.0)
        pending += [child for child, parent in parents.items() if parent == pid]
    return total


def once(checkout: Path = harness.ROOT, timeout: float = 60.0) -> tuple[float, float]:
    """(seconds, CPU seconds) from starting ``make serve`` in ``checkout`` to its first 200 of a
    listing. The CPU time of every process it started (server, AWS emulation, function worker)
    depends far less on other work on the machine than the wall-clock time does."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("STATE_DIR", "PORT", "AWS_PORT", "MAKEFLAGS", "MFLAGS")}
    env.pop("AWS_ENDPOINT_URL", None)
    started = time.perf_counter()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "-s", "-C", str(checkout), "serve", f"PORT={port}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        while not _answers(port):
            if process.poll() is not None or time.perf_counter() - started > timeout:
                raise RuntimeError(f"make serve in {checkout} never answered 200")
            time.sleep(0.005)
        elapsed = time.perf_counter() - started
        return elapsed, _tree_cpu_s(process.pid) if Path("/proc/self/stat").exists() else float("nan")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run(rounds: int = ROUNDS, against: Path | None = None) -> dict[str, Any]:
    """The median of ``rounds`` fresh starts (and of ``against``'s, interleaved), with the verdict."""
    checkouts = {"this checkout": harness.ROOT, **({"against": against} if against else {})}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in checkouts}
    for _ in range(rounds):
        for name, checkout in checkouts.items():
            runs[name].append(once(checkout))
    result: dict[str, Any] = {
        "command": "make serve PORT=<free>",
        "path": PATH,
        "rounds": rounds,
        **_summary(runs["this checkout"]),
        "target_s": TARGET_S,
        "load_average": harness.load_average(),
    }
    result["meets_target"] = result["median_s"] <= TARGET_S
    if against:
        result["against"] = {"checkout": against.name, **_summary(runs["against"])}
    return result


def _summary(runs: list[tuple[float, float]]) -> dict[str, Any]:
    seconds, cpu = [wall for wall, _ in runs], [used for _, used in runs]
    return {
        "seconds": [round(value, 3) for value in seconds],
        "median_s": round(statistics.median(seconds), 3),
        "min_s": round(min(seconds), 3),
        "cpu_median_s": round(statistics.median(cpu), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.first_answer", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--against", type=Path, help="another checkout, measured in the same rounds")
    args = parser.parse_args(argv)
    result = run(args.rounds, args.against)
    verdict = "met" if result["meets_target"] else "missed"
    print(
        f"first answer: median {result['median_s']} s of {args.rounds} (min {result['min_s']} s, CPU "
        f"{result['cpu_median_s']} s), target <= {TARGET_S} s: {verdict}; {result['seconds']}"
    )
    if args.against:
        other = result["against"]
        print(
            f"{args.against}: median {other['median_s']} s (min {other['min_s']} s, CPU {other['cpu_median_s']} s); "
            f"{other['seconds']}"
        )
    print(f"load average: {result['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
