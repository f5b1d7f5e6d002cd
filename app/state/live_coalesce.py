"""At most one live refresh pending per tab and refresher: bursts become one refresh.

A burst of N commits must not queue N refreshes (each one takes the tab's state lock and
reads the database; bench/README.md: at N=1000 the tab locks expired). For each key (a tab
and one of its refreshers) the changes that arrive are collected; a refresh runs at once,
or `COALESCE_SECONDS` after that key's previous one, and takes every change collected so
far. A change that arrives while a refresh runs schedules exactly one more after it, so
every commit is followed by a refresh that read the database after it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

COALESCE_SECONDS = 0.3
COST_FACTOR = 2.0  # a slow key's refreshes start at least this many refresh times apart
MAX_GAP_SECONDS = 1.5  # ... but never further apart than this
MAX_BATCH = 200  # changes kept per pending refresh (the newest; a refresh re-reads anyway)

Change = tuple[str, Any]  # (topic name, its parsed payload or None)
Run = Callable[[Hashable, list[Change]], Awaitable[None]]


class Coalescer:
    """Collects changes per key and runs `run(key, changes)`, never twice at once per key."""

    def __init__(self, run: Run) -> None:
        self._run = run
        self._lock = threading.Lock()
        self.changes: dict[Hashable, list[Change]] = {}
        self.pending: set[Hashable] = set()
        self.running: set[Hashable] = set()  # keys whose refresh runs now
        self.again: set[Hashable] = set()  # ... and had a change meanwhile
        self.last_run: dict[Hashable, float] = {}
        self.cost: dict[Hashable, float] = {}  # seconds the key's last refresh took
        self.tasks: set[asyncio.Task[None]] = set()

    def add(self, key: Hashable, change: Change, now: float) -> float | None:
        """Collect `change` for `key`; seconds until its refresh should run, or None when
        one is pending already (or running: then one more runs after it)."""
        with self._lock:
            batch = self.changes.setdefault(key, [])
            batch.append(change)
            del batch[:-MAX_BATCH]
        return self.delay(key, now)

    def delay(self, key: Hashable, now: float) -> float | None:
        """Seconds until `key`'s next refresh may run, or None when one is already due."""
        with self._lock:
            if key in self.pending:
                return None
            if key in self.running:
                self.again.add(key)
                return None
            self.pending.add(key)
            # A key whose refreshes got slow (a busy database) is refreshed less often, so
            # refreshes do not keep the machine busy themselves; capped, so one refresh
            # stuck at the peak of a burst does not hold the next one back long.
            gap = min(MAX_GAP_SECONDS, max(COALESCE_SECONDS, COST_FACTOR * self.cost.get(key, 0)))
        return max(0.0, self.last_run.get(key, 0.0) + gap - now)

    async def refresh(self, key: Hashable, wait: float) -> None:
        """Run `key`'s refresh after `wait` with every change collected until it starts."""
        try:
            if wait:
                await asyncio.sleep(wait)
        finally:
            with self._lock:
                self.pending.discard(key)
                self.running.add(key)
                self.last_run[key] = time.monotonic()
                batch = self.changes.pop(key, [])
        started = time.monotonic()
        try:
            await self._run(key, batch)
        finally:
            with self._lock:
                self.running.discard(key)
                self.cost[key] = time.monotonic() - started
                again = key in self.again
                self.again.discard(key)
            if again:  # changes came during this refresh: one more, after the gap
                wait = self.delay(key, time.monotonic())
                if wait is not None:
                    task = asyncio.get_running_loop().create_task(self.refresh(key, wait))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)

    def forget(self, match: Callable[[Hashable], bool]) -> None:
        """Drop the timing and collected changes of keys for which `match` is true."""
        with self._lock:
            for table in (self.changes, self.last_run, self.cost):
                for key in [k for k in table if match(k)]:
                    table.pop(key, None)
