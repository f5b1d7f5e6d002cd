"""Shared builders for the org config tests: a family of orgs, updates, views, stored rows."""

from __future__ import annotations

import json
import uuid
from typing import Any

from app.services.config import inheritance, writes
from app.services.core.tenancy import OrgContext, tenant_session
from tests import factories as f


def family() -> tuple[f.SignedIn, uuid.UUID, str]:
    """A parent admin (refreshed, so the child is in scope), the child id and name."""
    parent = f.new_admin()
    name = f.unique("Child")
    child = f.child_org(parent.ctx, name=name)
    return f.refresh(parent), child.id, name


def update(ctx: OrgContext, org_id: uuid.UUID, section: str, **values: Any) -> None:
    """`update_section` in a session of its own (committed)."""
    with tenant_session(ctx) as session:
        writes.do_update_section(session, ctx, org_id=org_id, section=section, values=values)


def view_of(ctx: OrgContext, org_id: uuid.UUID) -> inheritance.SectionsView:
    """Every field of the org as the settings page shows it (value, source, overridden)."""
    with tenant_session(ctx) as session:
        return inheritance.effective_with_sources(session, ctx, org_id=org_id)


def stored(peek: Any, org_id: uuid.UUID) -> tuple[Any, int]:
    """The org's stored overrides and version, read straight from the table."""
    rows = peek("SELECT data, version FROM org_settings WHERE org_id = :o", o=_key(peek, org_id))
    assert len(rows) == 1
    data = rows[0][0]
    if isinstance(data, str):
        data = json.loads(data)
    return data, rows[0][1]


def _key(peek: Any, org_id: uuid.UUID) -> str:
    # SQLite stores UUIDs as 32 hex digits; PostgreSQL as uuid.
    return org_id.hex if _is_sqlite(peek) else str(org_id)


def _is_sqlite(peek: Any) -> bool:
    try:
        peek("SELECT sqlite_version()")
    except Exception:
        return False
    return True
