"""Certificates: issued once per completed enrollment by the outbox, a branded PDF stored and
mailed once, a public verification by serial, revocation by admins."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import update
from sqlmodel import col, select

from app.db import Scope, open_session
from app.models.base import utcnow
from app.models.certificate import Certificate
from app.models.course import Course
from app.models.enrollment import Enrollment
from app.models.mail import OutboundEmail
from app.models.notification import Notification
from app.models.outbox import OutboxJob
from app.models.user import Role
from app.services.comms import notifications
from app.services.config import cache, inheritance, logo, schema, writes
from app.services.core.errors import NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, mark_scoped, tenant_session
from app.services.credentials import (
    certificate_downloads,
    certificate_lists,
    certificate_pdf,
    certificate_revocation,
    certificate_verify,
    certificates,
)
from app.services.infra import outbox, storage
from tests import factories as f
from tests import learning_factories as lf
from tests.conftest import Backend

pytestmark = pytest.mark.usefixtures("backend")
SERIAL = re.compile(r"^GH-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$")


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, settings_env: Any) -> None:
    settings_env(storage_dir=str(tmp_path / "files"))


def drain(rounds: int = 10) -> None:
    """Run due outbox jobs until none are left (other tests' jobs may share the table)."""
    for _ in range(rounds):
        if outbox.run_due(worker="test-credentials") == 0:
            return


def complete(ctx: OrgContext, course: lf.CourseWorld) -> uuid.UUID:
    """An enrollment of the context's user in `course`, completed, with the job that
    completing it enqueues (as `progress` does)."""
    enrollment_id = lf.enrollment(ctx, course, status="completed")
    with tenant_session(ctx) as session:
        session.execute(
            update(Enrollment)
            .where(col(Enrollment.id) == enrollment_id)
            .values(completed_at=utcnow(), progress_percent=100)
        )
        outbox.enqueue(
            session,
            kind=certificates.ENROLLMENT_COMPLETED,
            payload={
                "enrollment_id": str(enrollment_id),
                "user_id": str(ctx.user_id),
                "course_id": str(course.course_id),
            },
            org_id=ctx.org_id,
            dedupe_key=f"enrollment.completed:{enrollment_id}",
        )
        session.commit()
    return enrollment_id


def certificate_of(enrollment_id: uuid.UUID, org_id: uuid.UUID) -> Certificate | None:
    """The certificate row of an enrollment, read in the learner's org."""
    with open_session(Scope(org_ids={org_id})) as session:
        return session.exec(
            mark_scoped(select(Certificate).where(Certificate.enrollment_id == enrollment_id))
        ).first()


def issued(ctx: OrgContext, course: lf.CourseWorld) -> Certificate:
    """A completed enrollment whose jobs have run: its certificate."""
    enrollment_id = complete(ctx, course)
    drain()
    assert ctx.org_id is not None
    cert = certificate_of(enrollment_id, ctx.org_id)
    assert cert is not None
    return cert


def mails_to(
    email: str, org_id: uuid.UUID, kind: str = "certificate.issued"
) -> list[OutboundEmail]:
    with open_session(Scope(org_ids={org_id})) as session:
        return list(
            session.exec(
                mark_scoped(
                    select(OutboundEmail).where(
                        OutboundEmail.to_email == email, OutboundEmail.kind == kind
                    )
                )
            ).all()
        )


def set_cert(cert: Certificate, **values: Any) -> None:
    cert_id = cert.id
    with open_session(Scope(org_ids={cert.org_id})) as session:
        session.execute(update(Certificate).where(col(Certificate.id) == cert_id).values(**values))
        session.commit()


def set_course(ctx: OrgContext, course_id: uuid.UUID, **values: Any) -> None:
    with tenant_session(ctx) as session:
        session.execute(update(Course).where(col(Course.id) == course_id).values(**values))
        session.commit()


def world() -> tuple[f.SignedIn, f.SignedIn, lf.CourseWorld]:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Ada Lovelace")
    return admin, learner, lf.published_course(admin.ctx, title=f.unique("Fire safety"))


# --------------------------------------------------------------------------- issuing


def test_completion_issues_one_certificate_and_one_email_even_when_jobs_run_twice() -> None:
    admin, learner, course = world()
    enrollment_id = complete(learner.ctx, course)
    drain()
    cert = certificate_of(enrollment_id, learner.org_id)
    assert cert is not None
    assert SERIAL.match(cert.serial)
    assert (cert.learner_name, cert.course_title) == ("Ada Lovelace", course.title)
    assert cert.issuer_name == admin.ctx.org_name
    assert cert.org_id == learner.org_id and cert.user_id == learner.user_id
    assert cert.expires_at is None
    assert cert.pdf_key == storage.private_key(learner.org_id, "certificates", f"{cert.serial}.pdf")
    data, content_type = storage.get_storage().get(cert.pdf_key)
    assert content_type == "application/pdf" and data.startswith(b"%PDF")
    (message,) = mails_to(learner.email, learner.org_id)
    assert f"/verify/{cert.serial}" in message.body_text

    # Both jobs run again (a worker died after the work): nothing new.
    with tenant_session(learner.ctx) as session:
        assert certificates.issue_for_enrollment(session, enrollment_id=enrollment_id) == cert
        certificates.deliver(session, certificate_id=cert.id)
        session.commit()
    with open_session(Scope(system=True)) as session:
        jobs = session.exec(
            mark_scoped(
                select(OutboxJob).where(
                    OutboxJob.kind == certificates.CERTIFICATE_ISSUED,
                    OutboxJob.org_id == learner.org_id,
                )
            )
        ).all()
        for job in jobs:
            job.status, job.run_after = "pending", utcnow()
            session.add(job)
        session.commit()
    drain()
    with tenant_session(learner.ctx) as session:
        rows = session.exec(
            mark_scoped(select(Certificate).where(Certificate.user_id == learner.user_id))
        ).all()
    assert [r.id for r in rows] == [cert.id]
    assert len(mails_to(learner.email, learner.org_id)) == 1
    with tenant_session(learner.ctx) as session:
        assert certificate_lists.list_mine(session, learner.ctx)[0].id == str(cert.id)


def test_the_learner_is_notified_in_app() -> None:
    _admin, learner, course = world()
    cert = issued(learner.ctx, course)
    with tenant_session(learner.ctx) as session:
        notes = session.exec(
            mark_scoped(select(Notification).where(Notification.user_id == learner.user_id))
        ).all()
    assert [n.title for n in notes if n.kind == "certificate.issued"] == [
        f"Certificate ready: {cert.course_title}"
    ]


def test_an_enrollment_that_is_not_completed_gets_no_certificate() -> None:
    _admin, learner, course = world()
    enrollment_id = lf.enrollment(learner.ctx, course)
    with tenant_session(learner.ctx) as session:
        assert certificates.issue_for_enrollment(session, enrollment_id=enrollment_id) is None
        assert certificates.issue_for_enrollment(session, enrollment_id="not-an-id") is None
    assert certificate_of(enrollment_id, learner.org_id) is None


def test_serials_are_unguessable_and_unique() -> None:
    serials = {certificate_verify.new_serial() for _ in range(2000)}
    assert len(serials) == 2000
    assert all(SERIAL.match(s) for s in serials)
    assert len({s[3:7] for s in serials}) > 500  # no shared prefix or counter


def test_expiry_follows_the_courses_validity() -> None:
    admin, learner, course = world()
    set_course(admin.ctx, course.course_id, certificate_valid_days=365)
    cert = issued(learner.ctx, course)
    assert cert.expires_at is not None
    delta = cert.expires_at - cert.issued_at
    assert delta == timedelta(days=365)


def test_branding_of_the_issuer_is_used(tmp_path: Path) -> None:
    admin, learner, course = world()
    png = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(png, format="PNG")
    with tenant_session(admin.ctx) as session:
        logo.set_logo(session, admin.ctx, org_id=admin.org_id, data=png.getvalue())
        config = inheritance.effective_config(session, admin.org_id)
        writes.set_overrides(
            session,
            admin.org_id,
            {
                "branding": {
                    "site_name": "Riverside Academy",
                    "primary_color": "crimson",
                    "logo_url": config.branding.logo_url,
                }
            },
        )
        session.commit()
    cache.invalidate()
    cert = issued(learner.ctx, course)
    assert cert.issuer_name == "Riverside Academy"
    data, _ = storage.get_storage().get(cert.pdf_key)
    assert b"Riverside Academy" in data
    assert b"/Subtype /Image" in data  # the logo
    assert b".913725 .239216 .509804 RG" in data  # crimson (#E93D82) draws the frame


def test_a_course_shared_by_the_parent_is_issued_by_the_parent() -> None:
    parent = f.new_admin()
    child = f.child_org(parent.ctx)
    parent = f.refresh(parent)
    course = lf.published_course(parent.ctx, shared=True)
    learner = f.invite_and_accept_member(parent.ctx, Role.learner, org_id=child.id)
    assert learner.org_id == child.id
    cert = issued(learner.ctx, course)
    assert cert.org_id == child.id
    assert cert.course_title == course.title
    assert cert.issuer_name == parent.ctx.org_name


# --------------------------------------------------------------------------- the PDF


def test_render_pdf_shows_what_a_certificate_shows() -> None:
    cert = Certificate(
        org_id=uuid.uuid4(),
        enrollment_id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        course_id=uuid.uuid4(),
        serial=certificate_verify.new_serial(),
        learner_name="Grace Hopper",
        course_title="Working at height",
        issuer_name="Harbour Training",
        expires_at=utcnow() + timedelta(days=30),
    )
    data = certificate_pdf.render_pdf(cert, schema.Branding(primary_color="teal"))
    assert data.startswith(b"%PDF")
    for text in ("Grace Hopper", "Working at height", "Harbour Training", cert.serial):
        assert text.encode() in data, text
    assert b"Certificate of completion" in data and b"Valid until" in data
    assert certificate_verify.verification_url(cert.serial).encode() in data
    assert b"REVOKED" not in data
    cert.revoked_at = utcnow()
    assert b"REVOKED" in certificate_pdf.render_pdf(cert, schema.Branding())
    # Names outside Latin-1 still render (an embedded Unicode font).
    cert.learner_name = "Zoë 李小龙"
    assert certificate_pdf.render_pdf(cert, schema.Branding()).startswith(b"%PDF")


def test_pdf_for_owner_and_admin_only() -> None:
    admin, learner, course = world()
    other = f.invite_and_accept_member(admin.ctx, Role.learner)
    cert = issued(learner.ctx, course)
    with tenant_session(learner.ctx) as session:
        pdf = certificate_downloads.pdf_for(session, learner.ctx, cert.id)
    assert pdf.data.startswith(b"%PDF") and pdf.filename.endswith(f"{cert.serial}.pdf")
    assert pdf.filename.startswith("certificate-fire-safety-")
    with tenant_session(admin.ctx) as session:
        assert certificate_downloads.pdf_for(session, admin.ctx, cert.id).data == pdf.data
    with tenant_session(other.ctx) as session, pytest.raises(NotFound):
        certificate_downloads.pdf_for(session, other.ctx, cert.id)
    with tenant_session(other.ctx) as session, pytest.raises(NotFound):
        certificate_downloads.pdf_for(session, other.ctx, "nonsense")


def test_pdf_is_rendered_when_the_job_has_not_stored_it_yet() -> None:
    _admin, learner, course = world()
    enrollment_id = complete(learner.ctx, course)
    with tenant_session(learner.ctx) as session:
        cert = certificates.issue_for_enrollment(session, enrollment_id=enrollment_id)
        session.commit()
    assert cert is not None and cert.pdf_key == ""
    with tenant_session(learner.ctx) as session:
        pdf = certificate_downloads.pdf_for(session, learner.ctx, cert.id)
    assert pdf.data.startswith(b"%PDF") and cert.serial.encode() in pdf.data


# --------------------------------------------------------------------------- verification


def test_verify_valid_revoked_expired_and_unknown() -> None:
    admin, learner, course = world()
    cert = issued(learner.ctx, course)
    found = certificate_verify.verify(cert.serial)
    assert found is not None and found.status == "valid"
    assert (found.learner_name, found.course_title, found.issuer_name) == (
        "Ada Lovelace",
        course.title,
        admin.ctx.org_name,
    )
    assert found.issued_on == cert.issued_at.date() and found.expires_on is None
    # Typed by hand: spaces and lower case are fine.
    lowered = certificate_verify.verify(f"  {cert.serial.lower()} ")
    assert lowered is not None and lowered.serial == cert.serial

    set_cert(cert, expires_at=utcnow() - timedelta(days=1))
    expired = certificate_verify.verify(cert.serial)
    assert expired is not None and expired.status == "expired"

    with tenant_session(admin.ctx) as session:
        certificate_revocation.do_revoke_certificate(
            session, admin.ctx, certificate_id=cert.id, reason="Issued in error"
        )
    revoked = certificate_verify.verify(cert.serial)
    assert revoked is not None and revoked.status == "revoked"
    assert revoked.revoked_on == utcnow().date()

    for unknown in ("GH-AAAA-AAAA-AAAA-AAAA", "", "x" * 500, "'; drop table--", "../etc"):
        assert certificate_verify.verify(unknown) is None


def test_verify_reveals_only_the_face_of_the_certificate() -> None:
    _admin, learner, course = world()
    cert = issued(learner.ctx, course)
    found = certificate_verify.verify(cert.serial)
    assert found is not None
    assert set(found.__dataclass_fields__) == {
        "status",
        "serial",
        "learner_name",
        "course_title",
        "issuer_name",
        "issued_on",
        "expires_on",
        "revoked_on",
    }
    text = repr(found)
    for secret in (learner.email, str(learner.user_id), str(learner.org_id), str(cert.id)):
        assert secret not in text


def test_the_serial_scope_reads_exactly_one_certificate(backend: Backend) -> None:
    """Row-level security (PostgreSQL's: SQLite has none, and there the service's own filter
    is the wall, tested by `verify` above) lets a serial-scoped session see that one row."""
    if backend.name != "postgres":
        pytest.skip("row-level security is PostgreSQL's")
    _admin, learner, course = world()
    mine = issued(learner.ctx, course)
    other = issued(learner.ctx, lf.published_course(_admin.ctx))
    with open_session(Scope(certificate_serial=mine.serial)) as session:
        rows = session.exec(mark_scoped(select(Certificate))).all()
    assert [r.serial for r in rows] == [mine.serial]
    assert certificate_verify.verify(other.serial) is not None


# --------------------------------------------------------------------------- lists, revoke


def test_list_org_search_status_and_paging() -> None:
    admin, learner, course = world()
    second = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Brian Kernighan")
    a = issued(learner.ctx, course)
    b = issued(second.ctx, course)
    with tenant_session(admin.ctx) as session:
        everyone = certificate_lists.list_org(session, admin.ctx)
        assert {r.id for r in everyone.rows} == {str(a.id), str(b.id)}
        assert everyone.total == 2
        found = certificate_lists.list_org(session, admin.ctx, search="kernighan")
        assert [r.id for r in found.rows] == [str(b.id)]
        by_serial = certificate_lists.list_org(session, admin.ctx, search=a.serial.lower())
        assert [r.id for r in by_serial.rows] == [str(a.id)]
        first = certificate_lists.list_org(session, admin.ctx, page_size=1)
        second_page = certificate_lists.list_org(session, admin.ctx, page=2, page_size=1)
        assert first.total == 2 and first.rows[0].id != second_page.rows[0].id
        certificate_revocation.do_revoke_certificate(
            session, admin.ctx, certificate_id=b.id, reason="Fraud"
        )
        revoked = certificate_lists.list_org(session, admin.ctx, status="revoked")
        assert [r.id for r in revoked.rows] == [str(b.id)]
        valid = certificate_lists.list_org(session, admin.ctx, status="valid")
        assert [r.id for r in valid.rows] == [str(a.id)]


def test_learners_and_staff_cannot_list_or_revoke() -> None:
    admin, learner, course = world()
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    cert = issued(learner.ctx, course)
    for who in (learner, staff):
        with tenant_session(who.ctx) as session:
            with pytest.raises(PermissionDenied):
                certificate_lists.list_org(session, who.ctx)
            with pytest.raises(PermissionDenied):
                certificate_revocation.do_revoke_certificate(
                    session, who.ctx, certificate_id=cert.id, reason="Nope"
                )
    assert certificate_verify.verify(cert.serial).status == "valid"  # type: ignore[union-attr]


def test_revoke_needs_a_reason_is_audited_and_keeps_the_first() -> None:
    from app.services.core import audit

    admin, learner, course = world()
    cert = issued(learner.ctx, course)
    with tenant_session(admin.ctx) as session:
        for reason in ("", "  ", "x" * 501):
            with pytest.raises(ValidationFailed) as err:
                certificate_revocation.do_revoke_certificate(
                    session, admin.ctx, certificate_id=cert.id, reason=reason
                )
            assert err.value.field == "reason"
        first = certificate_revocation.do_revoke_certificate(
            session, admin.ctx, certificate_id=cert.id, reason="Exam was retaken"
        )
        again = certificate_revocation.do_revoke_certificate(
            session, admin.ctx, certificate_id=cert.id, reason="Something else"
        )
        assert again.revoked_at == first.revoked_at
        assert again.revoked_reason == "Exam was retaken"
        events = audit.list_events(session, admin.ctx, action="certificate.revoked").rows
    assert [(e.target, e.detail["reason"]) for e in events] == [(cert.serial, "Exam was retaken")]
    with tenant_session(learner.ctx) as session:
        (row,) = certificate_lists.list_mine(session, learner.ctx)
    assert row.status == "revoked"


def test_lms_turned_off_refuses_the_learner() -> None:
    admin, learner, course = world()
    issued(learner.ctx, course)
    with tenant_session(admin.ctx) as session:
        writes.set_overrides(session, admin.org_id, {"features": {"lms": False}})
        session.commit()
    cache.invalidate()
    with tenant_session(learner.ctx) as session, pytest.raises(PermissionDenied):
        certificate_lists.list_mine(session, learner.ctx)


def test_completing_the_last_required_lesson_issues_the_certificate() -> None:
    """Through `progress` (the real emitter of `enrollment.completed`)."""
    from app.models.course import Lesson
    from app.services.learning import lesson_completion

    admin, learner, course = world()
    with tenant_session(admin.ctx) as session:
        session.execute(
            update(Lesson).where(col(Lesson.id) == course.quiz_lesson_id).values(required=False)
        )
        session.commit()
    enrollment_id = lf.enrollment(learner.ctx, course)
    for lesson_id in course.lesson_ids[:3]:
        with tenant_session(learner.ctx) as session:
            lesson_completion.do_complete_lesson(
                session, learner.ctx, course_id=course.course_id, lesson_id=lesson_id
            )
    drain()
    cert = certificate_of(enrollment_id, learner.org_id)
    assert cert is not None and cert.pdf_key
    assert certificate_verify.verify(cert.serial) is not None
    assert len(mails_to(learner.email, learner.org_id)) == 1


def test_a_learner_who_turned_certificate_emails_off_gets_the_notification_only() -> None:
    _admin, learner, course = world()
    with tenant_session(learner.ctx) as session:
        notifications.do_set_preferences(session, learner.ctx, email_kinds=["announcement"])
    cert = issued(learner.ctx, course)
    assert cert.pdf_key  # issued and rendered as usual
    assert mails_to(learner.email, learner.org_id) == []
    with tenant_session(learner.ctx) as session:
        kinds = [n.kind for n in notifications.list_for_user(session, learner.ctx).rows]
    assert certificates.CERTIFICATE_ISSUED in kinds
