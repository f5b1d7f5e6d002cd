"""A client-side deadline on every PostgreSQL round trip of the app's engines.

`statement_timeout` makes a healthy server cancel a slow statement, and `connect_timeout`
bounds the connection handshake. Neither helps when the server is hung (stopped, a dead
disk, a frozen VM): the kernel still accepts and acknowledges, so a query on an open pooled
connection waits forever, TCP keepalives included, and the worker that sent it waits too.
psycopg2 lets a wait callback drive its sockets (the mechanism gevent and other green
runtimes use). Ours waits with `select` up to the deadline. It then shuts the connection's
socket down, so SQLAlchemy sees a disconnect and drops it from the pool, and raises
`OperationalError`.

Only connections registered by `register` carry a query deadline; `at_most` shortens it
for the round trips one thread makes inside it (app/db.py wraps the pool's liveness ping).
The handshake of any connection whose DSN has `connect_timeout` is bounded by it. Alembic's
engine registers nothing, so a long migration is never cut short.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from typing import Any

import psycopg2
from psycopg2 import extensions

_deadlines: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
_installed = False
_local = threading.local()


class DeadlineExceeded(psycopg2.OperationalError):  # type: ignore[misc]
    """The database did not answer within the deadline (the connection is closed)."""


def register(dbapi_conn: Any, seconds: float) -> None:
    """Give `dbapi_conn` (a psycopg2 connection) a deadline of `seconds` per round trip."""
    _install()
    _deadlines[dbapi_conn] = seconds


@contextlib.contextmanager
def at_most(seconds: float) -> Iterator[None]:
    """Shorten the deadline of registered connections for round trips made by this thread
    inside the block (the pool's liveness ping: `SELECT 1` needs no statement's time)."""
    previous = getattr(_local, "at_most", None)
    _local.at_most = seconds
    try:
        yield
    finally:
        _local.at_most = previous


def _install() -> None:
    global _installed
    if not _installed:
        extensions.set_wait_callback(_wait)
        _installed = True


def _wait(conn: Any) -> None:
    """psycopg2's wait callback: poll until the round trip is done, or the deadline."""
    limit = _deadlines.get(conn)
    shorter = getattr(_local, "at_most", None)
    if limit is not None and shorter is not None:
        limit = min(limit, shorter)
    limit = limit or _connect_timeout(conn)
    ends = None if limit is None else time.monotonic() + limit
    while True:
        state = conn.poll()
        if state == extensions.POLL_OK:
            return
        if state == extensions.POLL_READ:
            readers, writers = [conn.fileno()], []
        elif state == extensions.POLL_WRITE:
            readers, writers = [], [conn.fileno()]
        else:  # pragma: no cover (psycopg2 defines no other state)
            raise psycopg2.OperationalError(f"bad poll state {state}")
        left = None if ends is None else ends - time.monotonic()
        if left is not None and left <= 0:
            _give_up(conn, limit)
        ready = select.select(readers, writers, [], left)
        if not any(ready) and left is not None:
            _give_up(conn, limit)


def _connect_timeout(conn: Any) -> float | None:
    """While connecting (before `register`): the DSN's `connect_timeout`, which libpq does
    not apply by itself once a wait callback drives the handshake."""
    try:
        return float(extensions.parse_dsn(conn.dsn).get("connect_timeout", 0)) or None
    except (psycopg2.ProgrammingError, ValueError):
        return None


def _give_up(conn: Any, limit: float | None) -> None:
    # The server may never answer: this connection is done. `conn.close()` would wait on
    # the hung server too; shutting the socket down makes every later use of it fail at
    # once (libpq still owns and closes the descriptor), so the pool discards it.
    with contextlib.suppress(OSError):
        dup = socket.socket(fileno=os.dup(conn.fileno()))
        try:
            dup.shutdown(socket.SHUT_RDWR)
        finally:
            dup.close()
    raise DeadlineExceeded(f"the database did not answer within {limit:g} s")
