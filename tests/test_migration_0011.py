"""Revision 0011 (Message-IDs and send marks on mail) keeps the mail it finds, both ways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, inspect, pool, text

from alembic import command
from tests.conftest import PgDatabase, alembic_config

_NEW_COLUMNS = {"message_id", "send_attempt", "handed_over_at"}


def _round_trip(url: str, setup_url: str | None = None) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0010")
    engine = create_engine(setup_url or url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outbound_emails (id, org_id, to_email, subject, body_text,"
                    " kind, status, error, created) VALUES (:i, NULL, 'old@example.com', 's',"
                    " 'b', 'k', 'pending', '', '2026-01-01')"
                ),
                {"i": "00000000000000000000000000000011"},
            )
        command.upgrade(config, "0011")
        with engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT to_email, status, message_id, send_attempt, handed_over_at"
                    " FROM outbound_emails"
                )
            ).one()
        # Queued before Message-IDs were kept: the send job gives it one at its next try.
        assert tuple(row) == ("old@example.com", "pending", None, 0, None)
        command.downgrade(config, "0010")
        columns = {c["name"] for c in inspect(engine).get_columns("outbound_emails")}
        assert _NEW_COLUMNS.isdisjoint(columns)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT to_email FROM outbound_emails")).scalar_one() == (
                "old@example.com"
            )
    finally:
        engine.dispose()


def test_0011_keeps_queued_mail_on_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite:///{tmp_path / 'mail.db'}")


def test_0011_keeps_queued_mail_on_postgres(new_pg_database: Callable[[], PgDatabase]) -> None:
    database = new_pg_database()
    _round_trip(database.owner_url, setup_url=database.super_url)
