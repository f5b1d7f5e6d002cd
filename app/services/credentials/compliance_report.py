"""The compliance report: each mandatory enrollment's status, the filters and the summary."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, not_, or_
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.models.enrollment import Enrollment, EnrollmentStatus
from app.models.user import User
from app.services.core.authz import Permission, sees_team_only
from app.services.core.tenancy import OrgContext, count_rows, mark_scoped, scoped
from app.services.credentials.compliance_scope import course_titles, require_lms

# `compliance_report` lists mandatory enrollments with their status for `compliance.view`:
# admins, staff and auditors see their org scope, managers only their team.
#
# Statuses, and who is compliant. Certificates of a course with `certificate_valid_days`
# expire; `credentials.recertification` reopens the enrollment before that happens (see its
# docstring). Revoked certificates are ignored here (as if never issued).
#
# * `completed`: completed, and not every certificate of it has expired (compliant);
# * `recertify`: reopened to recertify, still holding a valid certificate and not past its
#   due date: "Recertification due by <date>" (compliant: the certificate is valid);
# * `expired`: it has certificates and all have expired, whether it was reopened (the
#   recertification is overdue: its due date is the expiry) or not (no rule covers the
#   learner any more, or the scan has not run yet): "Certificate expired" (not compliant);
# * `overdue`: not completed and past its due date (not compliant);
# * `in_progress` / `not_started`: a first cycle, not yet due.

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
    require_lms(session, ctx, Permission.compliance_view)
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
    titles = course_titles(session, ctx, {e.course_id for e, _u in found})
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
