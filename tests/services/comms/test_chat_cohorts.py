"""Cohort chat channels (`comms.chat_courses`): who sees a cohort's channel (the learners
placed in it and the org's course staff), that moving a learner out takes it away at once,
archived cohorts, the names and order in the list, live topics, mentions and search."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from app.models.chat import ChannelKind, ChatMessage
from app.models.enrollment import Cohort, Enrollment
from app.models.user import Role
from app.services.comms import chat_access, chat_channels, chat_courses, chat_history, chat_list
from app.services.core import topics
from app.services.core.errors import NotFound, PermissionDenied
from app.services.core.tenancy import OrgContext, scoped, tenant_session
from app.services.infra import broker
from tests import factories as f
from tests import learning_factories as lf
from tests.services.comms.test_chat import bodies, listed, post, run

pytestmark = pytest.mark.usefixtures("backend")


@dataclass(frozen=True)
class CohortWorld:
    """An org with a course and two cohorts.

    ann and ben are in cohort "Morning", cal in "Evening", dee is enrolled in no cohort, and
    out is not enrolled at all. The org has an instructor, a staff member and a manager.
    """

    admin: f.SignedIn
    instructor: f.SignedIn
    staff: f.SignedIn
    manager: f.SignedIn
    course: lf.CourseWorld
    people: dict[str, f.SignedIn]
    enrollments: dict[str, uuid.UUID]
    morning: uuid.UUID
    evening: uuid.UUID
    morning_name: str
    evening_name: str


def cohort_world() -> CohortWorld:
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    manager = f.invite_and_accept_member(admin.ctx, Role.manager)
    course = lf.published_course(instructor.ctx, title=f.unique("Welding"))
    people = {
        k: f.invite_and_accept_member(
            admin.ctx, Role.learner, full_name=f"{k.title()} {uuid.uuid4().hex[:6]}"
        )
        for k in ("ann", "ben", "cal", "dee", "out")
    }
    enrollments = {k: lf.enrollment(people[k].ctx, course) for k in ("ann", "ben", "cal", "dee")}
    morning_name, evening_name = f.unique("Morning"), f.unique("Evening")
    morning = lf.cohort(
        admin.ctx, course, morning_name, members=[enrollments["ann"], enrollments["ben"]]
    )
    evening = lf.cohort(admin.ctx, course, evening_name, members=[enrollments["cal"]])
    return CohortWorld(
        admin,
        instructor,
        staff,
        manager,
        course,
        people,
        enrollments,
        morning,
        evening,
        morning_name,
        evening_name,
    )


def channel_of(ctx: OrgContext, cohort_id: uuid.UUID) -> str:
    return str(run(ctx, chat_courses.cohort_channel, cohort_id=cohort_id).id)


def place(admin: OrgContext, enrollment_id: uuid.UUID, cohort_id: uuid.UUID | None) -> None:
    """Move an enrollment into a cohort (None: out of every cohort)."""
    with tenant_session(admin) as session:
        row = session.exec(scoped(admin, Enrollment).where(Enrollment.id == enrollment_id)).one()
        row.cohort_id = cohort_id
        session.add(row)
        session.commit()


def change_cohort(admin: OrgContext, cohort_id: uuid.UUID, **values: Any) -> None:
    with tenant_session(admin) as session:
        row = session.exec(scoped(admin, Cohort).where(Cohort.id == cohort_id)).one()
        for key, value in values.items():
            setattr(row, key, value)
        session.add(row)
        session.commit()


@pytest.fixture
def heard() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    broker.reset_broker()
    got: list[tuple[str, dict[str, Any]]] = []
    broker.get_broker().listen(lambda t, p: got.append((t, p)))
    yield got
    broker.reset_broker()


# --------------------------------------------------------------------------- who sees it


def test_the_cohort_channel_is_for_its_learners_and_the_course_staff() -> None:
    w = cohort_world()
    cid = channel_of(w.people["ann"].ctx, w.morning)
    assert channel_of(w.people["ben"].ctx, w.morning) == cid
    label = f"{w.morning_name} · {w.course.title}"
    for who in (w.people["ann"], w.people["ben"], w.instructor, w.staff, w.admin):
        row = listed(who.ctx)[cid]
        assert (row.kind, row.name) == (ChannelKind.cohort, label)
        assert channel_of(who.ctx, w.morning) == cid
    post(w.people["ann"].ctx, cid, "Morning crew: bring gloves")
    assert bodies(w.people["ben"].ctx, cid) == ["Morning crew: bring gloves"]
    assert bodies(w.instructor.ctx, cid) == ["Morning crew: bring gloves"]
    info = run(w.instructor.ctx, chat_list.channel_info, channel_id=cid)
    assert info.is_moderator and info.name == label and info.can_post
    assert not run(w.people["ann"].ctx, chat_list.channel_info, channel_id=cid).is_moderator

    # Another cohort of the same course, no cohort, not enrolled, a manager: nothing.
    for key in ("cal", "dee", "out"):
        stranger = w.people[key].ctx
        assert cid not in listed(stranger)
        with pytest.raises(NotFound):
            run(stranger, chat_courses.cohort_channel, cohort_id=w.morning)
        with pytest.raises(NotFound):
            bodies(stranger, cid)
        with pytest.raises(NotFound):
            post(stranger, cid, "let me in")
    with pytest.raises(NotFound):
        bodies(w.manager.ctx, cid)
    assert cid not in listed(w.manager.ctx)
    # cal has Evening's channel, and only that one.
    cal_cohorts = [r for r in listed(w.people["cal"].ctx).values() if r.kind == "cohort"]
    assert [r.name for r in cal_cohorts] == [f"{w.evening_name} · {w.course.title}"]
    assert not [r for r in listed(w.people["dee"].ctx).values() if r.kind == "cohort"]


def test_the_channel_is_one_per_cohort_with_the_cohort_key() -> None:
    w = cohort_world()
    cid = channel_of(w.instructor.ctx, w.morning)
    with tenant_session(w.admin.ctx) as session:
        channel = chat_access.access_channel(session, w.admin.ctx, cid).channel
    assert channel.unique_key == f"cohort:{w.admin.org_id}:{w.morning}"
    assert (channel.subject_type, channel.subject_id) == ("cohort", w.morning)
    assert channel_of(w.admin.ctx, w.morning) == cid
    assert channel_of(w.instructor.ctx, w.evening) != cid


def test_a_learner_moved_out_of_the_cohort_loses_it_at_once() -> None:
    w = cohort_world()
    ann = w.people["ann"].ctx
    morning = channel_of(ann, w.morning)
    post(ann, morning, "hello morning")
    place(w.admin.ctx, w.enrollments["ann"], w.evening)
    with pytest.raises(NotFound):
        post(ann, morning, "still here?")
    with pytest.raises(NotFound):
        bodies(ann, morning)
    assert morning not in listed(ann)
    evening = channel_of(ann, w.evening)
    assert evening in listed(ann)
    post(ann, evening, "hello evening")
    # out of every cohort: no cohort channel at all; the course channel stays
    place(w.admin.ctx, w.enrollments["ann"], None)
    with pytest.raises(NotFound):
        bodies(ann, evening)
    kinds = {r.kind for r in listed(ann).values()}
    assert "cohort" not in kinds and "course" in kinds
    assert bodies(w.people["ben"].ctx, morning) == ["hello morning"]  # history kept


def test_a_withdrawn_learner_is_out_of_the_cohort_channel() -> None:
    w = cohort_world()
    ben = w.people["ben"].ctx
    cid = channel_of(ben, w.morning)
    with tenant_session(w.admin.ctx) as session:
        row = session.exec(
            scoped(w.admin.ctx, Enrollment).where(Enrollment.id == w.enrollments["ben"])
        ).one()
        row.status = "withdrawn"
        session.add(row)
        session.commit()
    with pytest.raises(NotFound):
        post(ben, cid, "hi")
    assert cid not in listed(ben)


def test_an_archived_cohort_leaves_the_lists_keeps_its_history_and_takes_no_posts() -> None:
    w = cohort_world()
    ann = w.people["ann"].ctx
    cid = channel_of(ann, w.morning)
    post(ann, cid, "before the archive")
    change_cohort(w.admin.ctx, w.morning, is_archived=True)
    for who in (ann, w.instructor.ctx, w.admin.ctx):
        assert cid not in listed(who)
        assert bodies(who, cid) == ["before the archive"]
    with pytest.raises(PermissionDenied):
        post(ann, cid, "after")
    with pytest.raises(PermissionDenied):
        post(w.instructor.ctx, cid, "after")
    info = run(ann, chat_list.channel_info, channel_id=cid)
    assert info.archived and not info.can_post and "archived" in info.post_refusal
    watched = topics_of(ann)
    assert topics.CHANNEL.name(org=w.admin.org_id, channel=cid) not in watched
    change_cohort(w.admin.ctx, w.morning, is_archived=False)
    assert cid in listed(ann)
    post(ann, cid, "back again")


def test_a_renamed_cohort_is_shown_with_its_new_name() -> None:
    w = cohort_world()
    cid = channel_of(w.instructor.ctx, w.morning)
    new = f.unique("Dawn")
    change_cohort(w.admin.ctx, w.morning, name=new)
    label = f"{new} · {w.course.title}"
    assert run(w.people["ann"].ctx, chat_list.channel_info, channel_id=cid).name == label
    assert listed(w.people["ann"].ctx)[cid].name == label


def test_the_list_puts_cohorts_after_courses_and_before_interest_channels() -> None:
    w = cohort_world()
    run(w.instructor.ctx, chat_channels.do_create_interest_channel, name=f.unique("Aaa"))
    kinds = [r.kind for r in run(w.instructor.ctx, chat_list.list_channels)]
    assert kinds == ["org", "course", "cohort", "cohort", "interest"]
    names = [r.name for r in run(w.instructor.ctx, chat_list.list_channels) if r.kind == "cohort"]
    assert names == sorted(names, key=str.lower)


# --------------------------------------------------------------------------- live, mentions


def topics_of(ctx: OrgContext) -> set[str]:
    """What a chat tab of `ctx` follows."""
    return run(ctx, lambda s, c: chat_list.tab_topics(c, chat_list.list_channels(s, c)))


def test_channel_topics_follow_the_cohort_channel(heard: list[tuple[str, Any]]) -> None:
    w = cohort_world()
    cid = channel_of(w.people["ann"].ctx, w.morning)
    topic = topics.CHANNEL.name(org=w.admin.org_id, channel=cid)
    for who in (w.people["ann"], w.people["ben"], w.instructor):
        assert topic in topics_of(who.ctx)
    for key in ("cal", "dee", "out"):
        assert topic not in topics_of(w.people[key].ctx)
    heard.clear()
    post(w.people["ben"].ctx, cid, "live?")
    assert [t for t, p in heard if t == topic and p.get("kind") == "new"] == [topic]
    # ann moves out: her tab's next topic set no longer has it
    place(w.admin.ctx, w.enrollments["ann"], w.evening)
    assert topic not in topics_of(w.people["ann"].ctx)


def test_mentions_and_search_stay_inside_the_cohort() -> None:
    w = cohort_world()
    cid = channel_of(w.people["ann"].ctx, w.morning)
    ben, cal = w.people["ben"].ctx, w.people["cal"].ctx
    row = post(w.people["ann"].ctx, cid, f"@{ben.full_name} and @{cal.full_name} weld-talk")
    with tenant_session(w.admin.ctx) as session:
        message = session.exec(
            scoped(w.admin.ctx, ChatMessage).where(ChatMessage.id == uuid.UUID(row.id))
        ).one()
    assert message.mentions == [str(ben.user_id)]  # cal may not read the channel
    assert run(ben, chat_history.search_messages, query="weld-talk").total == 1
    assert run(cal, chat_history.search_messages, query="weld-talk").total == 0
    hits = run(w.instructor.ctx, chat_history.search_messages, query="weld-talk").rows
    assert [h.channel_name for h in hits] == [f"{w.morning_name} · {w.course.title}"]
