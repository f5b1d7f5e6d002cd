"""Isolation rows for notifications, email preferences and announcements.

Same attackers as `test_surfaces.py`: the admin of an unrelated org B and the admin of C, a
child org of A. A's learner has a notification and is enrolled in A's course (shared down to
A's children, so C could see it as a learner); A's admin has sent an announcement. Neither
attacker may read or mark A's notifications, change A's people's preferences, announce to
A's course or A's roles, read A's announcements, or have their tab watch anyone's inbox but
their own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from sqlmodel import select

from app.db import Scope, open_session
from app.models.notification import Notification
from app.models.user import Role
from app.services.comms import announcements, notifications
from app.services.core import topics
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import mark_scoped, tenant_session
from app.state.announcements import AnnouncementsState
from app.state.live import hub
from app.state.notification_centre import NotificationsState
from tests import factories as f
from tests import learning_factories as lf
from tests.isolation.test_surfaces import (  # the fixtures are used by name
    Scenario,
    child_admin,  # noqa: F401
    other_tenant,  # noqa: F401
    scenario,  # noqa: F401
)
from tests.state.harness import StateHarness


@dataclass(frozen=True)
class Things:
    """What A has that attackers go for."""

    note_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    announcement_id: str


def _things(s: Scenario) -> Things:
    a = s.victim
    course = lf.published_course(a.admin.ctx, shared=True, title=f.unique("A's course"))
    lf.enrollment(a.learner.ctx, course)
    with tenant_session(a.admin.ctx) as session:
        note = notifications.notify(
            session,
            org_id=a.org_id,
            user_id=a.learner.user_id,
            kind="announcement",
            title="A's secret note",
        )
        session.commit()
        notifications.do_set_preferences(session, a.admin.ctx, email_kinds=["chat.mention"])
    assert note is not None
    with tenant_session(a.admin.ctx) as session:
        sent = announcements.do_send_announcement(
            session, a.admin.ctx, audience="org", title="A's news", body="For A only"
        )
    return Things(
        note_id=note.id,
        course_id=course.course_id,
        course_title=course.title,
        announcement_id=sent.id,
    )


def _learner_titles(s: Scenario) -> list[str]:
    """Every notification A's learner has (read as the database holds them)."""
    with open_session(Scope(org_ids={s.victim.org_id})) as session:
        rows = session.exec(
            mark_scoped(
                select(Notification).where(
                    Notification.user_id == s.victim.learner.user_id,
                    Notification.kind == "announcement",
                )
            )
        ).all()
        return sorted(r.title for r in rows)


def _note_read(s: Scenario, note_id: uuid.UUID) -> bool:
    with open_session(Scope(org_ids={s.victim.org_id})) as session:
        row = session.exec(
            mark_scoped(select(Notification).where(Notification.id == note_id))
        ).one()
        return row.read_at is not None


def test_service_gives_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    t = _things(scenario)
    before = _learner_titles(scenario)
    attacker = scenario.attacker.ctx
    f.invite_and_accept_member(attacker, Role.learner)
    with tenant_session(attacker) as session:
        titles = [r.title for r in notifications.list_for_user(session, attacker).rows]
        assert "A's secret note" not in titles and "A's news" not in titles
        with pytest.raises(NotFound):
            notifications.do_mark_read(session, attacker, t.note_id)
        with pytest.raises(NotFound):
            notifications.do_mark_unread(session, attacker, t.note_id)
        notifications.do_mark_all_read(session, attacker)
        # Preferences: only the attacker's own, in their own org.
        notifications.do_set_preferences(session, attacker, email_kinds=[])
        # Announcements: not to A's course, and a role reaches only the attacker's own org.
        with pytest.raises((ValidationFailed, NotFound, PermissionDenied)):
            announcements.do_send_announcement(
                session,
                attacker,
                audience="course",
                course_id=str(t.course_id),
                title="Hijack",
                body="Click here",
            )
        session.rollback()
        sent = announcements.do_send_announcement(
            session, attacker, audience="role", role=Role.learner, title="Hi all", body="x"
        )
        assert sent.recipients == 1  # their own learner, not A's
        options = announcements.audience_options(session, attacker)
        assert str(t.course_id) not in [c for c, _ in options.courses]
        rows, _ = announcements.list_sent(session, attacker)
        assert t.announcement_id not in [r.id for r in rows]
        with pytest.raises(NotFound):
            announcements.get_sent(session, attacker, t.announcement_id)
    assert not _note_read(scenario, t.note_id)
    assert _learner_titles(scenario) == before
    with tenant_session(scenario.victim.admin.ctx) as session:
        assert notifications.get_preferences(session, scenario.victim.admin.ctx) == ["chat.mention"]


def test_handlers_give_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    t = _things(scenario)
    before = _learner_titles(scenario)
    attacker = scenario.attacker
    with StateHarness(cookie=attacker.token, path="/notifications") as tab:
        tab.dispatch(NotificationsState.load())
        assert "A's secret note" not in repr(tab.state(NotificationsState).items)
        assert tab.dispatch(NotificationsState.mark_read(str(t.note_id))).toast("error")
        assert tab.dispatch(NotificationsState.mark_unread(str(t.note_id))).toast("error")
        reply = tab.dispatch(NotificationsState.open_item(str(t.note_id), "/catalog"))
        assert reply.toast("error") and reply.redirects == []
        # The tab follows exactly one inbox: the attacker's own.
        inboxes = {topic for topic in hub.watching(tab.token) if topic.startswith("user:")}
        assert inboxes == {topics.INBOX.name(user=attacker.user_id)}
    with StateHarness(cookie=attacker.token, path="/announcements") as tab:
        tab.dispatch(AnnouncementsState.load())
        s = tab.state(AnnouncementsState)
        assert str(t.course_id) not in repr(s.course_choices)
        assert t.announcement_id not in repr(s.sent) and "A's news" not in repr(s.sent)
        reply = tab.dispatch(
            AnnouncementsState.send(
                {
                    "audience": "course",
                    "course_id": str(t.course_id),
                    "title": "Hijack",
                    "body": "Click here",
                }
            )
        )
        assert not reply.toast("success")
        assert tab.state(AnnouncementsState).course_error
    assert not _note_read(scenario, t.note_id)
    assert _learner_titles(scenario) == before


def test_owner_control(other_tenant: Scenario) -> None:  # noqa: F811
    """A's own people get through the same calls, so the rows above can fail."""
    t = _things(other_tenant)
    a = other_tenant.victim
    with StateHarness(cookie=a.admin.token, path="/announcements") as tab:
        tab.dispatch(AnnouncementsState.load())
        assert str(t.course_id) in repr(tab.state(AnnouncementsState).course_choices)
        reply = tab.dispatch(
            AnnouncementsState.send(
                {
                    "audience": "course",
                    "course_id": str(t.course_id),
                    "title": "Owner's news",
                    "body": "Hello",
                }
            )
        )
        assert reply.toast("success", "sent to 1 person")
    assert "Owner's news" in _learner_titles(other_tenant)
    with StateHarness(cookie=a.learner.token, path="/notifications") as tab:
        tab.dispatch(NotificationsState.load())
        assert "A's secret note" in repr(tab.state(NotificationsState).items)
        tab.dispatch(NotificationsState.mark_read(str(t.note_id)))
        inboxes = {topic for topic in hub.watching(tab.token) if topic.startswith("user:")}
        assert inboxes == {topics.INBOX.name(user=a.learner.user_id)}
    assert _note_read(other_tenant, t.note_id)
