"""Reminders: the worker (system scope) may list organizations.

The reminder scan must find every org without a request's scope. Row-level security hid
`organizations` from a system-scoped session (only `outbox_jobs` honoured `app.system`), so
this widens the organizations read policy by one condition: a transaction flagged
`app.system = 'on'` may read organization rows. Nothing else changes: no write, no other
table. The worker then enqueues one `reminders.scan` job per org, which runs in that org's
scope alone (see app/services/credentials/reminders.py).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The read condition of 0001 (`rls.protect("organizations", ...)`), unchanged ...
TENANT_READ = (
    "(id = ANY(app_org_ids())) OR (parent_id = ANY(app_org_ids())"
    " OR id = ANY(app_ancestor_ids()) OR id IN (SELECT m.org_id FROM memberships m"
    " WHERE m.user_id = app_user_id() AND m.is_active))"
)
# ... and the worker's flag, as outbox_jobs reads it (0003).
SYSTEM = "current_setting('app.system', true) = 'on'"


def _read_policy(using: str) -> None:
    op.execute("DROP POLICY IF EXISTS tenant_read ON organizations")
    op.execute(f"CREATE POLICY tenant_read ON organizations FOR SELECT USING ({using})")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _read_policy(f"({TENANT_READ}) OR ({SYSTEM})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _read_policy(TENANT_READ)
