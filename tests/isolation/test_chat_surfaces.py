"""Isolation rows for chat (`app.services.comms.chat_*` modules, `/chat`).

Same attackers as `test_surfaces.py` (imported from there): the admin of an unrelated org B
and the admin of C, a child org of A. A has a General channel, a course channel, a cohort
channel, an interest channel and a direct message, each holding a secret. Neither attacker
may list, read, post, edit, delete, moderate, search or subscribe to any of them, through
the services or the page's handlers; A stays as it was. Inside A, a learner not enrolled in
the course cannot read its channel, and a learner of the course in no cohort cannot read the
cohort's; a cohort id of another org never yields a channel. Owner controls prove the same
calls succeed for A's own people.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session

from app.models.chat import ChatChannel
from app.models.user import Role
from app.services.comms import chat_channels, chat_courses, chat_history, chat_list, chat_mutes
from app.services.comms import chat_messages as msgs
from app.services.core import topics
from app.services.core.errors import NotFound
from app.services.core.tenancy import OrgContext, tenant_session
from app.state.chat import ChatState
from app.state.live import hub
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
class ChatWorld:
    """A's chat: channel ids, a message id per channel, and the secrets they hold."""

    org_id: uuid.UUID
    admin: f.SignedIn
    learner: f.SignedIn
    general: str
    course: str
    course_id: uuid.UUID
    cohort: str
    cohort_id: uuid.UUID
    course_world: lf.CourseWorld
    interest: str
    direct: str
    message_ids: dict[str, str]
    secrets: tuple[str, ...]

    @property
    def channels(self) -> list[str]:
        return [self.general, self.course, self.cohort, self.interest, self.direct]


def _world(admin: f.SignedIn, learner: f.SignedIn) -> ChatWorld:
    """Give org A channels of every kind, each with a message only A may read."""
    course = lf.published_course(admin.ctx, title=f.unique("Course"))
    enrollment_id = lf.enrollment(learner.ctx, course)
    cohort_id = lf.cohort(admin.ctx, course, f.unique("Cohort"), members=[enrollment_id])
    with tenant_session(admin.ctx) as session:
        general = str(chat_channels.org_channel(session, admin.ctx).id)
        interest = str(
            chat_channels.do_create_interest_channel(
                session, admin.ctx, name=f.unique("Interest")
            ).id
        )
        direct = str(chat_channels.do_open_direct(session, admin.ctx, user_id=learner.user_id).id)
    with tenant_session(learner.ctx) as session:
        course_channel = str(
            chat_courses.course_channel(session, learner.ctx, course_id=course.course_id).id
        )
        cohort_channel = str(chat_courses.cohort_channel(session, learner.ctx, cohort_id).id)
    secrets = {}
    ids = {}
    for name, cid, who in (
        ("general", general, admin),
        ("course", course_channel, learner),
        ("cohort", cohort_channel, learner),
        ("interest", interest, admin),
        ("direct", direct, learner),
    ):
        secret = f"secret-{name}-{uuid.uuid4().hex[:8]}"
        with tenant_session(who.ctx) as session:
            row = msgs.do_post_message(session, who.ctx, channel_id=cid, body=secret)
        secrets[name] = secret
        ids[cid] = row.id
    return ChatWorld(
        org_id=admin.org_id,
        admin=admin,
        learner=learner,
        general=general,
        course=course_channel,
        course_id=course.course_id,
        cohort=cohort_channel,
        cohort_id=cohort_id,
        course_world=course,
        interest=interest,
        direct=direct,
        message_ids=ids,
        secrets=tuple(secrets.values()),
    )


def _victim_world(case: Scenario) -> ChatWorld:
    return _world(case.victim.admin, case.victim.learner)


def _a_view(world: ChatWorld) -> dict[str, list[tuple[str, bool]]]:
    """Every message of A's channels as A's own people read them."""
    view = {}
    for cid in world.channels:
        reader = world.learner if cid in (world.course, world.cohort, world.direct) else world.admin
        with tenant_session(reader.ctx) as session:
            rows = chat_history.history(session, reader.ctx, channel_id=cid, limit=100).rows
        view[cid] = [(r.body, r.deleted) for r in rows]
    return view


# --------------------------------------------------------------------------- services

