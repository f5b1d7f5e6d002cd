"""Mandatory-course rules of an org: validate, set (enrolling who they cover), list, delete."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col

from app.models.base import as_utc, utcnow
from app.models.course import Course, CourseStatus
from app.models.enrollment import MandatoryRule
from app.services.authoring import course_read
from app.services.core import audit
from app.services.core.authz import ROLE_LABELS, Permission, has
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, access, count_rows, scoped
from app.services.credentials.compliance_enrollment import APPLY_RULE, apply_rule, members_of
from app.services.credentials.compliance_scope import course_titles, require_lms
from app.services.infra import outbox

MIN_DAYS, MAX_DAYS = 1, 730
INLINE_LIMIT = 200  # members a rule enrolls at once; more go through the job


def check_role(role: str) -> str:
    """ "" (everyone) or an existing role."""
    role = (role or "").strip()
    if role and role not in ROLE_LABELS:
        raise ValidationFailed("Choose a role, or everyone.", field="role")
    return role


def check_days(days: int | str) -> int:
    """Days to complete: a whole number from 1 to 730."""
    try:
        value = int(str(days).strip())
    except ValueError:
        raise ValidationFailed("Give the number of days as a whole number.", field="days") from None
    if not MIN_DAYS <= value <= MAX_DAYS:
        raise ValidationFailed(
            f"Give between {MIN_DAYS} and {MAX_DAYS} days to complete.", field="days"
        )
    return value


def _mandatory_course(session: Session, ctx: OrgContext, course_id: uuid.UUID | str) -> Course:
    """A course the org's learners can take: visible to the org and published."""
    try:
        course = course_read.access_course(session, ctx, course_id)
    except NotFound:
        raise ValidationFailed("Choose a course.", field="course_id") from None
    if course.status != CourseStatus.published:
        raise ValidationFailed("Only a published course can be made mandatory.", field="course_id")
    return course


@dataclass(frozen=True)
class RuleRow:
    """A rule as the compliance page lists it."""

    id: str
    course_id: str
    course_title: str
    role: str
    role_label: str
    days_to_complete: int
    created: datetime


@dataclass(frozen=True)
class RuleResult:
    """A rule just set, and what applying it did: `enrolled` members now, or `queued` when a
    job will enroll them (large orgs)."""

    rule: MandatoryRule
    enrolled: int
    queued: bool


def do_set_rule(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    role: str,
    days_to_complete: int | str,
) -> RuleResult:
    """Make a course mandatory in the active org for `role` ("" = every member) within
    `days_to_complete` days, and enroll the members it covers (due that many days from now):
    inline for small orgs, through the `compliance.apply_rule` job for large ones
    (`compliance_enrollment`). Needs `compliance.manage` (staff and admins).

    Setting the same course and role again changes the days (for people enrolled from now
    on). Audited.
    """
    org_id = require_lms(session, ctx, Permission.compliance_manage)
    role = check_role(role)
    days = check_days(days_to_complete)
    course = _mandatory_course(session, ctx, course_id)
    rule = session.exec(
        scoped(ctx, MandatoryRule, org_ids=[org_id]).where(
            MandatoryRule.course_id == course.id, MandatoryRule.role == role
        )
    ).first()
    before = rule.days_to_complete if rule else None
    if rule is None:
        rule = MandatoryRule(
            org_id=org_id,
            course_id=course.id,
            role=role,
            days_to_complete=days,
            created_by=ctx.user_id,
        )
    else:
        rule.days_to_complete, rule.modified = days, utcnow()
    session.add(rule)
    session.flush()
    audit.record(
        session,
        action="compliance.rule_set",
        org_id=org_id,
        ctx=ctx,
        target=course.title,
        detail={
            "role": role or "everyone",
            "before": {"days": before} if before is not None else None,
            "after": {"days": days},
        },
    )
    covered = count_rows(session, members_of(session, org_id, role))
    enrolled = 0
    queued = covered > INLINE_LIMIT
    if queued:
        outbox.enqueue(
            session,
            kind=APPLY_RULE,
            payload={"rule_id": str(rule.id), "since": utcnow().isoformat()},
            org_id=org_id,
        )
    else:
        enrolled = apply_rule(session, rule, course, since=utcnow())
    session.commit()
    return RuleResult(rule=rule, enrolled=enrolled, queued=queued)


def do_delete_rule(session: Session, ctx: OrgContext, rule_id: uuid.UUID | str) -> None:
    """Remove a rule of the active org (audited). Enrollments it made stay, still mandatory
    and due: the people were told to take the course."""
    org_id = require_lms(session, ctx, Permission.compliance_manage)
    rule = access(session, ctx, MandatoryRule, rule_id, write=True)
    titles = course_titles(session, ctx, {rule.course_id})
    audit.record(
        session,
        action="compliance.rule_deleted",
        org_id=org_id,
        ctx=ctx,
        target=titles.get(rule.course_id, str(rule.course_id)),
        detail={"role": rule.role or "everyone", "days": rule.days_to_complete},
    )
    session.delete(rule)
    session.commit()


def list_rules(session: Session, ctx: OrgContext) -> list[RuleRow]:
    """The active org's rules, by course title."""
    org_id = require_lms(session, ctx, Permission.compliance_view)
    rules = session.exec(
        scoped(ctx, MandatoryRule, org_ids=[org_id]).order_by(col(MandatoryRule.created))
    ).all()
    titles = course_titles(session, ctx, {r.course_id for r in rules})
    out = [
        RuleRow(
            id=str(r.id),
            course_id=str(r.course_id),
            course_title=titles.get(r.course_id, "(course no longer available)"),
            role=r.role,
            role_label=ROLE_LABELS.get(r.role, "Everyone") if r.role else "Everyone",
            days_to_complete=r.days_to_complete,
            created=as_utc(r.created),
        )
        for r in rules
    ]
    return sorted(out, key=lambda r: (r.course_title.lower(), r.role_label))


def course_choices(session: Session, ctx: OrgContext) -> list[tuple[str, str]]:
    """(id, title) of the published courses the org's members can take (for the rule form)."""
    require_lms(session, ctx, Permission.compliance_manage)
    rows = session.exec(
        course_read.visible_courses(ctx).order_by(func.lower(Course.title)).limit(500)
    ).all()
    return [(str(c.id), c.title) for c in rows]


def can_manage(ctx: OrgContext) -> bool:
    """Whether the context may set and delete rules."""
    return has(ctx, Permission.compliance_manage)
