"""Mail is sent at most once: a stable Message-ID and a mark before each hand-over.

- `outbound_emails.message_id`: the Message-ID header, given when the message is queued
  (rows queued before this revision get one at their next attempt).
- `outbound_emails.send_attempt`: attempts to hand the message to SMTP, each committed
  (status `sending`) before the worker connects.
- `outbound_emails.handed_over_at`: committed just before the end of the message goes to
  the server; a worker that finds it set on a `sending` row does not send it again (status
  `unconfirmed`).
The columns sit on a table row-level security already protects, so no policy changes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        # The server default fills the rows that exist; the models set the value themselves.
        batch_op.add_column(
            sa.Column("send_attempt", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("handed_over_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.alter_column("send_attempt", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("outbound_emails", schema=None) as batch_op:
        batch_op.drop_column("handed_over_at")
        batch_op.drop_column("send_attempt")
        batch_op.drop_column("message_id")
