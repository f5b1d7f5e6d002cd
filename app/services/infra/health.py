"""Health of the parts the app depends on: the database, Redis (when configured) and file
storage.

Every probe is a blocking call, and a hung part (a stopped PostgreSQL or Redis still
accepts connections, then never answers) would hold whoever makes it. So each part is
probed on a daemon thread of its own, never on the event loop and never on the thread pool
the app's routes share (that pool may be full of requests waiting on the same hung part).
The answer waits at most `DEADLINE_SECONDS` for all parts together; a part that has not
answered by then is reported `{"ok": false, "error": "timeout"}`.

A part has at most one probe running. A check that finds a probe still running waits for
that probe (within its own deadline) instead of starting another, so repeated checks
against a hung part never pile up threads. Each probe also ends on its own, within the
part's timeouts (app/db.py, app/redis_clients.py).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import wait as wait_all
from typing import Any

from sqlalchemy import text

from app import redis_clients
from app.db import get_engine
from app.services.infra.storage import get_storage
from app.settings import get_settings

DEADLINE_SECONDS = 1.0
TIMED_OUT: dict[str, Any] = {"ok": False, "error": "timeout"}

Part = dict[str, Any]


def _database() -> Part:
    try:
        engine = get_engine()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True, "backend": engine.dialect.name}
    except Exception as exc:  # any driver error means "down"
        return {"ok": False, "error": type(exc).__name__}


def _redis() -> Part:
    url = get_settings().redis_url
    if not url:
        return {"ok": True, "configured": False}
    import redis

    try:
        client = redis.Redis.from_url(url, **redis_clients.command_options())
        try:
            client.ping()
        finally:
            client.close()
        return {"ok": True}
    except redis.RedisError as exc:
        return {"ok": False, "error": type(exc).__name__}


def _storage() -> Part:
    try:
        storage = get_storage()
        storage.exists("health/probe")
        return {"ok": True, "backend": type(storage).__name__}
    except Exception as exc:  # unreachable bucket, unreadable directory
        return {"ok": False, "error": type(exc).__name__}


class Prober:
    """Runs each part's probe on its own thread, at most one at a time per part."""

    def __init__(self, probes: Mapping[str, Callable[[], Part]]) -> None:
        self._probes = dict(probes)
        self._running: dict[str, Future[Part]] = {}
        self._lock = threading.Lock()

    def start(self) -> dict[str, Future[Part]]:
        """The probe of every part: the one still running, or a new one."""
        with self._lock:
            for name, probe in self._probes.items():
                current = self._running.get(name)
                if current is None or current.done():
                    self._running[name] = _spawn(name, probe)
            return dict(self._running)

    def running(self) -> int:
        """How many probes have not finished (tests: hung probes do not pile up)."""
        with self._lock:
            return sum(not f.done() for f in self._running.values())

    def check(self, timeout: float = DEADLINE_SECONDS) -> tuple[bool, dict[str, Part]]:
        """(all healthy, per-part status), within `timeout` seconds, from any thread."""
        futures = self.start()
        wait_all(futures.values(), timeout=timeout)
        return _report(futures)

    async def check_async(self, timeout: float = DEADLINE_SECONDS) -> tuple[bool, dict[str, Part]]:
        """`check` for the event loop: waits without blocking it or taking a pool thread."""
        futures = self.start()
        await _wait_async(futures.values(), timeout)
        return _report(futures)


def _spawn(name: str, probe: Callable[[], Part]) -> Future[Part]:
    future: Future[Part] = Future()
    future.set_running_or_notify_cancel()  # running from now on: nothing can cancel it

    def run() -> None:
        try:
            future.set_result(probe())
        except BaseException as exc:  # reported as the part being down
            future.set_exception(exc)

    # A daemon thread: a probe hung on a part never holds up the process's exit.
    threading.Thread(target=run, name=f"guildhall-health-{name}", daemon=True).start()
    return future


async def _wait_async(futures: Iterable[Future[Part]], timeout: float) -> None:
    waiting = [asyncio.wrap_future(f) for f in futures]
    try:
        await asyncio.wait(waiting, timeout=timeout)
    finally:
        for w in waiting:  # detaches from a probe still running (it cannot be cancelled)
            w.cancel()


def _report(futures: Mapping[str, Future[Part]]) -> tuple[bool, dict[str, Part]]:
    parts: dict[str, Part] = {}
    for name, future in futures.items():
        if not future.done():
            parts[name] = dict(TIMED_OUT)
        elif (exc := future.exception()) is not None:
            parts[name] = {"ok": False, "error": type(exc).__name__}
        else:
            parts[name] = future.result()
    return all(p["ok"] for p in parts.values()), parts


_prober = Prober({"database": _database, "redis": _redis, "storage": _storage})


def check(timeout: float = DEADLINE_SECONDS) -> tuple[bool, dict[str, Part]]:
    """(all healthy, per-part status) for the database, Redis (when configured) and file
    storage, within `timeout` seconds; a part that did not answer is `TIMED_OUT`."""
    return _prober.check(timeout)


async def check_async(timeout: float = DEADLINE_SECONDS) -> tuple[bool, dict[str, Part]]:
    """`check` for async callers (the `/health` route)."""
    return await _prober.check_async(timeout)


def running_probes() -> int:
    """How many probes of the app's prober have not finished yet."""
    return _prober.running()