Attempt = Callable[[Session, OrgContext, ChatWorld, str], object]

REFUSED: list[tuple[str, Attempt]] = [
    ("history", lambda s, me, w, cid: chat_history.history(s, me, channel_id=cid)),
    ("since", lambda s, me, w, cid: chat_history.since(s, me, channel_id=cid, after=None)),
    ("channel_info", lambda s, me, w, cid: chat_list.channel_info(s, me, cid)),
    ("post", lambda s, me, w, cid: msgs.do_post_message(s, me, channel_id=cid, body="intruder")),
    (
        "edit",
        lambda s, me, w, cid: msgs.do_edit_message(
            s, me, message_id=w.message_ids[cid], body="defaced"
        ),
    ),
    ("delete", lambda s, me, w, cid: msgs.do_delete_message(s, me, message_id=w.message_ids[cid])),
    (
        "mute",
        lambda s, me, w, cid: chat_mutes.do_mute_member(
            s, me, channel_id=cid, user_id=w.learner.user_id, minutes=60
        ),
    ),
    (
        "unmute",
        lambda s, me, w, cid: chat_mutes.do_unmute_member(
            s, me, channel_id=cid, user_id=w.learner.user_id
        ),
    ),
    ("mark_read", lambda s, me, w, cid: chat_list.do_mark_read(s, me, channel_id=cid)),
    ("join", lambda s, me, w, cid: chat_channels.do_join_channel(s, me, channel_id=cid)),
    ("leave", lambda s, me, w, cid: chat_channels.do_leave_channel(s, me, channel_id=cid)),
    ("archive", lambda s, me, w, cid: chat_channels.do_archive_channel(s, me, channel_id=cid)),
    (
        "remove_member",
        lambda s, me, w, cid: chat_channels.do_remove_member(
            s, me, channel_id=cid, user_id=w.learner.user_id
        ),
    ),
    (
        "search in channel",
        lambda s, me, w, cid: chat_history.search_messages(s, me, query="secret", channel_id=cid),
    ),
]


@pytest.mark.parametrize(("name", "attempt"), REFUSED, ids=[n for n, _ in REFUSED])
def test_service_refuses_attacker_on_every_channel(
    scenario: Scenario,  # noqa: F811
    name: str,
    attempt: Attempt,
) -> None:
    world = _victim_world(scenario)
    before = _a_view(world)
    attacker = scenario.attacker.ctx
    for cid in world.channels:
        with tenant_session(attacker) as session, pytest.raises(NotFound):
            attempt(session, attacker, world, cid)
    assert _a_view(world) == before


def test_lists_search_and_people_show_attacker_nothing_of_a(scenario: Scenario) -> None:  # noqa: F811
    world = _victim_world(scenario)
    attacker = scenario.attacker.ctx
    with tenant_session(attacker) as session:
        listed = {r.id for r in chat_list.list_channels(session, attacker)}
        browse = {r.id for r in chat_list.browse_interest_channels(session, attacker)}
        found = chat_history.search_messages(session, attacker, query="secret")
        people = chat_list.find_people(session, attacker, query=world.learner.email[:8])
        watched = chat_list.tab_topics(attacker, chat_list.list_channels(session, attacker))
    assert not listed & set(world.channels) and not browse & set(world.channels)
    assert not any(s in h.message.body for h in found.rows for s in world.secrets)
    assert str(world.learner.user_id) not in [p.user_id for p in people]
    assert not any(str(world.org_id) in t for t in watched)
    assert not any(cid in t for t in watched for cid in world.channels)
    with tenant_session(attacker) as session, pytest.raises(NotFound):
        chat_channels.do_open_direct(session, attacker, user_id=world.learner.user_id)
    with tenant_session(attacker) as session, pytest.raises(NotFound):
        chat_courses.course_channel(session, attacker, course_id=world.course_id)
    with tenant_session(attacker) as session, pytest.raises(NotFound):
        chat_courses.cohort_channel(session, attacker, world.cohort_id)


