"""Shared pytest fixtures: migrated databases on both backends and a switch between them.

How the pieces fit:

* Test-speed settings are exported below, *before* anything from `app` is imported, so the
  argon2 hasher is cheap for the whole run.
* `sqlite_database` and `postgres_database` are session-scoped: each migrates a brand-new
  database to head once per test run with the plain Alembic API (`migrate`). On PostgreSQL
  the database gets a random name and is created through the superuser URL, owned by
  `guildhall_owner`, so parallel runs against one server do not clash; it is dropped at
  the end. The app connects to it as `guildhall_app` (no owner, no BYPASSRLS), so row-level
  security applies exactly as in production.
* `backend` (function-scoped, parametrized `sqlite`/`postgres`) points the app at one of
  them: it sets `GUILDHALL_DATABASE_URL`, unsets Redis/SMTP, clears the settings cache,
  disposes pooled engines and resets the rate-limit counters before and after the test.
  `pg_backend` is the same for PostgreSQL-only tests.
* `settings_env` changes settings for one test (`settings_env(login_max_failures_per_account=2)`).
* `new_pg_database` creates extra throwaway PostgreSQL databases (empty, not migrated).

Without the test servers (`GUILDHALL_TEST_PG_*` unset, e.g. plain `pytest` on a laptop) the
PostgreSQL cases are skipped; when `CI=true` they fail instead, so CI cannot go green by
silently testing only SQLite. Start the servers with
`bash scripts/testenv.sh start /tmp/tenv && source /tmp/tenv/env`, or run `make test`.

Data isolation: the databases live for the whole session, so tests never assume an empty
table. Build what a test needs with `tests.factories` (unique emails and org names) and
never assert global counts.
"""

from __future__ import annotations

import os
import shutil
import tempfile

# Cheap password hashing for tests: must be set before app.settings is first read.
os.environ["GUILDHALL_ARGON2_TIME_COST"] = "1"
os.environ["GUILDHALL_ARGON2_MEMORY_COST"] = "8192"
# Tests share a database per run: one pass of the outbox runs every due job, not only the
# oldest 50, so a test's own job is never stuck behind others' leftovers.
os.environ["GUILDHALL_OUTBOX_BATCH_SIZE"] = "10000"
# Files the tests store (lesson media, certificates) go to a throwaway directory, not ./data.
# Removed again when pytest ends (`pytest_unconfigure`), so a run leaves no temp dir behind.
os.environ["GUILDHALL_STORAGE_DIR"] = tempfile.mkdtemp(prefix="guildhall-files-")

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from alembic.config import Config
from sqlalchemy import create_engine, make_url, pool, text

from alembic import command
from app import db
from app.services.infra import ratelimit
from app.settings import get_settings
from tests.mailbox import Mailbox

REPO_ROOT = Path(__file__).resolve().parent.parent
_STORAGE_DIR = os.environ["GUILDHALL_STORAGE_DIR"]
APP_ROLE = "guildhall_app"
OWNER_ROLE = "guildhall_owner"
PG_ENV = ("GUILDHALL_TEST_PG_APP_URL", "GUILDHALL_TEST_PG_OWNER_URL", "GUILDHALL_TEST_PG_SUPER_URL")

# Settings a test must never inherit from the developer's shell.
_SCRUBBED_ENV = ("GUILDHALL_REDIS_URL", "GUILDHALL_SMTP_HOST", "GUILDHALL_MIGRATE_DATABASE_URL")


# --------------------------------------------------------------------------- helpers


def alembic_config(url: str, *, app_role: str | None = None) -> Config:
    """An Alembic config for `url` (see alembic/env.py: URL and app role via attributes)."""
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["url"] = url
    if app_role:
        config.attributes["app_role"] = app_role
    return config


def migrate(url: str, *, app_role: str | None = None, revision: str = "head") -> None:
    """Upgrade the database at `url` to `revision`."""
    command.upgrade(alembic_config(url, app_role=app_role), revision)


def _require_postgres() -> dict[str, str]:
    """The PostgreSQL test URLs, or skip (locally) / fail (CI) with a clear message."""
    missing = [name for name in PG_ENV if not os.environ.get(name)]
    if missing:
        message = (
            f"PostgreSQL test server not configured ({', '.join(missing)} unset). "
            "Run `make test`, or `bash scripts/testenv.sh start /tmp/tenv && "
            "source /tmp/tenv/env` first."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return {name: os.environ[name] for name in PG_ENV}


@dataclass(frozen=True)
class PgDatabase:
    """One throwaway PostgreSQL database and the three ways to connect to it."""

    name: str
    owner_url: str  # guildhall_owner: owns the tables, runs migrations
    app_url: str  # guildhall_app: what the app uses; bound by row-level security
    super_url: str  # superuser: sees every row (RLS does not apply); for test checks only

    @property
    def app_url_as_configured(self) -> str:
        """The app URL in the bare `postgresql://` form deployments (and `make test`) use."""
        return _with_database(self.app_url, self.name, driver="postgresql")


def _with_database(url: str, name: str, *, driver: str = "postgresql+psycopg2") -> str:
    """`url` pointed at database `name`, naming the driver (psycopg2 is what is installed;
    SQLAlchemy 2.1 would pick psycopg 3 for a bare `postgresql://`)."""
    parsed = make_url(url).set(database=name, drivername=driver)
    return parsed.render_as_string(hide_password=False)


def _create_pg_database(urls: dict[str, str]) -> PgDatabase:
    name = f"gh_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(
        db.postgres_driver_url(urls["GUILDHALL_TEST_PG_SUPER_URL"]),
        isolation_level="AUTOCOMMIT",
        poolclass=pool.NullPool,
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}'))
            conn.execute(text(f'GRANT CONNECT ON DATABASE "{name}" TO {APP_ROLE}'))
    finally:
        admin.dispose()
    return PgDatabase(
        name=name,
        owner_url=_with_database(urls["GUILDHALL_TEST_PG_OWNER_URL"], name),
        app_url=_with_database(urls["GUILDHALL_TEST_PG_APP_URL"], name),
        super_url=_with_database(urls["GUILDHALL_TEST_PG_SUPER_URL"], name),
    )


