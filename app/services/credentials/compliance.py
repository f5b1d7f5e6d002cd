"""Mandatory training: rules that make a course mandatory for a role (or everyone) in an org,
the automatic enrollments they cause, and the compliance report.

* `set_rule` (staff and admins, `compliance.manage`) stores the rule and enrolls every
  active member it covers, due `days_to_complete` days from now: inline for small orgs,
  through the `compliance.apply_rule` job for large ones.
* People who join later (an accepted invite, a CSV import), change role or come back
  (reactivation) are enrolled when the `people.member_joined` event (`core.events`) that
  the people package enqueues in its own transaction is handled here; their due dates
  count from that moment.
* Enrolling goes through `enrollments.ensure_enrollment`, which is idempotent (an existing
  enrollment is marked mandatory and keeps the earlier due date; a completed one stays
  completed), so every job here may run twice.
* `compliance_report` lists mandatory enrollments with their status for `compliance.view`:
  admins, staff and auditors see their org scope, managers only their team.

Statuses, and who is compliant. Certificates of a course with `certificate_valid_days`
expire; `credentials.recertification` reopens the enrollment before that happens (see its
docstring). Revoked certificates are ignored here (as if never issued).

* `completed`: completed, and not every certificate of it has expired (compliant);
* `recertify`: reopened to recertify, still holding a valid certificate and not past its
  due date: "Recertification due by <date>" (compliant: the certificate is valid);
* `expired`: it has certificates and all have expired, whether it was reopened (the
  recertification is overdue: its due date is the expiry) or not (no rule covers the learner
  any more, or the scan has not run yet): "Certificate expired" (not compliant);
* `overdue`: not completed and past its due date (not compliant);
* `in_progress` / `not_started`: a first cycle, not yet due.
"""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import and_, exists, func, not_, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.db import widen_scope
from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.models.course import Course, CourseStatus
from app.models.enrollment import Enrollment, EnrollmentStatus, MandatoryRule
from app.models.org import Organization
from app.models.outbox import OutboxJob
from app.models.user import Membership, User
from app.services.authoring import course_read
from app.services.config import gates, orgs
from app.services.core import audit, events
from app.services.core.authz import ROLE_LABELS, Permission, has, require, sees_team_only
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.tenancy import (
    OrgContext,
    access,
    count_rows,
    mark_scoped,
    scoped,
    scoped_with_ancestors,
)
from app.services.infra import outbox
from app.services.learning import enrollments

APPLY_RULE = "compliance.apply_rule"
MIN_DAYS, MAX_DAYS = 1, 730
INLINE_LIMIT = 200  # members a rule enrolls at once; more go through the job
BATCH = 200
DUE_SOON_DAYS = 7
STATUSES = ("completed", "recertify", "in_progress", "not_started", "overdue", "expired")
COMPLIANT = frozenset({"completed", "recertify"})
STATUS_LABELS = {
    "completed": "Completed",
    "recertify": "Recertification due",
    "in_progress": "In progress",
    "not_started": "Not started",
    "overdue": "Overdue",
    "expired": "Certificate expired",
}


# --------------------------------------------------------------------------- checks


def _require_lms(session: Session, ctx: OrgContext, permission: Permission) -> uuid.UUID:
    require(ctx, permission)
    assert ctx.org_id is not None  # `require` refuses contexts without an active org
    gates.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


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


# --------------------------------------------------------------------------- rules


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


def _members_of(session: Session, org_id: uuid.UUID, role: str) -> SelectOfScalar[Membership]:
    stmt = mark_scoped(
        select(Membership).where(
            Membership.org_id == org_id,
            Membership.is_active == True,  # noqa: E712
        )
    )
    if role:
        stmt = stmt.where(Membership.role == role)
    return stmt


def set_rule(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    role: str,
    days_to_complete: int | str,
) -> RuleResult:
    """Make a course mandatory in the active org for `role` ("" = every member) within
    `days_to_complete` days, and enroll the members it covers (due that many days from now).

    Setting the same course and role again changes the days (for people enrolled from now
    on). Audited.
    """
    org_id = _require_lms(session, ctx, Permission.compliance_manage)
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
    covered = count_rows(session, _members_of(session, org_id, role))
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
        enrolled = _apply_rule(session, rule, course, since=utcnow())
    session.commit()
    return RuleResult(rule=rule, enrolled=enrolled, queued=queued)


