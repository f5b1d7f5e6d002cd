"""Announcements: who may send to whom, who receives them, once each, by bell and email."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlmodel import select

from app.db import Scope, open_session
from app.models.audit import AuditEvent
from app.models.base import utcnow
from app.models.mail import OutboundEmail
from app.models.notification import Notification
from app.models.outbox import OutboxJob
from app.models.user import Membership, Role
from app.services.comms import announcements
from app.services.core.errors import PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, mark_scoped, tenant_session
from app.services.infra import broker, outbox
from app.services.people import members
from tests import factories as f
from tests import learning_factories as lf
from tests import outbox_helpers as oh

pytestmark = pytest.mark.usefixtures("backend")


def send(ctx: OrgContext, **kw: Any) -> announcements.Sent:
    values: dict[str, Any] = {"title": "Fire drill", "body": "At noon, meet outside."} | kw
    with tenant_session(ctx) as session:
        return announcements.do_send_announcement(session, ctx, **values)


def received(announcement_id: str, org_id: uuid.UUID) -> list[uuid.UUID]:
    """Who got a notification for the announcement (read like the database would)."""
    with open_session(Scope(org_ids={org_id})) as session:
        rows = session.exec(
            mark_scoped(
                select(Notification).where(
                    Notification.org_id == org_id,
                    Notification.kind == "announcement",
                    Notification.dedupe_key.startswith(f"announcement:{announcement_id}:"),  # type: ignore[union-attr]
                )
            )
        ).all()
    return sorted((r.user_id for r in rows), key=str)


def ids(*people: f.SignedIn) -> list[uuid.UUID]:
    return sorted((p.user_id for p in people), key=str)


class Org:
    """An org with one member of several roles and a course with learners."""

    def __init__(self) -> None:
        self.admin = f.new_admin()
        self.staff = f.invite_and_accept_member(self.admin.ctx, Role.staff)
        self.instructor = f.invite_and_accept_member(self.admin.ctx, Role.instructor)
        self.manager = f.invite_and_accept_member(self.admin.ctx, Role.manager)
        self.learner = f.invite_and_accept_member(self.admin.ctx, Role.learner)
        self.learner2 = f.invite_and_accept_member(self.admin.ctx, Role.learner)
        self.pending = f.invite_and_accept_member(self.admin.ctx, Role.learner)
        self.course = lf.published_course(self.instructor.ctx)
        lf.enrollment(self.learner.ctx, self.course)
        lf.enrollment(self.learner2.ctx, self.course, status="completed")
        lf.enrollment(self.pending.ctx, self.course, status="pending")

    @property
    def everyone(self) -> list[f.SignedIn]:
        return [
            self.admin,
            self.staff,
            self.instructor,
            self.manager,
            self.learner,
            self.learner2,
            self.pending,
        ]


@pytest.fixture
def org() -> Org:
    return Org()


def test_staff_reach_the_whole_org_but_not_themselves(org: Org) -> None:
    sent = send(org.staff.ctx, audience="org")
    expected = ids(*[p for p in org.everyone if p is not org.staff])
    assert sent.recipients == len(expected) and not sent.queued
    assert received(sent.id, org.admin.org_id) == expected


def test_a_role_reaches_only_its_holders(org: Org) -> None:
    sent = send(org.admin.ctx, audience="role", role=Role.learner)
    assert received(sent.id, org.admin.org_id) == ids(org.learner, org.learner2, org.pending)


def test_a_course_reaches_its_enrolled_learners_only(org: Org) -> None:
    sent = send(org.instructor.ctx, audience="course", course_id=str(org.course.course_id))
    assert sent.recipients == 2  # active and completed; not the pending applicant
    assert received(sent.id, org.admin.org_id) == ids(org.learner, org.learner2)


def test_deactivated_members_are_left_out(org: Org) -> None:
    with tenant_session(org.admin.ctx) as session:
        membership = session.exec(
            mark_scoped(
                select(Membership).where(
                    Membership.org_id == org.admin.org_id,
                    Membership.user_id == org.learner2.user_id,
                )
            )
        ).one()
        members.do_set_active(session, org.admin.ctx, membership.id, False)
    sent = send(org.admin.ctx, audience="role", role=Role.learner)
    assert received(sent.id, org.admin.org_id) == ids(org.learner, org.pending)


def test_permission_matrix(org: Org) -> None:
    course = {"audience": "course", "course_id": str(org.course.course_id)}
    for who in (org.learner, org.manager):
        for audience in ({"audience": "org"}, {"audience": "role", "role": "learner"}, course):
            with pytest.raises(PermissionDenied):
                send(who.ctx, **audience)
    for audience in ({"audience": "org"}, {"audience": "role", "role": "learner"}):
        with pytest.raises(PermissionDenied):
            send(org.instructor.ctx, **audience)
    assert send(org.instructor.ctx, **course).recipients == 2
    assert send(org.staff.ctx, **course).recipients == 2  # staff author courses too
    assert send(org.staff.ctx, audience="role", role="manager").recipients == 1
    assert send(org.admin.ctx, audience="org").recipients == len(org.everyone) - 1


def test_an_instructor_cannot_announce_to_another_orgs_course(org: Org) -> None:
    elsewhere = f.new_admin()
    theirs = lf.published_course(elsewhere.ctx)
    with pytest.raises(ValidationFailed) as refused:
        send(org.instructor.ctx, audience="course", course_id=str(theirs.course_id))
    assert refused.value.field == "course_id"
    with pytest.raises(ValidationFailed):
        send(org.instructor.ctx, audience="course", course_id="not-a-uuid")


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"audience": "everyone"}, "audience"),
        ({"audience": "org", "title": "Hi"}, "title"),
        ({"audience": "org", "title": "x" * 201}, "title"),
        ({"audience": "org", "body": "   "}, "body"),
        ({"audience": "org", "body": "x" * 2001}, "body"),
        ({"audience": "role", "role": "emperor"}, "role"),
        ({"audience": "course"}, "course_id"),
    ],
)
def test_bad_input_is_refused_beside_its_field(
    org: Org, values: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        send(org.admin.ctx, **values)
    assert refused.value.field == field
    with tenant_session(org.admin.ctx) as session:
        assert announcements.list_sent(session, org.admin.ctx)[1] == 0


def test_an_empty_audience_is_refused(org: Org) -> None:
    with pytest.raises(ValidationFailed) as refused:
        send(org.admin.ctx, audience="role", role=Role.auditor)
    assert refused.value.field == "audience"


def test_sending_is_audited_and_emailed_by_default(org: Org) -> None:
    sent = send(org.instructor.ctx, audience="course", course_id=str(org.course.course_id))
    with open_session(Scope(org_ids={org.admin.org_id})) as session:
        (event,) = session.exec(
            mark_scoped(
                select(AuditEvent).where(
                    AuditEvent.org_id == org.admin.org_id, AuditEvent.action == "announcement.sent"
                )
            )
        ).all()
        assert event.actor_id == org.instructor.user_id
        assert event.detail["recipients"] == 2 and event.detail["audience"] == "course"
        emailed = session.exec(
            mark_scoped(
                select(OutboundEmail.to_email).where(
                    OutboundEmail.org_id == org.admin.org_id,
                    OutboundEmail.kind == "announcement",
                )
            )
        ).all()
    assert sorted(emailed) == sorted([org.learner.email, org.learner2.email])
    assert sent.recipients == 2


def test_the_live_push_carries_kind_and_title_to_each_recipient(
    org: Org, settings_env: Callable[..., None]
) -> None:
    settings_env(redis_url="")
    broker.reset_broker()
    got: list[tuple[str, dict[str, Any]]] = []
    broker.get_broker().listen(lambda topic, payload: got.append((topic, payload)))
    try:
        send(org.instructor.ctx, audience="course", course_id=str(org.course.course_id))
    finally:
        broker.reset_broker()
    pushes = {t: p for t, p in got if p.get("kind") == "announcement"}
    assert set(pushes) == {
        f"user:{org.learner.user_id}:inbox",
        f"user:{org.learner2.user_id}:inbox",
    }
    assert all(p["title"] == "Fire drill" for p in pushes.values())


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(announcements, "INLINE_MAX", 2)
    monkeypatch.setattr(announcements, "CHUNK", 3)
    yield


def _jobs(announcement_id: str, org_id: uuid.UUID) -> list[OutboxJob]:
    with open_session(Scope(org_ids={org_id})) as session:
        return list(
            session.exec(
                mark_scoped(
                    select(OutboxJob).where(
                        OutboxJob.org_id == org_id,
                        OutboxJob.kind == announcements.SEND_JOB,
                    )
                )
            ).all()
        )


@pytest.mark.usefixtures("small_batches")
def test_a_large_audience_goes_through_jobs_once_each_even_when_retried(org: Org) -> None:
    sent = send(org.admin.ctx, audience="org")
    assert sent.queued and sent.recipients == len(org.everyone) - 1
    assert received(sent.id, org.admin.org_id) == []  # not yet: the jobs deliver
    jobs = [j for j in _jobs(sent.id, org.admin.org_id) if j.payload["announcement_id"] == sent.id]
    assert len(jobs) == 2  # 6 people in chunks of 3
    outbox.run_due(worker="test")
    expected = ids(*[p for p in org.everyone if p is not org.admin])
    assert received(sent.id, org.admin.org_id) == expected
    # A job runs again (a worker died after the work): nobody gets it twice.
    for job in jobs:
        oh.update_job(job.id, status="pending", run_after=utcnow(), locked_by="")
    outbox.run_due(worker="test")
    assert [oh.status(j.id) for j in jobs] == ["done", "done"]
    assert received(sent.id, org.admin.org_id) == expected


def test_the_same_announcement_delivered_twice_notifies_once(org: Org) -> None:
    sent = send(org.admin.ctx, audience="role", role=Role.learner)
    with tenant_session(org.admin.ctx) as session:
        ann = announcements.get_sent(session, org.admin.ctx, sent.id)
        assert announcements._deliver(session, ann, [org.learner.user_id]) == 0
        session.commit()
    assert received(sent.id, org.admin.org_id) == ids(org.learner, org.learner2, org.pending)


def test_choices_and_history_follow_the_role(org: Org) -> None:
    send(org.admin.ctx, audience="org")
    mine = send(org.instructor.ctx, audience="course", course_id=str(org.course.course_id))
    with tenant_session(org.instructor.ctx) as session:
        options = announcements.audience_options(session, org.instructor.ctx)
        assert [a for a, _ in options.audiences] == ["course"]
        assert (str(org.course.course_id), org.course.title) in options.courses
        rows, total = announcements.list_sent(session, org.instructor.ctx)
        assert total == 1 and rows[0].id == mine.id
        assert rows[0].audience == f"Course: {org.course.title}"
    with tenant_session(org.admin.ctx) as session:
        options = announcements.audience_options(session, org.admin.ctx)
        assert [a for a, _ in options.audiences] == ["org", "role", "course"]
        rows, total = announcements.list_sent(session, org.admin.ctx)
        assert total == 2 and {r.audience for r in rows} == {"Everyone", rows[0].audience}
    with tenant_session(org.learner.ctx) as session:
        with pytest.raises(PermissionDenied):
            announcements.audience_options(session, org.learner.ctx)
        with pytest.raises(PermissionDenied):
            announcements.list_sent(session, org.learner.ctx)
