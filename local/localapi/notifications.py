"""S3 event notifications for the local mode, delivered as S3 and Lambda deliver them.

moto stores objects but invokes no function, so the local mode taps moto's own notifications: the
template's ``S3`` events become a bucket notification to a queue in the emulation, which sees
every write (PUT, POST form, copy, multipart), including an overwrite with the same bytes and an
object deleted right after. The relay reads that queue and hands each record to the function as
an ``ObjectCreated`` event through ``AsyncInvoker``, Lambda's asynchronous invocation:

- asynchronous: the writer never waits for the function;
- possibly concurrent and at least once: ``LOCALAPI_S3_CONCURRENCY`` deliveries run at once (1 by
  default) and ``LOCALAPI_S3_DUPLICATE=1`` delivers every event twice, both copies at the same time
  when the concurrency allows (the tests that check idempotency turn these on);
- retried as Lambda retries: two more attempts after a failure, after Lambda's delays (one and two
  minutes; ``LOCALAPI_ASYNC_RETRY_DELAYS=0.1,0.2`` shortens them);
- never lost: an event that fails every attempt is logged and kept in ``failed`` (Lambda would drop
  it or send it to a dead-letter queue), and stopping first delivers what is still queued.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote_plus, unquote_plus

import boto3

from .aws_backend import LOCAL_CREDENTIALS
from .template import REGION, S3Trigger

logger = logging.getLogger("localapi")
ASYNC_RETRIES = 2
LAMBDA_RETRY_DELAYS = (60.0, 120.0)  # Lambda waits about one, then two minutes between attempts
EVENTS_QUEUE = "localapi-s3-events"


class Invocable(Protocol):
    """What delivery needs of a function: a FunctionPool, or a stand-in (sam local start-lambda)."""

    spec: Any

    def invoke(self, event: dict[str, Any]) -> Any: ...


def _env_delays() -> tuple[float, ...]:
    text = os.environ.get("LOCALAPI_ASYNC_RETRY_DELAYS", "")
    delays = tuple(float(part) for part in text.split(",") if part.strip()) if text else LAMBDA_RETRY_DELAYS
    return (delays + delays[-1:] * ASYNC_RETRIES)[:ASYNC_RETRIES]


def object_created_event(
    bucket: str, key: str, size: int, etag: str, configuration: str, event_name: str = "ObjectCreated:Post"
) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "eventName": event_name,
                "userIdentity": {"principalId": "AWS:LOCAL"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": "LOCAL", "x-amz-id-2": "LOCAL"},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration,
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCAL"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    # S3 URL-encodes keys in events (spaces as "+").
                    "object": {
                        "key": quote_plus(key, safe="/"),
                        "size": size,
                        "eTag": etag,
                        "sequencer": f"{int(now.timestamp() * 1e6):X}",
                    },
                },
            }
        ]
    }


@dataclass(order=True)
class _Delivery:
    due: float
    sequence: int
    pool: Invocable = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    label: str = field(compare=False)
    attempt: int = field(default=0, compare=False)


class AsyncInvoker:
    """Lambda's asynchronous invocation for local functions: queued, retried, never lost."""

    def __init__(
        self,
        *,
        concurrency: int | None = None,
        duplicate: bool | None = None,
        retry_delays: tuple[float, ...] | None = None,
    ) -> None:
        env_concurrency = int(os.environ.get("LOCALAPI_S3_CONCURRENCY") or "1")
        self.concurrency = max(1, concurrency if concurrency is not None else env_concurrency)
        self.duplicate = duplicate if duplicate is not None else os.environ.get("LOCALAPI_S3_DUPLICATE") == "1"
        self.retry_delays = retry_delays if retry_delays is not None else _env_delays()
        self.stats = {"submitted": 0, "attempts": 0, "succeeded": 0, "retried": 0, "failed": 0}
        self.failed: list[dict[str, Any]] = []  # events that failed every attempt (a dead-letter queue)
        self._heap: list[_Delivery] = []
        self._running = 0
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._work, daemon=True, name=f"async-invoke-{n}") for n in range(self.concurrency)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, pool: Invocable, event: dict[str, Any], label: str = "") -> None:
        copies = 2 if self.duplicate else 1  # at least once: the same event, twice, at the same moment
        with self._condition:
            now = time.monotonic()
            for _ in range(copies):
                heapq.heappush(self._heap, _Delivery(now, next(self._sequence), pool, event, label))
            self.stats["submitted"] += copies
            self._condition.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued, waiting for a retry, or running; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._heap or self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
        return True

    def stop(self, drain_timeout: float = 30.0) -> None:
        """Deliver what is left first (a retry still waiting is made due now), then stop."""
        with self._condition:
            for delivery in self._heap:
                delivery.due = 0.0
            heapq.heapify(self._heap)
            self._condition.notify_all()
        if not self.wait_idle(drain_timeout):
            logger.error("stopping with %d event(s) undelivered", len(self._heap) + self._running)
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def _next(self) -> _Delivery | None:
        with self._condition:
            while True:
                if self._stopping:
                    return None
                now = time.monotonic()
                if self._heap and self._heap[0].due <= now:
                    self._running += 1
                    return heapq.heappop(self._heap)
                self._condition.wait(self._heap[0].due - now if self._heap else None)

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            name = getattr(delivery.pool.spec, "logical_id", "function")
            try:
                delivery.pool.invoke(delivery.event)
                outcome = "succeeded"
                logger.info("async event %s -> %s", delivery.label, name)
                requeue = False
            except Exception as exc:  # a failed delivery of any kind is retried, never lost
                requeue = delivery.attempt < len(self.retry_delays)
                outcome = "retried" if requeue else "failed"
                logger.warning(
                    "async event %s -> %s failed (attempt %d): %s", delivery.label, name, delivery.attempt + 1, exc
                )
                if not requeue:
                    self.failed.append(delivery.event)
                    logger.error(
                        "async event %s -> %s failed %d times; kept in failed",
                        delivery.label,
                        name,
                        delivery.attempt + 1,
                    )
            with self._condition:
                self._running -= 1
                self.stats["attempts"] += 1
                self.stats[outcome] += 1
                if requeue:
                    delivery.due = time.monotonic() + self.retry_delays[delivery.attempt]
                    delivery.attempt += 1
                    heapq.heappush(self._heap, delivery)
                self._condition.notify_all()


