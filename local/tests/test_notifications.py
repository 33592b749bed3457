"""Storage events as S3 and Lambda deliver them: every write, asynchronously, possibly twice and
concurrently (switches), retried twice after Lambda's delays, never lost. These test the delivery,
with stand-in functions; what a function does with a repeated event is its own tests' business."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from localapi.aws_backend import AwsEmulation
from localapi.functions import FunctionError
from localapi.notifications import AsyncInvoker, S3EventRelay
from localapi.template import S3Trigger, Template

FIXTURE_TEMPLATE = Path(__file__).resolve().parent / "fixture" / "template.yaml"


class FakeFunction:
    """Records each invocation; fails the first ``failures`` ones; can hold every call at a barrier."""

    def __init__(self, failures: int = 0, barrier: threading.Barrier | None = None) -> None:
        self.spec = SimpleNamespace(logical_id="Fake")
        self.calls: list[tuple[float, dict[str, Any]]] = []
        self.failures = failures
        self.barrier = barrier
        self.release = threading.Event()
        self.release.set()
        self._lock = threading.Lock()

    def invoke(self, event: dict[str, Any]) -> Any:
        with self._lock:
            self.calls.append((time.monotonic(), event))
            failing = len(self.calls) <= self.failures
        if self.barrier is not None:
            self.barrier.wait(timeout=10)  # raises BrokenBarrierError unless the copies overlap
        self.release.wait(timeout=10)
        if failing:
            raise FunctionError("RuntimeError")
        return None


EVENT = {"Records": [{"s3": {"object": {"key": "uploads/x"}}}]}


def test_delivery_is_asynchronous() -> None:
    function = FakeFunction()
    function.release.clear()
    invoker = AsyncInvoker(concurrency=1, duplicate=False, retry_delays=(0.01, 0.01))
    invoker.submit(function, EVENT, "x")  # returns while the function is still running
    assert invoker.stats["succeeded"] == 0
    function.release.set()
    assert invoker.wait_idle(10)
    assert invoker.stats["succeeded"] == 1 and len(function.calls) == 1
    invoker.stop()


def test_duplicate_switch_delivers_every_event_twice_at_the_same_time() -> None:
    function = FakeFunction(barrier=threading.Barrier(2))
    invoker = AsyncInvoker(concurrency=2, duplicate=True, retry_delays=(0.01, 0.01))
    invoker.submit(function, EVENT, "x")
    assert invoker.wait_idle(20)
    assert [event for _, event in function.calls] == [EVENT, EVENT]
    assert invoker.stats == {"submitted": 2, "attempts": 2, "succeeded": 2, "retried": 0, "failed": 0}
    invoker.stop()


def test_switches_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALAPI_S3_DUPLICATE", "1")
    monkeypatch.setenv("LOCALAPI_S3_CONCURRENCY", "3")
    monkeypatch.setenv("LOCALAPI_ASYNC_RETRY_DELAYS", "0.1,0.2")
    invoker = AsyncInvoker()
    assert (invoker.duplicate, invoker.concurrency, invoker.retry_delays) == (True, 3, (0.1, 0.2))
    invoker.stop()
    monkeypatch.delenv("LOCALAPI_ASYNC_RETRY_DELAYS")
    default = AsyncInvoker(concurrency=1, duplicate=False)
    assert default.retry_delays == (60.0, 120.0)  # Lambda's own
    default.stop()


def test_a_failing_event_is_retried_twice_after_the_delays_then_kept() -> None:
    function = FakeFunction(failures=99)
    invoker = AsyncInvoker(concurrency=1, duplicate=False, retry_delays=(0.05, 0.1))
    invoker.submit(function, EVENT, "x")
    assert invoker.wait_idle(20)
    times = [at for at, _ in function.calls]
    assert len(times) == 3  # the first attempt and Lambda's two retries
    assert times[1] - times[0] >= 0.05 and times[2] - times[1] >= 0.1
    assert invoker.failed == [EVENT]
    assert invoker.stats == {"submitted": 1, "attempts": 3, "succeeded": 0, "retried": 2, "failed": 1}
    invoker.stop()


def test_a_transient_failure_is_delivered_on_retry() -> None:
    function = FakeFunction(failures=1)
    invoker = AsyncInvoker(concurrency=1, duplicate=False, retry_delays=(0.01, 0.01))
    invoker.submit(function, EVENT, "x")
    assert invoker.wait_idle(20)
    assert invoker.stats["succeeded"] == 1 and invoker.stats["retried"] == 1 and invoker.failed == []
    invoker.stop()


def test_stopping_delivers_a_retry_that_is_still_waiting() -> None:
    function = FakeFunction(failures=1)
    invoker = AsyncInvoker(concurrency=1, duplicate=False, retry_delays=(600.0, 600.0))
    invoker.submit(function, EVENT, "x")
    for _ in range(200):
        if invoker.stats["attempts"]:
            break
        time.sleep(0.02)
    invoker.stop(drain_timeout=10)  # the retry was ten minutes away: delivered now, not lost
    assert invoker.stats["succeeded"] == 1 and len(function.calls) == 2


@pytest.fixture(scope="module")
def emulation() -> Iterator[AwsEmulation]:
    emulation = AwsEmulation(Template(FIXTURE_TEMPLATE)).start()
    yield emulation
    emulation.stop()


def delivered_keys(function: FakeFunction) -> list[str]:
    return [event["Records"][0]["s3"]["object"]["key"] for _, event in function.calls]


def test_every_write_under_the_prefix_is_delivered(emulation: AwsEmulation) -> None:
    """What a poll of the bucket missed: an overwrite with the same bytes, an object deleted at once."""
    s3 = emulation.clients()[1]
    bucket = emulation.template.bucket_names()[0]
    function = FakeFunction()
    invoker = AsyncInvoker(concurrency=1, duplicate=False, retry_delays=(0.01, 0.01))
    relay = S3EventRelay(s3, [(S3Trigger(bucket, "uploads/"), function)], invoker=invoker).start()
    try:
        s3.put_object(Bucket=bucket, Key="uploads/same", Body=b"1")
        s3.put_object(Bucket=bucket, Key="uploads/same", Body=b"1")
        s3.put_object(Bucket=bucket, Key="uploads/gone", Body=b"2")
        s3.delete_object(Bucket=bucket, Key="uploads/gone")
        s3.put_object(Bucket=bucket, Key="uploads/a b+c", Body=b"3")
        s3.copy_object(Bucket=bucket, Key="uploads/copy", CopySource={"Bucket": bucket, "Key": "uploads/same"})
        s3.put_object(Bucket=bucket, Key="elsewhere/x", Body=b"4")
        for _ in range(300):
            if len(function.calls) >= 5:
                break
            time.sleep(0.02)
    finally:
        relay.stop()
    assert delivered_keys(function) == [
        "uploads/same",
        "uploads/same",
        "uploads/gone",
        "uploads/a+b%2Bc",
        "uploads/copy",
    ]
    record = function.calls[0][1]["Records"][0]
    assert record["eventName"] == "ObjectCreated:Put" and record["s3"]["bucket"]["name"] == bucket
    assert record["s3"]["object"]["size"] == 1 and record["s3"]["configurationId"] == "Fake"
    assert function.calls[-1][1]["Records"][0]["eventName"] == "ObjectCreated:Copy"


def test_a_direct_upload_is_delivered_twice_at_once_with_the_switches_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real upload function, fed each ObjectCreated event twice at the same moment (as S3 may):
    both deliveries run and the photo appears. Whether the finaliser is idempotent in every race
    is its own tests' business; this proves the local mode really delivers that way."""
    import requests

    from localapi.app import LocalApp
    from tests.support.images import picture

    monkeypatch.setenv("LOCALAPI_S3_DUPLICATE", "1")
    monkeypatch.setenv("LOCALAPI_S3_CONCURRENCY", "2")
    app = LocalApp(port=0).start()
    try:
        invoker = app.async_invoker
        assert invoker is not None and invoker.duplicate and invoker.concurrency == 2
        started = requests.post(
            app.url + "/images/uploads", json={"user_id": "twice", "content_type": "image/png"}, timeout=30
        ).json()
        upload = started["upload"]
        posted = requests.post(
            upload["url"], data=upload["fields"], files={"file": ("p.png", picture(), "image/png")}, timeout=30
        )
        assert posted.status_code in (200, 201, 204), posted.text
        for _ in range(300):
            if invoker.stats["submitted"] == 2 and invoker.wait_idle(0.1):
                break
            time.sleep(0.05)
        assert invoker.stats["submitted"] == 2 and invoker.stats["attempts"] >= 2
        assert invoker.failed == []
        assert requests.get(f"{app.url}/images/{started['image_id']}", timeout=30).status_code == 200
    finally:
        app.stop()
