"""Outbox jobs: work caused by a change, claimed by workers, retried, dead-lettered.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 00:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_SCOPE = "org_id = ANY(app_org_ids())"
WORKER = "current_setting('app.system', true) = 'on'"


def upgrade() -> None:
    op.create_table(
        "outbox_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key"),
    )
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_jobs_org_created", ["org_id", "created"], unique=False)
        batch_op.create_index(
            "ix_outbox_jobs_status_run_after", ["status", "run_after"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        # Tenants see their org's jobs; workers (scope flagged `system`) claim across orgs.
        op.execute("ALTER TABLE outbox_jobs ENABLE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE outbox_jobs FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_read ON outbox_jobs FOR SELECT USING ({IN_SCOPE} OR {WORKER})"
        )
        op.execute(
            "CREATE POLICY tenant_insert ON outbox_jobs FOR INSERT"
            f" WITH CHECK (org_id IS NULL OR {IN_SCOPE})"
        )
        op.execute(
            f"CREATE POLICY tenant_update ON outbox_jobs FOR UPDATE USING ({IN_SCOPE} OR {WORKER})"
            f" WITH CHECK ({IN_SCOPE} OR {WORKER})"
        )
        op.execute(f"CREATE POLICY tenant_delete ON outbox_jobs FOR DELETE USING ({IN_SCOPE})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("tenant_read", "tenant_insert", "tenant_update", "tenant_delete"):
            op.execute(f"DROP POLICY IF EXISTS {name} ON outbox_jobs")
    with op.batch_alter_table("outbox_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_jobs_status_run_after")
        batch_op.drop_index("ix_outbox_jobs_org_created")
    op.drop_table("outbox_jobs")
