"""Pre-signed GET URLs (``image_service.download_urls``) are byte for byte botocore's own.

The layer signs a page's URLs without botocore's per-call machinery. Every URL here is compared
with what the same client's ``generate_presigned_url`` gives at the same instant (botocore's clock
frozen), per region, endpoint, credentials and awkward key: a wrong key encoding, expiry, host,
region, credential or timestamp changes the URL, so the test fails. Signing is local: no moto, no
request sent. (Here, not in tests/unit: freezing botocore's clock and its credentials needs
botocore itself.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import botocore.auth
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from image_service.aws import make_clients
from image_service.config import Settings
from image_service.download_urls import DownloadUrls

BUCKET = "images-0f6a3c1e-8f1b-11ef-9a3b-0a1b2c3d4e5f"
FROZEN = datetime(2026, 3, 4, 5, 6, 7)  # naive UTC, as botocore's clock answers
# Spaces, unicode, "+", "~", "%", "=", "//", a leading "/", dot segments, and "?&#" that a URL
# would otherwise read as its query or fragment.
KEYS = [
    "thumbnails/01JABCDEFGHJKMNPQRSTVWXYZ0.jpg",
    "images/a b.jpg",
    "ünï/çødé/写真.png",
    "a+b",
    "~home/x~y",
    "100%",
    "%2F",
    "k=v",
    "a//b",
    "/leading",
    "./a/../b",
    "q?x=1&y#z",
]
TOKEN = "IQoJb3JpZ2luX2VjE+token/with=odd+chars//"
# us-east-1 (the global host's region), eu-west-1 (older), ap-southeast-5 and il-central-1 (opened
# after 2019: only regional hosts), and an emulator (path style) with and without a path of its own.
ENDPOINTS = [
    ("us-east-1", None),
    ("eu-west-1", None),
    ("ap-southeast-5", None),
    ("il-central-1", None),
    ("eu-west-1", "http://127.0.0.1:4566"),
    ("us-east-1", "http://localhost:9000/s3"),
]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Sets the instant botocore signs at (both ways of signing read it there)."""

    def set_to(moment: datetime) -> None:
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: moment)

    set_to(FROZEN)
    return set_to


@pytest.fixture
def fresh_session(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A new default boto3 session (the one ``make_clients`` uses), reading this test's environment."""
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    yield


def s3_for(region: str, endpoint_url: str | None = None) -> Any:
    settings = Settings.from_env()._replace(region=region, endpoint_url=endpoint_url, bucket_name=BUCKET)
    return make_clients(settings).s3


def botocore_urls(s3: Any, keys: list[str], expires_in: int) -> list[str]:
    return [
        s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=expires_in)
        for key in keys
    ]


@pytest.mark.parametrize(("region", "endpoint_url"), ENDPOINTS)
@pytest.mark.parametrize("token", [None, TOKEN])
@pytest.mark.usefixtures("clock", "fresh_session")
def test_urls_are_botocores_byte_for_byte(
    monkeypatch: pytest.MonkeyPatch, region: str, endpoint_url: str | None, token: str | None
) -> None:
    # Given a client as the functions make it, with or without a session token
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    s3 = s3_for(region, endpoint_url)
    # When a first page (its first URL is botocore's, the container's first), a second page and a
    # single key are signed
    urls = DownloadUrls(s3, BUCKET)
    first, page = urls.urls(KEYS, expires_in=300), urls.urls(KEYS, expires_in=300)
    single = urls.urls(KEYS[1:2], expires_in=300)
    # Then every URL is the one botocore makes for that key
    assert first == page == botocore_urls(s3, KEYS, 300)
    assert single == botocore_urls(s3, KEYS[1:2], 300)
    query = parse_qs(urlsplit(page[0]).query)
    assert query.get("X-Amz-Security-Token") == ([token] if token else None)
    assert query["X-Amz-Credential"][0].split("/")[2] == region


