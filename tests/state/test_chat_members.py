"""The chat page's members panel and moderation (`ChatState`): listing, search and paging;
moderators mute, unmute, remove (after a confirm) and add people, each refused with a toast
for a plain member calling the handler directly; the muted person's open tab shows the notice
over a disabled composer and loses it live when the mute is lifted or ends; a removed
person's open channel closes with a notice and leaves their list."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col

from app.models.base import utcnow
from app.models.chat import ChatMember
from app.models.user import Role
from app.pages.chat_members import member_row, members_panel
from app.services.comms import chat_channels, chat_courses, chat_mutes
from app.services.comms import chat_members as cm
from app.services.comms import chat_messages as msgs
from app.services.core import topics
from app.services.core.tenancy import OrgContext, scoped, tenant_session
from app.state import chat as chat_state
from app.state.chat import ChatState
from app.state.chat_rows import muted_text
from app.state.live import hub
from tests import factories as f
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture(autouse=True)
def _roomy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(msgs, "RATE_COUNT", 1000)


def general(ctx: OrgContext) -> str:
    with tenant_session(ctx) as session:
        return str(chat_channels.org_channel(session, ctx).id)


def interest(ctx: OrgContext, *joiners: f.SignedIn) -> str:
    with tenant_session(ctx) as session:
        cid = str(chat_channels.do_create_interest_channel(session, ctx, name=f.unique("Club")).id)
    for who in joiners:
        with tenant_session(who.ctx) as session:
            chat_channels.do_join_channel(session, who.ctx, channel_id=cid)
    return cid


def push(tab: StateHarness, topic: str, message: dict[str, Any] | None) -> None:
    """What the live hub does when the broker delivers `message` on `topic` to this tab:
    parse it by the topic's family (None on a resync) and run the chat refresher."""
    family = topics.topic_of(topic)
    assert family is not None, topic
    state = tab.bare_state(ChatState)
    tab._runner.run(chat_state._channel_changed(state, [(topic, family.parse(message))]))


def muted_in(ctx: OrgContext, channel_id: str) -> dict[str, bool]:
    """Per member name, whether they are muted now (as a moderator's service call sees)."""
    with tenant_session(ctx) as session:
        page = cm.list_members(session, ctx, channel_id=channel_id, page_size=100)
    return {r.name: r.muted_until is not None for r in page.rows}


def member_names(ctx: OrgContext, channel_id: str) -> list[str]:
    with tenant_session(ctx) as session:
        page = cm.list_members(session, ctx, channel_id=channel_id, page_size=100)
    return [r.name for r in page.rows]


def open_panel(tab: StateHarness) -> ChatState:
    tab.dispatch(ChatState.load())
    tab.dispatch(ChatState.toggle_members())
    s = tab.state(ChatState)
    assert s.members_open
    return s


def row(tab: StateHarness, name: str) -> dict[str, str]:
    return next(m for m in tab.state(ChatState).members if m["name"] == name)


def test_the_panel_lists_members_with_role_and_searches() -> None:
    admin = f.new_admin()
    f.invite_and_accept_member(admin.ctx, Role.instructor, full_name="Ivy Instructor")
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Lou Learner")
    gid = general(admin.ctx)
    with StateHarness(cookie=learner.token, path=f"/chat/{gid}") as tab:
        s = open_panel(tab)
        assert s.members_total == 3
        assert {m["name"]: m["role"] for m in s.members} == {
            admin.ctx.full_name: "Org admin",  # authz's one label table
            "Ivy Instructor": "Instructor",
            "Lou Learner": "Learner",
        }
        assert row(tab, "Lou Learner")["me"] == "1"
        # a plain member gets no moderation actions on anyone
        assert not any(m["can_mute"] or m["can_remove"] for m in s.members)
        assert not s.members_can_add
        tab.dispatch(ChatState.search_members("ivy"))
        assert [m["name"] for m in tab.state(ChatState).members] == ["Ivy Instructor"]
        tab.dispatch(ChatState.toggle_members())
        s = tab.state(ChatState)
        assert not s.members_open and s.members == []


