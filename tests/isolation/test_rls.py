"""The tenant walls below the services.

PostgreSQL (as the `guildhall_app` role the app connects with): row-level security hides and
protects every tenant table even from raw SQL that forgot its org filter, and the role
cannot switch it off. Both backends: the guard in `app.db` refuses an ORM SELECT on a tenant
table that did not go through `app.services.core.tenancy`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection, create_engine, func, pool, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from app.db import Scope, UnscopedQueryError, get_engine, open_session
from app.models import TENANT_TABLES, Invite, Membership, Organization, OutboundEmail, User
from app.models.user import Role
from app.services.core.tenancy import mark_scoped, public_session, tenant_session
from app.services.infra import outbox
from app.services.people import member_import
from tests import factories as f
from tests import learning_factories as lf
from tests.conftest import Backend

# The column that says which org a row belongs to.
ORG_COLUMN = {table: "org_id" for table in TENANT_TABLES} | {"organizations": "id"}


@dataclass(frozen=True)
class World:
    """Two tenants with a row in every tenant table each."""

    a: f.SignedIn
    b: f.SignedIn


@pytest.fixture
def world(pg_backend: Backend) -> World:
    t = f.two_tenants()
    for tenant in (t.a, t.b):
        f.invite(tenant.ctx, Role.learner)  # an invite and an outbound email
        with tenant_session(tenant.ctx) as session:  # a member import and an outbox job
            member_import.do_stage_import(
                session, tenant.ctx, org_id=None, data=b"email,full_name\nstaged@example.com,S\n"
            )
            outbox.enqueue(session, kind="test.rls", payload={}, org_id=tenant.ctx.org_id)
            session.commit()
        lf.everything(tenant.ctx)  # a row in every learning table
    return World(a=t.a, b=t.b)


@pytest.fixture
def app_conn(pg_backend: Backend) -> Iterator[Connection]:
    """A raw connection as the app role, inside a transaction that is rolled back."""
    assert pg_backend.pg is not None
    engine = create_engine(pg_backend.pg.app_url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        yield conn
        conn.rollback()
    engine.dispose()


def _set_scope(conn: Connection, org_ids: str = "", user_id: str = "") -> None:
    conn.execute(
        text("SELECT set_config('app.org_ids', :o, true), set_config('app.user_id', :u, true)"),
        {"o": org_ids, "u": user_id},
    )


def _rows(conn: Connection, table: str, org_id: uuid.UUID) -> int:
    column = ORG_COLUMN[table]
    return int(
        conn.execute(
            text(f"SELECT count(*) FROM {table} WHERE {column} = :o"), {"o": org_id}
        ).scalar_one()
    )


def _all_rows(conn: Connection, table: str) -> int:
    return len(conn.execute(text(f"SELECT * FROM {table}")).all())


def _fails(conn: Connection, sql: str, **params: object) -> str:
    """Run `sql` in a savepoint; it must fail. Returns the database's message."""
    savepoint = conn.begin_nested()
    try:
        conn.execute(text(sql), params)
    except DBAPIError as exc:
        savepoint.rollback()
        return str(exc.orig)
    savepoint.rollback()
    raise AssertionError(f"expected the database to refuse: {sql}")


# --------------------------------------------------------------------------- (1) no scope


def test_without_a_scope_every_tenant_table_looks_empty(world: World, peek, app_conn) -> None:
    for table in TENANT_TABLES:
        column = ORG_COLUMN[table]
        exist = peek(f"SELECT count(*) FROM {table} WHERE {column} = :o", o=world.a.org_id)
        assert exist[0][0] >= 1, f"fixture wrote no {table} row for org A"
        assert _all_rows(app_conn, table) == 0, f"{table} readable without a scope"


def test_the_scope_does_not_leak_to_the_next_use_of_a_pooled_connection(world: World) -> None:
    for _ in range(3):
        with tenant_session(world.a.ctx) as session:
            assert session.exec(mark_scoped(select(Membership))).all()
            session.commit()
    engine = get_engine()
    conns = [engine.connect() for _ in range(3)]
    try:
        for conn in conns:
            value = conn.execute(text("SELECT current_setting('app.org_ids', true)")).scalar()
            assert not value
            assert _all_rows(conn, "memberships") == 0
    finally:
        for conn in conns:
            conn.close()


# --------------------------------------------------------------------------- (2) org B's scope


def test_scope_of_b_sees_b_and_nothing_of_a(world: World, app_conn) -> None:
    _set_scope(app_conn, str(world.b.org_id))
    for table in TENANT_TABLES:
        assert _rows(app_conn, table, world.b.org_id) >= 1, f"B cannot read its own {table}"
        assert _rows(app_conn, table, world.a.org_id) == 0, f"B can read A's {table}"


