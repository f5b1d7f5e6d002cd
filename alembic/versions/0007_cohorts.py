"""Cohorts: groups of one course's learners with their own dates and seats.

A cohort belongs to the learners' org (like enrollments), so a course shared down the
hierarchy gets its cohorts in each org that runs it. `enrollments.cohort_id` places an
enrollment in at most one cohort of its course.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app import rls

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cohorts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("course_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("starts_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_on", sa.DateTime(timezone=True), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("is_archived", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"]),
        sa.ForeignKeyConstraint(["org_id"], ["organizations.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("org_id", "course_id", "name", name="uq_cohorts_course_name"),
    )
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cohorts_org_id"), ["org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_cohorts_course_id"), ["course_id"], unique=False)
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cohort_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_enrollments_cohort_id"), ["cohort_id"], unique=False)
        batch_op.create_foreign_key("fk_enrollments_cohort_id", "cohorts", ["cohort_id"], ["id"])
    rls.protect("cohorts")


def downgrade() -> None:
    rls.unprotect("cohorts")
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_constraint("fk_enrollments_cohort_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_enrollments_cohort_id"))
        batch_op.drop_column("cohort_id")
    with op.batch_alter_table("cohorts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cohorts_course_id"))
        batch_op.drop_index(batch_op.f("ix_cohorts_org_id"))
    op.drop_table("cohorts")