@pytest.mark.usefixtures("clock")
def test_each_batch_keeps_its_own_expiry() -> None:
    s3 = s3_for("eu-west-1")
    urls = DownloadUrls(s3, BUCKET)
    for expires_in in (300, 1, 604_800, 300):
        signed = urls.urls(KEYS[:3], expires_in=expires_in)
        assert signed == botocore_urls(s3, KEYS[:3], expires_in)
        assert {parse_qs(urlsplit(url).query)["X-Amz-Expires"][0] for url in signed} == {str(expires_in)}


def test_each_batch_is_signed_at_its_own_instant(clock: Callable[[datetime], None]) -> None:
    s3 = s3_for("eu-west-1")
    urls = DownloadUrls(s3, BUCKET)
    before = urls.urls(KEYS[:3], expires_in=300)
    clock(FROZEN + timedelta(days=1, seconds=1))
    after = urls.urls(KEYS[:3], expires_in=300)
    assert after == botocore_urls(s3, KEYS[:3], 300)
    assert all(old != new for old, new in zip(before, after, strict=True))


@pytest.mark.usefixtures("clock", "fresh_session")
def test_a_batch_signs_with_the_clients_credentials_of_that_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refreshed credentials (a role's, every hour or so) are used from the next batch on."""
    s3 = s3_for("eu-west-1")
    urls = DownloadUrls(s3, BUCKET)
    before = urls.urls(KEYS[:2], expires_in=300)
    assert boto3.DEFAULT_SESSION is not None
    credentials = boto3.DEFAULT_SESSION.get_credentials()  # the object the client signs with
    assert credentials is not None
    monkeypatch.setattr(credentials, "access_key", "ASIAROTATED")
    monkeypatch.setattr(credentials, "secret_key", "rotated-secret")
    after = urls.urls(KEYS[:2], expires_in=300)
    assert after == botocore_urls(s3, KEYS[:2], 300)
    assert "ASIAROTATED" in after[0] and "ASIAROTATED" not in before[0]


@pytest.mark.usefixtures("clock")
def test_only_the_first_url_of_a_container_is_botocores(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the container's first URL comes from ``generate_presigned_url``: the fast path is taken."""
    s3 = s3_for("eu-west-1")
    calls = []
    generate = s3.generate_presigned_url
    monkeypatch.setattr(s3, "generate_presigned_url", lambda *a, **kw: calls.append(kw) or generate(*a, **kw))
    urls = DownloadUrls(s3, BUCKET)
    for _ in range(3):
        urls.urls(KEYS, expires_in=300)
    assert len(calls) == 1


@pytest.mark.usefixtures("clock")
def test_each_url_is_announced_before_signing_as_botocore_does() -> None:
    """Hooks on the client's ``before-sign`` (the bench counts local signatures there) see every URL."""
    s3 = s3_for("eu-west-1")
    urls = DownloadUrls(s3, BUCKET)
    urls.urls(KEYS[:1], expires_in=300)  # the container's first URL: botocore's own, announced by it
    seen: list[tuple[str, str, str]] = []

    def record(request: Any, signature_version: str, operation_name: str, **_: Any) -> None:
        seen.append((urlsplit(request.url).path, signature_version, operation_name))

    s3.meta.events.register("before-sign.s3.GetObject", record)
    urls.urls(KEYS[:4], expires_in=300)
    paths = [urlsplit(url).path for url in botocore_urls(s3, KEYS[:4], 300)]
    assert seen == [(path, "s3v4-query", "GetObject") for path in paths * 2]


def test_a_client_that_does_not_sign_with_sigv4_gets_botocores_urls() -> None:
    """The fast path is for SigV4 query signing only; anything else is left to botocore."""
    s3 = boto3.client("s3", region_name="eu-west-1", config=Config(signature_version=UNSIGNED))
    assert DownloadUrls(s3, BUCKET).urls(KEYS[:3], expires_in=300) == botocore_urls(s3, KEYS[:3], 300)


@pytest.mark.usefixtures("clock")
def test_an_empty_key_is_refused() -> None:
    """It would sign a GET of the bucket itself: its listing."""
    urls = DownloadUrls(s3_for("eu-west-1"), BUCKET)
    with pytest.raises(ValueError, match="empty key"):
        urls.urls(["images/a", ""], expires_in=300)
