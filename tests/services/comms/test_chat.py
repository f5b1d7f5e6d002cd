"""Chat (`app.services.comms.chat_*` modules): who sees which channel, the
message rules and the bad inputs the issue lists, moderation, mentions, unread counts,
history paging, catch-up after a reconnect, search, and the chat feature switch."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import event

from app.models.audit import AuditEvent
from app.models.chat import ChannelKind
from app.models.user import Role
from app.services.comms import (
    chat_access,
    chat_channels,
    chat_courses,
    chat_history,
    chat_list,
    chat_mutes,
    notifications,
)
from app.services.comms import chat_messages as msgs
from app.services.config import writes
from app.services.core import topics
from app.services.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    ValidationFailed,
)
from app.services.core.tenancy import OrgContext, scoped, tenant_session
from app.services.infra import broker
from tests import factories as f
from tests import learning_factories as lf

pytestmark = pytest.mark.usefixtures("backend")

T = TypeVar("T")


def run(ctx: OrgContext, fn: Callable[..., T], **kw: Any) -> T:
    """Call a service in a fresh tenant session of `ctx`."""
    with tenant_session(ctx) as session:
        return fn(session, ctx, **kw)


def general(ctx: OrgContext) -> str:
    return str(run(ctx, chat_channels.org_channel).id)


def post(ctx: OrgContext, channel_id: str, body: str, **kw: Any) -> chat_history.MessageRow:
    return run(ctx, msgs.do_post_message, channel_id=channel_id, body=body, **kw)


def bodies(ctx: OrgContext, channel_id: str) -> list[str]:
    return [r.body for r in run(ctx, chat_history.history, channel_id=channel_id, limit=100).rows]


def listed(ctx: OrgContext) -> dict[str, chat_list.ChannelRow]:
    return {r.id: r for r in run(ctx, chat_list.list_channels)}


@pytest.fixture
def heard() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """What the (in-process) broker publishes during the test."""
    broker.reset_broker()
    got: list[tuple[str, dict[str, Any]]] = []
    broker.get_broker().listen(lambda t, p: got.append((t, p)))
    yield got
    broker.reset_broker()


@pytest.fixture
def roomy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A flood limit no test of other rules reaches."""
    monkeypatch.setattr(msgs, "RATE_COUNT", 1000)


# --------------------------------------------------------------------------- channels


def test_general_is_one_channel_per_org_that_every_member_sees() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    assert general(learner.ctx) == gid
    rows = listed(learner.ctx)
    assert rows[gid].kind == ChannelKind.org and rows[gid].name == "General"
    other = f.new_admin()
    assert general(other.ctx) != gid
    assert gid not in listed(other.ctx)


def test_listing_channels_commits_only_when_it_made_one() -> None:
    """The channel list is read on every chat push for every tab: once General and the
    course channels exist, reading it writes nothing."""
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    lf.enrollment(learner.ctx, lf.published_course(admin.ctx))
    commits: list[int] = []

    def listed() -> list[str]:
        with tenant_session(learner.ctx) as session:
            event.listen(session, "after_commit", lambda _s: commits.append(1))
            return [r.name for r in chat_list.list_channels(session, learner.ctx)]

    first = listed()  # makes General and the course's channel
    assert len(first) == 2 and commits
    made = len(commits)
    assert listed() == first and len(commits) == made


