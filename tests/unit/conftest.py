"""Unit tests are pure: no AWS (not even moto), no handlers, no network. The moto fixtures live in
tests/integration/conftest.py, so a test here cannot ask for them; sockets are refused here."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection attempt fails the test (pre-signing, cursors and rules never need one)."""

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a unit test attempted a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