def test_scope_of_b_cannot_update_or_delete_a_rows(world: World, app_conn, peek) -> None:
    _set_scope(app_conn, str(world.b.org_id))
    a = world.a.org_id
    changes = {
        "organizations": "UPDATE organizations SET name = 'pwned' WHERE id = :o",
        "org_settings": "UPDATE org_settings SET version = 999 WHERE org_id = :o",
        "memberships": "UPDATE memberships SET role = 'learner' WHERE org_id = :o",
        "invites": "UPDATE invites SET role = 'org_admin' WHERE org_id = :o",
        "audit_events": "UPDATE audit_events SET action = 'x' WHERE org_id = :o",
        "outbound_emails": "UPDATE outbound_emails SET to_email = 'x@x' WHERE org_id = :o",
        "member_imports": "UPDATE member_imports SET failed_count = 999 WHERE org_id = :o",
        "outbox_jobs": "UPDATE outbox_jobs SET status = 'dead' WHERE org_id = :o",
        "programs": "UPDATE programs SET title = 'x' WHERE org_id = :o",
        "courses": "UPDATE courses SET title = 'x' WHERE org_id = :o",
        "course_modules": "UPDATE course_modules SET title = 'x' WHERE org_id = :o",
        "lessons": "UPDATE lessons SET body = 'x' WHERE org_id = :o",
        "quiz_questions": "UPDATE quiz_questions SET answer = '[0]' WHERE org_id = :o",
        "enrollments": "UPDATE enrollments SET status = 'completed' WHERE org_id = :o",
        "cohorts": "UPDATE cohorts SET name = 'Taken' WHERE org_id = :o",
        "lesson_progress": "UPDATE lesson_progress SET status = 'completed' WHERE org_id = :o",
        "quiz_attempts": "UPDATE quiz_attempts SET passed = true WHERE org_id = :o",
        "mandatory_rules": "UPDATE mandatory_rules SET days_to_complete = 1 WHERE org_id = :o",
        "certificates": "UPDATE certificates SET revoked_reason = 'x' WHERE org_id = :o",
        "notifications": "UPDATE notifications SET title = 'x' WHERE org_id = :o",
        "notification_preferences": (
            "UPDATE notification_preferences SET email_kinds = '[]' WHERE org_id = :o"
        ),
        "announcements": "UPDATE announcements SET title = 'x' WHERE org_id = :o",
        "chat_channels": "UPDATE chat_channels SET name = 'x' WHERE org_id = :o",
        "chat_members": "UPDATE chat_members SET muted_until = now() WHERE org_id = :o",
        "chat_messages": "UPDATE chat_messages SET body = 'x' WHERE org_id = :o",
    }
    assert set(changes) == set(TENANT_TABLES)
    for table, sql in changes.items():
        assert app_conn.execute(text(sql), {"o": a}).rowcount == 0, f"updated A's {table}"
    for table in (
        "invites",
        "outbound_emails",
        "audit_events",
        "memberships",
        "org_settings",
        "member_imports",
        "outbox_jobs",
        "notifications",
        "certificates",
        "quiz_attempts",
        "lesson_progress",
        "mandatory_rules",
        "quiz_questions",
        "chat_messages",
        "chat_members",
        "announcements",
        "notification_preferences",
    ):
        deleted = app_conn.execute(text(f"DELETE FROM {table} WHERE org_id = :o"), {"o": a})
        assert deleted.rowcount == 0, f"deleted A's {table}"
    app_conn.commit()
    assert peek("SELECT name FROM organizations WHERE id = :o", o=a)[0][0] == world.a.ctx.org_name
    roles = peek("SELECT role FROM memberships WHERE org_id = :o", o=a)
    assert [r[0] for r in roles] == [Role.org_admin]


def test_scope_of_b_cannot_insert_or_move_rows_into_a(world: World, app_conn) -> None:
    _set_scope(app_conn, str(world.b.org_id))
    a, b_user = world.a.org_id, world.b.user_id
    refused = "row-level security"
    assert refused in _fails(
        app_conn,
        "INSERT INTO memberships (id, org_id, user_id, role, is_active, created, modified)"
        " VALUES (gen_random_uuid(), :a, :u, 'org_admin', true, now(), now())",
        a=a,
        u=b_user,
    )
    assert refused in _fails(
        app_conn,
        "INSERT INTO invites (id, org_id, email, role, token_hash, invited_by, expires_at,"
        " created) VALUES (gen_random_uuid(), :a, 'x@example.com', 'org_admin', :h, :u,"
        " now() + interval '1 day', now())",
        a=a,
        u=b_user,
        h=uuid.uuid4().hex,
    )
    assert refused in _fails(
        app_conn,
        "INSERT INTO audit_events (id, org_id, actor_email, action, target, detail, ip,"
        " created) VALUES (gen_random_uuid(), :a, '', 'forged', '', '{}', '', now())",
        a=a,
    )
    assert refused in _fails(
        app_conn,
        "INSERT INTO organizations (id, name, kind, parent_id, sibling_key, is_active,"
        " created, modified) VALUES (gen_random_uuid(), 'Sneaky', 'local', :a, :k, true,"
        " now(), now())",
        a=a,
        k=f"{a}:{uuid.uuid4().hex}",
    )
    # Moving one of B's own rows into A is refused as well (the WITH CHECK side).
    assert refused in _fails(
        app_conn, "UPDATE memberships SET org_id = :a WHERE org_id = :b", a=a, b=world.b.org_id
    )


