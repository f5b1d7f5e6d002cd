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


def test_0009_gives_existing_invites_no_name_and_no_manager(tmp_path: Path) -> None:
    """The invite-details revision keeps the invites it finds (SQLite rebuilds the table)."""
    url = f"sqlite:///{tmp_path / 'invites.db'}"
    config = alembic_config(url)
    command.upgrade(config, "0008")
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO invites (id, org_id, email, role, token_hash, invited_by,"
                    " expires_at, created) VALUES ('a1', 'o1', 'old@example.com', 'learner',"
                    " 'h1', 'u1', '2030-01-01 00:00:00', '2026-01-01 00:00:00')"
                )
            )
        command.upgrade(config, "0009")
        with engine.connect() as conn:
            row = conn.execute(text("SELECT email, full_name, manager_id FROM invites")).one()
        assert tuple(row) == ("old@example.com", "", None)
        command.downgrade(config, "0008")
        columns = {c["name"] for c in inspect(engine).get_columns("invites")}
        assert {"full_name", "manager_id"}.isdisjoint(columns)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT email FROM invites")).scalar_one() == "old@example.com"
    finally:
        engine.dispose()


def _mail_after_0010(url: str, setup_url: str | None = None) -> list[str]:
    """Bodies of mail logged before 0010 (one with a live reset link), after upgrading."""
    config = alembic_config(url)
    command.upgrade(config, "0009")
    engine = create_engine(setup_url or url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            org = "00000000000000000000000000000001"
            if url.startswith("postgresql"):
                org = "00000000-0000-0000-0000-000000000001"
            conn.execute(
                text(
                    "INSERT INTO organizations (id, name, kind, sibling_key, is_active, created,"
                    " modified) VALUES (:o, 'Old Org', 'national', 'root:old org', true,"
                    " '2026-01-01', '2026-01-01')"
                ),
                {"o": org},
            )
            for n, body in enumerate(
                (
                    "Open this link:\n\nhttp://localhost:3000/reset/AbC-123_xyz\n\nThanks",
                    "See http://localhost:3000/certificates for yours.",
                )
            ):
                conn.execute(
                    text(
                        "INSERT INTO outbound_emails (id, org_id, to_email, subject, body_text,"
                        " kind, status, error, created) VALUES (:i, :o, 'a@example.com', 's',"
                        " :b, 'k', 'logged', '', '2026-01-01')"
                    ),
                    {"i": f"{org[:-1]}{n + 2}", "o": org, "b": body},
                )
        command.upgrade(config, "0010")
        with engine.connect() as conn:
            return [r[0] for r in conn.execute(text("SELECT body_text FROM outbound_emails"))]
    finally:
        engine.dispose()


def _assert_redacted(bodies: list[str]) -> None:
    reset = next(b for b in bodies if "Open this link" in b)
    assert "AbC-123_xyz" not in reset and "removed from this log" in reset
    assert reset.endswith("Thanks")
    assert "See http://localhost:3000/certificates for yours." in bodies, "other links stay"


def test_0010_removes_links_already_in_the_mail_log_on_sqlite(tmp_path: Path) -> None:
    _assert_redacted(_mail_after_0010(f"sqlite:///{tmp_path / 'mail.db'}"))


def test_0010_removes_links_already_in_the_mail_log_on_postgres(
    new_pg_database: Callable[[], PgDatabase],
) -> None:
    """As the owner, whom FORCE row-level security binds: the fix still sees every row."""
    database = new_pg_database()
    _assert_redacted(_mail_after_0010(database.owner_url, setup_url=database.super_url))