def _apply_rule(session: Session, rule: MandatoryRule, course: Course, *, since: datetime) -> int:
    """Enroll every active member the rule covers, due `days_to_complete` after `since`
    (no commit; idempotent). Returns how many members hold the enrollment now."""
    due = since + timedelta(days=rule.days_to_complete)
    done = 0
    offset = 0
    while True:
        batch = session.exec(
            _members_of(session, rule.org_id, rule.role)
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


def delete_rule(session: Session, ctx: OrgContext, rule_id: uuid.UUID | str) -> None:
    """Remove a rule of the active org (audited). Enrollments it made stay, still mandatory
    and due: the people were told to take the course."""
    org_id = _require_lms(session, ctx, Permission.compliance_manage)
    rule = access(session, ctx, MandatoryRule, rule_id, write=True)
    titles = _titles(session, ctx, {rule.course_id})
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


def _titles(session: Session, ctx: OrgContext, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Titles of courses the context's rows point at (own, subtree or shared by ancestors)."""
    if not ids:
        return {}
    rows = session.exec(scoped_with_ancestors(ctx, Course).where(col(Course.id).in_(ids))).all()
    return {c.id: c.title for c in rows}


def list_rules(session: Session, ctx: OrgContext) -> list[RuleRow]:
    """The active org's rules, by course title."""
    org_id = _require_lms(session, ctx, Permission.compliance_view)
    rules = session.exec(
        scoped(ctx, MandatoryRule, org_ids=[org_id]).order_by(col(MandatoryRule.created))
    ).all()
    titles = _titles(session, ctx, {r.course_id for r in rules})
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
    _require_lms(session, ctx, Permission.compliance_manage)
    rows = session.exec(
        course_read.visible_courses(ctx).order_by(func.lower(Course.title)).limit(500)
    ).all()
    return [(str(c.id), c.title) for c in rows]


# --------------------------------------------------------------------------- joiners


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
        _apply_rule(session, rule, course, since=_since(job))


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class ComplianceRow:
    """One mandatory enrollment as the compliance view shows it."""

    enrollment_id: str
    learner_name: str
    email: str
    course_title: str
    due_at: datetime | None
    completed_at: datetime | None
    status: str  # one of STATUSES
    progress: int
    status_label: str = ""  # e.g. "Recertification due by 2026-03-01"
    certificate_expires_at: datetime | None = None  # the latest expiry of its certificates


@dataclass(frozen=True)
class ComplianceSummary:
    """Counts for the summary cards and the chart."""

    total: int
    completed: int
    in_progress: int
    not_started: int
    overdue: int
    due_soon: int  # not completed, due in the next 7 days (and not overdue yet)
    recertify: int = 0  # reopened to recertify, certificate still valid (compliant)
    expired: int = 0  # every certificate expired (not compliant)

    @property
    def compliant(self) -> int:
        """Completed with a valid (or no expiring) certificate, or recertifying on time."""
        return self.completed + self.recertify

    @property
    def compliant_percent(self) -> int:
        """Share of mandatory enrollments that are compliant."""
        return round(100 * self.compliant / self.total) if self.total else 100


@dataclass(frozen=True)
class ComplianceReport:
    """A page of rows, how many match the filter, and the summary of everything in view."""

    rows: list[ComplianceRow]
    total: int
    page: int
    page_size: int
    summary: ComplianceSummary
    team_only: bool


def _has_certificate(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """EXISTS an unrevoked certificate of the enrollment (meeting `conditions`)."""
    return exists().where(
        col(Certificate.enrollment_id) == col(Enrollment.id),
        col(Certificate.org_id) == col(Enrollment.org_id),
        col(Certificate.revoked_at).is_(None),
        *conditions,
    )


def _expired(now: datetime) -> ColumnElement[bool]:
    """The enrollment has certificates, and every one has expired."""
    valid = or_(col(Certificate.expires_at).is_(None), col(Certificate.expires_at) > now)
    return and_(_has_certificate(), not_(_has_certificate(valid)))


def _failing(now: datetime) -> ColumnElement[bool]:
    """Not compliant: every certificate expired, or not completed and past due."""
    late = and_(
        col(Enrollment.status) != EnrollmentStatus.completed,
        col(Enrollment.due_at).is_not(None),
        col(Enrollment.due_at) < now,
    )
    return or_(_expired(now), late)


def _status_filter(status: str, now: datetime) -> ColumnElement[bool] | None:
    done = col(Enrollment.status) == EnrollmentStatus.completed
    open_ = col(Enrollment.status) != EnrollmentStatus.completed
    late = and_(open_, col(Enrollment.due_at).is_not(None), col(Enrollment.due_at) < now)
    on_time = and_(open_, or_(col(Enrollment.due_at).is_(None), col(Enrollment.due_at) >= now))
    expired = _expired(now)
    first_cycle = and_(on_time, not_(_has_certificate()))
    if status == "completed":
        return and_(done, not_(expired))
    if status == "expired":
        return expired
    if status == "recertify":
        return and_(on_time, _has_certificate(), not_(expired))
    if status == "overdue":
        return and_(late, not_(expired))
    if status == "in_progress":
        return and_(first_cycle, col(Enrollment.progress_percent) > 0)
    if status == "not_started":
        return and_(first_cycle, col(Enrollment.progress_percent) <= 0)
    if status == "due_soon":
        return and_(
            on_time,
            not_(expired),
            col(Enrollment.due_at) < now + timedelta(days=DUE_SOON_DAYS),
        )
    return None


@dataclass(frozen=True)
class CertificateState:
    """An enrollment's unrevoked certificates, as far as compliance cares."""

    count: int = 0
    valid: bool = False  # at least one has not expired
    expires_at: datetime | None = None  # the latest expiry (None: one never expires)


def certificate_states(
    session: Session, enrollments: list[Enrollment], *, now: datetime | None = None
) -> dict[uuid.UUID, CertificateState]:
    """The certificate state of each enrollment (those without certificates are left out);
    the session must be scoped to the enrollments' orgs."""
    if not enrollments:
        return {}
    now = now or utcnow()
    rows = session.exec(
        mark_scoped(
            select(Certificate).where(
                col(Certificate.enrollment_id).in_([e.id for e in enrollments]),
                col(Certificate.org_id).in_({e.org_id for e in enrollments}),
                col(Certificate.revoked_at).is_(None),
            )
        )
    ).all()
    grouped: dict[uuid.UUID, list[Certificate]] = {}
    for cert in rows:
        grouped.setdefault(cert.enrollment_id, []).append(cert)
    out: dict[uuid.UUID, CertificateState] = {}
    for enrollment_id, certs in grouped.items():
        never = any(c.expires_at is None for c in certs)
        expiries = [as_utc(c.expires_at) for c in certs if c.expires_at is not None]
        out[enrollment_id] = CertificateState(
            count=len(certs),
            valid=never or any(x > now for x in expiries),
            expires_at=None if never else max(expiries),
        )
    return out


def classify(
    row: Enrollment, *, now: datetime | None = None, certificates: CertificateState | None = None
) -> str:
    """The enrollment's compliance status (one of `STATUSES`), given its certificates."""
    now = now or utcnow()
    certs = certificates or CertificateState()
    if certs.count and not certs.valid:
        return "expired"
    if row.status == EnrollmentStatus.completed:
        return "completed"
    if row.due_at is not None and as_utc(row.due_at) < now:
        return "overdue"
    if certs.count:
        return "recertify"
    return "in_progress" if row.progress_percent > 0 else "not_started"


def status_label(status: str, *, due_at: datetime | None) -> str:
    """The words for a row's status ("Recertification due by <date>" names the date)."""
    if status == "recertify" and due_at is not None:
        return f"Recertification due by {as_utc(due_at):%Y-%m-%d}"
    return STATUS_LABELS[status]


def _in_view(session: Session, ctx: OrgContext) -> tuple[SelectOfScalar[Enrollment], bool]:
    """Mandatory enrollments the viewer may see, and whether that is their team only."""
    stmt = scoped(ctx, Enrollment).where(
        Enrollment.mandatory == True,  # noqa: E712
        col(Enrollment.status).in_(
            [EnrollmentStatus.active, EnrollmentStatus.completed, EnrollmentStatus.withdrawn]
        ),
    )
    if sees_team_only(ctx):
        from app.services.people import members

        team = {uuid.UUID(m.user_id) for m in members.team_of(session, ctx, ctx.user_id)}
        return stmt.where(col(Enrollment.user_id).in_(team)), True
    return stmt, False


def compliance_report(
    session: Session,
    ctx: OrgContext,
    *,
    status: str = "",
    search: str = "",
    page: int = 1,
    page_size: int = 25,
) -> ComplianceReport:
    """Mandatory enrollments in the viewer's scope (managers: their team), with a summary:
    the non-compliant (overdue, certificate expired) first, then soonest due, the completed
    last. `status` narrows the rows (one of `STATUSES`, or due_soon), `search` matches the
    learner's name or email."""
    _require_lms(session, ctx, Permission.compliance_view)
    now = utcnow()
    base, team_only = _in_view(session, ctx)
    summary = ComplianceSummary(
        total=count_rows(session, base),
        **{
            key: count_rows(session, base.where(cond))
            for key in (*STATUSES, "due_soon")
            if (cond := _status_filter(key, now)) is not None
        },
    )
    stmt = base.join(User, col(User.id) == col(Enrollment.user_id))
    cond = _status_filter(status, now)
    if cond is not None:
        stmt = stmt.where(cond)
    term = search.strip().lower()[:100]
    if term:
        like = f"%{term}%"
        stmt = stmt.where(
            or_(func.lower(User.full_name).like(like), func.lower(User.email).like(like))
        )
    total = count_rows(session, stmt)
    page = max(page, 1)
    found = session.execute(
        stmt.add_columns(User)
        .order_by(
            not_(_failing(now)),
            and_(col(Enrollment.status) == EnrollmentStatus.completed, not_(_expired(now))),
            col(Enrollment.due_at).is_(None),
            col(Enrollment.due_at),
            func.lower(User.full_name),
            col(Enrollment.id),
        )
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    titles = _titles(session, ctx, {e.course_id for e, _u in found})
    certs = certificate_states(session, [e for e, _u in found], now=now)
    rows = [_report_row(e, u, titles, now, certs.get(e.id)) for e, u in found]
    return ComplianceReport(
        rows=rows,
        total=total,
        page=page,
        page_size=page_size,
        summary=summary,
        team_only=team_only,
    )


def _report_row(
    e: Enrollment,
    u: User,
    titles: dict[uuid.UUID, str],
    now: datetime,
    certs: CertificateState | None,
) -> ComplianceRow:
    status = classify(e, now=now, certificates=certs)
    return ComplianceRow(
        enrollment_id=str(e.id),
        learner_name=u.full_name,
        email=u.email,
        course_title=titles.get(e.course_id, ""),
        due_at=as_utc(e.due_at) if e.due_at else None,
        completed_at=as_utc(e.completed_at) if e.completed_at else None,
        status=status,
        progress=100 if e.status == EnrollmentStatus.completed else e.progress_percent,
        status_label=status_label(status, due_at=e.due_at),
        certificate_expires_at=certs.expires_at if certs is not None else None,
    )


MAX_EXPORT_ROWS = 50_000
EXPORT_COLUMNS = (
    "learner",
    "email",
    "course",
    "due",
    "status",
    "progress_percent",
    "completed",
    "certificate_expires",
)


@dataclass(frozen=True)
class ComplianceExport:
    """The report as CSV, how many rows it holds, and whether the limit cut it short."""

    csv: str
    rows: int
    truncated: bool


def compliance_csv(
    session: Session, ctx: OrgContext, *, status: str = "", search: str = ""
) -> ComplianceExport:
    """The compliance report (the viewer's scope and filter) as CSV; refused when the org
    turned report exports off. The export is audited."""
    org_id = _require_lms(session, ctx, Permission.compliance_view)
    gates.require_reporting(session, org_id, "exports")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    count, page, truncated = 0, 1, False
    while True:
        report = compliance_report(
            session, ctx, status=status, search=search, page=page, page_size=1000
        )
        for r in report.rows:
            if count >= MAX_EXPORT_ROWS:
                truncated = True
                break
            cells: tuple[Any, ...] = (
                r.learner_name,
                r.email,
                r.course_title,
                r.due_at.strftime("%Y-%m-%d") if r.due_at else "",
                r.status_label or STATUS_LABELS[r.status],
                str(r.progress),
                r.completed_at.strftime("%Y-%m-%d") if r.completed_at else "",
                r.certificate_expires_at.strftime("%Y-%m-%d") if r.certificate_expires_at else "",
            )
            writer.writerow([audit.csv_cell(str(c)) for c in cells])
            count += 1
        if truncated or len(report.rows) < 1000:
            break
        page += 1
    audit.record(
        session,
        action="compliance.exported",
        org_id=org_id,
        ctx=ctx,
        target="compliance.csv",
        detail={"status": status, "rows": count, "truncated": truncated},
    )
    session.commit()
    return ComplianceExport(csv=out.getvalue(), rows=count, truncated=truncated)


def can_manage(ctx: OrgContext) -> bool:
    """Whether the context may set and delete rules."""
    return has(ctx, Permission.compliance_manage)
