"""Recertification: what happens when a certificate with an expiry date runs out.

A course may set `certificate_valid_days`; its certificates then carry `expires_at`. The
per-org reminder scan (`credentials.reminders.scan_org`, every few minutes, in that org's
scope only) calls `scan_org` here, which looks at every certificate of the org that

* is not revoked (a revoked certificate never opens a recertification),
* expires within `RECERT_WINDOW_DAYS` (30) days, or has expired already,
* is the newest certificate of its enrollment, whose enrollment is `completed`.

For each, once (see "Once per certificate" below):

* **Mandatory for the learner** (a `MandatoryRule` of the learner's org covers everyone or
  their current role, their membership is active and the course is still published to the
  org): the enrollment is **reopened** to recertify. It becomes `active`, mandatory and due
  on the certificate's expiry date; its progress starts again (lesson progress and quiz
  attempts of the previous cycle are deleted, so the quiz attempt limit starts fresh and
  every required lesson is done again); `completed_at` is cleared. The old certificate is
  not touched: it stays valid until it expires and remains the record (PDF, public
  verification page) of the previous completion. The learner gets `recertification.due`
  (emailed by default) and the change is audited as `recertification.opened`. Completing the
  reopened enrollment issues a new certificate the usual way (`lesson_completion` enqueues
  `enrollment.completed` with a key per completion cycle). A certificate that has already
  expired when first seen (the rule came later, the scan was down) reopens too, due on that
  past date, so the learner shows overdue at once: they are not certified.
* **Not mandatory**: nothing is reopened (the learner chose the course; they keep the record
  of it). While the certificate is still valid, they get one `certificate.expiring`
  notification ("Your certificate … expires on …"). Certificates that expired before the
  scan first saw them are not announced (nobody wants news of an old expiry).

Learners without an active membership in the org are skipped until they have one again.

Once per certificate. The notification is the marker: its dedupe key
(`recertification.due:{certificate id}` / `certificate.expiring:{certificate id}`) is written
in the same transaction as the reopening, so a scan that runs again (or twice at once: the
second fails on the unique key and its job retries) changes nothing for that certificate.
A course that becomes mandatory after the `certificate.expiring` notice still reopens, since
the two kinds have their own keys.

How the compliance view and "My learning" show it (`app.services.credentials.compliance_report`,
`app.services.learning.my_learning`): an active enrollment that holds an unrevoked, still valid
certificate is "Recertification due by <date>" (compliant: the certificate is valid); once
that certificate has expired without a new one it is "Certificate expired" (not compliant),
and so is a completed enrollment whose certificates have all expired.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.models.course import Course
from app.models.enrollment import (
    Enrollment,
    EnrollmentStatus,
    LessonProgress,
    MandatoryRule,
    QuizAttempt,
)
from app.models.notification import Notification
from app.models.user import Membership
from app.services.authoring import course_read
from app.services.comms import notifications
from app.services.core import audit, topics
from app.services.core.tenancy import mark_scoped
from app.services.credentials import compliance_enrollment
from app.services.infra import broker

RECERT_WINDOW_DAYS = 30
RECERTIFICATION_DUE = notifications.RECERTIFICATION_DUE
CERTIFICATE_EXPIRING = notifications.CERTIFICATE_EXPIRING
OPENED = "recertification.opened"  # the audit action


@dataclass(frozen=True)
class RecertResult:
    """What one scan of an org did."""

    reopened: int = 0  # mandatory: enrollments reopened to recertify
    expiring: int = 0  # not mandatory: "your certificate expires on …" notices


def due_key(certificate_id: uuid.UUID) -> str:
    """The dedupe key of the `recertification.due` notification of a certificate."""
    return f"{RECERTIFICATION_DUE}:{certificate_id}"


def expiring_key(certificate_id: uuid.UUID) -> str:
    """The dedupe key of the `certificate.expiring` notification of a certificate."""
    return f"{CERTIFICATE_EXPIRING}:{certificate_id}"


def _mandatory_roles(session: Session, org_id: uuid.UUID) -> dict[uuid.UUID, set[str]]:
    """Course id → the roles its rules cover in `org_id` ("" = everyone)."""
    rules = session.exec(
        mark_scoped(select(MandatoryRule).where(MandatoryRule.org_id == org_id))
    ).all()
    roles: dict[uuid.UUID, set[str]] = {}
    for rule in rules:
        roles.setdefault(rule.course_id, set()).add(rule.role)
    return roles


def _candidates(
    session: Session,
    *,
    org_id: uuid.UUID,
    now: datetime,
    mandatory_courses: set[uuid.UUID],
) -> list[tuple[Certificate, Enrollment]]:
    """Unrevoked certificates of `org_id` expiring within the window, each the newest of its
    completed enrollment; expired ones only for courses some rule makes mandatory."""
    newer = aliased(Certificate)
    horizon = now + timedelta(days=RECERT_WINDOW_DAYS)
    still_valid = col(Certificate.expires_at) > now
    wanted = (
        or_(still_valid, col(Certificate.course_id).in_(mandatory_courses))
        if mandatory_courses
        else still_valid
    )
    stmt = (
        select(Certificate, Enrollment)
        .join(Enrollment, col(Enrollment.id) == col(Certificate.enrollment_id))
        .where(
            Certificate.org_id == org_id,
            Enrollment.org_id == org_id,
            col(Certificate.revoked_at).is_(None),
            col(Certificate.expires_at).is_not(None),
            col(Certificate.expires_at) <= horizon,
            wanted,
            Enrollment.status == EnrollmentStatus.completed,
            ~exists().where(
                col(newer.enrollment_id) == col(Certificate.enrollment_id),
                col(newer.org_id) == org_id,
                col(newer.issued_at) > col(Certificate.issued_at),
            ),
        )
        .order_by(col(Certificate.expires_at), col(Certificate.id))
    )
    return [(c, e) for c, e in session.exec(mark_scoped(stmt)).all()]


def _seen_keys(session: Session, org_id: uuid.UUID, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    found = session.exec(
        mark_scoped(
            select(Notification.dedupe_key).where(
                Notification.org_id == org_id, col(Notification.dedupe_key).in_(keys)
            )
        )
    ).all()
    return {k for k in found if k}


def _published_courses(
    session: Session, org_id: uuid.UUID, user_id: uuid.UUID, course_ids: set[uuid.UUID]
) -> set[uuid.UUID]:
    """Which of `course_ids` the org's learners can still take (published to the org)."""
    if not course_ids:
        return set()
    ctx = compliance_enrollment.job_context(session, org_id, user_id)
    rows = session.exec(
        course_read.visible_courses(ctx).where(col(Course.id).in_(course_ids))
    ).all()
    return {c.id for c in rows}