def test_members_page_by_page(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cm, "PAGE_SIZE", 2)
    admin = f.new_admin(org_name=f.unique("Org"))
    for i in range(3):
        f.invite_and_accept_member(admin.ctx, Role.learner, full_name=f"Pia {i}")
    gid = general(admin.ctx)
    with StateHarness(cookie=admin.token, path=f"/chat/{gid}") as tab:
        s = open_panel(tab)
        assert s.members_total == 4 and s.members_pages == 2 and len(s.members) == 2
        first = [m["name"] for m in s.members]
        tab.dispatch(ChatState.members_next())
        s = tab.state(ChatState)
        assert s.members_page == 2 and len(s.members) == 2
        assert not set(first) & {m["name"] for m in s.members}
        tab.dispatch(ChatState.members_next())  # no page 3
        assert tab.state(ChatState).members_page == 2
        tab.dispatch(ChatState.members_prev())
        assert [m["name"] for m in tab.state(ChatState).members] == first


def test_moderator_mutes_and_unmutes_and_the_muted_tab_follows_live() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Lee Loud")
    gid = general(admin.ctx)
    topic = topics.CHANNEL.name(org=admin.org_id, channel=gid)
    with (
        StateHarness(cookie=admin.token, path=f"/chat/{gid}") as mod,
        StateHarness(cookie=learner.token, path=f"/chat/{gid}") as lee,
    ):
        lee.dispatch(ChatState.load())
        assert lee.state(ChatState).muted_notice == ""
        open_panel(mod)
        uid = row(mod, "Lee Loud")["id"]
        assert row(mod, "Lee Loud")["can_mute"] == "1"
        assert row(mod, admin.ctx.full_name)["can_mute"] == ""  # not yourself

        reply = mod.dispatch(ChatState.mute_member(uid, "60"))
        assert reply.toast("success", "Lee Loud is muted here until")
        assert row(mod, "Lee Loud")["muted_until"].endswith("UTC")
        assert muted_in(admin.ctx, gid)["Lee Loud"]

        push(lee, topic, {"kind": "members"})  # what the mute published
        s = lee.state(ChatState)
        assert s.muted_notice.startswith("You are muted in this channel until ")
        assert s.mute_ends and s.can_post  # the composer stays, disabled by the notice
        reply = lee.dispatch(ChatState.send({"body": "let me talk", "client_key": "a"}))
        assert reply.toast("error", "A moderator muted you")

        mod.dispatch(ChatState.set_members_muted_only(True))
        assert [m["name"] for m in mod.state(ChatState).members] == ["Lee Loud"]

        reply = mod.dispatch(ChatState.unmute(uid))
        assert reply.toast("success", "Lee Loud can post here again")
        assert mod.state(ChatState).members == []  # nobody muted now
        assert not muted_in(admin.ctx, gid)["Lee Loud"]

        push(lee, topic, {"kind": "members"})
        s = lee.state(ChatState)
        assert s.muted_notice == "" and s.mute_ends == ""
        lee.dispatch(ChatState.send({"body": "thanks", "client_key": "b"}))
        assert [m.body for m in lee.state(ChatState).messages] == ["thanks"]


def test_a_mute_that_ends_clears_on_the_tabs_timer() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    with tenant_session(admin.ctx) as session:
        chat_mutes.do_mute_member(
            session, admin.ctx, channel_id=gid, user_id=learner.user_id, minutes=5
        )
    with StateHarness(cookie=learner.token, path=f"/chat/{gid}") as tab:
        tab.dispatch(ChatState.load())
        notice = tab.state(ChatState).muted_notice
        assert notice.startswith("You are muted in this channel until ")
        tab.dispatch(ChatState.mute_tick("in 5 minutes"))  # a tick before the end
        assert tab.state(ChatState).muted_notice == notice
        with tenant_session(admin.ctx) as session:  # time passes: the mute is over
            member = session.exec(
                scoped(admin.ctx, ChatMember).where(
                    col(ChatMember.user_id) == learner.user_id,
                    col(ChatMember.muted_until).is_not(None),
                )
            ).one()
            member.muted_until = utcnow() - timedelta(seconds=1)
            session.add(member)
            session.commit()
        tab.bare_state(ChatState).mute_ends = (utcnow() - timedelta(seconds=1)).isoformat()
        tab.dispatch(ChatState.mute_tick("a few seconds ago"))
        s = tab.state(ChatState)
        assert s.muted_notice == "" and s.mute_ends == ""