def test_course_channel_is_for_enrolled_learners_and_course_staff_only() -> None:
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    enrolled = f.invite_and_accept_member(admin.ctx, Role.learner)
    outsider = f.invite_and_accept_member(admin.ctx, Role.learner)
    manager = f.invite_and_accept_member(admin.ctx, Role.manager)
    course = lf.published_course(admin.ctx, title="Forklift basics")
    lf.enrollment(enrolled.ctx, course)

    channel_id = str(run(enrolled.ctx, chat_courses.course_channel, course_id=course.course_id).id)
    assert run(
        instructor.ctx, chat_courses.course_channel, course_id=course.course_id
    ).id == uuid.UUID(channel_id)
    assert listed(enrolled.ctx)[channel_id].name == "Forklift basics"
    assert channel_id in listed(instructor.ctx)
    post(enrolled.ctx, channel_id, "Where do I find the quiz?")
    assert run(instructor.ctx, chat_list.channel_info, channel_id=channel_id).is_moderator

    for stranger in (outsider, manager):
        assert channel_id not in listed(stranger.ctx)
        with pytest.raises(NotFound):
            run(stranger.ctx, chat_courses.course_channel, course_id=course.course_id)
        with pytest.raises(NotFound):
            run(stranger.ctx, chat_history.history, channel_id=channel_id)
        with pytest.raises(NotFound):
            post(stranger.ctx, channel_id, "let me in")


def test_a_withdrawn_learner_is_out_of_the_course_channel() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    enrollment_id = lf.enrollment(learner.ctx, course)
    channel_id = str(run(learner.ctx, chat_courses.course_channel, course_id=course.course_id).id)
    post(learner.ctx, channel_id, "hello")
    from app.models.enrollment import Enrollment

    with tenant_session(admin.ctx) as session:
        row = session.exec(
            scoped(admin.ctx, Enrollment).where(Enrollment.id == enrollment_id)
        ).one()
        row.status = "withdrawn"
        session.add(row)
        session.commit()
    with pytest.raises(NotFound):
        post(learner.ctx, channel_id, "still here?")
    assert channel_id not in listed(learner.ctx)


def test_interest_channels_join_leave_archive(roomy: None) -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner)
    ben = f.invite_and_accept_member(admin.ctx, Role.learner)
    channel = run(
        ana.ctx,
        chat_channels.do_create_interest_channel,
        name="  Night   shift ",
        description="Owls",
    )
    cid = str(channel.id)
    assert channel.name == "Night shift"
    assert listed(ana.ctx)[cid].kind == ChannelKind.interest
    with pytest.raises(Conflict) as dup:
        run(ben.ctx, chat_channels.do_create_interest_channel, name="night shift")
    assert dup.value.field == "name"
    with pytest.raises(ValidationFailed):
        run(ben.ctx, chat_channels.do_create_interest_channel, name="   ")

    # Ben can find and read it, but posts only once he joined
    assert cid in {r.id for r in run(ben.ctx, chat_list.browse_interest_channels)}
    assert cid not in listed(ben.ctx)
    post(ana.ctx, cid, "Coffee at 2am?")
    assert bodies(ben.ctx, cid) == ["Coffee at 2am?"]
    run(ben.ctx, chat_list.do_mark_read, channel_id=cid)  # reading it does not join him
    assert cid not in listed(ben.ctx)
    with tenant_session(ana.ctx) as session:
        room = chat_access.access_channel(session, ana.ctx, cid).channel
        assert chat_access.member_count(session, ana.ctx, room) == 1  # Ana only
    with pytest.raises(PermissionDenied, match="Join it again"):
        post(ben.ctx, cid, "me too")
    run(ben.ctx, chat_channels.do_join_channel, channel_id=cid)
    post(ben.ctx, cid, "me too")
    assert cid in listed(ben.ctx)

    # ... and after leaving, posting is refused again
    run(ben.ctx, chat_channels.do_leave_channel, channel_id=cid)
    with pytest.raises(PermissionDenied, match="You left this channel"):
        post(ben.ctx, cid, "one more")
    assert cid not in listed(ben.ctx)

    with pytest.raises(PermissionDenied):
        run(ana.ctx, chat_channels.do_archive_channel, channel_id=cid)
    run(admin.ctx, chat_channels.do_archive_channel, channel_id=cid)
    with pytest.raises(PermissionDenied, match="archived"):
        post(ana.ctx, cid, "hello?")
    assert cid not in listed(ana.ctx)
    assert cid not in {r.id for r in run(ana.ctx, chat_list.browse_interest_channels)}


