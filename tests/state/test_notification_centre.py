"""The notification centre (/notifications), the email switches, the live refresh and toast,
and the announcements page's state."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import reflex as rx

from app.models.user import Role
from app.services.comms import notifications
from app.services.core import topics
from app.services.core.tenancy import OrgContext, tenant_session
from app.state import live_toast
from app.state.announcements import AnnouncementsState
from app.state.notification_centre import NotificationsState, _inbox_pushed
from app.state.session import SessionState
from tests import factories as f
from tests import learning_factories as lf
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def note(ctx: OrgContext, user_id: uuid.UUID, kind: str, title: str) -> None:
    assert ctx.org_id is not None
    with tenant_session(ctx) as session:
        notifications.notify(
            session, org_id=ctx.org_id, user_id=user_id, kind=kind, title=title, link="/catalog"
        )
        session.commit()


def test_centre_lists_with_labels_filters_and_toggles() -> None:
    admin = f.new_admin()
    note(admin.ctx, admin.user_id, "announcement", "Fire drill")
    note(admin.ctx, admin.user_id, "chat.mention", "Bo mentioned you")
    with StateHarness(cookie=admin.token, path="/notifications") as tab:
        tab.dispatch(NotificationsState.load())
        s = tab.state(NotificationsState)
        assert [n["title"] for n in s.items] == ["Bo mentioned you", "Fire drill"]
        assert s.items[0]["kind_label"] == "Mentioned in chat"
        assert s.items[0]["when"] == "just now" and s.items[0]["at"].endswith("UTC")
        assert s.live_open and s.unread == 2
        tab.dispatch(NotificationsState.set_kind_filter("announcement"))
        s = tab.state(NotificationsState)
        assert [n["title"] for n in s.items] == ["Fire drill"] and s.total == 1
        drill = s.items[0]["id"]
        tab.dispatch(NotificationsState.mark_read(drill))
        assert tab.state(NotificationsState).items[0]["read"] == "yes"
        tab.dispatch(NotificationsState.mark_unread(drill))
        assert tab.state(NotificationsState).items[0]["read"] == ""
        tab.dispatch(NotificationsState.set_kind_filter("no.such.kind"))  # falls back to all
        assert tab.state(NotificationsState).kind_filter == "all"
        assert len(tab.state(NotificationsState).items) == 2
        tab.dispatch(NotificationsState.mark_read(drill))
        tab.dispatch(NotificationsState.set_unread_only(True))
        assert [n["title"] for n in tab.state(NotificationsState).items] == ["Bo mentioned you"]


def test_email_switches_save_at_once_and_refuse_unknown_kinds() -> None:
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/notifications") as tab:
        tab.dispatch(NotificationsState.load())
        prefs = {p["key"]: p["on"] for p in tab.state(NotificationsState).email_prefs}
        assert prefs["announcement"] == "1" and prefs["chat.mention"] == ""
        reply = tab.dispatch(NotificationsState.set_email_kind("chat.mention", True))
        assert reply.toast("success", "Mentioned in chat")
        reply = tab.dispatch(NotificationsState.set_email_kind("announcement", False))
        assert reply.toast("success")
        prefs = {p["key"]: p["on"] for p in tab.state(NotificationsState).email_prefs}
        assert prefs["chat.mention"] == "1" and prefs["announcement"] == ""
        reply = tab.dispatch(NotificationsState.set_email_kind("evil.kind", True))
        assert reply.toast("error")
    with tenant_session(admin.ctx) as session:
        chosen = notifications.get_preferences(session, admin.ctx)
    assert "chat.mention" in chosen and "announcement" not in chosen and "evil.kind" not in chosen


def test_a_new_notification_reloads_the_open_page_only() -> None:
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/notifications") as tab:
        tab.dispatch(NotificationsState.load())
        assert tab.state(NotificationsState).items == []
        note(admin.ctx, admin.user_id, "announcement", "Arrived live")
        state = tab.state(NotificationsState)
        tab._runner.run(
            _inbox_pushed(state, [("user:x:inbox", topics.InboxChanged(kind="announcement"))])
        )
        assert [n["title"] for n in state.items] == ["Arrived live"] and state.unread == 1
        # The tab moves to another page: pushes no longer touch this state.
        tab.navigate("/dashboard").dispatch(SessionState.load_private())
        note(admin.ctx, admin.user_id, "announcement", "While away")
        state = tab.state(NotificationsState)
        tab._runner.run(
            _inbox_pushed(state, [("user:x:inbox", topics.InboxChanged(kind="announcement"))])
        )
        assert [n["title"] for n in state.items] == ["Arrived live"]


def test_a_tab_never_opened_on_the_page_costs_no_query(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/notifications") as tab:
        tab.dispatch(SessionState.load_private())  # on /notifications, but the page's load
        state = tab.state(NotificationsState)  # never ran: live_open is False
        monkeypatch.setattr(NotificationsState, "_context", lambda self: pytest.fail("queried"))
        tab._runner.run(
            _inbox_pushed(state, [("user:x:inbox", topics.InboxChanged(kind="announcement"))])
        )
        assert state.items == []


class _Namespace:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    async def emit_update(self, update: Any, token: str) -> None:
        self.sent.append((token, update))


class _App:
    def __init__(self) -> None:
        self.event_namespace = _Namespace()


def test_an_announcement_push_toasts_the_tab_and_others_do_not() -> None:
    admin = f.new_admin()
    app = _App()
    with StateHarness(cookie=admin.token, path="/catalog") as tab:
        tab.dispatch(SessionState.load_private())
        state = tab.state(SessionState)
        payload = {"kind": "announcement", "title": 'Drill at noon "); alert(1); ("'}
        sent = asyncio.run(live_toast.toast_inbox(state, topics.INBOX.parse(payload), app=app))
        assert sent
        ((token, update),) = app.event_namespace.sent
        assert token == tab.token
        (event,) = update.events
        code = str(event.payload.get("function", ""))
        assert "toast" in code and "New announcement" in code
        assert '\\"); alert(1); (\\"' in code  # the title stays inside a string literal
        assert not update.delta
        for other in ({"kind": "read"}, {"kind": "chat.mention", "title": "x"}, {}):
            assert not asyncio.run(
                live_toast.toast_inbox(state, topics.INBOX.parse(other), app=app)
            )
        assert len(app.event_namespace.sent) == 1


def test_toast_for_is_an_info_toast_with_a_class_for_tests() -> None:
    spec = live_toast.toast_for(topics.INBOX.parse({"kind": "announcement", "title": "Hello"}))
    assert isinstance(spec, rx.event.EventSpec)
    assert live_toast.toast_for(topics.INBOX.parse({"kind": "announcement", "title": "  "})) is None


def test_the_same_notification_pushed_twice_makes_one_toast_id() -> None:
    """The browser's toaster replaces a toast of the same id, so a push that reaches the tab
    twice (a replay after a reconnect) still shows one toast; two notifications show two."""

    def code(payload: dict[str, str]) -> str:
        spec = live_toast.toast_for(topics.INBOX.parse(payload))
        assert spec is not None
        (event,) = rx.event.Event.from_event_type([spec])
        return str(event.payload.get("function", ""))

    first = {"kind": "announcement", "title": "Drill", "id": "n-1"}
    assert '"notification-n-1"' in code(first)
    assert code(first) == code(dict(first))
    assert '"notification-n-2"' in code(first | {"id": "n-2"})


# --------------------------------------------------------------------------- announcements


def test_instructor_sends_to_their_course_and_sees_it_listed() -> None:
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(instructor.ctx)
    lf.enrollment(learner.ctx, course)
    with StateHarness(cookie=instructor.token, path="/announcements") as tab:
        tab.dispatch(AnnouncementsState.load())
        s = tab.state(AnnouncementsState)
        assert s.allowed and [c["value"] for c in s.audience_choices] == ["course"]
        assert s.audience == "course" and s.role_choices == []
        form = {"audience": "course", "course_id": str(course.course_id), "title": "Hi"}
        reply = tab.dispatch(AnnouncementsState.send(form | {"body": "Hello"}))
        assert tab.state(AnnouncementsState).title_error and not reply.toast("success")
        reply = tab.dispatch(
            AnnouncementsState.send(form | {"title": "Room change"} | {"body": "B"})
        )
        assert reply.toast("success", "sent to 1 person")
        s = tab.state(AnnouncementsState)
        assert [a["title"] for a in s.sent] == ["Room change"] and s.form_key == 1
        reply = tab.dispatch(
            AnnouncementsState.send({"audience": "org", "title": "Everyone!", "body": "x"})
        )
        assert reply.toast("error")
    with tenant_session(learner.ctx) as session:
        rows = notifications.list_for_user(session, learner.ctx, kind="announcement").rows
    assert [r.title for r in rows] == ["Room change"]


def test_a_learner_gets_no_form_and_is_refused_when_sending() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with StateHarness(cookie=learner.token, path="/announcements") as tab:
        tab.dispatch(AnnouncementsState.load())
        s = tab.state(AnnouncementsState)
        assert not s.allowed and s.audience_choices == [] and s.sent == []
        reply = tab.dispatch(
            AnnouncementsState.send({"audience": "org", "title": "Hello all", "body": "x"})
        )
        assert reply.toast("error")


def test_the_announcements_page_builds() -> None:
    from app.pages.announcements import announcements_page

    built = announcements_page()
    assert isinstance(built, rx.Component) and built.render()
