"""Row-level security DDL for PostgreSQL, used by Alembic revisions.

Policies read the scope that `app.db` writes into each transaction with `set_config`:
`app.org_ids` (comma-separated UUIDs), `app.user_id`, `app.invite_token_hash`. Tables are
ENABLEd and FORCEd so even their owner is bound; only a superuser or BYPASSRLS role is not.
"""

from __future__ import annotations

from alembic import op

FUNCTIONS_SQL = """
CREATE OR REPLACE FUNCTION app_org_ids() RETURNS uuid[]
LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    string_to_array(nullif(current_setting('app.org_ids', true), ''), ',')::uuid[],
    '{}'::uuid[])
$$;
CREATE OR REPLACE FUNCTION app_ancestor_ids() RETURNS uuid[]
LANGUAGE sql STABLE AS $$
  SELECT coalesce(
    string_to_array(nullif(current_setting('app.ancestor_ids', true), ''), ',')::uuid[],
    '{}'::uuid[])
$$;
CREATE OR REPLACE FUNCTION app_user_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('app.user_id', true), '')::uuid
$$;
"""


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def create_functions() -> None:
    """Create the helper functions the policies call."""
    if _is_postgres():
        op.execute(FUNCTIONS_SQL)


def drop_functions() -> None:
    """Drop the helper functions."""
    if _is_postgres():
        op.execute(
            "DROP FUNCTION IF EXISTS app_org_ids();"
            " DROP FUNCTION IF EXISTS app_ancestor_ids();"
            " DROP FUNCTION IF EXISTS app_user_id();"
        )


def protect(
    table: str,
    *,
    column: str = "org_id",
    also_visible_when: str | None = None,
    nullable_org: bool = False,
) -> None:
    """Enable and force RLS on `table`, readable and writable only inside the scope.

    `also_visible_when` widens what may be read (never what may be written);
    `nullable_org` lets rows with no org (platform events) be written but read by no tenant.
    """
    if not _is_postgres():
        return
    in_scope = f"{column} = ANY(app_org_ids())"
    using = f"({in_scope}) OR ({also_visible_when})" if also_visible_when else in_scope
    check = f"{column} IS NULL OR {in_scope}" if nullable_org else in_scope
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant_read ON {table} FOR SELECT USING ({using})")
    op.execute(f"CREATE POLICY tenant_insert ON {table} FOR INSERT WITH CHECK ({check})")
    op.execute(
        f"CREATE POLICY tenant_update ON {table} FOR UPDATE USING ({using}) WITH CHECK ({check})"
    )
    op.execute(f"CREATE POLICY tenant_delete ON {table} FOR DELETE USING ({in_scope})")


def unprotect(table: str) -> None:
    """Drop the policies and disable RLS on `table`."""
    if not _is_postgres():
        return
    for name in ("tenant_read", "tenant_insert", "tenant_update", "tenant_delete"):
        op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