def test_the_notice_says_the_date_when_the_mute_ends_another_day() -> None:
    now = utcnow().replace(hour=23, minute=50)
    assert muted_text(now + timedelta(minutes=5), now) == (
        f"You are muted in this channel until {now + timedelta(minutes=5):%H:%M} UTC"
    )
    later = now + timedelta(days=1)
    assert muted_text(later, now) == (
        f"You are muted in this channel until {later:%Y-%m-%d %H:%M} UTC"
    )


def test_removing_needs_a_confirm_and_the_removed_tab_closes_with_a_notice() -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ana Stay")
    cal = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Cal Go")
    cid = interest(ana.ctx, cal)
    topic = topics.CHANNEL.name(org=admin.org_id, channel=cid)
    with (
        StateHarness(cookie=admin.token, path=f"/chat/{cid}") as mod,
        StateHarness(cookie=cal.token, path=f"/chat/{cid}") as cal_tab,
    ):
        cal_tab.dispatch(ChatState.load())
        assert cal_tab.state(ChatState).found
        assert topic in hub.watching(cal_tab.token)
        open_panel(mod)
        uid = row(mod, "Cal Go")["id"]
        assert row(mod, "Cal Go")["can_remove"] == "1"

        mod.dispatch(ChatState.ask_remove(uid))
        s = mod.state(ChatState)
        assert s.removing_id == uid and s.removing_name == "Cal Go"
        mod.dispatch(ChatState.cancel_remove())
        assert mod.state(ChatState).removing_id == ""
        assert "Cal Go" in member_names(admin.ctx, cid)  # cancelled: still in

        mod.dispatch(ChatState.ask_remove(uid))
        reply = mod.dispatch(ChatState.confirm_remove())
        assert reply.toast("success", "Cal Go was removed")
        shown = [m["name"] for m in mod.state(ChatState).members]
        assert "Ana Stay" in shown and "Cal Go" not in shown
        assert member_names(admin.ctx, cid) == shown

        push(cal_tab, topic, {"kind": "members"})
        s = cal_tab.state(ChatState)
        assert not s.found and s.messages == []
        assert s.closed_notice == "A moderator removed you from this channel."
        assert cid not in [c["id"] for c in s.channels]
        assert cid not in [c["id"] for c in s.browse]
        assert topic not in hub.watching(cal_tab.token)

    with StateHarness(cookie=cal.token, path=f"/chat/{cid}") as again:  # opening the link
        again.dispatch(ChatState.load())
        s = again.state(ChatState)
        assert not s.found and s.closed_notice == "A moderator removed you from this channel."


def test_a_moderator_adds_someone_and_their_list_gets_the_channel_live() -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ana Owner")
    dan = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Dan Newcomer")
    cid = interest(ana.ctx)
    with (
        StateHarness(cookie=admin.token, path=f"/chat/{cid}") as mod,
        StateHarness(cookie=dan.token, path="/chat") as dan_tab,
    ):
        dan_tab.dispatch(ChatState.load())
        assert cid not in [c["id"] for c in dan_tab.state(ChatState).channels]
        s = open_panel(mod)
        assert s.members_can_add
        mod.dispatch(ChatState.find_addable("Newcomer"))
        (person,) = mod.state(ChatState).add_people
        assert person["name"] == "Dan Newcomer"
        reply = mod.dispatch(ChatState.add_to_channel(person["id"]))
        assert reply.toast("success", "Dan Newcomer was added")
        s = mod.state(ChatState)
        assert s.add_people == [] and "Dan Newcomer" in [m["name"] for m in s.members]
        push(
            dan_tab,
            topics.CHAT_LIST.name(org=admin.org_id, user=dan.user_id),
            {"kind": "channels"},
        )
        assert cid in [c["id"] for c in dan_tab.state(ChatState).channels]