def test_handlers_give_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    world = _victim_world(scenario)
    before = _a_view(world)
    for cid in world.channels:
        with StateHarness(cookie=scenario.attacker.token, path=f"/chat/{cid}") as tab:
            tab.dispatch(ChatState.load())
            s = tab.state(ChatState)
            assert not s.found and s.messages == [] and s.channel == {}
            shown = str(s.channels) + str(s.browse)
            assert not any(c in shown for c in world.channels)
            # (a child org's tab follows its parent's *config*, which it inherits; no chat)
            chat_topics = {t for t in hub.watching(tab.token) if ":channel:" in t or ":chat" in t}
            assert chat_topics and not any(str(world.org_id) in t for t in chat_topics)
            assert tab.dispatch(ChatState.send({"body": "intruder", "client_key": "x"})).toast(
                "error"
            )
            assert tab.dispatch(ChatState.delete(world.message_ids[cid])).toast("error")
            assert tab.dispatch(ChatState.mute(str(world.learner.user_id))).toast("error")
            assert tab.dispatch(ChatState.join(cid)).toast("error")
            assert tab.dispatch(ChatState.start_dm(str(world.learner.user_id))).toast("error")
            tab.dispatch(ChatState.search({"query": "secret"}))
            assert not any(sec in str(tab.state(ChatState).search_results) for sec in world.secrets)
    assert _a_view(world) == before


def test_a_post_from_a_tab_that_lost_its_state_never_reaches_a_s_channel_in_its_url(
    scenario: Scenario,  # noqa: F811
) -> None:
    """A tab whose state was lost (Redis restarted) posts to the channel in its URL before
    its page loads again; a URL naming another org's channel is refused like any other."""
    world = _victim_world(scenario)
    before = _a_view(world)
    for cid in world.channels:
        with StateHarness(cookie=scenario.attacker.token, path=f"/chat/{cid}") as tab:
            result = tab.dispatch(ChatState.send({"body": "intruder", "client_key": cid[:8]}))
            assert result.toast("error")
            assert tab.state(ChatState).messages == []
    assert _a_view(world) == before


def test_a_learner_not_enrolled_cannot_read_the_course_channel(other_tenant: Scenario) -> None:  # noqa: F811
    world = _victim_world(other_tenant)
    outsider = f.invite_and_accept_member(world.admin.ctx, Role.learner)
    with tenant_session(outsider.ctx) as session:
        with pytest.raises(NotFound):
            chat_history.history(session, outsider.ctx, channel_id=world.course)
        with pytest.raises(NotFound):
            msgs.do_post_message(session, outsider.ctx, channel_id=world.course, body="hi")
        with pytest.raises(NotFound):
            chat_history.history(session, outsider.ctx, channel_id=world.direct)
        assert world.course not in {r.id for r in chat_list.list_channels(session, outsider.ctx)}
        watched = chat_list.tab_topics(outsider.ctx, chat_list.list_channels(session, outsider.ctx))
    assert topics.CHANNEL.name(org=world.org_id, channel=world.course) not in watched
    assert topics.CHANNEL.name(org=world.org_id, channel=world.direct) not in watched
    with StateHarness(cookie=outsider.token, path=f"/chat/{world.course}") as tab:
        tab.dispatch(ChatState.load())
        assert not tab.state(ChatState).found
        assert topics.CHANNEL.name(org=world.org_id, channel=world.course) not in hub.watching(
            tab.token
        )


def test_a_learner_in_no_cohort_cannot_read_the_cohort_channel(other_tenant: Scenario) -> None:  # noqa: F811
    world = _victim_world(other_tenant)
    classmate = f.invite_and_accept_member(world.admin.ctx, Role.learner)
    lf.enrollment(classmate.ctx, world.course_world)  # same course, no cohort
    with tenant_session(classmate.ctx) as session:
        assert world.course in {r.id for r in chat_list.list_channels(session, classmate.ctx)}
        assert world.cohort not in {r.id for r in chat_list.list_channels(session, classmate.ctx)}
        with pytest.raises(NotFound):
            chat_history.history(session, classmate.ctx, channel_id=world.cohort)
        with pytest.raises(NotFound):
            msgs.do_post_message(session, classmate.ctx, channel_id=world.cohort, body="hi")
        with pytest.raises(NotFound):
            chat_courses.cohort_channel(session, classmate.ctx, world.cohort_id)
        found = chat_history.search_messages(session, classmate.ctx, query="secret-cohort")
        watched = chat_list.tab_topics(
            classmate.ctx, chat_list.list_channels(session, classmate.ctx)
        )
    assert found.total == 0
    assert topics.CHANNEL.name(org=world.org_id, channel=world.cohort) not in watched
    with StateHarness(cookie=classmate.token, path=f"/chat/{world.cohort}") as tab:
        tab.dispatch(ChatState.load())
        assert not tab.state(ChatState).found
        assert topics.CHANNEL.name(org=world.org_id, channel=world.cohort) not in hub.watching(
            tab.token
        )


