"""Job handlers for the worker-kill tests, imported only by the worker processes they start.

`test.slow_once` writes a notification (the job's visible effect), then, in a worker started
with `GUILDHALL_TEST_STALL_FILE`, touches that file and stalls before its transaction
commits: the test kills that worker there, mid-job.

`test.batch` writes the same kind of notification; a job whose payload says `stall` stalls
like `test.slow_once` (the other jobs of the batch are quick).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from sqlmodel import Session

from app.models.outbox import OutboxJob
from app.services.comms import notifications
from app.services.infra import outbox


@outbox.handler("test.slow_once")
def _slow_once(session: Session, job: OutboxJob) -> None:
    assert job.org_id is not None
    notifications.notify(
        session,
        org_id=job.org_id,
        user_id=uuid.UUID(str(job.payload["user_id"])),
        kind="test.worker_kill",
        title=f"job {job.id}",
        dedupe_key=f"test.slow_once:{job.id}",
    )
    session.flush()  # the row is written (not committed) when the worker is killed
    stall = os.environ.get("GUILDHALL_TEST_STALL_FILE")
    if stall:
        Path(stall).write_text(str(os.getpid()))
        time.sleep(120)


@outbox.handler("test.batch")
def _batch(session: Session, job: OutboxJob) -> None:
    if job.payload.get("stall"):
        _slow_once(session, job)
        return
    assert job.org_id is not None
    notifications.notify(
        session,
        org_id=job.org_id,
        user_id=uuid.UUID(str(job.payload["user_id"])),
        kind="test.worker_kill",
        title=f"job {job.id}",
        dedupe_key=f"test.batch:{job.id}",
    )


if __name__ == "__main__":
    from app.worker import main

    raise SystemExit(main())
