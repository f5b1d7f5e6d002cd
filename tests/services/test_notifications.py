"""In-app notifications: the recipient lists, counts and marks their own; nobody else can."""

from __future__ import annotations

import uuid

import pytest

from app.models.user import Role
from app.services import notifications
from app.services.errors import NotFound
from app.services.tenancy import OrgContext, tenant_session
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")


def note(ctx: OrgContext, title: str, *, user_id: uuid.UUID | None = None) -> uuid.UUID:
    """A notification for the context's user (or `user_id`) in the context's org."""
    assert ctx.org_id is not None
    with tenant_session(ctx) as session:
        row = notifications.notify(
            session,
            org_id=ctx.org_id,
            user_id=user_id or ctx.user_id,
            kind="test",
            title=title,
            link="/my-learning",
        )
        session.commit()
    assert row is not None
    return row.id


def test_list_newest_first_with_unread_count_and_paging() -> None:
    admin = f.new_admin()
    ids = [note(admin.ctx, f"Note {i}") for i in range(3)]
    with tenant_session(admin.ctx) as session:
        page = notifications.list_for_user(session, admin.ctx, page_size=2)
        assert [r.title for r in page.rows] == ["Note 2", "Note 1"]
        assert (page.total, page.unread) == (3, 3)
        rest = notifications.list_for_user(session, admin.ctx, page=2, page_size=2)
        assert [r.title for r in rest.rows] == ["Note 0"]
        notifications.mark_read(session, admin.ctx, ids[0])
        notifications.mark_read(session, admin.ctx, ids[0])  # twice is fine
        assert notifications.unread_count(session, admin.ctx) == 2
        rows = notifications.list_for_user(session, admin.ctx).rows
        assert {r.title: r.read for r in rows} == {"Note 0": True, "Note 1": False, "Note 2": False}
        assert notifications.mark_all_read(session, admin.ctx) == 2
        assert notifications.unread_count(session, admin.ctx) == 0


def test_nobody_reads_or_marks_anyone_elses() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    other = f.new_admin()
    secret = note(admin.ctx, "For the learner only", user_id=learner.user_id)
    mine = note(admin.ctx, "For the admin")
    for who in (admin, other):  # the admin of the org, and another tenant
        with tenant_session(who.ctx) as session:
            titles = [r.title for r in notifications.list_for_user(session, who.ctx).rows]
            assert "For the learner only" not in titles
            with pytest.raises(NotFound):
                notifications.mark_read(session, who.ctx, secret)
            notifications.mark_all_read(session, who.ctx)
    with tenant_session(learner.ctx) as session:
        page = notifications.list_for_user(session, learner.ctx)
        assert [r.title for r in page.rows] == ["For the learner only"]
        assert page.unread == 1  # nobody else marked it
        with pytest.raises(NotFound):
            notifications.mark_read(session, learner.ctx, mine)
        with pytest.raises(NotFound):
            notifications.mark_read(session, learner.ctx, "not-an-id")
        notifications.mark_read(session, learner.ctx, secret)
        assert notifications.unread_count(session, learner.ctx) == 0
    with tenant_session(admin.ctx) as session:
        assert notifications.unread_count(session, admin.ctx) == 0  # mark_all_read above


def test_a_notification_from_a_child_org_reaches_its_recipient() -> None:
    parent = f.new_admin()
    child = f.child_org(parent.ctx)
    parent = f.refresh(parent)
    with tenant_session(parent.ctx) as session:
        notifications.notify(
            session, org_id=child.id, user_id=parent.user_id, kind="test", title="From below"
        )
        session.commit()
    learner_elsewhere = f.invite_and_accept_member(parent.ctx, Role.learner)
    with tenant_session(learner_elsewhere.ctx) as session:
        assert notifications.list_for_user(session, learner_elsewhere.ctx).total == 0
    with tenant_session(parent.ctx) as session:
        assert "From below" in [
            r.title for r in notifications.list_for_user(session, parent.ctx).rows
        ]


def test_dedupe_key_notifies_once() -> None:
    admin = f.new_admin()
    assert admin.ctx.org_id is not None
    key = f"test:{uuid.uuid4()}"
    with tenant_session(admin.ctx) as session:
        for _ in range(2):
            notifications.notify(
                session,
                org_id=admin.org_id,
                user_id=admin.user_id,
                kind="test",
                title="Once",
                dedupe_key=key,
            )
            session.commit()
        assert [r.title for r in notifications.list_for_user(session, admin.ctx).rows] == ["Once"]
