"""In-app notifications: the recipient lists, counts and marks their own; nobody else can."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from app.db import Scope, open_session
from app.models.mail import OutboundEmail
from app.models.user import Role
from app.services.comms import notifications
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, mark_scoped, tenant_session
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
        notifications.do_mark_read(session, admin.ctx, ids[0])
        notifications.do_mark_read(session, admin.ctx, ids[0])  # twice is fine
        assert notifications.unread_count(session, admin.ctx) == 2
        rows = notifications.list_for_user(session, admin.ctx).rows
        assert {r.title: r.read for r in rows} == {"Note 0": True, "Note 1": False, "Note 2": False}
        assert notifications.do_mark_all_read(session, admin.ctx) == 2
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
                notifications.do_mark_read(session, who.ctx, secret)
            notifications.do_mark_all_read(session, who.ctx)
    with tenant_session(learner.ctx) as session:
        page = notifications.list_for_user(session, learner.ctx)
        assert [r.title for r in page.rows] == ["For the learner only"]
        assert page.unread == 1  # nobody else marked it
        with pytest.raises(NotFound):
            notifications.do_mark_read(session, learner.ctx, mine)
        with pytest.raises(NotFound):
            notifications.do_mark_read(session, learner.ctx, "not-an-id")
        notifications.do_mark_read(session, learner.ctx, secret)
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


# --------------------------------------------------------------------------- issue 4


def mails(email: str, org_id: uuid.UUID, kind: str | None = None) -> list[OutboundEmail]:
    """Messages queued to `email` in `org_id` (optionally of one kind; never the invite)."""
    with open_session(Scope(org_ids={org_id})) as session:
        stmt = select(OutboundEmail).where(
            OutboundEmail.to_email == email, OutboundEmail.kind != "invite"
        )
        if kind is not None:
            stmt = stmt.where(OutboundEmail.kind == kind)
        return list(session.exec(mark_scoped(stmt)).all())


def send(ctx: OrgContext, user_id: uuid.UUID, kind: str, *, key: str | None = None) -> bool:
    assert ctx.org_id is not None
    with tenant_session(ctx) as session:
        row = notifications.notify(
            session,
            org_id=ctx.org_id,
            user_id=user_id,
            kind=kind,
            title=f"About {kind}",
            body="Details",
            link="/my-learning",
            dedupe_key=key,
        )
        session.commit()
    return row is not None


def test_every_kind_has_a_label_and_the_defaults_are_known_kinds() -> None:
    assert set(notifications.DEFAULT_EMAIL_KINDS) <= set(notifications.KINDS)
    for key in (
        "enrollment.created",
        "enrollment.approved",
        "enrollment.rejected",
        "lesson.due_soon",
        "mandatory.overdue",
        "certificate.issued",
        "invite.accepted",
        "chat.mention",
        "announcement",
    ):
        assert notifications.kind_label(key) != key
    assert notifications.kind_label("something.else") == "something.else"


def test_preferences_default_then_saved_and_validated() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        assert set(notifications.get_preferences(session, admin.ctx)) == set(
            notifications.DEFAULT_EMAIL_KINDS
        )
        saved = notifications.do_set_preferences(
            session, admin.ctx, email_kinds=["chat.mention", "announcement", "chat.mention"]
        )
        assert saved == ["chat.mention", "announcement"]  # once each, in registry order
        assert notifications.get_preferences(session, admin.ctx) == saved
        with pytest.raises(ValidationFailed) as refused:
            notifications.do_set_preferences(
                session, admin.ctx, email_kinds=["announcement", "x.y"]
            )
        assert refused.value.field == "email_kinds"
        assert notifications.get_preferences(session, admin.ctx) == saved  # unchanged
        assert notifications.do_set_preferences(session, admin.ctx, email_kinds=[]) == []
        assert notifications.get_preferences(session, admin.ctx) == []


def test_preferences_are_per_org() -> None:
    admin = f.new_admin()
    other = f.new_admin()
    with tenant_session(admin.ctx) as session:
        notifications.do_set_preferences(session, admin.ctx, email_kinds=["chat.mention"])
    with tenant_session(other.ctx) as session:  # another member elsewhere: untouched
        assert "chat.mention" not in notifications.get_preferences(session, other.ctx)


def test_email_goes_out_only_for_the_kinds_chosen() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    # Defaults: announcements and overdue training by email, chat mentions not.
    assert send(admin.ctx, learner.user_id, "announcement")
    assert send(admin.ctx, learner.user_id, "chat.mention")
    assert [m.kind for m in mails(learner.email, admin.org_id)] == ["announcement"]
    (message,) = mails(learner.email, admin.org_id)
    assert message.subject == "About announcement"
    assert "Details" in message.body_text and "/my-learning" in message.body_text
    # The learner changes their mind.
    with tenant_session(learner.ctx) as session:
        notifications.do_set_preferences(session, learner.ctx, email_kinds=["chat.mention"])
    assert send(admin.ctx, learner.user_id, "announcement")
    assert send(admin.ctx, learner.user_id, "chat.mention")
    assert sorted(m.kind for m in mails(learner.email, admin.org_id)) == [
        "announcement",
        "chat.mention",
    ]
    # Every notification still reached the bell.
    with tenant_session(learner.ctx) as session:
        assert notifications.unread_count(session, learner.ctx) == 4


def test_a_duplicate_notification_sends_no_second_email() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    key = f"test:{uuid.uuid4()}"
    assert send(admin.ctx, learner.user_id, "mandatory.overdue", key=key)
    assert not send(admin.ctx, learner.user_id, "mandatory.overdue", key=key)
    assert len(mails(learner.email, admin.org_id, "mandatory.overdue")) == 1


def test_a_rolled_back_notification_sends_nothing() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with tenant_session(admin.ctx) as session:
        notifications.notify(
            session, org_id=admin.org_id, user_id=learner.user_id, kind="announcement", title="No"
        )
        session.rollback()
    assert mails(learner.email, admin.org_id) == []


def test_kinds_whose_callers_mail_themselves_are_not_mailed_twice() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    # enrollments.py queues its own email for decisions: notify() adds none ...
    assert send(admin.ctx, learner.user_id, "enrollment.approved")
    assert mails(learner.email, admin.org_id) == []
    # ... unless the caller hands it the content (then the preference decides).
    with tenant_session(admin.ctx) as session:
        notifications.notify(
            session,
            org_id=admin.org_id,
            user_id=learner.user_id,
            kind="enrollment.approved",
            title="Approved",
            email_subject="You are in",
            email_body="Welcome aboard.",
        )
        session.commit()
    (message,) = mails(learner.email, admin.org_id)
    assert message.subject == "You are in" and message.body_text.startswith("Welcome aboard.")


def test_kind_filter_unread_only_and_mark_unread() -> None:
    admin = f.new_admin()
    for kind in ("announcement", "chat.mention", "announcement"):
        send(admin.ctx, admin.user_id, kind)
    with tenant_session(admin.ctx) as session:
        page = notifications.list_for_user(session, admin.ctx, kind="announcement")
        assert [r.kind for r in page.rows] == ["announcement", "announcement"]
        assert (page.total, page.unread) == (2, 3)
        first = page.rows[0].id
        notifications.do_mark_read(session, admin.ctx, first)
        unread = notifications.list_for_user(session, admin.ctx, unread_only=True)
        assert first not in [r.id for r in unread.rows] and unread.total == 2
        notifications.do_mark_unread(session, admin.ctx, first)
        assert notifications.unread_count(session, admin.ctx) == 3
        assert notifications.list_for_user(session, admin.ctx, kind="nope").total == 0


def test_nobody_marks_anyone_elses_unread() -> None:
    t = f.two_tenants()
    send(t.a.ctx, t.a.user_id, "announcement")
    with tenant_session(t.a.ctx) as session:
        (row,) = notifications.list_for_user(session, t.a.ctx).rows
        notifications.do_mark_read(session, t.a.ctx, row.id)
    with tenant_session(t.b.ctx) as session, pytest.raises(NotFound):
        notifications.do_mark_unread(session, t.b.ctx, row.id)
    with tenant_session(t.a.ctx) as session:
        assert notifications.unread_count(session, t.a.ctx) == 0


def test_relative_time_reads_like_people_talk() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    said = notifications.relative_time
    assert said(now - timedelta(seconds=20), now) == "just now"
    assert said(now - timedelta(minutes=5), now) == "5 min ago"
    assert said(now - timedelta(hours=3), now) == "3 h ago"
    assert said(now - timedelta(days=1, hours=2), now) == "yesterday"
    assert said(now - timedelta(days=4), now) == "4 days ago"
    assert said(now - timedelta(days=30), now) == "2026-04-01"


def test_accepting_an_invite_tells_the_inviter_once() -> None:
    admin = f.new_admin()
    member = f.invite_and_accept_member(admin.ctx, Role.instructor, full_name="Ada Lovelace")
    with tenant_session(admin.ctx) as session:
        rows = notifications.list_for_user(session, admin.ctx, kind="invite.accepted").rows
    assert [r.title for r in rows] == ["Ada Lovelace accepted your invite"]
    assert "Instructor" in rows[0].body and rows[0].link == "/admin/members"
    with tenant_session(member.ctx) as session:  # the new member is not told about themself
        assert notifications.list_for_user(session, member.ctx, kind="invite.accepted").total == 0
