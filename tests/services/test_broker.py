"""The broker: messages reach listeners after commit, never for a rolled-back change, and
with Redis they cross processes."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app.services import broker
from app.services.tenancy import public_session

REDIS_URL = os.environ.get("GUILDHALL_TEST_REDIS_URL")


@pytest.fixture
def local_broker(settings_env: Callable[..., None]) -> Iterator[broker.Broker]:
    settings_env(redis_url="")
    broker.reset_broker()
    yield broker.get_broker()
    broker.reset_broker()


def _collect(b: broker.Broker) -> tuple[list[tuple[str, dict[str, Any]]], threading.Event]:
    got: list[tuple[str, dict[str, Any]]] = []
    arrived = threading.Event()

    def handler(topic: str, payload: dict[str, Any]) -> None:
        got.append((topic, payload))
        arrived.set()

    b.listen(handler)
    return got, arrived


@pytest.mark.usefixtures("backend")
def test_publish_after_commit_delivers_once_committed(local_broker: broker.Broker) -> None:
    got, _ = _collect(local_broker)
    with public_session() as session:
        broker.publish_after_commit(session, "org:x:config", {"n": 1})
        assert got == [], "published before the commit"
        session.commit()
    assert got == [("org:x:config", {"n": 1})]


@pytest.mark.usefixtures("backend")
def test_a_rolled_back_change_publishes_nothing(local_broker: broker.Broker) -> None:
    got, _ = _collect(local_broker)
    with public_session() as session:
        broker.publish_after_commit(session, "org:x:config", {"n": 1})
        session.rollback()
        session.commit()
    assert got == []


def test_a_failing_listener_does_not_stop_the_others(local_broker: broker.Broker) -> None:
    def broken(_topic: str, _payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    local_broker.listen(broken)
    got, _ = _collect(local_broker)
    local_broker.publish("t", {"ok": True})
    assert got == [("t", {"ok": True})]


def test_redis_broker_delivers_across_connections() -> None:
    if not REDIS_URL:
        if os.environ.get("CI") == "true":
            pytest.fail("GUILDHALL_TEST_REDIS_URL is not set (make test starts Redis)")
        pytest.skip("no test Redis")
    receiver = broker.RedisBroker(REDIS_URL)
    got, arrived = _collect(receiver)
    sender = broker.RedisBroker(REDIS_URL)
    # The subscription starts on a thread: publish until it is there.
    for _ in range(50):
        sender.publish("org:y:config", {"section": "branding"})
        if arrived.wait(0.1):
            break
    assert ("org:y:config", {"section": "branding"}) in got
