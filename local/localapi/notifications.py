"""S3 event notifications for the local mode: ``ObjectCreated`` events for the functions whose
template ``S3`` events ask for them.

moto stores objects but notifies nobody, so the local mode watches the prefixes the template
subscribes to and delivers each new object as S3 would: an ``ObjectCreated`` record, invoked
asynchronously, retried twice if the function fails (Lambda's default for asynchronous events).
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from .functions import FunctionError, FunctionPool, FunctionTimeout
from .template import REGION, S3Trigger

logger = logging.getLogger("localapi")
ASYNC_RETRIES = 2


def object_created_event(bucket: str, key: str, size: int, etag: str, configuration: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": REGION,
                "eventTime": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                "eventName": "ObjectCreated:Post",
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


class S3EventRelay:
    def __init__(
        self, s3_client: Any, subscriptions: list[tuple[S3Trigger, FunctionPool]], interval: float = 0.2
    ) -> None:
        self._s3 = s3_client
        self._subscriptions = subscriptions
        self._interval = interval
        self._seen: set[tuple[str, str, str]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="s3-events")

    def start(self) -> S3EventRelay:
        if self._subscriptions:
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for trigger, pool in self._subscriptions:
                try:
                    self._deliver_new(trigger, pool)
                except Exception:  # the emulation may be stopping; try again next round
                    logger.debug("S3 event relay round failed", exc_info=True)

    def _deliver_new(self, trigger: S3Trigger, pool: FunctionPool) -> None:
        listed = self._s3.list_objects_v2(Bucket=trigger.bucket, Prefix=trigger.prefix).get("Contents", [])
        present = set()
        for entry in listed:
            identity = (trigger.bucket, entry["Key"], entry["ETag"])
            present.add(identity)
            if identity in self._seen:
                continue
            self._seen.add(identity)
            event = object_created_event(
                trigger.bucket, entry["Key"], entry["Size"], entry["ETag"].strip('"'), pool.spec.logical_id
            )
            self._invoke_with_retries(pool, event, entry["Key"])
        # Forget objects that are gone, so a new object under the same key is delivered again.
        self._seen = {seen for seen in self._seen if seen[0] != trigger.bucket or seen in present}

    def _invoke_with_retries(self, pool: FunctionPool, event: dict[str, Any], key: str) -> None:
        for attempt in range(1 + ASYNC_RETRIES):
            try:
                pool.invoke(event)
                logger.info("S3 ObjectCreated %s -> %s", key, pool.spec.logical_id)
                return
            except (FunctionError, FunctionTimeout) as exc:
                logger.warning("S3 event for %s failed (attempt %d): %s", key, attempt + 1, exc)