def test_a_removed_member_can_neither_read_nor_rejoin(roomy: None) -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner)
    ben = f.invite_and_accept_member(admin.ctx, Role.learner)
    cid = str(run(ana.ctx, chat_channels.do_create_interest_channel, name="Gardening").id)
    run(ben.ctx, chat_channels.do_join_channel, channel_id=cid)
    with pytest.raises(PermissionDenied):
        run(ana.ctx, chat_channels.do_remove_member, channel_id=cid, user_id=ben.user_id)
    run(admin.ctx, chat_channels.do_remove_member, channel_id=cid, user_id=ben.user_id)
    for attempt in (
        lambda: post(ben.ctx, cid, "hi"),
        lambda: run(ben.ctx, chat_history.history, channel_id=cid),
        lambda: run(ben.ctx, chat_channels.do_join_channel, channel_id=cid),
    ):
        with pytest.raises(NotFound):
            attempt()
    with tenant_session(admin.ctx) as session:
        actions = [
            e.action
            for e in session.exec(
                scoped(admin.ctx, AuditEvent).where(AuditEvent.org_id == admin.org_id)
            ).all()
        ]
    assert "chat.member_removed" in actions


def test_direct_messages_between_two_members_of_one_org_only() -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ana Alvarez")
    ben = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ben Brook")
    cy = f.invite_and_accept_member(admin.ctx, Role.learner)
    dm = run(ana.ctx, chat_channels.do_open_direct, user_id=ben.user_id)
    assert (
        run(ben.ctx, chat_channels.do_open_direct, user_id=ana.user_id).id == dm.id
    )  # one per pair
    cid = str(dm.id)
    post(ana.ctx, cid, "psst")
    assert bodies(ben.ctx, cid) == ["psst"]
    assert listed(ana.ctx)[cid].name == "Ben Brook"
    assert listed(ben.ctx)[cid].name == "Ana Alvarez"
    # nobody else reads it, not even the org admin
    for third in (cy, admin):
        assert cid not in listed(third.ctx)
        with pytest.raises(NotFound):
            run(third.ctx, chat_history.history, channel_id=cid)
    with pytest.raises(ValidationFailed):
        run(ana.ctx, chat_channels.do_open_direct, user_id=ana.user_id)
    # someone of another org (or a made-up id) cannot be messaged
    other = f.new_admin()
    with pytest.raises(NotFound):
        run(other.ctx, chat_channels.do_open_direct, user_id=ana.user_id)
    with pytest.raises(NotFound):
        run(ana.ctx, chat_channels.do_open_direct, user_id=other.user_id)
    with pytest.raises(NotFound):
        run(ana.ctx, chat_channels.do_open_direct, user_id="not-an-id")


def test_find_people_lists_active_members_of_the_org_only() -> None:
    admin = f.new_admin()
    f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Zelda Zimmer")
    other = f.new_admin()
    f.invite_and_accept_member(other.ctx, Role.learner, full_name="Zelda Zorro")
    names = [p.name for p in run(admin.ctx, chat_list.find_people, query="zelda")]
    assert names == ["Zelda Zimmer"]
    assert run(admin.ctx, chat_list.find_people, query="z") == []


# --------------------------------------------------------------------------- messages


def test_empty_and_oversized_messages_are_refused_and_4000_is_fine(roomy: None) -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    for empty in ("", "   \n\t ", "\u200b\u200d\ufeff", " \u2060 \u200c "):
        with pytest.raises(ValidationFailed, match="Write a message") as exc:
            post(admin.ctx, gid, empty)
        assert exc.value.field == "body"
    with pytest.raises(ValidationFailed, match="at most 4,000 characters; this one has 20,000"):
        post(admin.ctx, gid, "x" * 20_000)
    with pytest.raises(ValidationFailed):
        post(admin.ctx, gid, "y" * 4001)
    assert bodies(admin.ctx, gid) == []
    row = post(admin.ctx, gid, "  " + "z" * 4000 + "  ")
    assert row.body == "z" * 4000


