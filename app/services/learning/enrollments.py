"""Enrolling in courses: self-enrollment and applying, withdrawing, the learner's own
enrollments, and the internal entry compliance uses to enroll people automatically.

Rules (issue 3, item 5):

* a free course enrolls at once (`active`); a course that `requires_approval` records a
  `pending` application that staff (`enrollments.manage`) approve or reject with a reason
  (`learning.enrollment_approvals`);
* a paid course (`price_cents > 0`) is refused and nothing is written until billing exists;
* the funding source must be one the learner's org offers (`funding.sources`);
* prerequisite courses must be completed first (prerequisites the learner cannot see at all,
  such as an unshared course of a parent org, are ignored: they could never be completed);
* one row per learner and course (`uq_enrollments_user_course`): a double click, a second tab
  or a replayed request returns the existing enrollment; a withdrawn or rejected row is
  reused when the learner enrolls or applies again.
* a learner may pick one of the course's open cohorts of their org as they enroll or apply
  (`learning.cohort_placement`; never required); an application holds its seat, and approval
  keeps it (or staff place the learner elsewhere as they approve).

The row belongs to the learner's org; `course_org_id` keeps the course's org (an ancestor
when the course is shared down). Becoming `active` enqueues `enrollment.created` in the same
transaction; its handler (`learning.enrollment_jobs`) sends the welcome email and tells the
instructor.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.models.base import as_utc, utcnow
from app.models.course import Course, CourseStatus
from app.models.enrollment import Enrollment, EnrollmentStatus
from app.services.authoring import course_read
from app.services.config import gates, inheritance
from app.services.core import topics
from app.services.core.authz import Permission, require
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, access, mark_scoped, scoped
from app.services.infra.broker import publish_after_commit
from app.services.learning import cohort_placement, progress_live
from app.services.learning.enrollment_jobs import enqueue_created

PAID_MESSAGE = "Paid courses open when billing is set up: this course cannot be enrolled in yet."
NOTE_MAX = 1000

# Statuses that count as "already enrolled" (a repeat request returns the row as it is).
HELD = frozenset({EnrollmentStatus.pending, EnrollmentStatus.active, EnrollmentStatus.completed})


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class EnrollmentView:
    """An enrollment as pages show it (never the table row)."""

    id: str
    course_id: str
    user_id: str
    org_id: str
    status: str
    funding_source: str
    source: str
    mandatory: bool
    due_at: datetime | None
    progress_percent: int
    application_note: str
    decision_reason: str
    completed_at: datetime | None
    created: datetime
    cohort_id: str = ""  # "" when in no cohort
    notice: str = ""  # what the caller should be told beyond the status (approve)


def view(row: Enrollment, *, notice: str = "") -> EnrollmentView:
    """The public view of an enrollment row."""
    return EnrollmentView(
        id=str(row.id),
        course_id=str(row.course_id),
        user_id=str(row.user_id),
        org_id=str(row.org_id),
        status=row.status,
        funding_source=row.funding_source,
        source=row.source,
        mandatory=row.mandatory,
        due_at=as_utc(row.due_at) if row.due_at else None,
        progress_percent=row.progress_percent,
        application_note=row.application_note,
        decision_reason=row.decision_reason,
        completed_at=as_utc(row.completed_at) if row.completed_at else None,
        created=as_utc(row.created),
        cohort_id=str(row.cohort_id) if row.cohort_id else "",
        notice=notice,
    )


@dataclass(frozen=True)
class Prerequisite:
    """A course that must be completed first, and whether the viewer has."""

    course_id: str
    title: str
    met: bool


# --------------------------------------------------------------------------- helpers


def active_org(ctx: OrgContext) -> uuid.UUID:
    """The caller's active org; `NotFound` without one."""
    if ctx.org_id is None:
        raise NotFound()
    return ctx.org_id


def _learner_checks(session: Session, ctx: OrgContext) -> uuid.UUID:
    require(ctx, Permission.learning_view)
    org_id = active_org(ctx)
    gates.require_feature(session, org_id, "lms")
    return org_id


def own_enrollment(session: Session, ctx: OrgContext, course_id: uuid.UUID) -> Enrollment | None:
    """The caller's own enrollment in a course (any status), in the active org."""
    org_id = active_org(ctx)
    return session.exec(
        scoped(ctx, Enrollment, org_ids=[org_id]).where(
            Enrollment.user_id == ctx.user_id, Enrollment.course_id == course_id
        )
    ).first()


def own_enrollments(
    session: Session, ctx: OrgContext, course_ids: list[uuid.UUID] | None = None
) -> list[Enrollment]:
    """The caller's enrollments in the active org (optionally only for some courses)."""
    org_id = active_org(ctx)
    stmt = scoped(ctx, Enrollment, org_ids=[org_id]).where(Enrollment.user_id == ctx.user_id)
    if course_ids is not None:
        stmt = stmt.where(col(Enrollment.course_id).in_(course_ids))
    return list(session.exec(stmt.order_by(col(Enrollment.created).desc())).all())


