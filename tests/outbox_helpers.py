"""Reading and nudging outbox jobs in tests, and a job kind that always fails."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from app.db import Scope, open_session
from app.models.base import utcnow
from app.models.outbox import OutboxJob
from app.services.core.tenancy import OrgContext, mark_scoped, tenant_session
from app.services.infra import outbox

ALWAYS_FAILS = "test.always_fails"
FAILURE = "printer on fire in org A"


@outbox.handler(ALWAYS_FAILS)
def _always_fails(session: Session, job: OutboxJob) -> None:
    raise RuntimeError(FAILURE)


def job(job_id: uuid.UUID) -> OutboxJob | None:
    """The job as it is now (read past the tenant scope, like a worker)."""
    with open_session(Scope(system=True)) as session:
        return session.exec(mark_scoped(select(OutboxJob).where(OutboxJob.id == job_id))).first()


def status(job_id: uuid.UUID) -> str:
    """The job's status."""
    found = job(job_id)
    assert found is not None, "no such job"
    return found.status


def update_job(job_id: uuid.UUID, **values: Any) -> None:
    """Change a job's columns (e.g. `run_after=utcnow()` to make it due at once)."""
    with open_session(Scope(system=True)) as session:
        session.execute(update(OutboxJob).where(col(OutboxJob.id) == job_id).values(**values))
        session.commit()


def make_due(job_id: uuid.UUID) -> None:
    """Skip the rest of the job's backoff."""
    update_job(job_id, run_after=utcnow())


def dead_job(ctx: OrgContext) -> uuid.UUID:
    """A job of the context's org that failed its only attempt."""
    with tenant_session(ctx) as session:
        created = outbox.enqueue(
            session, kind=ALWAYS_FAILS, payload={}, org_id=ctx.org_id, max_attempts=1
        )
        session.commit()
    outbox.run_due(worker="test")
    return created.id
