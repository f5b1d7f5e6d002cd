"""Engines and sessions, and the tenant wall around them.

Every session carries a `Scope`: the org ids it may touch, the signed-in user, and (for the
one flow that needs it) an invite token hash. On PostgreSQL the scope is written into each
transaction with `set_config(..., true)`, where the row-level security policies read it, so a
query that forgot its org filter still returns nothing. On every backend, a SELECT on a tenant
table that did not go through `app.services.core.tenancy` raises `UnscopedQueryError`.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine, Table, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session, create_engine

from app import db_deadline
from app.models import TENANT_TABLES
from app.settings import get_settings

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


class UnscopedQueryError(RuntimeError):
    """A query reached a tenant table without the org scope: a bug, never user input."""


@dataclass
class Scope:
    """What a session may read and write."""

    org_ids: set[uuid.UUID] = field(default_factory=set)
    # Ancestors of the active org: their org rows and config are readable, nothing else.
    ancestor_ids: set[uuid.UUID] = field(default_factory=set)
    user_id: uuid.UUID | None = None
    invite_token_hash: str | None = None
    # The public verification page: the one certificate with this serial becomes readable.
    certificate_serial: str | None = None
    # Pre-tenant flows (sign-in lookups, sign-up) that touch no tenant rows by SELECT.
    system: bool = False


def get_engine(url: str | None = None) -> Engine:
    """The engine for `url` (default: the app's database), created once per process."""
    url = url or get_settings().database_url
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _make_engine(url)
            _engines[url] = engine
        return engine


def dispose_engines(*, close: bool = True) -> None:
    """Close every pooled connection (tests and forked workers call this). A forked child
    passes `close=False`: it drops the pools it inherited without closing the parent's
    connections under it, and opens its own."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=close)
        _engines.clear()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    return _postgres_engine(url)


def _postgres_engine(url: str) -> Engine:
    """A pooled PostgreSQL engine on which no call can hang: see the `db_*` settings."""
    settings = get_settings()
    statement_ms = settings.db_statement_timeout_seconds * 1000
    engine = create_engine(
        postgres_driver_url(url),
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "connect_timeout": settings.db_connect_timeout_seconds,
            # The server cancels a statement, or a wait for a lock, past the timeout, and
            # ends a session left idle inside a transaction.
            "options": (
                f"-c statement_timeout={statement_ms} -c lock_timeout={statement_ms}"
                " -c idle_in_transaction_session_timeout=60000"
            ),
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )
    deadline = settings.db_statement_timeout_seconds + settings.db_deadline_margin_seconds

    @event.listens_for(engine, "connect")
    def _deadline(dbapi_conn: Any, _record: Any) -> None:
        db_deadline.register(dbapi_conn, deadline)

    # `pool_pre_ping` runs the dialect's `do_ping` on every reused connection: give it the
    # short deadline, so a pooled connection to a hung server fails in ping + connect
    # timeout (7 s by default), within Reflex's 10 s state lock, not in a statement's time.
    ping = engine.dialect.do_ping
    ping_seconds = settings.db_ping_timeout_seconds

    def _short_ping(dbapi_conn: Any) -> bool:
        with db_deadline.at_most(ping_seconds):
            return ping(dbapi_conn)

    engine.dialect.do_ping = _short_ping  # type: ignore[method-assign,assignment]
    return engine


def postgres_driver_url(url: str) -> str:
    """`url` with the installed driver named: SQLAlchemy 2.1 maps a bare `postgresql://` to
    psycopg 3, but the project ships psycopg2."""
    for bare in ("postgresql://", "postgres://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare) :]
    return url


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:" and "/" in path:
        import os

        os.makedirs(os.path.dirname(path), exist_ok=True)


@contextmanager
def open_session(scope: Scope, *, url: str | None = None) -> Iterator[Session]:
    """A session bound to `scope`. Callers (services) commit; anything else rolls back."""
    session = Session(get_engine(url), expire_on_commit=False)
    session.info["scope"] = scope
    try:
        yield session
    finally:
        session.close()


def scope_of(session: Session) -> Scope:
    """The scope a session was opened with."""
    scope = session.info.get("scope")
    if not isinstance(scope, Scope):
        raise UnscopedQueryError("session has no scope")
    return scope


def widen_scope(
    session: Session,
    *,
    org_ids: set[uuid.UUID] | None = None,
    ancestor_ids: set[uuid.UUID] | None = None,
) -> None:
    """Let this session also touch `org_ids` (e.g. an org it just created or the subtree it
    just walked) or read the config of `ancestor_ids`; applied to the open transaction too."""
    scope = scope_of(session)
    scope.org_ids |= org_ids or set()
    scope.ancestor_ids |= ancestor_ids or set()
    if session.in_transaction():
        _apply_scope(session.connection(), scope)


def bind_user(session: Session, user_id: uuid.UUID) -> None:
    """Record the acting user in the session's scope (their own memberships become readable)."""
    scope = scope_of(session)
    scope.user_id = user_id
    if session.in_transaction():
        _apply_scope(session.connection(), scope)


def _apply_scope(conn: Connection, scope: Scope) -> None:
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text(
            "SELECT set_config('app.org_ids', :org_ids, true),"
            " set_config('app.ancestor_ids', :ancestor_ids, true),"
            " set_config('app.user_id', :user_id, true),"
            " set_config('app.system', :system, true),"
            " set_config('app.invite_token_hash', :invite, true),"
            " set_config('app.certificate_serial', :serial, true)"
        ),
        {
            "org_ids": ",".join(sorted(str(o) for o in scope.org_ids)),
            "ancestor_ids": ",".join(sorted(str(o) for o in scope.ancestor_ids)),
            "user_id": str(scope.user_id) if scope.user_id else "",
            "system": "on" if scope.system else "",
            "invite": scope.invite_token_hash or "",
            "serial": scope.certificate_serial or "",
        },
    )


@event.listens_for(Session, "after_begin")
def _scope_transaction(
    session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    scope = session.info.get("scope")
    if isinstance(scope, Scope):
        _apply_scope(connection, scope)


@event.listens_for(Session, "do_orm_execute")
def _guard_tenant_selects(state: ORMExecuteState) -> None:
    if not state.is_select or state.execution_options.get("org_scoped"):
        return
    scope = state.session.info.get("scope")
    # Every table the statement reads, including joins, `select_from`, aliases and subqueries
    # (not only the selected entities, which miss `select(User).join(Membership)`).
    touched = {
        t.name
        for t in find_tables(
            cast(ClauseElement, state.statement), include_joins=True, include_aliases=True
        )
        if isinstance(t, Table)
    }
    tenant = touched & set(TENANT_TABLES)
    if tenant and not (isinstance(scope, Scope) and scope.system):
        raise UnscopedQueryError(f"unscoped query on tenant table(s): {sorted(tenant)}")
