"""Issuing certificates of completion: the jobs that write a completed enrollment's
certificate and deliver its PDF and email.

Flow: `lesson_completion` completes an enrollment and enqueues `enrollment.completed`; its handler
here (`issue_for_enrollment`) writes the certificate row once per enrollment, with what it
shows copied in (learner, course, issuer), and enqueues `certificate.issued`, whose handler
renders and stores the PDF and mails the learner once.

The rest of certificates: serials and the public check in `certificate_verify`, the PDF in
`certificate_pdf`, and what signed-in people do in `certificate_lists`,
`certificate_revocation` and `certificate_downloads`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, col, select

from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.models.course import Course
from app.models.enrollment import Enrollment, EnrollmentStatus
from app.models.org import Organization
from app.models.outbox import OutboxJob
from app.models.user import User
from app.services.comms import notifications
from app.services.config import gates, orgs
from app.services.config.schema import Branding
from app.services.core.errors import NotFound
from app.services.core.tenancy import OrgContext, mark_scoped, scoped_with_ancestors
from app.services.credentials.certificate_pdf import logo_bytes, render_pdf
from app.services.credentials.certificate_verify import new_serial, verification_url
from app.services.infra import outbox, storage
from app.settings import get_settings

ENROLLMENT_COMPLETED = "enrollment.completed"
CERTIFICATE_ISSUED = "certificate.issued"


# --------------------------------------------------------------------------- issuing (jobs)


def _job_context(session: Session, org_id: uuid.UUID, user_id: uuid.UUID) -> OrgContext:
    """A context for a job of `org_id` that may also read what its ancestors share (a
    course of a parent org); widens the job's session to those ancestors."""
    org = session.exec(mark_scoped(select(Organization).where(Organization.id == org_id))).first()
    if org is None:
        raise NotFound()
    parents = {o.id for o in orgs.ancestors(session, org)}
    return OrgContext(
        user_id=user_id,
        email="",
        full_name="",
        org_id=org_id,
        org_name=org.name,
        org_ids=frozenset({org_id}),
        ancestor_ids=frozenset(parents),
    )


def _issuer_name(session: Session, org_id: uuid.UUID) -> str:
    """The name a certificate of `org_id` is issued under: its site name, else its name."""
    name = gates.branding(session, org_id).site_name
    if name:
        return name
    org = session.exec(mark_scoped(select(Organization).where(Organization.id == org_id))).first()
    return org.name if org else "Guildhall"


def issue_for_enrollment(session: Session, *, enrollment_id: uuid.UUID | str) -> Certificate | None:
    """Issue the certificate of a completed enrollment's current completion, once (no commit).

    The session must be scoped to the enrollment's org (the job's). The certificate is dated
    at the completion (`issued_at` = `completed_at`): a second call for the same completion
    returns the existing certificate and enqueues nothing (the unique key on enrollment and
    `issued_at` refuses a concurrent twin), while a later completion (a recertification
    reopened the enrollment) gets a new one. An enrollment that is missing or not completed
    gets none (None). Enqueues `certificate.issued`.
    """
    try:
        key = enrollment_id if isinstance(enrollment_id, uuid.UUID) else uuid.UUID(enrollment_id)
    except ValueError:
        return None
    enrollment = session.exec(mark_scoped(select(Enrollment).where(Enrollment.id == key))).first()
    if enrollment is None or enrollment.status != EnrollmentStatus.completed:
        return None
    issued = as_utc(enrollment.completed_at) if enrollment.completed_at else utcnow()
    existing = session.exec(
        mark_scoped(
            select(Certificate)
            .where(Certificate.enrollment_id == key, col(Certificate.issued_at) >= issued)
            .order_by(col(Certificate.issued_at).desc())
        )
    ).first()
    if existing is not None:
        return existing
    ctx = _job_context(session, enrollment.org_id, enrollment.user_id)
    course = session.exec(
        scoped_with_ancestors(ctx, Course).where(Course.id == enrollment.course_id)
    ).first()
    if course is None:
        return None
    user = session.get(User, enrollment.user_id)
    cert = Certificate(
        org_id=enrollment.org_id,
        enrollment_id=enrollment.id,
        user_id=enrollment.user_id,
        course_id=course.id,
        serial=new_serial(),
        learner_name=(user.full_name if user else "")[:120],
        course_title=course.title[:200],
        issuer_name=_issuer_name(session, course.org_id)[:200],
        issued_at=issued,
        expires_at=(
            issued + timedelta(days=course.certificate_valid_days)
            if course.certificate_valid_days
            else None
        ),
    )
    session.add(cert)
    session.flush()  # a concurrent run fails here on the unique completion (and retries)
    outbox.enqueue(
        session,
        kind=CERTIFICATE_ISSUED,
        payload={"certificate_id": str(cert.id)},
        org_id=cert.org_id,
        dedupe_key=f"{CERTIFICATE_ISSUED}:{cert.id}",
    )
    return cert