def prerequisites(session: Session, ctx: OrgContext, course: Course) -> list[Prerequisite]:
    """The course's prerequisites the viewer can see, and whether the viewer completed each."""
    ids: list[uuid.UUID] = []
    for raw in course.prerequisite_ids or []:
        try:
            ids.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    if not ids:
        return []
    found = {
        c.id: c
        for c in session.exec(
            course_read.visible_courses(ctx, include_archived=True).where(col(Course.id).in_(ids))
        ).all()
    }
    done = {
        e.course_id
        for e in own_enrollments(session, ctx, list(found))
        if e.status == EnrollmentStatus.completed
    }
    return [
        Prerequisite(course_id=str(cid), title=found[cid].title, met=cid in done)
        for cid in ids
        if cid in found
    ]


def require_prerequisites(session: Session, ctx: OrgContext, course: Course) -> None:
    """Refuse while a prerequisite course is not completed."""
    missing = [p.title for p in prerequisites(session, ctx, course) if not p.met]
    if missing:
        raise ValidationFailed(f"Complete these courses first: {', '.join(missing)}.")


def funding_choices(session: Session, org_id: uuid.UUID) -> list[tuple[str, str]]:
    """The org's funding sources as (slug, label), in the org's order."""
    funding = inheritance.effective_config(session, org_id).funding
    labels = funding.labels()
    return [(slug, labels.get(slug, slug)) for slug in funding.sources]


# --------------------------------------------------------------------------- learners


def do_enroll(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    funding_source: str,
    note: str = "",
    cohort_id: str = "",
) -> EnrollmentView:
    """Enroll the caller in a free course, or apply where the course requires approval.

    Idempotent: when the caller already holds a pending, active or completed enrollment in
    the course it is returned as it is (nothing written). Paid courses are refused with
    `PAID_MESSAGE`. `cohort_id` (optional, "" for none): one of the course's open cohorts in
    the caller's org (`cohort_views.open_cohorts`); an application takes its seat at once (see
    `enrollment_approvals.do_approve`). A cohort that is not open is refused on the `cohort_id`
    field and nothing is written. After commit, open class views of the course show the new
    row and the learner's chat list gains the course channel. Commits.
    """
    org_id = _learner_checks(session, ctx)
    course = course_read.access_course(session, ctx, course_id)
    existing = own_enrollment(session, ctx, course.id)
    if existing is not None and existing.status in HELD:
        return view(existing)
    if course.status != CourseStatus.published:
        raise ValidationFailed("This course is not open for enrollment.")
    if course.price_cents > 0:
        raise ValidationFailed(PAID_MESSAGE)
    funding_source = (funding_source or "").strip().lower()
    if funding_source not in dict(funding_choices(session, org_id)):
        raise ValidationFailed(
            "Choose one of your organization's funding sources.", field="funding_source"
        )
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationFailed(f"Keep the note under {NOTE_MAX} characters.", field="note")
    require_prerequisites(session, ctx, course)
    cohort_choice = (cohort_id or "").strip()

    status = EnrollmentStatus.pending if course.requires_approval else EnrollmentStatus.active
    source = "approval" if course.requires_approval else "self"
    row = existing or Enrollment(
        org_id=org_id, course_org_id=course.org_id, user_id=ctx.user_id, course_id=course.id
    )
    row.status, row.source, row.funding_source = status, source, funding_source
    row.application_note = note if course.requires_approval else ""
    row.decided_by, row.decided_at, row.decision_reason = None, None, ""
    row.modified = utcnow()
    row.cohort_id = None  # a new enrollment (or a re-enrollment) starts outside any cohort
    if cohort_choice:
        cohort_placement.place(
            session, ctx, enrollment=row, cohort_id=cohort_choice, require_open=True
        )
    session.add(row)
    course_key = course.id  # a rollback expires the rows loaded so far
    try:
        session.flush()
    except IntegrityError as exc:  # the other tab (or click) won: return its row
        session.rollback()
        again = own_enrollment(session, ctx, course_key)
        if again is None:
            raise Conflict(
                "You are already enrolled in this course through another organization."
            ) from exc
        return view(again)
    if status == EnrollmentStatus.active:
        enqueue_created(session, row)
    if row.cohort_id is not None:  # class views and the learner's chat list
        cohort_placement.publish_enrollment_moves(session, [row])
    else:
        tell_enrollment_changed(session, row)
    session.commit()
    return view(row)


def do_withdraw(
    session: Session, ctx: OrgContext, enrollment_id: uuid.UUID | str
) -> EnrollmentView:
    """Withdraw from one's own active enrollment or pending application (not mandatory
    training). Progress is kept in case the learner enrolls again. Commits."""
    _learner_checks(session, ctx)
    row = access(session, ctx, Enrollment, enrollment_id)
    if row.user_id != ctx.user_id:
        raise NotFound()
    if row.status not in (EnrollmentStatus.active, EnrollmentStatus.pending):
        raise Conflict("Only an active enrollment or a pending application can be withdrawn.")
    if row.mandatory:
        raise Conflict("Mandatory training cannot be withdrawn from.")
    row.status, row.modified = EnrollmentStatus.withdrawn, utcnow()
    session.add(row)
    tell_enrollment_changed(session, row)
    session.commit()
    return view(row)


