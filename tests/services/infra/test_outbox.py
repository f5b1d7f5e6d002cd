"""The outbox: jobs exist only if their change committed, run once, retry with backoff,
land in the dead letter after the last try, and admins see and retry failed jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.models.base import as_utc, utcnow
from app.models.outbox import OutboxJob
from app.services.core.errors import NotFound, PermissionDenied
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.infra import outbox
from tests import factories as f
from tests import outbox_helpers as oh

pytestmark = pytest.mark.usefixtures("backend")

CALLS: list[str] = []


@outbox.handler("test.ok")
def _ok(session: Session, job: OutboxJob) -> None:
    CALLS.append(str(job.payload["n"]))


@outbox.handler("test.fail")
def _fail(session: Session, job: OutboxJob) -> None:
    raise RuntimeError("downstream is down")


@pytest.fixture(autouse=True)
def _clear_calls() -> Iterator[None]:
    CALLS.clear()
    yield
    CALLS.clear()


def _enqueue(ctx: OrgContext, kind: str, n: str = "1", **kw: Any) -> uuid.UUID:
    with tenant_session(ctx) as session:
        job = outbox.enqueue(session, kind=kind, payload={"n": n}, org_id=ctx.org_id, **kw)
        session.commit()
        return job.id


def _status(job_id: uuid.UUID) -> tuple[str, int]:
    job = oh.job(job_id)
    assert job is not None
    return job.status, job.attempts


def test_a_job_runs_once_and_is_done() -> None:
    admin = f.new_admin()
    n = uuid.uuid4().hex
    job_id = _enqueue(admin.ctx, "test.ok", n)
    outbox.run_due(worker="w1")
    outbox.run_due(worker="w1")
    assert CALLS.count(n) == 1
    assert _status(job_id) == ("done", 1)


def test_a_rolled_back_change_leaves_no_job() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        job = outbox.enqueue(session, kind="test.ok", payload={"n": "x"}, org_id=admin.ctx.org_id)
        session.flush()
        session.rollback()
    assert oh.job(job.id) is None


def test_the_same_dedupe_key_enqueues_one_job() -> None:
    admin = f.new_admin()
    key = f"k-{uuid.uuid4()}"
    first = _enqueue(admin.ctx, "test.ok", dedupe_key=key)
    second = _enqueue(admin.ctx, "test.ok", dedupe_key=key)
    assert first == second


def test_a_failing_job_retries_with_backoff_then_dies() -> None:
    admin = f.new_admin()
    job_id = _enqueue(admin.ctx, "test.fail", max_attempts=3)
    outbox.run_due(worker="w1")
    job = oh.job(job_id)
    assert job is not None
    assert (job.status, job.attempts) == ("pending", 1)
    assert "downstream is down" in job.last_error
    assert as_utc(job.run_after) > utcnow()  # not due again at once
    outbox.run_due(worker="w1")
    assert _status(job_id) == ("pending", 1), "retried before its backoff ran out"
    for _ in range(2):
        oh.make_due(job_id)
        outbox.run_due(worker="w1")
    assert _status(job_id) == ("dead", 3)


def test_backoff_grows_and_is_capped() -> None:
    assert outbox.backoff(1) < outbox.backoff(2) < outbox.backoff(5)
    assert outbox.backoff(50) == timedelta(seconds=outbox.BACKOFF_MAX_SECONDS)


def test_a_job_whose_worker_died_is_taken_over_and_completes_once() -> None:
    admin = f.new_admin()
    n = uuid.uuid4().hex
    job_id = _enqueue(admin.ctx, "test.ok", n)
    # Worker w1 claims the job and dies before finishing it: its lease runs out. (Claimed
    # with others that earlier tests left due, since the oldest due job is taken first.)
    assert job_id in outbox.claim(worker="w1", lease_seconds=-1, limit=10_000)
    assert outbox.run_due(worker="w2") >= 1
    assert outbox.run(job_id, worker="w1") == "skipped"  # the dead worker cannot finish it
    assert CALLS.count(n) == 1
    assert _status(job_id)[0] == "done"


def test_admins_see_failed_jobs_and_retry_them() -> None:
    admin = f.new_admin()
    job_id = _enqueue(admin.ctx, "test.fail", max_attempts=1)
    outbox.run_due(worker="w1")
    with tenant_session(admin.ctx) as session:
        rows, total = outbox.list_jobs(session, admin.ctx)
        assert [r.id for r in rows] == [str(job_id)] and total == 1
        outbox.retry(session, admin.ctx, job_id)
    assert _status(job_id) == ("pending", 0)


def test_another_org_cannot_see_or_retry_my_failed_jobs() -> None:
    pair = f.two_tenants()
    job_id = _enqueue(pair.a.ctx, "test.fail", max_attempts=1)
    outbox.run_due(worker="w1")
    with tenant_session(pair.b.ctx) as session:
        rows, _ = outbox.list_jobs(session, pair.b.ctx)
        assert str(job_id) not in [r.id for r in rows]
        with pytest.raises(NotFound):
            outbox.retry(session, pair.b.ctx, job_id)
    assert _status(job_id)[0] == "dead"


def test_learners_cannot_see_jobs() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, "learner")
    with tenant_session(learner) as session, pytest.raises(PermissionDenied):
        outbox.list_jobs(session, learner)


# --------------------------------------------------------------------------- per-job leases

SEEN_STATUS: list[str] = []


@outbox.handler("test.look_at_next")
def _look_at_next(session: Session, job: OutboxJob) -> None:
    """Record the status of the job enqueued after this one, as this one runs."""
    other = oh.job(uuid.UUID(str(job.payload["next"])))
    SEEN_STATUS.append(other.status if other else "missing")


@outbox.handler("test.slow")
def _slow(session: Session, job: OutboxJob) -> None:
    import time

    time.sleep(float(job.payload["seconds"]))


def test_a_worker_claims_a_job_only_when_it_starts_it() -> None:
    """The jobs a pass has not reached are not held by its worker: were it killed now, any
    other worker could take them at once."""
    admin = f.new_admin()
    SEEN_STATUS.clear()
    later = uuid.uuid4()
    with tenant_session(admin.ctx) as session:
        outbox.enqueue(
            session, kind="test.look_at_next", payload={"next": str(later)}, org_id=admin.ctx.org_id
        )
        session.commit()
        session.add(
            OutboxJob(id=later, org_id=admin.ctx.org_id, kind="test.ok", payload={"n": "x"})
        )
        session.commit()
    outbox.run_due(worker="w1")
    assert SEEN_STATUS == ["pending"]
    assert _status(later) == ("done", 1)


def test_a_live_worker_keeps_the_lease_of_a_job_that_outlasts_it(
    settings_env: Any,
) -> None:
    """A handler that runs longer than the lease is not up for takeover while its worker
    lives: the worker renews the lease as the job runs."""
    import threading
    import time

    settings_env(outbox_lease_seconds=1)
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        job = outbox.enqueue(
            session, kind="test.slow", payload={"seconds": 3}, org_id=admin.ctx.org_id
        )
        session.commit()
    worker = threading.Thread(target=outbox.run_due, kwargs={"worker": "w1"})
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while _status(job.id)[0] != "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)  # twice the lease into the job
        held = oh.job(job.id)
        assert held is not None and held.status == "running" and held.locked_by == "w1"
        assert held.locked_until is not None and as_utc(held.locked_until) > utcnow()
    finally:
        worker.join(timeout=20)
    assert _status(job.id) == ("done", 1)


def test_a_worker_asked_to_stop_finishes_its_job_and_leaves_the_rest() -> None:
    admin = f.new_admin()
    outbox.run_due(worker="w1")  # what other tests left due runs first
    first, second = (_enqueue(admin.ctx, "test.ok", n) for n in ("a", "b"))
    asked: list[bool] = []

    def stop() -> bool:
        asked.append(True)
        return len(asked) > 1  # after the first job

    assert outbox.run_due(worker="w1", stop=stop) == 1
    assert _status(first) == ("done", 1)
    assert _status(second) == ("pending", 0)
    outbox.run_due(worker="w1")
    assert _status(second) == ("done", 1)
