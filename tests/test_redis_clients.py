"""The app's own Redis clients never wait on a hung Redis for longer than the socket timeout:
a rate-limit check fails (its handler fails like any outage), a publish is dropped with a
warning (publishing is fire-and-forget), and neither is retried into several timeouts. The
broker's subscriber has no read timeout: a quiet minute is not an outage.

On a `redis-server` of the test's own, stopped by SIGSTOP (the kernel still accepts and
acknowledges, as with a hung server), and on a port that accepts and never answers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from app.services.infra import broker, ratelimit
from app.settings import get_settings

pytestmark = pytest.mark.timeout(120)

SOCKET_TIMEOUT = 1.0
# Thawed after this long whatever happens: a client with no timeout then fails its time
# check, late, instead of hanging the run.
AT_MOST = 20.0


@dataclass(frozen=True)
class OwnRedis:
    url: str
    pid: int

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """The server stopped dead (SIGSTOP), continued at the end or after AT_MOST."""
        thaw = threading.Timer(AT_MOST, self._continue)
        os.kill(self.pid, signal.SIGSTOP)
        thaw.start()
        try:
            yield
        finally:
            thaw.cancel()
            self._continue()

    def _continue(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGCONT)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.ConnectionError:
        return False


@contextlib.contextmanager
def _own_redis(directory: Path) -> Iterator[OwnRedis]:
    if not shutil.which("redis-server"):
        pytest.skip("needs redis-server (run through `make test`)")
    port = _free_port()
    server = subprocess.Popen(
        [
            *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(directory)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    own = OwnRedis(f"redis://127.0.0.1:{port}/0", server.pid)
    try:
        deadline = time.monotonic() + 10
        while not _answers(own.url):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield own
    finally:
        own._continue()
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


@contextlib.contextmanager
def _silent_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers (hangs up after AT_MOST)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.1)
    held: list[socket.socket] = []
    done = threading.Event()
    ends = time.monotonic() + AT_MOST

    def accept() -> None:
        while not done.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])
            if time.monotonic() > ends:
                while held:
                    held.pop().close()

    thread = threading.Thread(target=accept, name="silent-port", daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        done.set()
        thread.join(timeout=2)
        for conn in held:
            conn.close()
        listener.close()


@pytest.fixture
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GUILDHALL_REDIS_SOCKET_TIMEOUT_SECONDS", str(SOCKET_TIMEOUT))
    get_settings.cache_clear()
    ratelimit._limiter.cache_clear()
    try:
        yield
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
        ratelimit._limiter.cache_clear()


@pytest.fixture
def server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, short_timeout: None
) -> Iterator[OwnRedis]:
    with _own_redis(tmp_path) as own:
        monkeypatch.setenv("GUILDHALL_REDIS_URL", own.url)
        get_settings.cache_clear()
        ratelimit._limiter.cache_clear()
        yield own


def test_a_rate_limit_check_on_a_frozen_redis_fails_within_the_socket_timeout(
    server: OwnRedis,
) -> None:
    item = ratelimit.window(5, 60)
    assert not ratelimit.is_exhausted(item, "timeouts-test")  # connected before the freeze
    with server.frozen():
        started = time.monotonic()
        with pytest.raises(redis.RedisError):
            ratelimit.hit(item, "timeouts-test")
        took = time.monotonic() - started
    print(f"rate limit on a frozen Redis failed in {took:.2f} s")
    assert took < SOCKET_TIMEOUT + 1  # one timeout, not retried
    ratelimit.hit(item, "timeouts-test")  # thawed: works again without a restart


def test_a_publish_to_a_frozen_redis_is_dropped_within_the_socket_timeout(
    server: OwnRedis,
) -> None:
    sender = broker.RedisBroker(server.url)
    sender.publish("org:x:config", {})  # connected before the freeze
    with server.frozen():
        started = time.monotonic()
        sender.publish("org:x:config", {"lost": True})  # logs a warning, raises nothing
        took = time.monotonic() - started
    print(f"publish to a frozen Redis gave up in {took:.2f} s")
    assert took < SOCKET_TIMEOUT + 1


def test_a_redis_that_never_answers_fails_new_connections_too(short_timeout: None) -> None:
    with _silent_port() as port:
        url = f"redis://127.0.0.1:{port}/0"
        started = time.monotonic()
        broker.RedisBroker(url).publish("org:x:config", {})
        on_publish = time.monotonic() - started
        started = time.monotonic()
        with pytest.raises(redis.RedisError):
            ratelimit._limiter(url).hit(ratelimit.window(5, 60), "silent")
        on_limit = time.monotonic() - started
    assert on_publish < SOCKET_TIMEOUT + 1 and on_limit < SOCKET_TIMEOUT + 1


def test_the_subscriber_outlives_quiet_periods_longer_than_the_socket_timeout(
    server: OwnRedis,
) -> None:
    receiver = broker.RedisBroker(server.url)
    got: list[tuple[str, dict[str, Any]]] = []
    arrived = threading.Event()

    def handler(topic: str, payload: dict[str, Any]) -> None:
        got.append((topic, payload))
        if topic != broker.RESYNC_TOPIC:
            arrived.set()

    receiver.listen(handler)
    sender = broker.RedisBroker(server.url)
    for _ in range(50):  # the subscription starts on a thread
        sender.publish("org:q:config", {"n": 1})
        if arrived.wait(0.1):
            break
    assert arrived.is_set()
    arrived.clear()
    time.sleep(SOCKET_TIMEOUT * 2.5)  # no message for longer than the socket timeout
    sender.publish("org:q:config", {"n": 2})
    assert arrived.wait(5)
    assert ("org:q:config", {"n": 2}) in got
    assert all(topic != broker.RESYNC_TOPIC for topic, _ in got)  # it never reconnected
