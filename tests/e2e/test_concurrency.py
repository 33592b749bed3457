"""Races over HTTP against the local mode, which runs up to 4 warm workers per function.

Requests are released together from a barrier so that they really overlap in the functions'
worker processes and in the AWS emulation: two deletes of one image, many uploads at once, and
a listing paginating while new photos land.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from tests.support.local_mode import Api, fresh_session
from tests.support.storage import storage_problems
from tests.support.threads import all_at_once

T = TypeVar("T")
DELETE_RACES = 6
UPLOADS, UPLOAD_THREADS = 20, 8


def problems_of(api: Api, user: str) -> list[str]:
    """Broken storage invariants for ``user``'s photos (names from the template's logical ids)."""
    dynamodb, s3 = api.app.aws.clients()
    template = api.app.template
    return storage_problems(
        dynamodb,
        s3,
        bucket=template.physical_name("ImagesBucket"),
        images_table=template.physical_name("ImagesTable"),
        tags_table=template.physical_name("ImageTagsTable"),
        user_id=user,
    )


def test_two_concurrent_deletes_of_one_image_are_one_204_and_one_404(api: Api, user: str, tag: str) -> None:
    ids = [api.upload(user, tags=[tag])["image_id"] for _ in range(DELETE_RACES)]
    outcomes = []
    for image_id in ids:
        clients = [fresh_session(api), fresh_session(api)]
        statuses = all_at_once(
            [lambda c=client, i=image_id: c.request("DELETE", f"/images/{i}").status_code for client in clients]
        )
        outcomes.append(sorted(statuses))
    assert outcomes == [[204, 404]] * DELETE_RACES
    assert api.list_all(user_id=user) == [] and api.list_all(tag=tag) == []
    assert problems_of(api, user) == []


def test_many_concurrent_uploads_get_distinct_ids_and_are_each_listed_once(api: Api, user: str, tag: str) -> None:
    local = threading.local()

    def upload(number: int) -> str:
        if not hasattr(local, "client"):
            local.client = fresh_session(api)  # one HTTP session per thread
        return str(local.client.upload(user, tags=[tag], title=f"photo {number}")["image_id"])

    ids = all_at_once([lambda n=n: upload(n) for n in range(UPLOADS)], threads=UPLOAD_THREADS)

    assert len(set(ids)) == UPLOADS
    for listed in (api.list_all(user_id=user, limit="7"), api.list_all(tag=tag, limit="3")):
        assert Counter(listed) == Counter(ids)  # every upload exactly once
        assert listed == sorted(listed, reverse=True)  # newest first: ULIDs sort by time
    assert problems_of(api, user) == []


def paginate(client: Api, pause: float, **query: str) -> list[str]:
    """Every id of a listing, page by page, pausing between pages so uploads can land."""
    return client.list_all(pause=pause, **query)


def test_a_listing_paginating_while_uploads_land_never_repeats_or_skips(api: Api, user: str, tag: str) -> None:
    existing = [api.upload(user, tags=[tag])["image_id"] for _ in range(9)]
    landed: list[str] = []
    stop = threading.Event()

    def keep_uploading() -> None:
        client = fresh_session(api)
        for _ in range(30):  # bounded: at most 30 uploads, whatever happens
            if stop.is_set():
                return
            landed.append(client.upload(user, tags=[tag])["image_id"])

    uploader = threading.Thread(target=keep_uploading)
    uploader.start()
    try:
        readers = [fresh_session(api) for _ in range(3)]
        listings = all_at_once(
            [
                lambda: paginate(readers[0], 0.02, user_id=user, limit="2"),
                lambda: paginate(readers[1], 0.02, tag=tag, limit="2"),
                lambda: paginate(readers[2], 0.02, user_id=user, tag=tag, limit="3"),
            ]
        )
    finally:
        stop.set()
        uploader.join(timeout=60)
    assert landed, "no upload landed while the listings ran: the race did not happen"

    for ids in listings:
        assert len(ids) == len(set(ids)), "a page repeated an image"
        # Photos that existed before the listing started are all there, in order
        assert [i for i in ids if i in existing] == existing[::-1]
        # Anything else is one of the uploads that landed meanwhile
        assert set(ids) - set(existing) <= set(landed)
    assert Counter(api.list_all(user_id=user)) == Counter(existing + landed)
    assert problems_of(api, user) == []


def test_concurrent_deletes_and_uploads_of_one_user_keep_storage_consistent(api: Api, user: str, tag: str) -> None:
    ids = [api.upload(user, tags=[tag, "shared"])["image_id"] for _ in range(6)]
    clients = [fresh_session(api) for _ in range(8)]
    calls: list[Callable[[], Any]] = [
        lambda c=clients[n], i=image_id: c.request("DELETE", f"/images/{i}").status_code
        for n, image_id in enumerate(ids)
    ]
    calls += [lambda c=clients[6 + n]: c.upload(user, tags=[tag])["image_id"] for n in range(2)]

    results = all_at_once(calls)

    assert results[:6] == [204] * 6
    survivors = results[6:]
    assert sorted(api.list_all(user_id=user)) == sorted(survivors)
    assert sorted(api.list_all(user_id=user, tag=tag)) == sorted(survivors)
    assert problems_of(api, user) == []
