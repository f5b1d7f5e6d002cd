"""Channel members (`app.services.comms.chat_members`): who is listed for each kind of channel,
mute status (moderators only), left and removed people left out, paging and search, adding
people to interest channels (moderators, audited, published), and the notice a removed
person gets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest

from app.models.audit import AuditEvent
from app.models.user import Role
from app.services.comms import chat_channels, chat_courses, chat_list, chat_mutes
from app.services.comms import chat_members as cm
from app.services.comms import chat_messages as msgs
from app.services.core import topics
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, scoped, tenant_session
from app.services.infra import broker
from app.services.people import members
from tests import factories as f
from tests import learning_factories as lf

pytestmark = pytest.mark.usefixtures("backend")

T = TypeVar("T")


def run(ctx: OrgContext, fn: Callable[..., T], **kw: Any) -> T:
    with tenant_session(ctx) as session:
        return fn(session, ctx, **kw)


def general(ctx: OrgContext) -> str:
    return str(run(ctx, chat_channels.org_channel).id)


def names(ctx: OrgContext, channel_id: str, **kw: Any) -> list[str]:
    page = run(ctx, cm.list_members, channel_id=channel_id, page_size=100, **kw)
    return [r.name for r in page.rows]


def audited(ctx: OrgContext) -> list[str]:
    with tenant_session(ctx) as session:
        return [
            e.action
            for e in session.exec(
                scoped(ctx, AuditEvent).where(AuditEvent.org_id == ctx.org_id)
            ).all()
        ]


@pytest.fixture
def heard() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    broker.reset_broker()
    got: list[tuple[str, dict[str, Any]]] = []
    broker.get_broker().listen(lambda t, p: got.append((t, p)))
    yield got
    broker.reset_broker()


def test_general_lists_every_active_member_by_name_and_not_those_who_left() -> None:
    admin = f.new_admin()
    zoe = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Zoe Zimmer")
    amy = f.invite_and_accept_member(admin.ctx, Role.instructor, full_name="Amy Archer")
    gone = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Gus Gone")
    with tenant_session(admin.ctx) as session:
        row = next(
            r
            for r in members.list_members(session, admin.ctx, page_size=100).rows
            if r.user_id == str(gone.user_id)
        )
        members.do_set_active(session, admin.ctx, row.membership_id, False)
    gid = general(admin.ctx)
    page = run(zoe.ctx, cm.list_members, channel_id=gid)
    listed = [r.name for r in page.rows]
    assert listed == sorted([admin.ctx.full_name, "Zoe Zimmer", "Amy Archer"], key=str.lower)
    assert page.total == 3 and not page.moderator and not page.can_add
    by_name = {r.name: r for r in page.rows}
    assert by_name["Zoe Zimmer"].is_me and by_name["Amy Archer"].role == Role.instructor
    assert not any(r.can_mute or r.can_remove for r in page.rows)
    assert amy.user_id  # listed under her name above


def test_paging_and_search_over_a_large_general() -> None:
    admin = f.new_admin()
    for i in range(7):
        f.invite_and_accept_member(admin.ctx, Role.learner, full_name=f"Pat {i:02d}")
    f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Quinn 100%_x")
    gid = general(admin.ctx)
    first = run(admin.ctx, cm.list_members, channel_id=gid, query="pat", page_size=3)
    assert first.total == 7 and [r.name for r in first.rows] == ["Pat 00", "Pat 01", "Pat 02"]
    last = run(admin.ctx, cm.list_members, channel_id=gid, query="PAT", page=3, page_size=3)
    assert [r.name for r in last.rows] == ["Pat 06"]
    # LIKE wildcards are text: "%" matches only a literal percent sign
    assert names(admin.ctx, gid, query="100%_") == ["Quinn 100%_x"]
    assert names(admin.ctx, gid, query="%") == ["Quinn 100%_x"]
    assert run(admin.ctx, cm.list_members, channel_id=gid).page_size == cm.PAGE_SIZE == 50
    with pytest.raises(ValidationFailed):
        run(admin.ctx, cm.list_members, channel_id=gid, query="x" * 101)


def test_mute_status_is_shown_to_moderators_and_to_the_muted_person_only() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept_member(admin.ctx, Role.staff, full_name="Sam Staff")
    lee = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Lee Loud")
    kim = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Kim Quiet")
    gid = general(admin.ctx)
    until = run(
        staff.ctx, chat_mutes.do_mute_member, channel_id=gid, user_id=lee.user_id, minutes=30
    )

    mod = {r.name: r for r in run(staff.ctx, cm.list_members, channel_id=gid).rows}
    assert mod["Lee Loud"].muted_until is not None
    assert abs((mod["Lee Loud"].muted_until - until).total_seconds()) < 1
    assert mod["Kim Quiet"].muted_until is None
    assert mod["Lee Loud"].can_mute and mod["Kim Quiet"].can_mute
    assert not mod[admin.ctx.full_name].can_mute  # moderators cannot be muted
    assert not mod["Sam Staff"].can_mute  # nor yourself
    assert not any(r.can_remove for r in mod.values())  # General: nobody is removed
    assert names(staff.ctx, gid, muted_only=True) == ["Lee Loud"]

    peer = {r.name: r for r in run(kim.ctx, cm.list_members, channel_id=gid).rows}
    assert all(r.muted_until is None for r in peer.values())
    assert len(names(kim.ctx, gid, muted_only=True)) == 4  # not a moderator: filter ignored
    me = {r.name: r for r in run(lee.ctx, cm.list_members, channel_id=gid).rows}
    assert me["Lee Loud"].muted_until is not None

    run(staff.ctx, chat_mutes.do_unmute_member, channel_id=gid, user_id=lee.user_id)
    assert names(staff.ctx, gid, muted_only=True) == []
    actions = audited(admin.ctx)
    assert "chat.member_muted" in actions and "chat.member_unmuted" in actions


def test_course_channel_lists_enrolled_learners_and_staff_not_other_learners() -> None:
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor, full_name="Ivy Teach")
    ada = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ada Enrolled")
    f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Bo Outside")
    done = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Cy Done")
    quit_ = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Di Withdrawn")
    course = lf.published_course(admin.ctx)
    lf.enrollment(ada.ctx, course)
    lf.enrollment(done.ctx, course, status="completed")
    lf.enrollment(quit_.ctx, course, status="withdrawn")
    cid = str(run(ada.ctx, chat_courses.course_channel, course_id=course.course_id).id)
    listed = names(instructor.ctx, cid)
    assert "Ada Enrolled" in listed and "Cy Done" in listed
    assert "Ivy Teach" in listed and admin.ctx.full_name in listed
    assert "Bo Outside" not in listed and "Di Withdrawn" not in listed
    rows = {r.name: r for r in run(instructor.ctx, cm.list_members, channel_id=cid).rows}
    assert rows["Ada Enrolled"].can_mute and not rows[admin.ctx.full_name].can_mute
    assert run(instructor.ctx, cm.list_members, channel_id=cid).moderator


def test_interest_channel_lists_joined_people_only() -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ana In")
    ben = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ben Left")
    cal = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Cal Removed")
    f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Dee Never")
    cid = str(run(ana.ctx, chat_channels.do_create_interest_channel, name=f.unique("Knitting")).id)
    for who in (ben, cal):
        run(who.ctx, chat_channels.do_join_channel, channel_id=cid)
    assert names(ana.ctx, cid) == ["Ana In", "Ben Left", "Cal Removed"]
    run(ben.ctx, chat_channels.do_leave_channel, channel_id=cid)
    run(admin.ctx, chat_channels.do_remove_member, channel_id=cid, user_id=cal.user_id)
    assert names(ana.ctx, cid) == ["Ana In"]
    page = run(admin.ctx, cm.list_members, channel_id=cid)
    assert page.moderator and page.can_add
    (row,) = page.rows
    assert row.can_remove and row.can_mute


def test_direct_channel_lists_the_two_people() -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ana Pair")
    cid = str(run(ana.ctx, chat_channels.do_open_direct, user_id=admin.user_id).id)
    assert names(ana.ctx, cid) == sorted(["Ana Pair", admin.ctx.full_name], key=str.lower)


def test_only_moderators_add_and_adding_lifts_a_removal(
    heard: list[tuple[str, dict[str, Any]]],
) -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ana Owner")
    cal = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Cal Comeback")
    cid = str(run(ana.ctx, chat_channels.do_create_interest_channel, name=f.unique("Chess")).id)
    with pytest.raises(PermissionDenied):
        run(ana.ctx, cm.do_add_member, channel_id=cid, user_id=cal.user_id)
    with pytest.raises(PermissionDenied):
        run(ana.ctx, cm.people_to_add, channel_id=cid, query="Comeback")
    assert names(admin.ctx, cid) == ["Ana Owner"]

    found = run(admin.ctx, cm.people_to_add, channel_id=cid, query="Cal Com")
    assert [p.name for p in found] == ["Cal Comeback"]
    assert run(admin.ctx, cm.people_to_add, channel_id=cid, query="Ana Own") == []  # in it
    heard.clear()
    assert run(admin.ctx, cm.do_add_member, channel_id=cid, user_id=str(cal.user_id)) == (
        "Cal Comeback"
    )
    assert names(admin.ctx, cid) == ["Ana Owner", "Cal Comeback"]
    assert cid in {r.id for r in run(cal.ctx, chat_list.list_channels)}
    assert (
        topics.CHANNEL.name(org=admin.org_id, channel=cid),
        topics.ChannelChanged(kind="members").as_message(),
    ) in heard
    assert (
        topics.CHAT_LIST.name(org=admin.org_id, user=cal.user_id),
        topics.ChatListChanged().as_message(),
    ) in heard

    run(admin.ctx, chat_channels.do_remove_member, channel_id=cid, user_id=cal.user_id)
    assert run(cal.ctx, cm.lost_channel_notice, channel_id=cid) == (
        "A moderator removed you from this channel."
    )
    assert [p.name for p in run(admin.ctx, cm.people_to_add, channel_id=cid, query="Comeb")] == [
        "Cal Comeback"
    ]
    run(admin.ctx, cm.do_add_member, channel_id=cid, user_id=cal.user_id)
    with tenant_session(cal.ctx) as session:
        msgs.do_post_message(session, cal.ctx, channel_id=cid, body="back again")
    assert run(cal.ctx, cm.lost_channel_notice, channel_id=cid) == ""
    assert audited(admin.ctx).count("chat.member_added") == 2

    heard.clear()
    run(admin.ctx, cm.do_add_member, channel_id=cid, user_id=cal.user_id)  # already in: no-op
    assert heard == [] and audited(admin.ctx).count("chat.member_added") == 2


def test_adding_is_for_interest_channels_and_active_members_only() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    other = f.new_admin()
    gid = general(admin.ctx)
    with pytest.raises(ValidationFailed, match="interest channels only"):
        run(admin.ctx, cm.do_add_member, channel_id=gid, user_id=learner.user_id)
    cid = str(run(admin.ctx, chat_channels.do_create_interest_channel, name=f.unique("Club")).id)
    with pytest.raises(NotFound):
        run(admin.ctx, cm.do_add_member, channel_id=cid, user_id=other.user_id)  # another org
    with pytest.raises(NotFound):
        run(admin.ctx, cm.do_add_member, channel_id=cid, user_id="not-an-id")
    run(admin.ctx, chat_channels.do_archive_channel, channel_id=cid)
    with pytest.raises(PermissionDenied, match="archived"):
        run(admin.ctx, cm.do_add_member, channel_id=cid, user_id=learner.user_id)
    assert not run(admin.ctx, cm.list_members, channel_id=cid).can_add


def test_listing_needs_read_access_to_the_channel() -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner)
    ben = f.invite_and_accept_member(admin.ctx, Role.learner)
    cal = f.invite_and_accept_member(admin.ctx, Role.learner)
    dm = str(run(ana.ctx, chat_channels.do_open_direct, user_id=ben.user_id).id)
    with pytest.raises(NotFound):
        run(cal.ctx, cm.list_members, channel_id=dm)
    course = lf.published_course(admin.ctx)
    lf.enrollment(ana.ctx, course)
    cid = str(run(ana.ctx, chat_courses.course_channel, course_id=course.course_id).id)
    with pytest.raises(NotFound):
        run(cal.ctx, cm.list_members, channel_id=cid)
    with pytest.raises(NotFound):
        run(cal.ctx, cm.list_members, channel_id="nonsense")
    assert run(cal.ctx, cm.lost_channel_notice, channel_id=dm) == ""


def test_cohort_channel_lists_its_placed_learners_and_course_staff() -> None:
    """Cohort channels follow `chat_access.may_see` (placed learners and course staff); their
    instructors moderate them and cannot be muted there."""
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor, full_name="Ivy Teach")
    placed = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Pat Placed")
    other = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Oli Elsewhere")
    f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ned Notenrolled")
    course = lf.published_course(admin.ctx)
    mine = lf.enrollment(placed.ctx, course)
    lf.enrollment(other.ctx, course)
    cohort_id = lf.cohort(admin.ctx, course, f.unique("Spring"), members=[mine])
    cid = str(run(placed.ctx, chat_courses.cohort_channel, cohort_id=cohort_id).id)
    listed = names(instructor.ctx, cid)
    assert "Pat Placed" in listed and "Ivy Teach" in listed and admin.ctx.full_name in listed
    assert "Oli Elsewhere" not in listed and "Ned Notenrolled" not in listed
    page = run(instructor.ctx, cm.list_members, channel_id=cid, page_size=2)
    assert page.moderator and page.total == len(listed) and len(page.rows) == 2
    rows = {r.name: r for r in run(instructor.ctx, cm.list_members, channel_id=cid).rows}
    assert rows["Pat Placed"].can_mute and not rows[admin.ctx.full_name].can_mute
    assert not rows["Ivy Teach"].can_mute and not rows["Pat Placed"].can_remove
    assert names(instructor.ctx, cid, query="pat") == ["Pat Placed"]


def test_muting_a_reader_of_an_interest_channel_does_not_make_them_a_member() -> None:
    admin = f.new_admin()
    ana = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ana Member")
    rex = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Rex Reader")
    cid = str(run(ana.ctx, chat_channels.do_create_interest_channel, name=f.unique("Poetry")).id)
    run(admin.ctx, chat_mutes.do_mute_member, channel_id=cid, user_id=rex.user_id, minutes=10)
    assert "Rex Reader" not in names(ana.ctx, cid)
    assert cid not in {r.id for r in run(rex.ctx, chat_list.list_channels)}
    run(rex.ctx, chat_channels.do_join_channel, channel_id=cid)  # joining later keeps the mute
    assert names(admin.ctx, cid, muted_only=True) == ["Rex Reader"]
    with pytest.raises(PermissionDenied, match="muted you"):
        run(rex.ctx, msgs.do_post_message, channel_id=cid, body="hello")
