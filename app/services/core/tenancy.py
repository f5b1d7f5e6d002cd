"""The org context of a request and the one way to query tenant tables.

`OrgContext` is built once per request from the session cookie (see `auth`). Every query on
a tenant table goes through `scoped`/`access` here, which add the org filter and mark the
statement so the guard in `app.db` lets it through.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func
from sqlalchemy.sql.base import Executable
from sqlmodel import Session, SQLModel, select
from sqlmodel.sql.expression import SelectOfScalar

from app.db import Scope, open_session
from app.services.core.errors import NotFound

T = TypeVar("T", bound=SQLModel)
S = TypeVar("S", bound=Executable)


@dataclass(frozen=True)
class OrgContext:
    """Who is acting, in which org, with which role, and which org ids they may read."""

    user_id: uuid.UUID
    email: str
    full_name: str
    org_id: uuid.UUID | None
    org_name: str = ""
    role: str = ""
    org_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    ancestor_ids: frozenset[uuid.UUID] = field(default_factory=frozenset)
    is_super_admin: bool = False
    ip: str = ""
    session_id: uuid.UUID | None = None

    def scope(self) -> Scope:
        """The database scope for this context."""
        return Scope(
            org_ids=set(self.org_ids), ancestor_ids=set(self.ancestor_ids), user_id=self.user_id
        )


def org_column(model: type[SQLModel]) -> Any:
    """The column that names a row's org (`id` for organizations themselves)."""
    if getattr(model, "__tablename__", "") == "organizations":
        return model.id  # type: ignore[attr-defined]
    return model.org_id  # type: ignore[attr-defined]


def mark_scoped(stmt: S) -> S:
    """Mark a statement whose org filter was added explicitly (used only in this package)."""
    return stmt.execution_options(org_scoped=True)


def scoped(
    ctx: OrgContext, model: type[T], *, org_ids: Iterable[uuid.UUID] | None = None
) -> SelectOfScalar[T]:
    """`SELECT model` limited to the orgs the context may read (or a subset of them)."""
    allowed = set(ctx.org_ids)
    wanted = allowed if org_ids is None else allowed & set(org_ids)
    column: ColumnElement[Any] = org_column(model)
    return mark_scoped(select(model).where(column.in_(wanted)))


def scoped_with_ancestors(ctx: OrgContext, model: type[T]) -> SelectOfScalar[T]:
    """`SELECT model` over the context's orgs *and* its ancestors.

    Only for tables whose rows orgs share downwards (courses and their content): the caller
    adds the condition that says which ancestor rows are shared (see `course_read`).
    """
    column: ColumnElement[Any] = org_column(model)
    return mark_scoped(select(model).where(column.in_(set(ctx.org_ids) | set(ctx.ancestor_ids))))


def parse_id(value: uuid.UUID | str) -> uuid.UUID:
    """An id from the outside (a URL, a handler argument); a malformed one is `NotFound`,
    exactly like an id that does not exist."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError as exc:
        raise NotFound() from exc


def access(
    session: Session,
    ctx: OrgContext,
    model: type[T],
    obj_id: uuid.UUID | str,
    *,
    write: bool = False,
) -> T:
    """Fetch one row in the context's scope; missing and forbidden raise the same `NotFound`.

    With `write=True` the row must belong to the active org itself, not just the readable
    subtree.
    """
    key = parse_id(obj_id)
    org_ids = [ctx.org_id] if write and ctx.org_id else None
    row = session.exec(scoped(ctx, model, org_ids=org_ids).where(model.id == key)).first()  # type: ignore[attr-defined]
    if row is None:
        raise NotFound()
    return row


def count_rows(session: Session, stmt: SelectOfScalar[Any]) -> int:
    """How many rows a (scoped) select would return."""
    counted = stmt.with_only_columns(func.count()).order_by(None)
    return int(session.execute(counted).scalar_one())


@contextmanager
def tenant_session(ctx: OrgContext) -> Iterator[Session]:
    """A database session bound to the context's scope (row-level security on PostgreSQL)."""
    with open_session(ctx.scope()) as session:
        yield session


@contextmanager
def public_session(
    *, user_id: uuid.UUID | None = None, invite_token_hash: str | None = None
) -> Iterator[Session]:
    """A session with no org scope, for flows before a tenant is known (sign-in, sign-up)."""
    with open_session(Scope(user_id=user_id, invite_token_hash=invite_token_hash)) as session:
        yield session