@outbox.handler(ENROLLMENT_COMPLETED)
def _on_enrollment_completed(session: Session, job: OutboxJob) -> None:
    issue_for_enrollment(session, enrollment_id=str(job.payload.get("enrollment_id", "")))


# --------------------------------------------------------------------------- delivering (jobs)


def pdf_key(cert: Certificate) -> str:
    """Where a certificate's PDF is stored (private to the learner's org)."""
    return storage.private_key(cert.org_id, "certificates", f"{cert.serial}.pdf")


def issuer_org_id(session: Session, cert: Certificate) -> uuid.UUID:
    """The org that issued the certificate (its course's org), else the learner's org."""
    enrollment = session.exec(
        mark_scoped(select(Enrollment).where(Enrollment.id == cert.enrollment_id))
    ).first()
    return enrollment.course_org_id if enrollment else cert.org_id


def _branding_for(session: Session, cert: Certificate) -> Branding:
    """The issuing (course) org's branding; the learner's org's if that is not readable."""
    ctx = _job_context(session, cert.org_id, cert.user_id)
    issuer = issuer_org_id(session, cert)
    if issuer in ctx.org_ids or issuer in ctx.ancestor_ids:
        return gates.branding(session, issuer)
    return gates.branding(session, cert.org_id)


def deliver(session: Session, *, certificate_id: uuid.UUID | str) -> Certificate | None:
    """Render and store the certificate's PDF and mail the learner its link (no commit).

    Runs once per certificate in effect: when the PDF is already stored (a job that ran
    before), nothing happens, so the learner gets one email.
    """
    try:
        key = certificate_id if isinstance(certificate_id, uuid.UUID) else uuid.UUID(certificate_id)
    except ValueError:
        return None
    cert = session.exec(mark_scoped(select(Certificate).where(Certificate.id == key))).first()
    if cert is None or cert.pdf_key:
        return cert
    branding = _branding_for(session, cert)
    data = render_pdf(cert, branding, logo=logo_bytes(branding))
    stored = pdf_key(cert)
    storage.get_storage().put(stored, data, "application/pdf")
    cert.pdf_key = stored
    session.add(cert)
    link = verification_url(cert.serial)
    # One notification; its email goes out when the learner's preferences want it (they do
    # by default), so nobody gets the news twice and the choice is honoured.
    notifications.notify(
        session,
        org_id=cert.org_id,
        user_id=cert.user_id,
        kind=CERTIFICATE_ISSUED,
        title=f"Certificate ready: {cert.course_title}",
        body=f"Serial {cert.serial}",
        link="/certificates",
        dedupe_key=f"{CERTIFICATE_ISSUED}:{cert.id}",
        email_subject=f"Your certificate: {cert.course_title}",
        email_body=(
            f"Hello {cert.learner_name},\n\n"
            f"Congratulations on completing {cert.course_title}. Your certificate "
            f"({cert.serial}) is ready: download it from your certificates page at "
            f"{get_settings().base_url.rstrip('/')}/certificates.\n\n"
            f"Anyone can check that it is genuine at {link}\n"
        ),
    )
    return cert


@outbox.handler(CERTIFICATE_ISSUED)
def _on_certificate_issued(session: Session, job: OutboxJob) -> None:
    deliver(session, certificate_id=str(job.payload.get("certificate_id", "")))
