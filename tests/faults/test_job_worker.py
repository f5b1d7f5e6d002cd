"""A job worker killed outright in the middle of a batch of mail: another worker takes over
the jobs it had not finished within seconds (each job has its own lease), and every message
arrives exactly once."""

from __future__ import annotations

import collections
import os
import signal
import time

import pytest

from app.models.user import Role
from app.settings import get_settings
from tests import factories as f
from tests.faults.conftest import JobWorkers, Services
from tests.smtp_sink import SmtpSink

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

INVITES = 40


def test_a_killed_job_worker_loses_and_doubles_no_mail(
    job_workers: JobWorkers,
    app_services: Services,
    e2e_smtp: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbox = e2e_smtp.inbox
    with app_services():
        # As the app does: the invites' mail is queued for the job workers to send.
        monkeypatch.setenv("GUILDHALL_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("GUILDHALL_SMTP_PORT", str(e2e_smtp.port))
        get_settings.cache_clear()
        admin = f.new_admin(kind="provider")
        emails = [f.invite(admin.ctx, Role.learner)[0] for _ in range(INVITES)]

    first = job_workers.start()
    deadline = time.monotonic() + 60
    while not any(inbox.to(e) for e in emails):
        assert time.monotonic() < deadline, "the first worker sent nothing"
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    killed = time.monotonic()
    first.wait(timeout=10)
    sent_by_first = sum(1 for e in emails if inbox.to(e))

    job_workers.start()
    deadline = time.monotonic() + 90
    while not all(inbox.to(e) for e in emails):
        missing = [e for e in emails if not inbox.to(e)]
        assert time.monotonic() < deadline, f"{len(missing)} invites never arrived"
        time.sleep(0.2)
    took = time.monotonic() - killed
    print(f"first worker sent {sent_by_first} before the kill; the rest arrived {took:.1f} s after")
    time.sleep(3)  # a late duplicate would arrive now
    counts = collections.Counter(str(m["To"]).lower() for m in inbox.messages)
    doubled = {e: counts[e.lower()] for e in emails if counts[e.lower()] != 1}
    assert not doubled, f"invites not delivered exactly once: {doubled}"
    assert took < 45, f"the dead worker's jobs waited {took:.0f} s for another worker"
