"""Certificates: one per completion, not one per enrollment.

Recertification reopens a completed enrollment; completing it again issues a new certificate
while the old one stays the record of the previous completion. The unique key moves from
`enrollment_id` to (`enrollment_id`, `issued_at`), `issued_at` being the completion's moment,
so one completion still never gets two certificates.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 05:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite reflects the unnamed unique constraint of 0004 without a name: give it one to drop.
_SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_unique() -> str:
    return (
        "certificates_enrollment_id_key"
        if op.get_bind().dialect.name == "postgresql"
        else "uq_certificates_enrollment_id"
    )


def upgrade() -> None:
    with op.batch_alter_table("certificates", naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.drop_constraint(_old_unique(), type_="unique")
        batch_op.create_unique_constraint(
            "uq_certificates_enrollment_issued", ["enrollment_id", "issued_at"]
        )
        batch_op.create_index(
            batch_op.f("ix_certificates_enrollment_id"), ["enrollment_id"], unique=False
        )


def downgrade() -> None:
    # Fails while an enrollment holds two certificates (a recertification): remove those first.
    with op.batch_alter_table("certificates", naming_convention=_SQLITE_NAMES) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificates_enrollment_id"))
        batch_op.drop_constraint("uq_certificates_enrollment_issued", type_="unique")
        batch_op.create_unique_constraint(_old_unique(), ["enrollment_id"])
