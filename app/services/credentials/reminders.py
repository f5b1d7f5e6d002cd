"""Reminders for mandatory training: due soon, and overdue.

A learner with an active mandatory enrollment gets

* `lesson.due_soon` once per enrollment and due date when the due date is less than
  `DUE_SOON_DAYS` days away, and
* `mandatory.overdue` once per enrollment and due date once it has passed.

The dedupe keys (`{kind}:{enrollment id}:{due date}`) make each reminder happen once however
often the scan runs; a new due date (the rule changed, the learner re-enrolled) reminds again.

The same scan then runs `credentials.recertification.scan_org`: certificates that expire
within 30 days reopen mandatory enrollments for recertification (`recertification.due`), or
tell the learner when the course is not mandatory (`certificate.expiring`), once per
certificate. A reopened enrollment is an active mandatory one like any other, so the next
scans remind it as due soon and overdue too.

How it runs, and why this way. The worker has no org scope, and row-level security hides
every tenant row from a scope without org ids; only `outbox_jobs` honours the worker's
`app.system` flag. So:

1. `run_reminders()` (the worker calls it every few minutes;
   `python -m app.services.credentials.reminders` runs it by hand) lists the ids of
   active orgs in a system-scoped session: migration 0006 adds one policy that lets a
   system-scoped session *read* `organizations` (no other table, no write), which is the
   only thing this step needs.
2. For each org it opens a session scoped to that org alone and enqueues a `reminders.scan`
   job for it, deduped per org and time slot (several workers calling `run_reminders()` at
   once enqueue one job per org and slot).
3. The job runs like any job, in its org's scope only (`outbox.run`), reads that org's
   mandatory enrollments and notifies the learners. The course of an enrollment may belong
   to an ancestor org (shared down): the ancestors are added to the scope the same way a
   request of that org reads them (`orgs.ancestors`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.db import Scope, open_session
from app.models.base import as_utc, utcnow
from app.models.course import Course
from app.models.enrollment import Enrollment, EnrollmentStatus
from app.models.org import Organization
from app.models.outbox import OutboxJob
from app.services.comms import notifications
from app.services.config import orgs
from app.services.core.tenancy import mark_scoped
from app.services.credentials import recertification
from app.services.infra import outbox

log = logging.getLogger(__name__)

SCAN_JOB = "reminders.scan"
DUE_SOON_DAYS = 3
SLOT_MINUTES = 15  # one scan per org per slot, however many workers ask


@dataclass(frozen=True)
class ScanResult:
    """How many reminders one scan added, and what it did for recertification."""

    due_soon: int = 0
    overdue: int = 0
    reopened: int = 0  # enrollments reopened to recertify (mandatory courses)
    expiring: int = 0  # "your certificate expires on …" notices (other courses)


def _key(kind: str, enrollment: Enrollment) -> str:
    assert enrollment.due_at is not None
    return f"{kind}:{enrollment.id}:{as_utc(enrollment.due_at).isoformat()}"[:200]


def scan_org(session: Session, *, org_id: uuid.UUID, now: datetime | None = None) -> ScanResult:
    """Remind the learners of `org_id` whose mandatory training is due soon or overdue, then
    open recertifications for expiring certificates (no commit). The session's scope must
    include `org_id`."""
    now = now or utcnow()
    reminded = _remind(session, org_id=org_id, now=now)
    recert = recertification.scan_org(session, org_id=org_id, now=now)
    return ScanResult(
        due_soon=reminded.due_soon,
        overdue=reminded.overdue,
        reopened=recert.reopened,
        expiring=recert.expiring,
    )


def _remind(session: Session, *, org_id: uuid.UUID, now: datetime) -> ScanResult:
    """Due-soon and overdue reminders of `org_id`'s active mandatory enrollments."""
    horizon = now + timedelta(days=DUE_SOON_DAYS)
    rows = list(
        session.exec(
            mark_scoped(
                select(Enrollment).where(
                    Enrollment.org_id == org_id,
                    col(Enrollment.mandatory),
                    Enrollment.status == EnrollmentStatus.active,
                    col(Enrollment.due_at).is_not(None),
                    col(Enrollment.due_at) <= horizon,
                )
            )
        ).all()
    )
    if not rows:
        return ScanResult()
    org = session.exec(mark_scoped(select(Organization).where(Organization.id == org_id))).first()
    if org is not None:
        orgs.ancestors(session, org)  # shared courses of the ancestors become readable
    titles = {
        c.id: c.title
        for c in session.exec(
            mark_scoped(select(Course).where(col(Course.id).in_({r.course_id for r in rows})))
        ).all()
    }
    due_soon = overdue = 0
    for row in rows:
        assert row.due_at is not None
        due = as_utc(row.due_at)
        title = titles.get(row.course_id, "a mandatory course")
        if due <= now:
            kind = notifications.OVERDUE
            text = f"Overdue: {title}"
            body = f"This mandatory training was due on {due:%Y-%m-%d}. Please complete it."
        else:
            kind = notifications.DUE_SOON
            text = f"Due soon: {title}"
            body = f"This mandatory training is due on {due:%Y-%m-%d %H:%M} UTC."
        added = notifications.notify(
            session,
            org_id=row.org_id,
            user_id=row.user_id,
            kind=kind,
            title=text,
            body=body,
            link=f"/courses/{row.course_id}",
            dedupe_key=_key(kind, row),
        )
        if added is not None:
            if kind == notifications.OVERDUE:
                overdue += 1
            else:
                due_soon += 1
    return ScanResult(due_soon=due_soon, overdue=overdue)