def test_html_and_script_are_stored_verbatim() -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> & <b>bold</b>'
    post(admin.ctx, gid, evil)
    assert bodies(admin.ctx, gid) == [evil]


def test_a_retried_send_with_the_same_client_key_is_stored_once() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    first = post(admin.ctx, gid, "only once", client_key="k-1")
    again = post(admin.ctx, gid, "only once", client_key="k-1")
    assert again.id == first.id
    # the same key from someone else is their own send
    theirs = post(learner.ctx, gid, "mine", client_key="k-1")
    assert theirs.id != first.id
    assert bodies(admin.ctx, gid) == ["only once", "mine"]
    with pytest.raises(ValidationFailed):
        post(admin.ctx, gid, "x", client_key="k" * 65)


def test_the_same_send_fired_four_times_at_once_is_stored_once() -> None:
    """A double click, a second tab and a retried event racing (real concurrency on
    PostgreSQL; SQLite serializes them): one message, and every sender gets it back."""
    admin = f.new_admin()
    gid = general(admin.ctx)
    barrier = threading.Barrier(4)

    def send() -> str:
        barrier.wait()
        return post(admin.ctx, gid, "exactly once", client_key="race-1").id

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = list(pool.map(lambda _: send(), range(4)))
    assert len(set(ids)) == 1
    assert bodies(admin.ctx, gid) == ["exactly once"]


def test_flooding_is_rate_limited_with_a_clear_answer() -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    sent = [post(admin.ctx, gid, f"message {i}", client_key=f"k{i}") for i in range(10)]
    with pytest.raises(RateLimited) as exc:
        post(admin.ctx, gid, "one too many")
    message = exc.value.message
    assert message.startswith("You are sending messages too fast; try again in ")
    seconds = int(message.split(" in ")[1].split()[0])
    assert 1 <= seconds <= msgs.RATE_SECONDS
    assert len(bodies(admin.ctx, gid)) == 10
    # a retry of a send that got through is answered, not refused, and not stored again
    assert post(admin.ctx, gid, "message 3", client_key="k3").id == sent[3].id
    # the limit is per person: others in the channel can still talk
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    post(learner.ctx, gid, "I can")


def test_edit_own_message_only(roomy: None) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    mine = post(learner.ctx, gid, "helo")
    edited = run(learner.ctx, msgs.do_edit_message, message_id=mine.id, body="hello")
    assert edited.body == "hello" and edited.edited
    with pytest.raises(PermissionDenied, match="your own"):
        run(admin.ctx, msgs.do_edit_message, message_id=mine.id, body="hijacked")
    with pytest.raises(ValidationFailed):
        run(learner.ctx, msgs.do_edit_message, message_id=mine.id, body="  ")
    with pytest.raises(ValidationFailed):
        run(learner.ctx, msgs.do_edit_message, message_id=mine.id, body="x" * 20_000)
    assert bodies(admin.ctx, gid) == ["hello"]


def test_delete_own_and_moderators_delete_any_which_is_audited(roomy: None) -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner)
    ben = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    a1 = post(ana.ctx, gid, "first")
    a2 = post(ana.ctx, gid, "second")
    with pytest.raises(PermissionDenied):
        run(ben.ctx, msgs.do_delete_message, message_id=a1.id)
    run(ana.ctx, msgs.do_delete_message, message_id=a1.id)
    run(admin.ctx, msgs.do_delete_message, message_id=a2.id)
    rows = run(ben.ctx, chat_history.history, channel_id=gid).rows
    assert [(r.deleted, r.body) for r in rows] == [(True, ""), (True, "")]
    with pytest.raises(ValidationFailed):
        run(ana.ctx, msgs.do_edit_message, message_id=a1.id, body="back")
    with tenant_session(admin.ctx) as session:
        events = session.exec(
            scoped(admin.ctx, AuditEvent).where(AuditEvent.action == "chat.message_deleted")
        ).all()
    assert [e.detail["message_id"] for e in events] == [a2.id]  # the moderator's only


