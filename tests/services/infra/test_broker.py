"""The broker: messages reach listeners after commit, never for a rolled-back change, and
with Redis they cross processes."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.services.core import topics
from app.services.core.tenancy import public_session
from app.services.infra import broker

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


_CHANGED = topics.ConfigChanged(org_id="x", section="branding")


@pytest.mark.usefixtures("backend")
def test_publish_after_commit_delivers_once_committed(local_broker: broker.Broker) -> None:
    got, _ = _collect(local_broker)
    with public_session() as session:
        broker.publish_after_commit(session, "org:x:config", _CHANGED)
        assert got == [], "published before the commit"
        session.commit()
    assert got == [("org:x:config", {"org_id": "x", "section": "branding"})]


@pytest.mark.usefixtures("backend")
def test_a_rolled_back_change_publishes_nothing(local_broker: broker.Broker) -> None:
    got, _ = _collect(local_broker)
    with public_session() as session:
        broker.publish_after_commit(session, "org:x:config", _CHANGED)
        session.rollback()
        session.commit()
    assert got == []


def test_a_payload_that_is_not_the_topics_is_refused_before_anything_is_sent(
    local_broker: broker.Broker,
) -> None:
    got, _ = _collect(local_broker)
    with public_session() as session:
        with pytest.raises(ValueError, match="carries ConfigChanged"):
            broker.publish_after_commit(session, "org:x:config", topics.ChatListChanged())
        with pytest.raises(ValueError, match="unknown topic"):
            broker.publish_after_commit(session, "org:x:nothing", _CHANGED)
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


def _redis_server(port: int, workdir: Path) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.05)
    server.kill()
    raise AssertionError("redis-server did not start")


def test_after_redis_restarts_listeners_are_told_to_resync_and_messages_flow_again(
    tmp_path: Path,
) -> None:
    """Messages published while Redis was down are lost; the broker says so (a resync the
    live views answer by reloading from the database) and carries new messages again."""
    if shutil.which("redis-server") is None:
        pytest.skip("no redis-server")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    server = _redis_server(port, tmp_path)
    try:
        receiver = broker.RedisBroker(url)
        got, arrived = _collect(receiver)
        sender = broker.RedisBroker(url)
        for _ in range(50):
            sender.publish("org:a:config", {"n": 1})
            if arrived.wait(0.1):
                break
        assert ("org:a:config", {"n": 1}) in got
        server.kill()
        server.wait(timeout=10)
        sender.publish("org:a:config", {"n": 2})  # lost: nobody could receive it
        server = _redis_server(port, tmp_path)
        deadline = time.monotonic() + 20
        while (broker.RESYNC_TOPIC, {}) not in got and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (broker.RESYNC_TOPIC, {}) in got
        arrived.clear()
        for _ in range(50):
            sender.publish("org:a:config", {"n": 3})
            if ("org:a:config", {"n": 3}) in got:
                break
            time.sleep(0.1)
        assert ("org:a:config", {"n": 3}) in got
        assert ("org:a:config", {"n": 2}) not in got
    finally:
        server.kill()
        server.wait(timeout=10)