@outbox.handler(SCAN_JOB)
def _scan_job(session: Session, job: OutboxJob) -> None:
    """One org's scan (the job runs in that org's scope only)."""
    if job.org_id is None:
        return
    result = scan_org(session, org_id=job.org_id)
    if result != ScanResult():
        log.info(
            "reminders for org %s: %d due soon, %d overdue, %d recertifications opened, "
            "%d expiry notices",
            job.org_id,
            result.due_soon,
            result.overdue,
            result.reopened,
            result.expiring,
        )


def active_org_ids() -> list[uuid.UUID]:
    """Every active org's id (a system-scoped read; see the module docstring)."""
    with open_session(Scope(system=True)) as session:
        stmt = select(Organization.id).where(col(Organization.is_active))
        return list(session.exec(mark_scoped(stmt)).all())


def _slot(now: datetime) -> str:
    minutes = (now.hour * 60 + now.minute) // SLOT_MINUTES * SLOT_MINUTES
    return f"{now:%Y-%m-%d}T{minutes // 60:02d}:{minutes % 60:02d}"


def run_reminders(
    *,
    now: datetime | None = None,
    inline: bool = False,
    org_ids: Iterable[uuid.UUID] | None = None,
) -> int:
    """Enqueue one `reminders.scan` job per active org for this time slot (the worker runs
    them), or with `inline` scan every org here and now. `org_ids` limits it to those orgs.
    Returns how many orgs it covered."""
    now = now or utcnow()
    slot = _slot(now)
    covered = 0
    for org_id in active_org_ids() if org_ids is None else list(org_ids):
        try:
            with open_session(Scope(org_ids={org_id})) as session:
                if inline:
                    scan_org(session, org_id=org_id, now=now)
                else:
                    outbox.enqueue(
                        session,
                        kind=SCAN_JOB,
                        payload={"slot": slot},
                        org_id=org_id,
                        dedupe_key=f"{SCAN_JOB}:{org_id}:{slot}",
                    )
                session.commit()
            covered += 1
        except IntegrityError:  # another worker enqueued this org's slot at the same moment
            covered += 1
        except Exception:  # one org's failure must not stop the others
            log.exception("reminders for org %s failed", org_id)
    return covered


def main(argv: list[str] | None = None) -> int:
    """`python -m app.services.credentials.reminders [--inline]`."""
    parser = argparse.ArgumentParser(description="Remind learners of mandatory training.")
    parser.add_argument(
        "--inline", action="store_true", help="scan every org now instead of enqueueing jobs"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    covered = run_reminders(inline=args.inline)
    verb = "scanned" if args.inline else "queued a scan for"
    print(f"{verb} {covered} org(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