def reopen(session: Session, enrollment: Enrollment, *, due_at: datetime) -> None:
    """Reopen a completed enrollment for a new cycle (no commit): active, mandatory, due
    `due_at`, progress from zero, the previous cycle's lesson progress and quiz attempts
    deleted. Its certificates are left as they are."""
    for model in (LessonProgress, QuizAttempt):
        session.execute(
            delete(model).where(
                col(model.enrollment_id) == enrollment.id,
                col(model.org_id) == enrollment.org_id,
            )
        )
    now = utcnow()
    enrollment.status = EnrollmentStatus.active
    enrollment.mandatory = True
    enrollment.due_at = due_at
    enrollment.progress_percent = 0
    enrollment.last_lesson_id = None
    enrollment.completed_at = None
    enrollment.modified = now
    session.add(enrollment)
    # Open class views show the learner back at 0 % without a reload.
    broker.publish_after_commit(
        session,
        topics.PROGRESS.name(org=enrollment.org_id, course=enrollment.course_id),
        topics.ProgressMoved(kind="recertification", user_ids=[str(enrollment.user_id)], percent=0),
    )


def scan_org(session: Session, *, org_id: uuid.UUID, now: datetime | None = None) -> RecertResult:
    """Open recertifications and send expiry notices for `org_id` (no commit; idempotent).

    The session's scope must include `org_id` (the reminder scan job's is exactly that org).
    See the module docstring for the rules.
    """
    now = now or utcnow()
    roles = _mandatory_roles(session, org_id)
    found = _candidates(session, org_id=org_id, now=now, mandatory_courses=set(roles))
    if not found:
        return RecertResult()
    seen = _seen_keys(
        session,
        org_id,
        [k for c, _e in found for k in (due_key(c.id), expiring_key(c.id))],
    )
    memberships = {
        m.user_id: m
        for m in session.exec(
            mark_scoped(
                select(Membership).where(
                    Membership.org_id == org_id,
                    col(Membership.user_id).in_({e.user_id for _c, e in found}),
                )
            )
        ).all()
    }
    ruled = {c.course_id for c, _e in found if c.course_id in roles}
    published = _published_courses(session, org_id, found[0][1].user_id, ruled)
    reopened = expiring = 0
    for cert, enrollment in found:
        member = memberships.get(enrollment.user_id)
        if member is None or not member.is_active:
            continue
        assert cert.expires_at is not None
        expires = as_utc(cert.expires_at)
        covering = roles.get(cert.course_id, set())
        mandatory = cert.course_id in published and ("" in covering or member.role in covering)
        if mandatory:
            if due_key(cert.id) not in seen and _reopen_due(
                session, org_id, cert, enrollment, expires=expires, now=now
            ):
                reopened += 1
        elif expires > now and expiring_key(cert.id) not in seen:
            _tell_expiring(session, org_id, cert, enrollment, expires=expires)
            expiring += 1
    if reopened or expiring:
        session.flush()
    return RecertResult(reopened=reopened, expiring=expiring)


