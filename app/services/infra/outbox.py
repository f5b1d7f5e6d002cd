"""Jobs through the outbox: enqueue in the caller's transaction; workers claim, run, retry.

Handlers are registered per job kind and must be idempotent: a job may run more than once
(a worker killed after the work but before marking it done leaves the job to be claimed
again when its lease expires). A handler with an effect outside the database (mail) makes
it at most once itself: see `app.services.comms.mail`.

Leases are per job. A worker claims a job only when it is about to start it (`run_due`
takes one at a time), so the jobs a dead worker had not started are free for the others at
once; the job it was running is taken over when that job's lease (`outbox_lease_seconds`)
runs out. A live worker renews the lease of the job it runs (every third of the lease), so
a lease can be short and a long handler is still not taken over while its worker lives.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from sqlalchemy import CursorResult, or_, update
from sqlmodel import Session, col, select

from app.db import Scope, open_session
from app.models.base import as_utc, utcnow
from app.models.outbox import OutboxJob
from app.services.core.authz import Permission, require
from app.services.core.errors import Conflict
from app.services.core.tenancy import OrgContext, access, count_rows, mark_scoped, scoped
from app.settings import get_settings

log = logging.getLogger(__name__)

Handler = Callable[[Session, OutboxJob], None]
_HANDLERS: dict[str, Handler] = {}
BACKOFF_BASE_SECONDS = 2
BACKOFF_MAX_SECONDS = 3600


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register the function that runs jobs of `kind`."""

    def register(fn: Handler) -> Handler:
        _HANDLERS[kind] = fn
        return fn

    return register


def enqueue(
    session: Session,
    *,
    kind: str,
    payload: dict[str, Any],
    org_id: uuid.UUID | None,
    dedupe_key: str | None = None,
    max_attempts: int = 5,
) -> OutboxJob:
    """Add a job to the caller's transaction (no commit): it exists only if the change does."""
    job = OutboxJob(
        org_id=org_id,
        kind=kind,
        payload=payload,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
    )
    if dedupe_key is not None:
        existing = session.exec(
            mark_scoped(select(OutboxJob).where(OutboxJob.dedupe_key == dedupe_key))
        ).first()
        if existing is not None:
            return existing
    session.add(job)
    return job


def backoff(attempts: int) -> timedelta:
    """Exponential delay before retry number `attempts` (capped)."""
    seconds: int = min(BACKOFF_BASE_SECONDS**attempts, BACKOFF_MAX_SECONDS)
    return timedelta(seconds=seconds)


def worker_name() -> str:
    """A name for this worker process, stored on the jobs it holds."""
    import os

    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def claim(
    *,
    worker: str,
    limit: int = 1,
    lease_seconds: int | None = None,
    due_by: datetime | None = None,
) -> list[uuid.UUID]:
    """Take up to `limit` due jobs for `worker` (skipping rows another worker holds), each
    with a lease of `lease_seconds` (default `outbox_lease_seconds`) from now.

    A claim is a lease: if the worker dies before finishing, the job is due again once the
    lease runs out, and another worker takes it. Claim only what you start now (`run_due`
    claims one job at a time): a lease runs from the claim, not from the job's start.
    `due_by` counts as due only pending jobs whose `run_after` has come by then (a pass
    does not rerun a job that failed during it); a job whose lease ran out is due anyway.
    """
    now = utcnow()
    lease_seconds = lease_seconds or get_settings().outbox_lease_seconds
    with open_session(Scope(system=True)) as session:
        due = or_(
            (col(OutboxJob.status) == "pending") & (col(OutboxJob.run_after) <= (due_by or now)),
            (col(OutboxJob.status) == "running") & (col(OutboxJob.locked_until) < now),
        )
        stmt = select(OutboxJob.id).where(due).order_by(col(OutboxJob.created)).limit(limit)
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        ids = list(session.exec(mark_scoped(stmt)).all())
        if ids:
            session.execute(
                update(OutboxJob)
                .where(col(OutboxJob.id).in_(ids))
                .values(
                    status="running",
                    locked_by=worker,
                    locked_until=now + timedelta(seconds=lease_seconds),
                    attempts=OutboxJob.attempts + 1,
                )
            )
        session.commit()
        return ids


class _LeaseKeeper:
    """While a job runs, push its lease forward every third of the lease, from a thread, so
    a live worker keeps the job however long its handler takes. Stops when the job is no
    longer this worker's (taken over, or finished)."""

    def __init__(self, job_id: uuid.UUID, *, worker: str, lease_seconds: int) -> None:
        self.job_id, self.worker, self.lease_seconds = job_id, worker, lease_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lease-{job_id}", daemon=True)

    def __enter__(self) -> _LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        # A renewal under way ends within the database's timeouts; finishing the job does
        # not wait for it (a late renewal matches nothing once the job is finished).
        self._thread.join(timeout=1)

    def _keep(self) -> None:
        interval = max(self.lease_seconds / 3, 0.2)
        while not self._stop.wait(interval):
            try:
                if not self._renew():
                    log.warning("job %s: lease lost to another worker", self.job_id)
                    return
            except Exception:  # a database hiccup: try again at the next beat
                log.exception("job %s: could not renew its lease", self.job_id)

    def _renew(self) -> bool:
        with open_session(Scope(system=True)) as session:
            result = session.execute(
                update(OutboxJob)
                .where(
                    col(OutboxJob.id) == self.job_id,
                    col(OutboxJob.status) == "running",
                    col(OutboxJob.locked_by) == self.worker,
                )
                .values(locked_until=utcnow() + timedelta(seconds=self.lease_seconds))
            )
            session.commit()
            return bool(_rowcount(result))


