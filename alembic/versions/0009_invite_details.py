"""Invites carry what a CSV import knows: a suggested name and the learner's manager.

The member import now sends invites instead of adding accounts. `invites.full_name` is the
name from the file, offered on the invite page; `invites.manager_id` is the manager the file
named, applied to the membership when the invite is accepted (if still a valid manager).
Both columns sit on a table row-level security already protects, so no policy changes.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        # The server default fills the rows that exist; the models set the value themselves.
        batch_op.add_column(
            sa.Column(
                "full_name",
                sqlmodel.sql.sqltypes.AutoString(length=120),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(sa.Column("manager_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key("fk_invites_manager_id", "users", ["manager_id"], ["id"])
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.alter_column("full_name", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_constraint("fk_invites_manager_id", type_="foreignkey")
        batch_op.drop_column("manager_id")
        batch_op.drop_column("full_name")