def test_another_org_s_cohort_never_yields_a_channel(scenario: Scenario) -> None:  # noqa: F811
    """Neither asking for A's cohort nor a channel row of the attacker's own org forged to
    point at A's cohort lets anyone in: a cohort counts only in its own org."""
    world = _victim_world(scenario)
    attacker = scenario.attacker.ctx
    assert attacker.org_id is not None
    with tenant_session(attacker) as session:
        with pytest.raises(NotFound):
            chat_courses.cohort_channel(session, attacker, world.cohort_id)
        forged = ChatChannel(
            org_id=attacker.org_id,
            kind="cohort",
            name="forged",
            unique_key=f"cohort:{attacker.org_id}:{world.cohort_id}",
            subject_type="cohort",
            subject_id=world.cohort_id,
        )
        session.add(forged)
        session.commit()
        forged_id = str(forged.id)
    with tenant_session(attacker) as session:
        assert forged_id not in {r.id for r in chat_list.list_channels(session, attacker)}
        with pytest.raises(NotFound):
            chat_history.history(session, attacker, channel_id=forged_id)
        with pytest.raises(NotFound):
            msgs.do_post_message(session, attacker, channel_id=forged_id, body="hi")
    # A's learner is in A's cohort, not in the attacker's org: nothing there either
    with tenant_session(world.learner.ctx) as session, pytest.raises(NotFound):
        chat_history.history(session, world.learner.ctx, channel_id=forged_id)


def test_a_parent_admin_does_not_read_a_child_org_s_chat(child_admin: Scenario) -> None:  # noqa: F811
    c_admin = child_admin.attacker
    with tenant_session(c_admin.ctx) as session:
        c_general = str(chat_channels.org_channel(session, c_admin.ctx).id)
        msgs.do_post_message(session, c_admin.ctx, channel_id=c_general, body="child only")
    a_admin = child_admin.victim.admin
    with tenant_session(a_admin.ctx) as session, pytest.raises(NotFound):
        chat_history.history(session, a_admin.ctx, channel_id=c_general)


def test_owner_control(other_tenant: Scenario) -> None:  # noqa: F811
    """A's own people get through the same calls, so the rows above can fail."""
    world = _victim_world(other_tenant)
    admin, learner = world.admin.ctx, world.learner.ctx
    calls: list[tuple[OrgContext, str, Callable[[Session, OrgContext, str], Any]]] = [
        (admin, world.general, lambda s, me, cid: chat_history.history(s, me, channel_id=cid)),
        (
            learner,
            world.course,
            lambda s, me, cid: chat_history.since(s, me, channel_id=cid, after=None),
        ),
        (learner, world.direct, lambda s, me, cid: chat_list.channel_info(s, me, cid)),
        (learner, world.cohort, lambda s, me, cid: chat_list.channel_info(s, me, cid)),
        (admin, world.cohort, lambda s, me, cid: chat_history.history(s, me, channel_id=cid)),
        (admin, world.interest, lambda s, me, cid: chat_list.do_mark_read(s, me, channel_id=cid)),
        (
            learner,
            world.interest,
            lambda s, me, cid: chat_channels.do_join_channel(s, me, channel_id=cid),
        ),
        (
            learner,
            world.general,
            lambda s, me, cid: msgs.do_post_message(s, me, channel_id=cid, body="owner ok"),
        ),
        (
            admin,
            world.general,
            lambda s, me, cid: msgs.do_edit_message(
                s, me, message_id=world.message_ids[cid], body="edited by owner"
            ),
        ),
        (
            admin,
            world.course,
            lambda s, me, cid: chat_mutes.do_mute_member(
                s, me, channel_id=cid, user_id=world.learner.user_id, minutes=5
            ),
        ),
        (
            admin,
            world.course,
            lambda s, me, cid: msgs.do_delete_message(s, me, message_id=world.message_ids[cid]),
        ),
    ]
    for ctx, cid, call in calls:
        with tenant_session(ctx) as session:
            call(session, ctx, cid)
    with tenant_session(learner) as session:
        hits = chat_history.search_messages(session, learner, query="secret-direct")
        assert hits.total == 1
    with StateHarness(cookie=world.learner.token, path=f"/chat/{world.direct}") as tab:
        tab.dispatch(ChatState.load())
        s = tab.state(ChatState)
        assert s.found and any(sec in m.body for m in s.messages for sec in world.secrets)
        assert topics.CHANNEL.name(org=world.org_id, channel=world.direct) in hub.watching(
            tab.token
        )
        assert topics.CHANNEL.name(org=world.org_id, channel=world.course) in hub.watching(
            tab.token
        )
        assert topics.CHANNEL.name(org=world.org_id, channel=world.cohort) in hub.watching(
            tab.token
        )