def test_a_muted_member_is_refused_until_the_mute_ends(roomy: None) -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    other = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    with pytest.raises(PermissionDenied):
        run(
            other.ctx, chat_mutes.do_mute_member, channel_id=gid, user_id=learner.user_id, minutes=5
        )
    with pytest.raises(ValidationFailed):
        run(
            staff.ctx, chat_mutes.do_mute_member, channel_id=gid, user_id=learner.user_id, minutes=0
        )
    with pytest.raises(PermissionDenied, match="Moderators"):
        run(staff.ctx, chat_mutes.do_mute_member, channel_id=gid, user_id=admin.user_id, minutes=5)
    until = run(
        staff.ctx, chat_mutes.do_mute_member, channel_id=gid, user_id=learner.user_id, minutes=5
    )
    with pytest.raises(PermissionDenied, match=f"until {until:%Y-%m-%d %H:%M} UTC"):
        post(learner.ctx, gid, "let me speak")
    assert run(learner.ctx, chat_list.channel_info, channel_id=gid).muted_until is not None
    post(other.ctx, gid, "others still can")
    run(staff.ctx, chat_mutes.do_unmute_member, channel_id=gid, user_id=learner.user_id)
    post(learner.ctx, gid, "thanks")
    assert bodies(admin.ctx, gid) == ["others still can", "thanks"]


def test_instructors_moderate_course_channels_but_not_general(roomy: None) -> None:
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    lf.enrollment(learner.ctx, course)
    cid = str(run(learner.ctx, chat_courses.course_channel, course_id=course.course_id).id)
    gid = general(admin.ctx)
    in_course = post(learner.ctx, cid, "spam")
    in_general = post(learner.ctx, gid, "spam")
    run(instructor.ctx, msgs.do_delete_message, message_id=in_course.id)
    with pytest.raises(PermissionDenied):
        run(instructor.ctx, msgs.do_delete_message, message_id=in_general.id)
    run(
        instructor.ctx,
        chat_mutes.do_mute_member,
        channel_id=cid,
        user_id=learner.user_id,
        minutes=10,
    )
    with pytest.raises(PermissionDenied, match="muted"):
        post(learner.ctx, cid, "more spam")
    post(learner.ctx, gid, "general is fine")  # muted in that channel only


def test_history_pages_back_with_a_cursor(roomy: None) -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    for i in range(35):
        post(admin.ctx, gid, f"m{i:02d}")
    first = run(admin.ctx, chat_history.history, channel_id=gid, limit=30)
    assert [r.body for r in first.rows] == [f"m{i:02d}" for i in range(5, 35)]
    assert first.has_more and first.before
    older = run(admin.ctx, chat_history.history, channel_id=gid, limit=30, before=first.before)
    assert [r.body for r in older.rows] == [f"m{i:02d}" for i in range(5)]
    assert not older.has_more and older.before == ""
    with pytest.raises(ValidationFailed):
        run(admin.ctx, chat_history.history, channel_id=gid, before="garbage")


def test_since_returns_new_edited_and_deleted_messages_for_a_catch_up(roomy: None) -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    old = post(admin.ctx, gid, "old")
    shown = post(admin.ctx, gid, "seen")
    assert {r.id for r in run(admin.ctx, chat_history.since, channel_id=gid, after=None)} == {
        old.id,
        shown.id,
    }
    # long after: nothing new
    later = shown.created + timedelta(minutes=5)
    assert run(admin.ctx, chat_history.since, channel_id=gid, after=later) == []
    missed = post(admin.ctx, gid, "missed while offline")
    run(admin.ctx, msgs.do_edit_message, message_id=old.id, body="old, edited")
    got = {r.id: r for r in run(admin.ctx, chat_history.since, channel_id=gid, after=shown.created)}
    assert missed.id in got and got[old.id].body == "old, edited"


