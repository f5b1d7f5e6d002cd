"""The worker loop picks up jobs by itself (the embedded thread and `python -m app.worker`)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
from sqlmodel import Session

from app import worker
from app.models.outbox import OutboxJob
from app.services import outbox
from app.services.tenancy import tenant_session
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