# --------------------------------------------------------------------------- internal


def tell_enrollment_changed(session: Session, row: Enrollment) -> None:
    """After commit: open class views of the course reload their roster (they show active,
    pending and completed enrollments), and, unless it is only an application, the
    learner's open chat page its channel list (the course channel comes or goes)."""
    progress_live.publish_enrollment_change(session, row)
    if row.status == EnrollmentStatus.pending or row.status == EnrollmentStatus.rejected:
        return  # an application never had the course channel
    publish_after_commit(
        session, topics.CHAT_LIST.name(org=row.org_id, user=row.user_id), topics.ChatListChanged()
    )


def ensure_enrollment(
    session: Session,
    *,
    org_id: uuid.UUID,
    user_id: uuid.UUID,
    course: Course,
    source: str,
    mandatory: bool = False,
    due_at: datetime | None = None,
    funding_source: str = "",
) -> Enrollment | None:
    """Make sure `user_id` holds an active (or completed) enrollment in `course`, in org
    `org_id`; for compliance's automatic enrollment and staff enrollment.

    **Does not commit**: the caller's transaction owns the change (and the `enrollment.created`
    job it enqueues). No permission check: callers check theirs. Idempotent:

    * no row: creates an `active` one;
    * a pending, rejected or withdrawn row becomes `active` (with `source`);
    * an active row is upgraded: `mandatory` is set (never cleared) and the earlier of the two
      due dates kept;
    * a completed row stays completed (only the mandatory flag is set).

    Returns the row, or None when the user's one enrollment in this course belongs to another
    org (the unique key is per user and course); that row is left alone. On PostgreSQL the
    insert runs in a savepoint, so a concurrent insert never breaks the caller's transaction.
    """
    stmt = select(Enrollment).where(
        Enrollment.org_id == org_id,
        Enrollment.user_id == user_id,
        Enrollment.course_id == course.id,
    )
    scoped_stmt = mark_scoped(stmt)  # no context here: the org is named explicitly
    row = session.exec(scoped_stmt).first()
    if row is None:
        fresh = Enrollment(
            org_id=org_id,
            course_org_id=course.org_id,
            user_id=user_id,
            course_id=course.id,
            status=EnrollmentStatus.active,
            source=source,
            mandatory=mandatory,
            due_at=due_at,
            funding_source=funding_source,
        )
        if session.get_bind().dialect.name != "postgresql":
            # SQLite serializes writers, so the only clash is a row of another org; look for
            # it first (pysqlite's SAVEPOINT would commit the caller's transaction early).
            elsewhere = session.exec(
                mark_scoped(
                    select(Enrollment.id).where(
                        Enrollment.user_id == user_id, Enrollment.course_id == course.id
                    )
                )
            ).first()
            if elsewhere is not None:
                return None
            session.add(fresh)
            session.flush()
            enqueue_created(session, fresh)
            tell_enrollment_changed(session, fresh)
            return fresh
        try:
            with session.begin_nested():
                session.add(fresh)
        except IntegrityError:
            row = session.exec(scoped_stmt).first()
            if row is None:
                return None  # enrolled through another org (row-level security hides it)
        else:
            enqueue_created(session, fresh)
            tell_enrollment_changed(session, fresh)
            return fresh
    return _upgrade(
        session,
        row,
        source=source,
        mandatory=mandatory,
        due_at=due_at,
        funding_source=funding_source,
    )


def _upgrade(
    session: Session,
    row: Enrollment,
    *,
    source: str,
    mandatory: bool,
    due_at: datetime | None,
    funding_source: str,
) -> Enrollment:
    """`ensure_enrollment` for a row that exists: activate it, set `mandatory`, keep the
    earlier due date (a completed row only gets the mandatory flag). Flushes a change."""
    changed = False
    if mandatory and not row.mandatory:
        row.mandatory, changed = True, True
    if row.status == EnrollmentStatus.completed:
        pass  # never downgraded
    else:
        if row.status != EnrollmentStatus.active:
            if row.status in (EnrollmentStatus.withdrawn, EnrollmentStatus.rejected):
                row.cohort_id = None  # its seat was given up; staff place the learner again
            row.status, row.source, changed = EnrollmentStatus.active, source, True
            if funding_source and not row.funding_source:
                row.funding_source = funding_source
            enqueue_created(session, row)
            tell_enrollment_changed(session, row)
        if due_at is not None and (row.due_at is None or as_utc(row.due_at) > as_utc(due_at)):
            row.due_at, changed = due_at, True
    if changed:
        row.modified = utcnow()
        session.add(row)
        session.flush()
    return row
