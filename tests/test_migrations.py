"""Migrations: an empty database reaches head, matches the models, and round-trips."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, pool, text
from sqlmodel import SQLModel

from alembic import command
from app.models import TENANT_TABLES
from tests.conftest import APP_ROLE, PgDatabase, alembic_config


def _schema_diff(url: str) -> list[object]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _current(url: str) -> str | None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def _rls_objects(url: str) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """(tables with forced RLS, (table, policy) pairs, app_* helper functions)."""
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            forced = conn.execute(
                text(
                    "SELECT relname FROM pg_class WHERE relkind = 'r'"
                    " AND relrowsecurity AND relforcerowsecurity"
                )
            ).scalars()
            policies = conn.execute(text("SELECT tablename, policyname FROM pg_policies")).all()
            functions = conn.execute(
                text("SELECT proname FROM pg_proc WHERE proname LIKE 'app\\_%'")
            ).scalars()
            return set(forced), {(t, p) for t, p in policies}, set(functions)
    finally:
        engine.dispose()


def _round_trip(url: str, *, app_role: str | None = None) -> None:
    postgres = url.startswith("postgresql")
    config = alembic_config(url, app_role=app_role)
    command.upgrade(config, "head")
    assert _current(url) == _head()
    assert set(SQLModel.metadata.tables) <= _tables(url)
    assert _schema_diff(url) == [], "models and migrations disagree (autogenerate a revision)"
    if postgres:
        forced, policies, functions = _rls_objects(url)
        assert forced == set(TENANT_TABLES)
        assert {t for t, _ in policies} == set(TENANT_TABLES)
        assert len(policies) == 4 * len(TENANT_TABLES)
        assert functions == {"app_org_ids", "app_ancestor_ids", "app_user_id"}

    command.downgrade(config, "base")
    assert _current(url) is None
    assert _tables(url) <= {"alembic_version"}
    if postgres:
        assert _rls_objects(url) == (set(), set(), set())

    command.upgrade(config, "head")
    assert _schema_diff(url) == []
    if postgres:
        assert _rls_objects(url)[0] == set(TENANT_TABLES)


def test_sqlite_empty_database_upgrades_matches_models_and_round_trips(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'fresh.db'}")


def test_postgres_empty_database_upgrades_matches_models_and_round_trips(
    new_pg_database: Callable[[], PgDatabase],
) -> None:
    database = new_pg_database()
    _round_trip(database.owner_url, app_role=APP_ROLE)


def test_one_head_and_every_revision_downgrades() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert revision.module.downgrade is not None
        assert revision.doc, f"revision {revision.revision} has no description"


def test_offline_sql_renders(capsys: pytest.CaptureFixture[str]) -> None:
    """`alembic upgrade head --sql` works, for DBAs who apply migrations by hand."""
    command.upgrade(alembic_config("postgresql+psycopg2://u@localhost/db"), "head", sql=True)
    out = capsys.readouterr().out
    assert "CREATE TABLE organizations" in out
    assert "ENABLE ROW LEVEL SECURITY" in out