def _reopen_due(
    session: Session,
    org_id: uuid.UUID,
    cert: Certificate,
    enrollment: Enrollment,
    *,
    expires: datetime,
    now: datetime,
) -> bool:
    """Tell the learner a mandatory certificate is expiring (or expired) and reopen the
    course for them, audited; False when a concurrent scan has just done it."""
    if expires > now:
        body = (
            f"Your certificate for {cert.course_title} expires on {expires:%Y-%m-%d}. "
            "This training is mandatory: complete the course again by then to stay "
            "certified."
        )
    else:
        body = (
            f"Your certificate for {cert.course_title} expired on {expires:%Y-%m-%d}. "
            "This training is mandatory: complete the course again as soon as you can."
        )
    told = notifications.notify(
        session,
        org_id=org_id,
        user_id=enrollment.user_id,
        kind=RECERTIFICATION_DUE,
        title=f"Recertify: {cert.course_title}",
        body=body,
        link=f"/courses/{cert.course_id}",
        dedupe_key=due_key(cert.id),
    )
    if told is None:
        return False  # a concurrent scan has just done it: leave its reopening alone
    reopen(session, enrollment, due_at=expires)
    audit.record(
        session,
        action=OPENED,
        org_id=org_id,
        target=cert.course_title,
        detail={
            "learner": cert.learner_name,
            "serial": cert.serial,
            "due": expires.isoformat(),
        },
    )
    return True


def _tell_expiring(
    session: Session,
    org_id: uuid.UUID,
    cert: Certificate,
    enrollment: Enrollment,
    *,
    expires: datetime,
) -> None:
    """The heads-up for a certificate no rule makes mandatory: it expires on a date."""
    notifications.notify(
        session,
        org_id=org_id,
        user_id=enrollment.user_id,
        kind=CERTIFICATE_EXPIRING,
        title=f"Certificate expiring: {cert.course_title}",
        body=(
            f"Your certificate for {cert.course_title} ({cert.serial}) expires on "
            f"{expires:%Y-%m-%d}."
        ),
        link="/certificates",
        dedupe_key=expiring_key(cert.id),
    )
