"""Secrets out of the mail log, and sign-up by confirmed email.

- `outbound_emails.sealed_body`: the real body of a message that carries a sign-in link
  (reset, invite, sign-up confirmation), encrypted until the SMTP job sends it; the mail
  log's `body_text` has the link redacted. Bodies logged before this revision may still
  hold links: they are redacted here too.
- `signup_requests`: a sign-up waiting for its emailed link (not a tenant table: nothing of
  the org exists yet).
- Mail that belongs to no org (password resets, sign-up confirmations) is sent by the job
  worker in the system scope: row-level security lets a transaction flagged
  `app.system = 'on'` read and update those rows, and only those (no tenant sees them).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import context, op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The read and update conditions of 0001 (`rls.protect("outbound_emails", nullable_org=True)`),
# and what this revision adds to them.
_IN_SCOPE = "org_id = ANY(app_org_ids())"
_CHECK = f"org_id IS NULL OR {_IN_SCOPE}"
_PLATFORM_MAIL = "org_id IS NULL AND current_setting('app.system', true) = 'on'"


def _mail_policies(*, read: str) -> None:
    for name in ("tenant_read", "tenant_update"):
        op.execute(f"DROP POLICY IF EXISTS {name} ON outbound_emails")
    op.execute(f"CREATE POLICY tenant_read ON outbound_emails FOR SELECT USING ({read})")
    op.execute(
        "CREATE POLICY tenant_update ON outbound_emails FOR UPDATE"
        f" USING ({read}) WITH CHECK ({_CHECK})"
    )
_SECRET_LINK = re.compile(r"https?://\S+/(?:reset|invite)/[A-Za-z0-9_-]+")
_REDACTED = "[link removed from this log: only the recipient's copy has it]"


def upgrade() -> None:
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("sealed_body", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
        )
    op.create_table(
        "signup_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("full_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("org_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("org_kind", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("signup_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signup_requests_token_hash"), ["token_hash"], unique=True
        )
        batch_op.create_index(batch_op.f("ix_signup_requests_email"), ["email"], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        _mail_policies(read=f"({_IN_SCOPE}) OR ({_PLATFORM_MAIL})")
    _redact_logged_links()


def _redact_logged_links() -> None:
    """Links already in the log stop being readable there (the tokens stay valid until they
    expire, for whoever received the mail)."""
    if context.is_offline_mode():
        return  # a data fix: nothing to render for an offline SQL script
    bind = op.get_bind()
    emails = sa.table(
        "outbound_emails", sa.column("id", sa.Uuid()), sa.column("body_text", sa.Text())
    )
    # Row-level security binds even the owner (FORCE), and a migration has no org scope: the
    # owner reads every row only while FORCE is off, inside this transaction.
    postgres = bind.dialect.name == "postgresql"
    if postgres:
        op.execute("ALTER TABLE outbound_emails NO FORCE ROW LEVEL SECURITY")
    rows = bind.execute(
        sa.select(emails.c.id, emails.c.body_text).where(
            sa.or_(emails.c.body_text.like("%/reset/%"), emails.c.body_text.like("%/invite/%"))
        )
    ).all()
    for row_id, body in rows:
        redacted = _SECRET_LINK.sub(_REDACTED, body)
        if redacted != body:
            bind.execute(
                sa.update(emails).where(emails.c.id == row_id).values(body_text=redacted)
            )
    if postgres:
        op.execute("ALTER TABLE outbound_emails FORCE ROW LEVEL SECURITY")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _mail_policies(read=_IN_SCOPE)
    with op.batch_alter_table("signup_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signup_requests_email"))
        batch_op.drop_index(batch_op.f("ix_signup_requests_token_hash"))
    op.drop_table("signup_requests")
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.drop_column("sealed_body")
