"""The worker loop picks up jobs by itself (the embedded thread and `python -m app.worker`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session

from app import worker
from app.models.notification import Notification
from app.models.outbox import OutboxJob
from app.services import outbox
from app.services.tenancy import scoped, tenant_session
from tests import factories as f
from tests import outbox_helpers as oh

pytestmark = pytest.mark.usefixtures("backend")

SEEN: list[str] = []


@outbox.handler("test.worker")
def _record(session: Session, job: OutboxJob) -> None:
    SEEN.append(str(job.payload["n"]))


def test_the_embedded_worker_thread_runs_jobs_as_they_arrive() -> None:
    admin = f.new_admin()
    n = uuid.uuid4().hex
    stop = threading.Event()
    thread = threading.Thread(target=worker.loop, args=(stop,), kwargs={"worker": "t1"})
    thread.start()
    try:
        with tenant_session(admin.ctx) as session:
            outbox.enqueue(session, kind="test.worker", payload={"n": n}, org_id=admin.ctx.org_id)
            session.commit()
        deadline = time.monotonic() + 10
        while n not in SEEN and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert SEEN.count(n) == 1
    assert not thread.is_alive()


def test_the_worker_command_runs_due_jobs_once() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        # A kind the command's process has no handler for: it fails and is retried later.
        job = outbox.enqueue(session, kind="test.unknown", payload={}, org_id=admin.ctx.org_id)
        session.commit()
    result = subprocess.run(
        [sys.executable, "-m", "app.worker", "--once"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "job(s)" in result.stdout
    ran = oh.job(job.id)  # attempted, failed (no handler), waiting to retry
    assert ran is not None
    assert (ran.status, ran.attempts) == ("pending", 1)
    assert "no handler" in ran.last_error


def _start_worker(tmp_env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.worker_kill_handlers"],
        env=tmp_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_a_worker_killed_mid_job_leaves_it_to_another_which_completes_it_once(
    tmp_path: Path,
) -> None:
    """A real `python -m app.worker` process is SIGKILLed inside a handler; after its lease
    runs out a second worker process takes the job over; the job's effect exists once."""
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        job = outbox.enqueue(
            session,
            kind="test.slow_once",
            payload={"user_id": str(admin.user_id)},
            org_id=admin.ctx.org_id,
        )
        session.commit()
    stall = tmp_path / "stalled"
    env = dict(os.environ, GUILDHALL_OUTBOX_LEASE_SECONDS="2")
    first = _start_worker({**env, "GUILDHALL_TEST_STALL_FILE": str(stall)})
    try:
        assert _wait(stall.exists, 60), "the first worker never reached the handler"
        first.kill()  # SIGKILL: no cleanup, no rollback message, the lease stays
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    held = oh.job(job.id)
    assert held is not None and (held.status, held.attempts) == ("running", 1)
    assert _effects(admin, job.id) == 0  # the killed transaction left nothing behind

    second = _start_worker(env)
    try:
        assert _wait(lambda: oh.status(job.id) == "done", 60), oh.job(job.id)
    finally:
        second.terminate()
        second.wait(timeout=20)
    done = oh.job(job.id)
    assert done is not None and done.attempts == 2
    assert _effects(admin, job.id) == 1


def _effects(admin: f.SignedIn, job_id: uuid.UUID) -> int:
    """How many notifications the job wrote (its visible effect)."""
    with tenant_session(admin.ctx) as session:
        mine = scoped(admin.ctx, Notification).where(
            Notification.dedupe_key == f"test.slow_once:{job_id}"
        )
        return len(session.exec(mine).all())
