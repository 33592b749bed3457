"""A short storm of concurrent uploads, direct uploads, edits and deletes (``tests/support/storm.py``).

``make storm`` runs the same with many more operations (``STORM_OPERATIONS`` per thread).
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Any

from tests.support.storm import run_storm, storm_problems

THREADS = int(os.environ.get("STORM_THREADS", "6"))
OPERATIONS = int(os.environ.get("STORM_OPERATIONS", "8"))


def test_storage_is_consistent_and_nothing_is_a_5xx_after_a_storm(service: Any, aws: SimpleNamespace) -> None:
    storm = run_storm(service, aws, threads=THREADS, operations=OPERATIONS)
    assert storm_problems(storm) == []
    # The storm did what it says: every kind of operation ran
    assert {"upload", "start_direct_upload", "edit", "delete"} <= set(storm.counts), storm.counts
