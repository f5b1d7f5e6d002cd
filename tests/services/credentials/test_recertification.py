"""Recertification: a certificate of a mandatory course that is about to expire reopens the
enrollment (progress and quiz attempts start again, due on the expiry, the learner is told
once); other courses only get an expiry notice; revoked certificates do nothing; each org is
scanned in its own scope; an overdue recertification is overdue in "My learning" and not
compliant. Time moves by rewriting `expires_at`, never by sleeping."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from app.db import Scope, open_session
from app.models.audit import AuditEvent
from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.models.enrollment import Enrollment
from app.models.user import Membership, Role
from app.services.comms import notifications
from app.services.core import topics
from app.services.core.tenancy import OrgContext, access, mark_scoped, tenant_session
from app.services.credentials import (
    certificate_revocation,
    certificate_verify,
    compliance_export,
    compliance_report,
    compliance_rules,
    recertification,
)
from app.services.infra import broker
from app.services.learning import lesson_completion, my_learning, quizzes
from tests import factories as f
from tests import learning_factories as lf
from tests.conftest import Backend
from tests.services.credentials.test_certificates import drain, mails_to, set_cert, set_course

pytestmark = pytest.mark.usefixtures("backend")
VALID_DAYS = 365


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, settings_env: Any) -> None:
    settings_env(storage_dir=str(tmp_path / "files"))


# --------------------------------------------------------------------------- helpers


def right_answers(world: lf.CourseWorld) -> dict[str, Any]:
    return {str(world.question_ids[0]): [1], str(world.question_ids[1]): "blue"}


def wrong_answers(world: lf.CourseWorld) -> dict[str, Any]:
    return {str(world.question_ids[0]): [0], str(world.question_ids[1]): "green"}


def submit(ctx: OrgContext, world: lf.CourseWorld, answers: dict[str, Any]) -> Any:
    with tenant_session(ctx) as session:
        return quizzes.do_submit_attempt(
            session, ctx, course_id=world.course_id, lesson_id=world.quiz_lesson_id, answers=answers
        )


def take_course(ctx: OrgContext, world: lf.CourseWorld) -> None:
    """Go through the whole course as the learner: every lesson, the quiz failed once and
    then passed (both attempts of the limit used)."""
    for lesson_id in world.lesson_ids[:3]:
        with tenant_session(ctx) as session:
            lesson_completion.do_complete_lesson(
                session, ctx, course_id=world.course_id, lesson_id=lesson_id
            )
    assert not submit(ctx, world, wrong_answers(world)).passed
    assert submit(ctx, world, right_answers(world)).enrollment_completed


def certified(
    *, rule_role: str | None = Role.learner
) -> tuple[f.SignedIn, f.SignedIn, lf.CourseWorld, uuid.UUID, Certificate]:
    """A learner who completed a course whose certificates are valid for a year, and got
    one; with `rule_role`, the course is mandatory for that role ("" = everyone)."""
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Rita Recert")
    world = lf.published_course(admin.ctx, title=f.unique("Forklift licence"))
    set_course(admin.ctx, world.course_id, certificate_valid_days=VALID_DAYS)
    enrollment_id = lf.enrollment(learner.ctx, world)
    take_course(learner.ctx, world)
    drain()
    if rule_role is not None:
        with tenant_session(admin.ctx) as session:
            compliance_rules.do_set_rule(
                session, admin.ctx, course_id=world.course_id, role=rule_role, days_to_complete=30
            )
    cert = certs_of(enrollment_id, learner.org_id)[0]
    return admin, learner, world, enrollment_id, cert


def certs_of(enrollment_id: uuid.UUID, org_id: uuid.UUID) -> list[Certificate]:
    with open_session(Scope(org_ids={org_id})) as session:
        return list(
            session.exec(
                mark_scoped(
                    select(Certificate)
                    .where(Certificate.enrollment_id == enrollment_id)
                    .order_by(col(Certificate.issued_at))
                )
            ).all()
        )


def scan(org_id: uuid.UUID, now: datetime | None = None) -> recertification.RecertResult:
    with open_session(Scope(org_ids={org_id})) as session:
        result = recertification.scan_org(session, org_id=org_id, now=now)
        session.commit()
    return result


def expire_in(cert: Certificate, days: float) -> datetime:
    """Move time: the certificate now expires `days` from now (negative: in the past)."""
    when = utcnow() + timedelta(days=days)
    set_cert(cert, expires_at=when, issued_at=when - timedelta(days=VALID_DAYS))
    return when


def enrollment_of(ctx: OrgContext, enrollment_id: uuid.UUID) -> Enrollment:
    with tenant_session(ctx) as session:
        return access(session, ctx, Enrollment, enrollment_id)


def titles(who: f.SignedIn, kind: str) -> list[str]:
    with tenant_session(who.ctx) as session:
        return [r.title for r in notifications.list_for_user(session, who.ctx, kind=kind).rows]


def rows_of(peek: Any, backend: Backend, table: str, enrollment_id: uuid.UUID) -> int:
    """Rows of `table` for the enrollment, counted past every wall."""
    key = str(enrollment_id) if backend.is_postgres else enrollment_id.hex
    return int(peek(f"SELECT count(*) FROM {table} WHERE enrollment_id = :e", e=key)[0][0])


def card(ctx: OrgContext, course_id: uuid.UUID) -> my_learning.LearningCard:
    with tenant_session(ctx) as session:
        cards = my_learning.my_learning(session, ctx)
    (found,) = [c for c in cards if c.course_id == str(course_id)]
    return found


def report_row(admin: f.SignedIn, learner: f.SignedIn) -> compliance_report.ComplianceRow:
    with tenant_session(admin.ctx) as session:
        report = compliance_report.compliance_report(session, admin.ctx)
    (row,) = [r for r in report.rows if r.email == learner.email]
    return row


def close_to(when: datetime | None, expected: datetime) -> bool:
    return when is not None and abs((as_utc(when) - expected).total_seconds()) < 2


# --------------------------------------------------------------------------- mandatory


def test_an_expiring_certificate_of_a_mandatory_course_reopens_the_enrollment(
    backend: Backend, peek: Any
) -> None:
    admin, learner, world, enrollment_id, cert = certified()
    assert cert.expires_at is not None
    assert close_to(cert.expires_at, as_utc(cert.issued_at) + timedelta(days=VALID_DAYS))
    assert rows_of(peek, backend, "lesson_progress", enrollment_id) == 4
    assert rows_of(peek, backend, "quiz_attempts", enrollment_id) == 2
    # A year away: nothing to do yet.
    assert scan(admin.org_id) == recertification.RecertResult()
    assert enrollment_of(learner.ctx, enrollment_id).status == "completed"

    expires = expire_in(cert, 10)
    assert scan(admin.org_id) == recertification.RecertResult(reopened=1)
    row = enrollment_of(learner.ctx, enrollment_id)
    assert (row.status, row.progress_percent, row.mandatory) == ("active", 0, True)
    assert close_to(row.due_at, expires) and row.completed_at is None
    assert row.last_lesson_id is None
    # The previous cycle's progress and attempts are gone; the certificate stays valid.
    assert rows_of(peek, backend, "lesson_progress", enrollment_id) == 0
    assert rows_of(peek, backend, "quiz_attempts", enrollment_id) == 0
    assert [c.id for c in certs_of(enrollment_id, learner.org_id)] == [cert.id]
    verified = certificate_verify.verify(cert.serial)
    assert verified is not None and verified.status == "valid"
    # Told once, in the app and by email (on by default); audited.
    assert titles(learner, "recertification.due") == [f"Recertify: {world.title}"]
    (mail,) = mails_to(learner.email, learner.org_id, kind="recertification.due")
    assert f"{expires:%Y-%m-%d}" in mail.body_text
    with open_session(Scope(org_ids={admin.org_id})) as session:
        events = session.exec(
            mark_scoped(
                select(AuditEvent).where(
                    AuditEvent.org_id == admin.org_id,
                    AuditEvent.action == recertification.OPENED,
                )
            )
        ).all()
    assert [(e.target, e.detail["serial"]) for e in events] == [(world.title, cert.serial)]

    # A second scan (and a later one) changes nothing.
    assert scan(admin.org_id) == recertification.RecertResult()
    assert scan(admin.org_id, now=utcnow() + timedelta(days=5)) == recertification.RecertResult()
    assert len(titles(learner, "recertification.due")) == 1
    assert enrollment_of(learner.ctx, enrollment_id).status == "active"


def test_open_class_views_hear_of_the_reopening() -> None:
    admin, learner, world, _enrollment_id, cert = certified()
    expire_in(cert, 10)
    heard: list[tuple[str, dict[str, object]]] = []
    broker.reset_broker()
    broker.get_broker().listen(lambda topic, payload: heard.append((topic, payload)))
    try:
        scan(admin.org_id)
    finally:
        broker.reset_broker()
    topic = topics.PROGRESS.name(org=learner.org_id, course=world.course_id)
    assert [p["user_ids"] for t, p in heard if t == topic] == [[str(learner.ctx.user_id)]]


def test_the_reopened_course_is_taken_again_from_the_start(backend: Backend, peek: Any) -> None:
    admin, learner, world, enrollment_id, cert = certified()
    expires = expire_in(cert, 10)
    scan(admin.org_id)
    mine = card(learner.ctx, world.course_id)
    assert (mine.status, mine.progress_percent, mine.overdue) == ("active", 0, False)
    assert close_to(mine.recertify_by, expires) and close_to(mine.due_at, expires)
    assert mine.next_lesson_id == str(world.lesson_ids[0])
    assert mine.certificate_id == str(cert.id)  # the record of the last completion
    assert not mine.certificate_expired
    # The attempt limit (2) starts again: both attempts of the last cycle were used.
    for lesson_id in world.lesson_ids[:3]:
        with tenant_session(learner.ctx) as session:
            done = lesson_completion.do_complete_lesson(
                session, learner.ctx, course_id=world.course_id, lesson_id=lesson_id
            )
        assert done.newly_completed
    first = submit(learner.ctx, world, wrong_answers(world))
    assert (first.number, first.attempts_left) == (1, 1)
    passed = submit(learner.ctx, world, right_answers(world))
    assert passed.passed and passed.enrollment_completed
    row = enrollment_of(learner.ctx, enrollment_id)
    assert (row.status, row.progress_percent) == ("completed", 100)
    # Completing again is a new cycle: its own event, not swallowed by the first one's key.
    found = peek(
        "SELECT dedupe_key FROM outbox_jobs WHERE dedupe_key LIKE :p ORDER BY created",
        p=f"enrollment.completed:{enrollment_id}%",
    )
    assert [k for (k,) in found] == [
        f"enrollment.completed:{enrollment_id}",
        f"enrollment.completed:{enrollment_id}:2",
    ]


def test_completing_the_recertification_issues_a_new_certificate_once() -> None:
    admin, learner, world, enrollment_id, cert = certified()
    expire_in(cert, 10)
    scan(admin.org_id)
    take_course(learner.ctx, world)
    drain()
    drain()  # the jobs running again issue nothing more
    found = certs_of(enrollment_id, learner.org_id)
    assert len(found) == 2 and found[0].id == cert.id
    new = found[1]
    assert new.serial != cert.serial
    assert close_to(new.expires_at, utcnow() + timedelta(days=VALID_DAYS))
    assert report_row(admin, learner).status == "completed"
    # The old certificate runs out: the learner holds a new one, so nothing reopens.
    expire_in(cert, -1)
    assert scan(admin.org_id) == recertification.RecertResult()
    assert report_row(admin, learner).status == "completed"


def test_an_expired_recertification_is_overdue_and_not_compliant() -> None:
    admin, learner, world, _enrollment_id, cert = certified()
    expired = expire_in(cert, -2)
    # Before the scan reopens it: completed, but the certificate has run out.
    row = report_row(admin, learner)
    assert (row.status, row.status_label) == ("expired", "Certificate expired")
    assert card(learner.ctx, world.course_id).certificate_expired
    # The scan reopens it, due on the (past) expiry: overdue at once.
    assert scan(admin.org_id) == recertification.RecertResult(reopened=1)
    mine = card(learner.ctx, world.course_id)
    assert mine.status == "active" and mine.overdue and close_to(mine.recertify_by, expired)
    (note,) = [n for n in _notes(learner) if n.kind == "recertification.due"]
    assert f"expired on {expired:%Y-%m-%d}" in note.body
    row = report_row(admin, learner)
    assert (row.status, row.status_label) == ("expired", "Certificate expired")
    with tenant_session(admin.ctx) as session:
        report = compliance_report.compliance_report(session, admin.ctx)
        only = compliance_report.compliance_report(session, admin.ctx, status="expired")
        export = compliance_export.compliance_csv(session, admin.ctx)
    s = report.summary  # the rule covers learners: the learner is the only row
    assert (s.total, s.expired, s.overdue, s.compliant, s.compliant_percent) == (1, 1, 0, 0, 0)
    assert [r.email for r in only.rows] == [learner.email]
    assert "Certificate expired" in export.csv and f"{expired:%Y-%m-%d}" in export.csv


def test_a_recertification_on_time_stays_compliant() -> None:
    admin, learner, _world, _enrollment_id, cert = certified()
    expires = expire_in(cert, 10)
    scan(admin.org_id)
    row = report_row(admin, learner)
    assert row.status == "recertify"
    assert row.status_label == f"Recertification due by {expires:%Y-%m-%d}"
    assert close_to(row.certificate_expires_at, expires)
    with tenant_session(admin.ctx) as session:
        report = compliance_report.compliance_report(session, admin.ctx)
        export = compliance_export.compliance_csv(session, admin.ctx, status="recertify")
    assert report.summary.total == 1  # the rule covers learners: the learner alone
    assert (report.summary.recertify, report.summary.compliant_percent) == (1, 100)
    assert export.rows == 1 and f"Recertification due by {expires:%Y-%m-%d}" in export.csv


def _notes(who: f.SignedIn) -> list[Any]:
    with tenant_session(who.ctx) as session:
        return list(notifications.list_for_user(session, who.ctx).rows)


# --------------------------------------------------------------------------- the others


def test_a_course_that_is_not_mandatory_only_gets_an_expiry_notice_once() -> None:
    admin, learner, world, enrollment_id, cert = certified(rule_role=None)
    expires = expire_in(cert, 10)
    assert scan(admin.org_id) == recertification.RecertResult(expiring=1)
    assert scan(admin.org_id) == recertification.RecertResult()
    assert enrollment_of(learner.ctx, enrollment_id).status == "completed"
    assert titles(learner, "certificate.expiring") == [f"Certificate expiring: {world.title}"]
    (note,) = [n for n in _notes(learner) if n.kind == "certificate.expiring"]
    assert f"expires on {expires:%Y-%m-%d}" in note.body
    assert titles(learner, "recertification.due") == []
    mine = card(learner.ctx, world.course_id)
    assert mine.status == "completed" and mine.recertify_by is None


def test_a_rule_for_another_role_does_not_make_it_mandatory_for_the_learner() -> None:
    admin, learner, _world, enrollment_id, cert = certified(rule_role=Role.staff)
    expire_in(cert, 10)
    assert scan(admin.org_id) == recertification.RecertResult(expiring=1)
    assert enrollment_of(learner.ctx, enrollment_id).status == "completed"


def test_a_certificate_that_expired_unannounced_is_not_announced_late() -> None:
    admin, learner, _world, _enrollment_id, cert = certified(rule_role=None)
    expire_in(cert, -3)
    assert scan(admin.org_id) == recertification.RecertResult()
    assert titles(learner, "certificate.expiring") == []


def test_a_revoked_certificate_opens_no_recertification() -> None:
    admin, learner, _world, enrollment_id, cert = certified()
    expire_in(cert, 10)
    with tenant_session(admin.ctx) as session:
        certificate_revocation.do_revoke_certificate(
            session, admin.ctx, certificate_id=cert.id, reason="Cheated"
        )
    assert scan(admin.org_id) == recertification.RecertResult()
    assert enrollment_of(learner.ctx, enrollment_id).status == "completed"
    assert titles(learner, "recertification.due") == []


def test_an_inactive_member_is_left_alone_until_they_are_back() -> None:
    admin, learner, _world, enrollment_id, cert = certified()
    expire_in(cert, 10)
    with open_session(Scope(org_ids={admin.org_id})) as session:
        session.execute(
            update(Membership)
            .where(
                col(Membership.org_id) == admin.org_id,
                col(Membership.user_id) == learner.user_id,
            )
            .values(is_active=False)
        )
        session.commit()
    assert scan(admin.org_id) == recertification.RecertResult()
    assert enrollment_of(learner.ctx, enrollment_id).status == "completed"


def test_each_org_is_scanned_in_its_own_scope_only() -> None:
    admin, learner, _world, enrollment_id, cert = certified()
    expire_in(cert, 10)
    other = f.new_admin()
    # The other org's scan, in its own scope, sees nothing of this org.
    assert scan(other.org_id) == recertification.RecertResult()
    assert enrollment_of(learner.ctx, enrollment_id).status == "completed"
    assert scan(admin.org_id) == recertification.RecertResult(reopened=1)
