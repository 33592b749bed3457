"""Run the template's functions like Lambda does: warm worker processes, one request at a time each.

Each function gets a pool of worker processes (``worker.py``). A worker imports the handler once
(the cold start, logged with its init time) and then serves requests while warm. Concurrent
requests get more workers, up to a limit. A request that runs past the function's ``Timeout``
has its worker killed, as Lambda does; the next request starts a new one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .template import REGION, FunctionSpec
from .worker import SERVER_TIMING

logger = logging.getLogger("localapi")
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)


def _through_newline(unread: bytes) -> int:
    return unread.find(b"\n") + 1 or -1


class FunctionTimeout(Exception):
    pass


class FunctionError(Exception):
    """The handler raised, failed to import, or returned something Lambda cannot serialise."""

    def __init__(self, error_type: str = "error", message: str = "") -> None:
        super().__init__(error_type)
        self.error_type = error_type
        self.message = message


@dataclass
class InvokeResult:
    payload: Any
    cold_start: bool
    init_ms: float | None
    duration_ms: float
    timing: dict[str, float] | None = None  # the handler's and its AWS calls' ms (LOCALAPI_SERVER_TIMING)


class _Worker:
    """One worker process. It starts with Lambda's runtime variables only, imports boto3, and waits
    for the function's own environment (``configure``): its role's credentials exist only once the
    AWS emulation is up, and a worker started in advance need not wait for them to do its imports."""

    def __init__(self, spec: FunctionSpec) -> None:
        python_path = [str(spec.code_dir), *(str(layer) for layer in spec.layer_dirs), _PACKAGE_ROOT]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            "PYTHONPATH": os.pathsep.join(python_path),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout),
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            **({SERVER_TIMING: "1"} if os.environ.get(SERVER_TIMING) else {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "localapi.worker", spec.handler],
            cwd=spec.code_dir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C stops the server, which then stops its workers
        )
        self.configured = False
        self.init_ms: float | None = None
        self.served = 0
        assert self.process.stdout is not None
        self._reply_fd = self.process.stdout.fileno()  # the worker's replies, read by ``_read_reply``
        self._unread = b""

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        self.process.stdin.flush()

    def configure(self, environment: dict[str, str]) -> None:
        """The function's environment (its variables and credentials): the worker imports the handler now."""
        with contextlib.suppress(OSError):  # the process is gone: its first invocation says so
            self._send(json.dumps({"environment": environment}))
        self.configured = True

    def _read_reply(self, timeout: float) -> dict[str, Any]:
        """The worker's next reply (worker.reply), read by the invoking thread itself: a reader
        thread handing lines over through a queue cost a thread switch (~0.1 ms) on every invocation."""
        deadline = time.monotonic() + timeout
        message: dict[str, Any] = json.loads(self._read_until(_through_newline, deadline))
        size = message.pop("body_bytes", None)
        if size is not None:  # the result's body, beside its JSON
            body = self._read_until(lambda unread: size if len(unread) >= size else -1, deadline).decode()
            items = list(message["result"].items())
            items.insert(message.pop("body_at"), ("body", body))
            message["result"] = dict(items)
        return message

    def _read_until(self, end_of: Callable[[bytes], int], deadline: float) -> bytes:
        """The worker's next bytes, up to where ``end_of`` finds the end of what is read (-1: not yet)."""
        while (end := end_of(self._unread)) < 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self._reply_fd], [], [], remaining)[0]:
                raise FunctionTimeout
            chunk = os.read(self._reply_fd, 1 << 20)
            if not chunk:
                raise FunctionError("Runtime.ExitError", "the function's process exited")
            self._unread += chunk
        taken, self._unread = self._unread[:end], self._unread[end:]
        return taken

    def invoke(self, event_json: str, request_id: str, timeout: float) -> tuple[Any, bool, Any]:
        deadline = time.monotonic() + timeout
        cold = self.served == 0
        if self.init_ms is None:
            ready = self._read_reply(timeout)  # the init phase counts against the timeout here
            self.init_ms = ready["init_ms"]
        head = json.dumps({"request_id": request_id, "deadline_ms": time.time() * 1000 + timeout * 1000})
        self._send(f'{head[:-1]}, "event": {event_json}}}')  # the event's JSON as given, not made again
        reply = self._read_reply(max(0.0, deadline - time.monotonic()))
        self.served += 1
        if not reply.get("ok"):
            raise FunctionError(reply.get("errorType", "error"), reply.get("errorMessage", ""))
        return reply["result"], cold, reply.get("timing")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


class FunctionPool:
    """Warm workers for one function. Thread-safe.

    Without ``environment`` the pool waits for ``configure`` before it invokes anything; a worker
    can be started before that (``prestart``), as ``sam local start-api --warm-containers EAGER``
    starts containers: it does its imports while the local mode starts."""

    def __init__(self, spec: FunctionSpec, environment: dict[str, str] | None = None, max_workers: int = 4) -> None:
        self.spec = spec
        self._environment = environment
        self._idle: list[_Worker] = []
        self._busy = 0
        self._max = max_workers
        self._lock = threading.Condition()
        self.invocations = 0  # finished ones, failed included: the STATE_DIR saver watches it

    def configure(self, environment: dict[str, str]) -> None:
        """The function's environment; workers started in advance get it now."""
        with self._lock:
            self._environment = environment
            for worker in self._idle:
                if not worker.configured:
                    worker.configure(environment)
            self._lock.notify_all()

    def prestart(self) -> None:
        """One worker started now, idle until the first invocation (configured when the pool is)."""
        worker = _Worker(self.spec)
        with self._lock:
            if self._environment is not None:
                worker.configure(self._environment)
            self._idle.append(worker)

    def _acquire(self) -> _Worker:
        with self._lock:
            while self._environment is None or (not self._idle and self._busy >= self._max):
                self._lock.wait()
            self._busy += 1
            if self._idle:
                return self._idle.pop()
            environment = self._environment
        try:
            worker = _Worker(self.spec)
            worker.configure(environment)
            return worker
        except Exception:
            with self._lock:
                self._busy -= 1
                self._lock.notify()
            raise

    def _release(self, worker: _Worker | None) -> None:
        with self._lock:
            self.invocations += 1
            self._busy -= 1
            if worker is not None:
                self._idle.append(worker)
            self._lock.notify()

    def invoke(
        self, event: dict[str, Any], request_id: str | None = None, *, event_json: str | None = None
    ) -> InvokeResult:
        """Run ``event`` on a warm worker. ``event_json`` is its JSON when the caller has made it
        already (the gateway, to check Lambda's payload limit): it is sent as it is."""
        request_id = request_id or str(uuid.uuid4())
        event_json = json.dumps(event) if event_json is None else event_json
        worker = self._acquire()
        started = time.perf_counter()
        try:
            payload, cold, timing = worker.invoke(event_json, request_id, float(self.spec.timeout))
        except BaseException:
            worker.stop()  # a timed-out or broken worker is never reused
            self._release(None)
            raise
        self._release(worker)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        if cold:
            logger.info("cold start: %s init %.0f ms", self.spec.logical_id, worker.init_ms or 0)
        return InvokeResult(
            payload=payload, cold_start=cold, init_ms=worker.init_ms, duration_ms=duration_ms, timing=timing
        )

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.stop()