def test_unread_counts_skip_own_and_deleted_and_reset_on_read(roomy: None) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    post(admin.ctx, gid, "mine")
    for i in range(3):
        post(learner.ctx, gid, f"yours {i}")
    gone = post(learner.ctx, gid, "deleted")
    run(learner.ctx, msgs.do_delete_message, message_id=gone.id)
    assert listed(admin.ctx)[gid].unread == 3
    assert listed(learner.ctx)[gid].unread == 0  # posting marks read
    run(admin.ctx, chat_list.do_mark_read, channel_id=gid)
    assert listed(admin.ctx)[gid].unread == 0
    post(learner.ctx, gid, "one more")
    assert listed(admin.ctx)[gid].unread == 1


def test_mentions_notify_people_who_can_read_the_channel_once(roomy: None) -> None:
    admin = f.new_admin()
    quinn = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Quinn Quill")
    rae = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Rae Ray")
    gid = general(admin.ctx)
    local = rae.email.split("@")[0]
    row = post(admin.ctx, gid, f"Hi @Quinn Quill and @{local}, and @nobody-here.")
    with tenant_session(admin.ctx) as session:
        stored = msgs._message(session, admin.ctx, row.id)
        assert sorted(stored.mentions) == sorted([str(quinn.user_id), str(rae.user_id)])
    for who in (quinn, rae):
        page = run(who.ctx, notifications.list_for_user)
        hits = [n for n in page.rows if n.kind == "chat.mention"]
        assert len(hits) == 1 and hits[0].link == f"/chat/{gid}"
    # editing keeps one notification per person; a newly added name is notified
    run(admin.ctx, msgs.do_edit_message, message_id=row.id, body="@Quinn Quill again")
    assert len([n for n in run(quinn.ctx, notifications.list_for_user).rows]) == 1
    # someone who cannot read the channel is not mentioned
    course = lf.published_course(admin.ctx)
    lf.enrollment(quinn.ctx, course)
    cid = str(run(quinn.ctx, chat_courses.course_channel, course_id=course.course_id).id)
    row = post(quinn.ctx, cid, f"@{local} are you in this course?")
    assert not row.mentions_me
    assert len(run(rae.ctx, notifications.list_for_user).rows) == 1


def test_search_covers_the_channels_one_may_read_only(roomy: None) -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner)
    ben = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    post(ana.ctx, gid, "The Fire DRILL is at noon")
    dm = str(run(admin.ctx, chat_channels.do_open_direct, user_id=ben.user_id).id)
    post(admin.ctx, dm, "secret fire drill plans")
    post(ana.ctx, gid, "100% sure")
    hits = run(ana.ctx, chat_history.search_messages, query="fire drill")
    assert [(h.message.body, h.channel_name) for h in hits.rows] == [
        ("The Fire DRILL is at noon", "General")
    ]
    assert run(ben.ctx, chat_history.search_messages, query="FIRE").total == 2
    assert [
        h.message.body for h in run(ana.ctx, chat_history.search_messages, query="0%").rows
    ] == ["100% sure"]
    with pytest.raises(ValidationFailed):
        run(ana.ctx, chat_history.search_messages, query="f")
    with pytest.raises(NotFound):
        run(ana.ctx, chat_history.search_messages, query="fire", channel_id=dm)
    other = f.new_admin()
    assert run(other.ctx, chat_history.search_messages, query="fire").total == 0


def test_changes_are_published_on_the_channel_topic_after_commit(
    heard: list[tuple[str, dict[str, Any]]], roomy: None
) -> None:
    admin = f.new_admin()
    gid = general(admin.ctx)
    row = post(admin.ctx, gid, "hi")
    run(admin.ctx, msgs.do_edit_message, message_id=row.id, body="hi there")
    run(admin.ctx, msgs.do_delete_message, message_id=row.id)
    topic = topics.CHANNEL.name(org=admin.org_id, channel=gid)
    assert [(p["message_id"], p["kind"]) for t, p in heard if t == topic] == [
        (row.id, "new"),
        (row.id, "edit"),
        (row.id, "delete"),
    ]
    heard.clear()
    with pytest.raises(ValidationFailed):
        post(admin.ctx, gid, "")
    assert heard == []