# --------------------------------------------------------------------------- members panel
# (`app.services.comms.chat_members` and the moderation handlers of the members panel)


def _members_of_a(world: ChatWorld) -> dict[str, list[tuple[str, bool]]]:
    """Who is in each of A's channels and whether they are muted, as A's admin sees it
    (the learner reads the channels the admin is not in)."""
    from app.services.comms import chat_members as cm

    view = {}
    for cid in world.channels:
        reader = world.learner if cid == world.direct else world.admin
        with tenant_session(reader.ctx) as session:
            rows = cm.list_members(session, reader.ctx, channel_id=cid, page_size=100).rows
        view[cid] = [(r.user_id, r.muted_until is not None) for r in rows]
    return view


def _members_world(case: Scenario) -> ChatWorld:
    """A's chat with its learner in the interest channel and muted in General."""
    world = _victim_world(case)
    with tenant_session(world.learner.ctx) as session:
        chat_channels.do_join_channel(session, world.learner.ctx, channel_id=world.interest)
    with tenant_session(world.admin.ctx) as session:
        chat_mutes.do_mute_member(
            session,
            world.admin.ctx,
            channel_id=world.general,
            user_id=world.learner.user_id,
            minutes=60,
        )
    return world


def test_members_services_refuse_attacker_on_every_channel(scenario: Scenario) -> None:  # noqa: F811
    from app.services.comms import chat_members as cm

    world = _members_world(scenario)
    before = _members_of_a(world)
    attacker = scenario.attacker.ctx
    uid = world.learner.user_id
    attempts: list[Callable[[Session, str], object]] = [
        lambda s, cid: cm.list_members(s, attacker, channel_id=cid),
        lambda s, cid: cm.list_members(s, attacker, channel_id=cid, muted_only=True),
        lambda s, cid: cm.people_to_add(s, attacker, channel_id=cid, query=world.learner.email),
        lambda s, cid: cm.do_add_member(s, attacker, channel_id=cid, user_id=uid),
        lambda s, cid: cm.do_add_member(s, attacker, channel_id=cid, user_id=attacker.user_id),
        lambda s, cid: chat_mutes.do_mute_member(
            s, attacker, channel_id=cid, user_id=uid, minutes=5
        ),
        lambda s, cid: chat_mutes.do_unmute_member(s, attacker, channel_id=cid, user_id=uid),
        lambda s, cid: chat_channels.do_remove_member(s, attacker, channel_id=cid, user_id=uid),
    ]
    for cid in world.channels:
        for attempt in attempts:
            with tenant_session(attacker) as session, pytest.raises(NotFound):
                attempt(session, cid)
        with tenant_session(attacker) as session:  # says nothing about A's rows
            assert cm.lost_channel_notice(session, attacker, channel_id=cid) == ""
    assert _members_of_a(world) == before