def _drop_pg_database(urls: dict[str, str], name: str) -> None:
    admin = create_engine(
        db.postgres_driver_url(urls["GUILDHALL_TEST_PG_SUPER_URL"]),
        isolation_level="AUTOCOMMIT",
        poolclass=pool.NullPool,
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def _reset_app_state() -> None:
    get_settings.cache_clear()
    db.dispose_engines()
    ratelimit.reset_all()


# --------------------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a SQLite file migrated to head, shared by the whole session."""
    url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'guildhall.db'}"
    migrate(url)
    return url


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[PgDatabase]:
    """A fresh PostgreSQL database migrated to head as the owner; dropped at the end."""
    urls = _require_postgres()
    database = _create_pg_database(urls)
    try:
        migrate(database.owner_url, app_role=APP_ROLE)
        yield database
    finally:
        db.dispose_engines()
        _drop_pg_database(urls, database.name)


@pytest.fixture
def new_pg_database() -> Iterator[Callable[[], PgDatabase]]:
    """A factory of empty (unmigrated) PostgreSQL databases, dropped after the test."""
    urls = _require_postgres()
    created: list[str] = []

    def make() -> PgDatabase:
        database = _create_pg_database(urls)
        created.append(database.name)
        return database

    yield make
    db.dispose_engines()
    for name in created:
        _drop_pg_database(urls, name)


# --------------------------------------------------------------------------- the app's view


@dataclass(frozen=True)
class Backend:
    """The database the app is pointed at for one test."""

    name: str  # "sqlite" or "postgres"
    url: str  # what the app connects with (GUILDHALL_DATABASE_URL)
    pg: PgDatabase | None = None  # the PostgreSQL database, for raw checks

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgres"


def _activate(monkeypatch: pytest.MonkeyPatch, backend: Backend) -> Iterator[Backend]:
    for name in _SCRUBBED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GUILDHALL_DATABASE_URL", backend.url)
    _reset_app_state()
    try:
        yield backend
    finally:
        monkeypatch.undo()
        _reset_app_state()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    """Run the test once on SQLite and once on PostgreSQL (as the RLS-bound app role)."""
    if request.param == "sqlite":
        chosen = Backend("sqlite", request.getfixturevalue("sqlite_database"))
    else:
        database: PgDatabase = request.getfixturevalue("postgres_database")
        chosen = Backend("postgres", database.app_url_as_configured, database)
    yield from _activate(monkeypatch, chosen)


@pytest.fixture
def pg_backend(postgres_database: PgDatabase, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    """Like `backend`, PostgreSQL only (row-level security tests)."""
    chosen = Backend("postgres", postgres_database.app_url_as_configured, postgres_database)
    yield from _activate(monkeypatch, chosen)


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Override settings for this test: `settings_env(login_max_failures_per_ip=3)`.

    Call it in the test body: it sets `GUILDHALL_<NAME>`, clears the settings cache and the
    rate-limit counters. The environment is restored when the test ends.
    """

    def apply(**values: object) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"GUILDHALL_{key.upper()}", str(value))
        get_settings.cache_clear()
        ratelimit.reset_all()

    return apply


@pytest.fixture
def peek(request: pytest.FixtureRequest) -> Iterator[Callable[..., list[Any]]]:
    """Raw SQL past every wall, to check what a service really wrote.

    `peek("SELECT count(*) FROM outbound_emails WHERE to_email = :e", e=addr)` returns the
    rows. SQLite: the test database itself. PostgreSQL: the superuser, whom row-level
    security does not bind. Needs `backend` or `pg_backend`.
    """
    name = "pg_backend" if "pg_backend" in request.fixturenames else "backend"
    active: Backend = request.getfixturevalue(name)
    url = active.pg.super_url if active.pg else active.url
    engine = create_engine(url, poolclass=pool.NullPool)

    def run(sql: str, **params: Any) -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())

    yield run
    engine.dispose()


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """What recipients received without SMTP (secret links included): see tests/mailbox.py."""
    box = Mailbox()
    box.attach()
    try:
        yield box
    finally:
        box.detach()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Remove the run's file-storage directory."""
    shutil.rmtree(_STORAGE_DIR, ignore_errors=True)