def _rowcount(result: object) -> int:
    """The number of rows an UPDATE matched."""
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


def run(job_id: uuid.UUID, *, worker: str) -> str:
    """Run one claimed job; returns its new status (`done`, `pending` to retry, or `dead`)."""
    with open_session(Scope(system=True)) as session:
        job = session.exec(mark_scoped(select(OutboxJob).where(OutboxJob.id == job_id))).first()
        if job is None or job.status != "running" or job.locked_by != worker:
            return "skipped"
    fn = _HANDLERS.get(job.kind)
    error = ""
    if fn is None:
        error = f"no handler for job kind {job.kind!r}"
    else:
        # The handler works inside the job's org only, like a request of that org would; a
        # job of no org (platform mail) runs in the system scope, which row-level security
        # lets see only rows of no org.
        scope = Scope(org_ids={job.org_id}) if job.org_id else Scope(system=True)
        lease = get_settings().outbox_lease_seconds
        try:
            with (
                _LeaseKeeper(job_id, worker=worker, lease_seconds=lease),
                open_session(scope) as work,
            ):
                fn(work, job)
                work.commit()
        except Exception as exc:  # any failure of a handler is recorded and retried
            log.exception("job %s (%s) failed", job_id, job.kind)
            error = f"{type(exc).__name__}: {exc}"[:2000]
    return _finish(job_id, worker=worker, error=error)


def _finish(job_id: uuid.UUID, *, worker: str, error: str) -> str:
    with open_session(Scope(system=True)) as session:
        job = session.exec(mark_scoped(select(OutboxJob).where(OutboxJob.id == job_id))).one()
        if job.locked_by != worker:
            return "skipped"  # our lease ran out and another worker took it over
        now = utcnow()
        if not error:
            job.status, job.finished_at, job.last_error = "done", now, ""
        elif job.attempts >= job.max_attempts:
            job.status, job.finished_at, job.last_error = "dead", now, error
        else:
            job.status, job.last_error = "pending", error
            job.run_after = now + backoff(job.attempts)
        job.locked_by, job.locked_until = "", None
        session.add(job)
        session.commit()
        return job.status


def run_due(
    *,
    worker: str | None = None,
    limit: int | None = None,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Run what is due now, once (at most `limit` jobs, default the `outbox_batch_size`
    setting), claiming each job only as it starts; returns how many jobs ran. `stop` is
    asked between jobs (a worker asked to stop finishes its job and leaves the rest)."""
    name = worker or worker_name()
    limit = limit or get_settings().outbox_batch_size
    started = utcnow()
    ran = 0
    while ran < limit and not (stop is not None and stop()):
        ids = claim(worker=name, limit=1, due_by=started)
        if not ids:
            break
        run(ids[0], worker=name)
        ran += 1
    return ran


@dataclass(frozen=True)
class JobRow:
    """A job as the admin's failed-jobs view shows it."""

    id: str
    kind: str
    status: str
    attempts: int
    last_error: str
    created: datetime


def list_jobs(
    session: Session, ctx: OrgContext, *, status: str = "dead", page: int = 1, page_size: int = 25
) -> tuple[list[JobRow], int]:
    """The org's jobs of one status (failed ones by default), newest first."""
    require(ctx, Permission.config_edit)
    stmt = scoped(ctx, OutboxJob).where(OutboxJob.status == status)
    total = count_rows(session, stmt)
    rows = session.exec(
        stmt.order_by(col(OutboxJob.created).desc())
        .offset((max(page, 1) - 1) * page_size)
        .limit(page_size)
    ).all()
    return (
        [
            JobRow(
                id=str(r.id),
                kind=r.kind,
                status=r.status,
                attempts=r.attempts,
                last_error=r.last_error,
                created=as_utc(r.created),
            )
            for r in rows
        ],
        total,
    )


def retry(session: Session, ctx: OrgContext, job_id: uuid.UUID | str) -> OutboxJob:
    """Give a dead job a fresh set of attempts."""
    require(ctx, Permission.config_edit)
    job = access(session, ctx, OutboxJob, job_id, write=True)
    if job.status != "dead":
        raise Conflict("Only failed jobs can be retried.")
    job.status, job.attempts, job.run_after = "pending", 0, utcnow()
    job.finished_at, job.last_error = None, ""
    session.add(job)
    session.commit()
    return job
