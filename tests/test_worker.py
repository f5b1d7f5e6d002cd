"""The worker loop picks up jobs by itself (the embedded thread and `python -m app.worker`);
when a worker process is killed, another takes its jobs over promptly (the ones it had not
started at once), and a message it was sending is delivered at most once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, col

from app import worker
from app.models.base import utcnow
from app.models.notification import Notification
from app.models.outbox import OutboxJob
from app.services.comms import mail
from app.services.core.tenancy import scoped, tenant_session
from app.services.infra import outbox
from app.services.people import invites
from tests import factories as f
from tests import outbox_helpers as oh
from tests.smtp_sink import Inbox, SlowSmtpSink

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
    # GUILDHALL_TEST_WORKER_LOG: where the worker processes write (to debug these tests).
    out = open(os.environ.get("GUILDHALL_TEST_WORKER_LOG", os.devnull), "ab")  # noqa: SIM115
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.worker_kill_handlers"],
            env=tmp_env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        out.close()


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
            col(Notification.dedupe_key).in_([f"test.slow_once:{job_id}", f"test.batch:{job_id}"])
        )
        return len(session.exec(mine).all())


# --------------------------------------------------------------------------- kills, with mail


def _mail_row(peek: Callable[..., list[Any]], email: str) -> tuple[Any, ...]:
    ((row),) = peek(
        "SELECT status, message_id, sealed_body, send_attempt, handed_over_at"
        " FROM outbound_emails WHERE to_email = :to",
        to=email,
    )
    return tuple(row)


def _invite_mail_job(admin: f.SignedIn, email: str) -> uuid.UUID:
    """Invite `email` (a message with a sealed link, sent by a `mail.send` job)."""
    with tenant_session(admin.ctx) as session:
        invites.do_invite(session, admin.ctx, email=email, role="learner")
        job = session.exec(
            scoped(admin.ctx, OutboxJob).where(OutboxJob.kind == mail.SEND_JOB)
        ).one()
        return job.id


def _kill_mid_send(
    settings_env: Callable[..., None], *, stall: str
) -> tuple[f.SignedIn, str, uuid.UUID, Inbox]:
    """A real worker process sends an invite to an SMTP server that stalls at `stall`; it is
    SIGKILLed there, and a second worker process takes the job over (its lease is 2 s)."""
    admin = f.new_admin()
    email = f.unique_email(f"kill-{stall}")
    sink = SlowSmtpSink(stall=stall, recipient=email)
    try:
        settings_env(smtp_host="127.0.0.1", smtp_port=sink.port, outbox_lease_seconds=2)
        job_id = _invite_mail_job(admin, email)
        env = dict(os.environ)
        first = _start_worker(env)
        try:
            assert sink.slow.stalled.wait(60), "the first worker never reached the server"
            first.kill()  # SIGKILL while the server holds its answer
            first.wait(timeout=10)
        finally:
            if first.poll() is None:
                first.kill()
        sink.slow.release()
        second = _start_worker(env)
        try:
            assert _wait(lambda: oh.status(job_id) == "done", 60), oh.job(job_id)
            time.sleep(1)  # a late second delivery would arrive now
        finally:
            second.terminate()
            second.wait(timeout=20)
        return admin, email, job_id, sink.inbox
    finally:
        sink.stop()


def test_a_worker_killed_while_the_server_accepts_a_mail_never_sends_it_again(
    settings_env: Callable[..., None], peek: Callable[..., list[Any]]
) -> None:
    """The server has the whole message but has not said "250 OK" when the worker dies: the
    message may have been delivered, so the next worker does not send it again (at most
    once) and the mail log says it is unconfirmed; the link is not kept."""
    _admin, email, job_id, inbox = _kill_mid_send(settings_env, stall="data")
    delivered = inbox.to(email)
    assert len(delivered) == 1, f"delivered {len(delivered)} times"
    status, message_id, sealed, attempt, handed_over = _mail_row(peek, email)
    assert message_id and delivered[0]["Message-ID"] == message_id
    assert (status, sealed, attempt) == ("unconfirmed", None, 1)
    assert handed_over is not None
    done = oh.job(job_id)
    assert done is not None and done.attempts == 2


def test_a_worker_killed_before_the_server_has_the_mail_leaves_it_to_be_sent_once(
    settings_env: Callable[..., None], peek: Callable[..., list[Any]]
) -> None:
    """Killed while the server sits on RCPT (it has no message yet): the next worker sends
    it, with the Message-ID the row was given when it was queued."""
    _admin, email, _job_id, inbox = _kill_mid_send(settings_env, stall="rcpt")
    delivered = inbox.to(email)
    assert len(delivered) == 1, f"delivered {len(delivered)} times"
    status, message_id, sealed, attempt, _handed_over = _mail_row(peek, email)
    assert message_id and delivered[0]["Message-ID"] == message_id
    assert (status, sealed, attempt) == ("sent", None, 2)


# --------------------------------------------------------------------------- kills, a batch

BATCH = 20
# How soon another worker must have run the jobs a killed worker had not started: a worker
# process starting on a loaded 2-core box, plus its poll interval, with room to spare. One
# lease per batch made them wait the whole lease (120 s then).
TAKEOVER_BOUND_SECONDS = 30.0


def test_the_jobs_a_killed_worker_had_not_started_are_run_by_another_at_once(
    tmp_path: Path,
) -> None:
    """A worker (batch size 50, lease 120 s) is SIGKILLed in the first of 21 jobs. Another
    worker runs the other 20 within seconds, each once, and none of them lost an attempt to
    the dead worker; the job it died in waits for its own lease."""
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        payload = {"user_id": str(admin.user_id)}
        stalled = outbox.enqueue(
            session,
            kind="test.batch",
            payload={**payload, "stall": True},
            org_id=admin.ctx.org_id,
        )
        session.commit()
        quick = []
        for _ in range(BATCH):
            quick.append(
                outbox.enqueue(
                    session, kind="test.batch", payload=payload, org_id=admin.ctx.org_id
                ).id
            )
        session.commit()
    stall = tmp_path / "stalled"
    env = dict(os.environ, GUILDHALL_OUTBOX_LEASE_SECONDS="120", GUILDHALL_OUTBOX_BATCH_SIZE="50")
    first = _start_worker({**env, "GUILDHALL_TEST_STALL_FILE": str(stall)})
    try:
        assert _wait(stall.exists, 60), "the first worker never reached the stalling job"
        first.kill()
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    killed = time.monotonic()
    second = _start_worker(env)
    try:
        all_done = _wait(lambda: all(oh.status(j) == "done" for j in quick), TAKEOVER_BOUND_SECONDS)
        took = time.monotonic() - killed
        print(f"the {BATCH} jobs the killed worker had not started were done {took:.1f} s after")
        left = [j for j in quick if oh.status(j) != "done"]
        assert all_done, f"{len(left)} of {BATCH} still waiting {took:.0f} s after the kill"
        assert [oh.job(j).attempts for j in quick] == [1] * BATCH  # type: ignore[union-attr]
        held = oh.job(stalled.id)
        assert held is not None and (held.status, held.attempts) == ("running", 1)

        oh.update_job(stalled.id, locked_until=utcnow() - timedelta(seconds=1))  # lease over
        assert _wait(lambda: oh.status(stalled.id) == "done", 30), oh.job(stalled.id)
    finally:
        second.terminate()
        second.wait(timeout=20)
    assert _effects(admin, stalled.id) == 1