def test_a_plain_member_calling_moderation_handlers_is_refused_and_nothing_changes() -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ana Plain")
    ben = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ben Target")
    eve = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Eve Outside")
    gid = general(admin.ctx)
    cid = interest(admin.ctx, ana, ben)
    with tenant_session(admin.ctx) as session:
        chat_mutes.do_mute_member(
            session, admin.ctx, channel_id=gid, user_id=ben.user_id, minutes=60
        )
    ben_id, eve_id = str(ben.user_id), str(eve.user_id)
    with StateHarness(cookie=ana.token, path=f"/chat/{gid}") as tab:
        open_panel(tab)
        assert not tab.state(ChatState).is_moderator
        assert tab.dispatch(ChatState.unmute(ben_id)).toast("error", "Only moderators")
        assert tab.dispatch(ChatState.mute_member(eve_id, "60")).toast("error", "Only moderators")
        assert tab.dispatch(ChatState.mute(eve_id)).toast("error", "Only moderators")
        tab.dispatch(ChatState.set_members_muted_only(True))
        assert len(tab.state(ChatState).members) == 4  # the filter is for moderators

        tab.navigate(f"/chat/{cid}")
        tab.dispatch(ChatState.load())  # the panel stays open on the next channel
        assert {m["name"] for m in tab.state(ChatState).members} >= {"Ana Plain", "Ben Target"}
        assert tab.dispatch(ChatState.ask_remove(ben_id)).toast("error", "Only moderators")
        assert tab.state(ChatState).removing_id == ""
        tab.bare_state(ChatState).removing_id = ben_id  # a crafted state gets no further
        assert tab.dispatch(ChatState.confirm_remove()).toast("error", "Only moderators")
        assert tab.dispatch(ChatState.find_addable("Eve Out")).toast("error", "Only moderators")
        assert tab.state(ChatState).add_people == []
        assert tab.dispatch(ChatState.add_to_channel(eve_id)).toast("error", "Only moderators")
        assert tab.dispatch(ChatState.unmute("not-an-id")).toast("error", "Not found")
    assert muted_in(admin.ctx, gid) == {
        admin.ctx.full_name: False,
        "Ana Plain": False,
        "Ben Target": True,
        "Eve Outside": False,
    }
    assert member_names(admin.ctx, cid) == sorted(
        [admin.ctx.full_name, "Ana Plain", "Ben Target"], key=str.lower
    )


def test_an_instructor_moderates_the_course_channel_panel_but_not_general() -> None:
    from tests import learning_factories as lf

    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor, full_name="Ivy Teach")
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Lou Course")
    course = lf.published_course(admin.ctx)
    lf.enrollment(learner.ctx, course)
    with tenant_session(learner.ctx) as session:
        cid = str(chat_courses.course_channel(session, learner.ctx, course_id=course.course_id).id)
    gid = general(admin.ctx)
    with StateHarness(cookie=instructor.token, path=f"/chat/{cid}") as tab:
        open_panel(tab)
        assert row(tab, "Lou Course")["can_mute"] == "1"
        assert tab.dispatch(ChatState.mute_member(row(tab, "Lou Course")["id"], "10")).toast(
            "success"
        )
        assert tab.dispatch(ChatState.mute_member(row(tab, "Lou Course")["id"], "7")).toast(
            "error", "Choose how long"
        )
        tab.navigate(f"/chat/{gid}")
        tab.dispatch(ChatState.load())
        assert tab.state(ChatState).members_open  # the panel stays open across channels
        assert not any(m["can_mute"] for m in tab.state(ChatState).members)
        uid = str(learner.user_id)
        assert tab.dispatch(ChatState.mute_member(uid, "10")).toast("error", "Only moderators")
    assert muted_in(admin.ctx, cid)["Lou Course"]
    assert not muted_in(admin.ctx, gid)["Lou Course"]


def test_the_panel_renders_moderation_controls_with_stable_ids() -> None:
    import json

    rendered = json.dumps(member_row(ChatState.members[0]).render())  # type: ignore[arg-type]
    for marker in ('\\"unmute-\\"', '\\"mute-\\"', '\\"remove-\\"', '\\"muted-\\"', "data-user-id"):
        assert marker in rendered
    panel = str(members_panel().render())
    for marker in ("channel-members", "members-search", "members-muted-only", "confirm-remove"):
        assert marker in panel