class S3EventRelay:
    """The template's S3 subscriptions, fed from moto's notifications to a queue in the emulation."""

    def __init__(
        self,
        s3_client: Any,
        subscriptions: list[tuple[S3Trigger, Invocable]],
        interval: float = 0.2,
        invoker: AsyncInvoker | None = None,
        sqs_client: Any = None,
    ) -> None:
        self._s3 = s3_client
        self._subscriptions = subscriptions
        self._interval = interval
        self._invoker = invoker
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="s3-events")
        self._sqs: Any = sqs_client  # else one is made for the S3 client's endpoint
        self._queue_url = ""

    @property
    def invoker(self) -> AsyncInvoker:
        if self._invoker is None:
            self._invoker = AsyncInvoker()
        return self._invoker

    def start(self) -> S3EventRelay:
        if self._subscriptions:
            self._subscribe()
            self.invoker  # noqa: B018 - its delivery threads start now
            self._thread.start()
        return self

    def _subscribe(self) -> None:
        """A queue, and each bucket's notification configuration pointing the template's prefixes at it."""
        if self._sqs is None:
            self._sqs = boto3.client(
                "sqs",
                region_name=REGION,
                endpoint_url=self._s3.meta.endpoint_url,
                aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )
        self._queue_url = self._sqs.create_queue(QueueName=EVENTS_QUEUE)["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        by_bucket: dict[str, list[dict[str, Any]]] = {}
        for index, (trigger, _) in enumerate(self._subscriptions):
            by_bucket.setdefault(trigger.bucket, []).append(
                {
                    "Id": f"local-{index}",
                    "QueueArn": queue_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": trigger.prefix}]}},
                }
            )
        for bucket, configurations in by_bucket.items():
            self._s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configurations}
            )

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
            self._poll()  # what was written just before stopping
        if self._invoker is not None:
            self._invoker.stop()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._poll()
            except Exception:  # the emulation may be stopping; try again next round
                logger.debug("S3 event relay round failed", exc_info=True)

    def _poll(self) -> None:
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                self._dispatch(json.loads(message["Body"]))
            # Handed to the invoker (which retries and keeps failures): done with the queue.
            self._sqs.delete_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
            )

    def _dispatch(self, body: dict[str, Any]) -> None:
        for record in body.get("Records", []):  # an s3:TestEvent has none
            name = str(record.get("eventName", ""))
            if not name.startswith("ObjectCreated:"):
                continue
            bucket = record["s3"]["bucket"]["name"]
            key = unquote_plus(record["s3"]["object"]["key"])  # moto encodes "/" too; S3 does not
            for trigger, pool in self._subscriptions:
                if trigger.bucket == bucket and key.startswith(trigger.prefix):
                    event = object_created_event(
                        bucket,
                        key,
                        int(record["s3"]["object"].get("size") or 0),
                        str(record["s3"]["object"].get("eTag", "")),
                        pool.spec.logical_id,
                        event_name=name,
                    )
                    self.invoker.submit(pool, event, key)
