"""Automatic enrollment in mandatory courses: per rule, and for members who join or change."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import or_
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.db import widen_scope
from app.models.base import as_utc
from app.models.course import Course
from app.models.enrollment import MandatoryRule
from app.models.org import Organization
from app.models.outbox import OutboxJob
from app.models.user import Membership
from app.services.authoring import course_read
from app.services.config import orgs
from app.services.core import events
from app.services.core.tenancy import OrgContext, mark_scoped
from app.services.infra import outbox
from app.services.learning import enrollments

# People who join later (an accepted invite, a CSV import), change role or come back
# (reactivation) are enrolled when the `people.member_joined` event (`core.events`) that the
# people package enqueues in its own transaction is handled here; their due dates count from
# that moment. Enrolling goes through `enrollments.ensure_enrollment`, which is idempotent (an
# existing enrollment is marked mandatory and keeps the earlier due date; a completed one
# stays completed), so every job here may run twice.

APPLY_RULE = "compliance.apply_rule"
BATCH = 200


def members_of(session: Session, org_id: uuid.UUID, role: str) -> SelectOfScalar[Membership]:
    """The active memberships of `org_id` a rule for `role` ("" = everyone) covers."""
    stmt = mark_scoped(
        select(Membership).where(
            Membership.org_id == org_id,
            Membership.is_active == True,  # noqa: E712
        )
    )
    if role:
        stmt = stmt.where(Membership.role == role)
    return stmt


def apply_rule(session: Session, rule: MandatoryRule, course: Course, *, since: datetime) -> int:
    """Enroll every active member the rule covers, due `days_to_complete` after `since`
    (no commit; idempotent). Returns how many members hold the enrollment now."""
    due = since + timedelta(days=rule.days_to_complete)
    done = 0
    offset = 0
    while True:
        batch = session.exec(
            members_of(session, rule.org_id, rule.role)
            .order_by(col(Membership.id))
            .offset(offset)
            .limit(BATCH)
        ).all()
        for membership in batch:
            row = enrollments.ensure_enrollment(
                session,
                org_id=rule.org_id,
                user_id=membership.user_id,
                course=course,
                source="mandatory",
                mandatory=True,
                due_at=due,
            )
            done += row is not None
        if len(batch) < BATCH:
            return done
        offset += BATCH


def _job_ctx(session: Session, org_id: uuid.UUID, user_id: uuid.UUID) -> OrgContext:
    """A context for a job of `org_id` that may read the courses its ancestors share."""
    org = session.exec(mark_scoped(select(Organization).where(Organization.id == org_id))).first()
    parents = {o.id for o in orgs.ancestors(session, org)} if org else set()
    widen_scope(session, ancestor_ids=parents)
    return OrgContext(
        user_id=user_id,
        email="",
        full_name="",
        org_id=org_id,
        org_ids=frozenset({org_id}),
        ancestor_ids=frozenset(parents),
    )


def job_context(session: Session, org_id: uuid.UUID, user_id: uuid.UUID) -> OrgContext:
    """A context for a job of `org_id` acting for `user_id` that may read the courses the
    org's ancestors share (widens the session to those ancestors)."""
    return _job_ctx(session, org_id, user_id)


def _rule_course(session: Session, ctx: OrgContext, rule: MandatoryRule) -> Course | None:
    """The rule's course if learners of the org can still take it (published)."""
    course = session.exec(
        course_read.visible_courses(ctx).where(Course.id == rule.course_id)
    ).first()
    return course


def _since(job: OutboxJob) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(str(job.payload.get("since", ""))))
    except ValueError:
        return as_utc(job.created)


def apply_for_member(
    session: Session, *, org_id: uuid.UUID, user_id: uuid.UUID, since: datetime
) -> int:
    """Enroll an active member of `org_id` in every mandatory course for their current role
    (no commit; idempotent). Returns how many enrollments they hold through rules."""
    membership = session.exec(
        mark_scoped(
            select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
        )
    ).first()
    if membership is None or not membership.is_active:
        return 0
    rules = session.exec(
        mark_scoped(
            select(MandatoryRule).where(
                MandatoryRule.org_id == org_id,
                or_(col(MandatoryRule.role) == "", col(MandatoryRule.role) == membership.role),
            )
        )
    ).all()
    if not rules:
        return 0
    ctx = _job_ctx(session, org_id, user_id)
    done = 0
    for rule in rules:
        course = _rule_course(session, ctx, rule)
        if course is None:
            continue
        row = enrollments.ensure_enrollment(
            session,
            org_id=org_id,
            user_id=user_id,
            course=course,
            source="mandatory",
            mandatory=True,
            due_at=since + timedelta(days=rule.days_to_complete),
        )
        done += row is not None
    return done


@outbox.handler(events.MEMBER_JOINED)
@outbox.handler(events.MEMBER_JOINED_BEFORE)
def _on_member_joined(session: Session, job: OutboxJob) -> None:
    """Enroll someone who joined, changed role or came back in the mandatory courses for
    their role (the people package tells of it: `people.joined`)."""
    if job.org_id is None:
        return
    try:
        event = events.MemberJoined.model_validate(job.payload)
    except ValidationError:
        return  # malformed: nothing to do, and retrying would not mend it
    apply_for_member(session, org_id=job.org_id, user_id=event.user_id, since=as_utc(event.since))


@outbox.handler(APPLY_RULE)
def _on_apply_rule(session: Session, job: OutboxJob) -> None:
    if job.org_id is None:
        return
    try:
        rule_id = uuid.UUID(str(job.payload.get("rule_id", "")))
    except ValueError:
        return
    rule = session.exec(
        mark_scoped(
            select(MandatoryRule).where(
                MandatoryRule.id == rule_id, MandatoryRule.org_id == job.org_id
            )
        )
    ).first()
    if rule is None:
        return  # deleted since
    ctx = _job_ctx(session, job.org_id, rule.created_by)
    course = _rule_course(session, ctx, rule)
    if course is not None:
        apply_rule(session, rule, course, since=_since(job))
