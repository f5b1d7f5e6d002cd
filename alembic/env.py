"""Alembic environment: the schema is `SQLModel.metadata`; the URL comes from app.settings."""

from __future__ import annotations

from sqlalchemy import create_engine, pool, text
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from alembic import context
from app.db import _ensure_sqlite_dir, postgres_driver_url
from app.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def _url() -> str:
    return config.attributes.get("url") or get_settings().effective_migrate_url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    url = _url()
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
    # A hung server fails the handshake instead of hanging the deploy; statements get no
    # timeout (a long migration is never cut short).
    connect_args = (
        {}
        if url.startswith("sqlite")
        else {"connect_timeout": get_settings().db_connect_timeout_seconds}
    )
    engine = create_engine(
        postgres_driver_url(url), poolclass=pool.NullPool, connect_args=connect_args
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
        role = config.attributes.get("app_role") or get_settings().db_app_role
        if connection.dialect.name == "postgresql" and role:
            # The app connects as a role that does not own the tables, so RLS binds it.
            connection.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
            connection.execute(
                text(
                    "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public"
                    f' TO "{role}"'
                )
            )
            connection.execute(text(f'REVOKE ALL ON TABLE alembic_version FROM "{role}"'))
            connection.commit()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