def test_event_channels_are_generic_over_their_subject(roomy: None) -> None:
    admin = f.new_admin()
    attendee = f.invite_and_accept_member(admin.ctx, Role.learner)
    absent = f.invite_and_accept_member(admin.ctx, Role.learner)
    event_id = uuid.uuid4()
    channel = run(
        admin.ctx,
        chat_channels.subject_channel,
        kind=ChannelKind.event,
        subject_type="event",
        subject_id=event_id,
        name="Spring open day",
    )
    again = run(
        admin.ctx,
        chat_channels.subject_channel,
        kind=ChannelKind.event,
        subject_type="event",
        subject_id=event_id,
        name="Spring open day",
    )
    assert again.id == channel.id
    run(
        admin.ctx,
        chat_channels.do_add_event_member,
        channel_id=channel.id,
        user_id=attendee.user_id,
    )
    post(attendee.ctx, str(channel.id), "see you there")
    assert str(channel.id) in listed(attendee.ctx)
    with pytest.raises(NotFound):
        run(absent.ctx, chat_history.history, channel_id=channel.id)


def test_the_chat_switch_refuses_every_service_when_off(roomy: None) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    gid = general(admin.ctx)
    row = post(learner.ctx, gid, "before")
    with tenant_session(admin.ctx) as session:
        writes.do_update_section(
            session, admin.ctx, org_id=admin.org_id, section="features", values={"chat": False}
        )
    attempts: list[Callable[[], object]] = [
        lambda: run(learner.ctx, chat_list.list_channels),
        lambda: run(learner.ctx, chat_channels.org_channel),
        lambda: run(learner.ctx, chat_list.channel_info, channel_id=gid),
        lambda: post(learner.ctx, gid, "after"),
        lambda: run(learner.ctx, chat_history.history, channel_id=gid),
        lambda: run(learner.ctx, chat_history.since, channel_id=gid, after=None),
        lambda: run(learner.ctx, chat_history.search_messages, query="before"),
        lambda: run(learner.ctx, msgs.do_edit_message, message_id=row.id, body="x"),
        lambda: run(learner.ctx, msgs.do_delete_message, message_id=row.id),
        lambda: run(learner.ctx, chat_list.do_mark_read, channel_id=gid),
        lambda: run(learner.ctx, chat_channels.do_open_direct, user_id=admin.user_id),
        lambda: run(learner.ctx, chat_channels.do_create_interest_channel, name="Off"),
        lambda: run(learner.ctx, chat_list.find_people, query="admin"),
        lambda: run(
            admin.ctx, chat_mutes.do_mute_member, channel_id=gid, user_id=learner.user_id, minutes=5
        ),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied, match="Chat is turned off"):
            attempt()


def test_no_direct_messages_to_someone_who_left_the_org(roomy: None) -> None:
    from app.services.people import members

    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner)
    ben = f.invite_and_accept_member(admin.ctx, Role.learner)
    cid = str(run(ana.ctx, chat_channels.do_open_direct, user_id=ben.user_id).id)
    post(ana.ctx, cid, "before")
    with tenant_session(admin.ctx) as session:
        (row,) = [
            r
            for r in members.list_members(session, admin.ctx, page_size=100).rows
            if r.user_id == str(ben.user_id)
        ]
        members.do_set_active(session, admin.ctx, row.membership_id, False)
    with pytest.raises(PermissionDenied, match="no longer a member"):
        post(ana.ctx, cid, "after")
    with pytest.raises(NotFound):
        run(ana.ctx, chat_channels.do_open_direct, user_id=ben.user_id)
    assert bodies(ana.ctx, cid) == ["before"]
    assert [p.name for p in run(ana.ctx, chat_list.find_people, query=ben.email[:10])] == []