def test_members_of_a_never_reach_the_attacker_s_own_channels(scenario: Scenario) -> None:  # noqa: F811
    """In the attacker's own channels, A's people are unknown: not listed, not addable, not
    mutable, not removable, not unmutable."""
    from app.services.comms import chat_members as cm

    world = _members_world(scenario)
    before = _members_of_a(world)
    attacker = scenario.attacker.ctx
    uid = world.learner.user_id
    with tenant_session(attacker) as session:
        own_general = str(chat_channels.org_channel(session, attacker).id)
        own_club = str(
            chat_channels.do_create_interest_channel(session, attacker, name=f.unique("Own")).id
        )
    with tenant_session(attacker) as session:
        listed = {
            r.user_id for r in cm.list_members(session, attacker, channel_id=own_general).rows
        }
        people = cm.people_to_add(session, attacker, channel_id=own_club, query=world.learner.email)
    assert str(uid) not in listed and str(world.admin.user_id) not in listed
    assert people == []
    for attempt in (
        lambda s: cm.do_add_member(s, attacker, channel_id=own_club, user_id=uid),
        lambda s: chat_mutes.do_mute_member(
            s, attacker, channel_id=own_general, user_id=uid, minutes=5
        ),
        lambda s: chat_mutes.do_unmute_member(s, attacker, channel_id=own_general, user_id=uid),
        lambda s: chat_channels.do_remove_member(s, attacker, channel_id=own_club, user_id=uid),
    ):
        with tenant_session(attacker) as session, pytest.raises(NotFound):
            attempt(session)
    assert _members_of_a(world) == before


def test_members_panel_handlers_give_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    world = _members_world(scenario)
    before = _members_of_a(world)
    uid = str(world.learner.user_id)
    for cid in world.channels:
        with StateHarness(cookie=scenario.attacker.token, path=f"/chat/{cid}") as tab:
            tab.dispatch(ChatState.load())
            tab.dispatch(ChatState.toggle_members())
            tab.dispatch(ChatState.search_members(world.learner.email[:6]))
            s = tab.state(ChatState)
            assert not s.found and s.members == [] and s.members_total == 0
            assert not s.members_can_add and s.closed_notice == ""
            assert tab.dispatch(ChatState.mute_member(uid, "60")).toast("error")
            assert tab.dispatch(ChatState.unmute(uid)).toast("error")
            assert tab.dispatch(ChatState.ask_remove(uid)).toast("error")
            tab.bare_state(ChatState).removing_id = uid  # a crafted state gets no further
            assert tab.dispatch(ChatState.confirm_remove()).toast("error")
            assert tab.dispatch(ChatState.find_addable(world.learner.email[:8])).toast("error")
            assert tab.state(ChatState).add_people == []
            assert tab.dispatch(ChatState.add_to_channel(uid)).toast("error")
            shown = str(tab.state(ChatState).members) + str(tab.state(ChatState).add_people)
            assert uid not in shown and world.learner.email not in shown
    assert _members_of_a(world) == before


def test_members_owner_control(other_tenant: Scenario) -> None:  # noqa: F811
    """A's own admin gets through the same calls, so the rows above can fail."""
    from app.services.comms import chat_members as cm

    world = _members_world(other_tenant)
    admin, uid = world.admin.ctx, world.learner.user_id
    with tenant_session(admin) as session:
        listed = cm.list_members(session, admin, channel_id=world.general, muted_only=True)
    assert [r.user_id for r in listed.rows] == [str(uid)]
    with tenant_session(admin) as session:
        chat_mutes.do_unmute_member(session, admin, channel_id=world.general, user_id=uid)
    with tenant_session(admin) as session:
        chat_channels.do_remove_member(session, admin, channel_id=world.interest, user_id=uid)
    with tenant_session(world.learner.ctx) as session:
        assert cm.lost_channel_notice(session, world.learner.ctx, channel_id=world.interest)
    with tenant_session(admin) as session:
        assert cm.people_to_add(
            session, admin, channel_id=world.interest, query=world.learner.email
        )
        cm.do_add_member(session, admin, channel_id=world.interest, user_id=uid)
    after = _members_of_a(world)
    assert (str(uid), False) in after[world.general]
    assert (str(uid), False) in after[world.interest]
    with StateHarness(cookie=world.admin.token, path=f"/chat/{world.general}") as tab:
        tab.dispatch(ChatState.load())
        tab.dispatch(ChatState.toggle_members())
        assert str(uid) in {m["id"] for m in tab.state(ChatState).members}
        assert tab.dispatch(ChatState.mute_member(str(uid), "10")).toast("success")
