"""``STATE_DIR``: the local data saved as it changes, so a crash (even ``kill -9``) keeps the photos.

Layout of the directory:

- ``state.json``: every table row, and for every object its key, content type, ETag and blob name;
  replaced atomically, so it is always a whole file;
- ``blobs/<sha256>``: object bodies, written before the ``state.json`` that names them, so a crash
  between the two leaves at worst a blob nobody names (removed at the next save).

A saver thread checks every ``LOCALAPI_SAVE_INTERVAL`` seconds (1 by default) whether a function
ran since the last save (every write goes through one: the API's, and the upload finaliser's for
direct uploads) and then saves; an object is read from the emulation only when its ETag changed.
A ``state.json`` of the older format (bodies inline, written only on a clean stop) is still read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .aws_backend import AwsEmulation

logger = logging.getLogger("localapi")


class StateStore:
    def __init__(self, directory: Path, aws: AwsEmulation) -> None:
        self.directory = Path(directory)
        self.blobs = self.directory / "blobs"
        self._aws = aws
        # (bucket, key, etag) -> (blob name, content type): what need not be read again
        self._known: dict[tuple[str, str, str], tuple[str, str]] = {}
        self._last_written = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- loading ------------------------------------------------------------------------------

    def load(self) -> int:
        """Put what was saved into the emulation; returns the number of rows and objects loaded."""
        path = self.directory / "state.json"
        if not path.exists():
            return 0
        state = json.loads(path.read_text())
        dynamodb, s3 = self._aws.clients()
        count = 0
        for table, rows in state.get("tables", {}).items():
            for row in rows:
                dynamodb.put_item(TableName=table, Item=row)
                count += 1
        for bucket, objects in state.get("objects", {}).items():
            for entry in objects:
                # The older format kept bodies inline, as base64.
                inline = "blob" not in entry
                body = base64.b64decode(entry["body"]) if inline else (self.blobs / entry["blob"]).read_bytes()
                stored = s3.put_object(Bucket=bucket, Key=entry["key"], Body=body, ContentType=entry["content_type"])
                blob = entry.get("blob") or self._write_blob(body)
                self._known[(bucket, entry["key"], stored["ETag"])] = (blob, entry["content_type"])
                count += 1
        return count

    # -- saving -------------------------------------------------------------------------------

    def save(self) -> bool:
        """Write the emulation's data if it differs from what was last written; True if written."""
        with self._lock:
            dynamodb, s3 = self._aws.clients()
            template = self._aws.template
            state: dict[str, Any] = {"tables": {}, "objects": {}}
            for definition in template.table_definitions():
                name = definition["TableName"]
                rows: list[dict[str, Any]] = []
                for page in dynamodb.get_paginator("scan").paginate(TableName=name):
                    rows += page["Items"]
                state["tables"][name] = sorted(rows, key=lambda row: json.dumps(row, sort_keys=True))
            known: dict[tuple[str, str, str], tuple[str, str]] = {}
            for bucket in template.bucket_names():
                objects = []
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                    for entry in page.get("Contents", []):
                        identity = (bucket, entry["Key"], entry["ETag"])
                        saved = self._known.get(identity)
                        if saved is None or not (self.blobs / saved[0]).exists():
                            stored = s3.get_object(Bucket=bucket, Key=entry["Key"])
                            blob = self._write_blob(stored["Body"].read())
                            saved = (blob, stored.get("ContentType", "application/octet-stream"))
                        known[identity] = saved
                        objects.append({"key": entry["Key"], "content_type": saved[1], "blob": saved[0]})
                state["objects"][bucket] = objects
            text = json.dumps(state, sort_keys=True)
            self._known = known
            if text == self._last_written:
                return False
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary = self.directory / "state.json.tmp"
            with temporary.open("w") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(self.directory / "state.json")  # atomic: a crash never leaves half a file
            self._last_written = text
            named = {blob for blob, _ in known.values()}
            for blob_path in self.blobs.glob("*"):  # bodies no object names any more
                if blob_path.name not in named:
                    blob_path.unlink(missing_ok=True)
            return True

    def _write_blob(self, body: bytes) -> str:
        name = hashlib.sha256(body).hexdigest()
        path = self.blobs / name
        if not path.exists():
            self.blobs.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(".tmp")
            with temporary.open("wb") as handle:
                handle.write(body)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(path)
        return name

    # -- as it goes ---------------------------------------------------------------------------

    def start(self, activity: Callable[[], int], interval: float | None = None) -> StateStore:
        """Save whenever ``activity()`` (a count of function invocations) moved since the last save."""
        period = interval if interval is not None else float(os.environ.get("LOCALAPI_SAVE_INTERVAL", "1"))

        def run() -> None:
            seen = activity()
            while not self._stop.wait(period):
                now = activity()
                if now == seen:
                    continue
                try:
                    self.save()
                    seen = now
                except Exception:  # the emulation may be stopping; the final save follows
                    logger.warning("could not save the local data to %s", self.directory, exc_info=True)

        self._thread = threading.Thread(target=run, daemon=True, name="state-saver")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.save()
