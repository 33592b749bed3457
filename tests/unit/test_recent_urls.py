"""``recent_urls``: a photo keeps one pre-signed URL while the URL is young (a browser's cache is
keyed by URL), answers never promise more time than a URL has left, and memory stays bounded."""

from __future__ import annotations

from collections.abc import Sequence

from image_service.recent_urls import MAX_REMEMBERED, RecentUrls


class CountingSigner:
    """Distinct URLs per signature, as real signing gives (its X-Amz-Date and signature change)."""

    def __init__(self) -> None:
        self.signed: list[str] = []

    def __call__(self, keys: Sequence[str], *, expires_in: int) -> list[str]:
        self.signed += keys
        return [f"https://bucket/{key}?expires={expires_in}&n={len(self.signed)}" for key in keys]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make() -> tuple[RecentUrls, CountingSigner, Clock]:
    signer, clock = CountingSigner(), Clock()
    return RecentUrls(signer, clock=clock), signer, clock


def test_a_page_listed_again_within_a_fifth_of_the_lifetime_gets_the_same_urls_and_their_time_left() -> None:
    recent, signer, clock = make()
    first = recent.urls(["a", "b"], expires_in=300)
    assert first.expires_in == 300 and signer.signed == ["a", "b"]
    clock.now += 59.5
    again = recent.urls(["a", "b"], expires_in=300)
    assert again.urls == first.urls and signer.signed == ["a", "b"]
    assert again.expires_in == 240  # 300 - ceil(59.5): never more than the URLs have left


def test_a_url_past_a_fifth_of_its_lifetime_is_signed_again() -> None:
    recent, signer, clock = make()
    first = recent.urls(["a"], expires_in=300)
    clock.now += 60
    again = recent.urls(["a"], expires_in=300)
    assert again.urls != first.urls and again.expires_in == 300 and signer.signed == ["a", "a"]


def test_only_the_keys_not_signed_lately_are_signed_and_the_answer_says_the_soonest_expiry() -> None:
    recent, signer, clock = make()
    recent.urls(["a", "b"], expires_in=300)
    clock.now += 30
    page = recent.urls(["c", "a", "c"], expires_in=300)
    assert signer.signed == ["a", "b", "c"]  # "c" once, though asked for twice
    assert page.urls[0] == page.urls[2] and page.expires_in == 270


def test_a_different_lifetime_is_a_different_url() -> None:
    recent, signer, _ = make()
    recent.urls(["a"], expires_in=300)
    other = recent.urls(["a"], expires_in=3600)
    assert "expires=3600" in other.urls[0] and signer.signed == ["a", "a"]


def test_no_keys_sign_nothing() -> None:
    recent, signer, _ = make()
    assert recent.urls([], expires_in=300).urls == [] and signer.signed == []


def test_past_the_bound_the_urls_too_old_to_give_again_are_forgotten_first() -> None:
    recent, signer, clock = make()
    recent.urls([f"old{i}" for i in range(MAX_REMEMBERED - 1)], expires_in=300)
    clock.now += 61  # all of those are too old to be given again
    recent.urls(["young"], expires_in=300)
    recent.urls(["new"], expires_in=300)  # one over the bound: the old ones go, "young" stays
    signed_before = len(signer.signed)
    recent.urls(["young", "new"], expires_in=300)
    assert len(signer.signed) == signed_before


def test_past_the_bound_with_only_young_urls_all_are_forgotten() -> None:
    recent, signer, _ = make()
    recent.urls([f"k{i}" for i in range(MAX_REMEMBERED)], expires_in=300)
    recent.urls(["one more"], expires_in=300)
    signed_before = len(signer.signed)
    recent.urls(["k0"], expires_in=300)  # young, but forgotten: memory stays bounded
    assert len(signer.signed) == signed_before + 1