def test_platform_rows_without_an_org_are_writable_but_readable_by_no_tenant(
    world: World, app_conn
) -> None:
    _set_scope(app_conn, str(world.b.org_id))
    marker = f.unique("platform")
    app_conn.execute(
        text(
            "INSERT INTO audit_events (id, org_id, actor_email, action, target, detail, ip,"
            " created) VALUES (gen_random_uuid(), NULL, '', 'platform.test', :t, '{}', '', now())"
        ),
        {"t": marker},
    )
    seen = app_conn.execute(
        text("SELECT count(*) FROM audit_events WHERE target = :t"), {"t": marker}
    ).scalar_one()
    assert seen == 0


def test_a_missed_filter_in_the_orm_still_returns_only_the_scope(world: World) -> None:
    """The guard is bypassed on purpose here: RLS alone must hold the line."""
    with tenant_session(world.b.ctx) as session:
        rows = session.exec(mark_scoped(select(Membership))).all()
        invites = session.exec(mark_scoped(select(Invite))).all()
        mails = session.exec(mark_scoped(select(OutboundEmail))).all()
        orgs = session.exec(mark_scoped(select(Organization))).all()
    assert rows and {m.org_id for m in rows} == {world.b.org_id}
    assert invites and {i.org_id for i in invites} == {world.b.org_id}
    assert mails and {m.org_id for m in mails} == {world.b.org_id}
    assert world.a.org_id not in {o.id for o in orgs}


def test_own_memberships_are_visible_for_the_org_switcher_and_nothing_more(
    world: World, app_conn
) -> None:
    _set_scope(app_conn, user_id=str(world.a.user_id))
    own = app_conn.execute(text("SELECT org_id FROM memberships")).scalars().all()
    assert own == [world.a.org_id]
    org_names = app_conn.execute(text("SELECT name FROM organizations")).scalars().all()
    assert org_names == [world.a.ctx.org_name]
    assert _all_rows(app_conn, "invites") == 0
    assert _all_rows(app_conn, "audit_events") == 0


# --------------------------------------------------------------------------- (3) no bypass


def test_the_app_role_cannot_turn_row_security_off(world: World, app_conn) -> None:
    app_conn.execute(text("SET row_security = off"))
    message = _fails(app_conn, "SELECT * FROM memberships")
    assert "row-level security" in message


def test_the_app_role_cannot_disable_or_drop_policies(world: World, app_conn) -> None:
    for table in TENANT_TABLES:
        assert "must be owner" in _fails(
            app_conn, f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"
        )
    assert "must be owner" in _fails(app_conn, "DROP POLICY tenant_read ON memberships")
    assert "permission denied" in _fails(app_conn, "SET ROLE guildhall_owner")


def test_the_app_role_is_not_privileged_and_owns_nothing(app_conn) -> None:
    role = app_conn.execute(
        text("SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).one()
    assert tuple(role) == ("guildhall_app", False, False)
    owned = app_conn.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner = :r"),
        {"r": role.rolname},
    ).all()
    assert owned == []
    # And it cannot touch the migration bookkeeping.
    assert "permission denied" in _fails(app_conn, "SELECT * FROM alembic_version")


# --------------------------------------------------------------------------- (4) catalog


def test_every_tenant_table_enables_and_forces_row_security(app_conn) -> None:
    rows = app_conn.execute(
        text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
            " WHERE relname = ANY(:names) AND relkind = 'r'"
        ),
        {"names": list(TENANT_TABLES)},
    ).all()
    assert {r.relname: (r.relrowsecurity, r.relforcerowsecurity) for r in rows} == {
        name: (True, True) for name in TENANT_TABLES
    }


# --------------------------------------------------------------------------- (5) the ORM guard


@pytest.mark.usefixtures("backend")
def test_unscoped_orm_select_on_a_tenant_table_raises_on_every_backend() -> None:
    admin = f.new_admin()
    unscoped = [
        select(Membership),
        select(Membership.id),
        select(func.count()).select_from(Membership),
        select(User).join(Membership, Membership.user_id == User.id),
        select(User).where(User.id.in_(select(Membership.user_id))),  # type: ignore[attr-defined]
        select(Invite).where(Invite.org_id == admin.org_id),
    ]
    for stmt in unscoped:
        with tenant_session(admin.ctx) as session, pytest.raises(UnscopedQueryError):
            session.exec(stmt)  # type: ignore[call-overload]
    with tenant_session(admin.ctx) as session, pytest.raises(UnscopedQueryError):
        session.get(Membership, uuid.uuid4())
    with public_session() as session, pytest.raises(UnscopedQueryError):
        session.exec(select(Organization))
    # Non-tenant tables and marked statements pass.
    with tenant_session(admin.ctx) as session:
        assert session.get(User, admin.user_id) is not None
        assert session.exec(mark_scoped(select(Membership))).all()
    # A system scope (pre-tenant flows) is let through by design.
    with open_session(Scope(system=True)) as session:
        session.exec(select(Membership).limit(1)).all()
