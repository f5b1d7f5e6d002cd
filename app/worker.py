"""The background worker: runs outbox jobs.

    python -m app.worker            # scaled mode: run as many of these as you like
    python -m app.worker --once     # run what is due now and exit

A worker claims each job as it starts it, so a worker killed mid-batch holds only the job
it was running (until that job's lease runs out); SIGTERM lets it finish that job and stop.

In the embedded mode (`make run`) the same loop runs on a thread inside the app process
(`start_in_process`), so no second process is needed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
import time
from types import FrameType

from app.services.credentials import reminders
from app.services.infra import outbox

log = logging.getLogger("guildhall.worker")

# Modules whose import registers job handlers.
HANDLER_MODULES = (
    "app.services.comms.mail",
    "app.services.learning.enrollment_jobs",
    "app.services.learning.lesson_completion",
    "app.services.credentials.certificates",
    "app.services.credentials.compliance_enrollment",
    "app.services.comms.announcements",
    "app.services.credentials.reminders",
)
POLL_SECONDS = 1.0
# How often a worker looks for due-soon and overdue mandatory training (one scan job per org
# per slot, however many workers look).
REMINDER_SECONDS = 15 * 60


def load_handlers() -> None:
    """Import every module that registers a job handler."""
    for name in HANDLER_MODULES:
        importlib.import_module(name)


def loop(stop: threading.Event, *, worker: str | None = None) -> None:
    """Run due jobs until `stop` is set; sleep briefly when there is nothing to do."""
    load_handlers()
    name = worker or outbox.worker_name()
    next_reminders = time.monotonic() + 60
    while not stop.is_set():
        if time.monotonic() >= next_reminders:
            next_reminders = time.monotonic() + REMINDER_SECONDS
            try:
                reminders.run_reminders()
            except Exception:  # reminders must not stop the jobs
                log.exception("reminder pass failed")
        try:
            ran = outbox.run_due(worker=name, stop=stop.is_set)
        except Exception:  # a database hiccup must not kill the worker
            log.exception("worker pass failed")
            ran = 0
        if not ran:
            stop.wait(POLL_SECONDS)


_thread: threading.Thread | None = None
_stop = threading.Event()


def start_in_process() -> None:
    """Start the embedded worker thread once per process."""
    global _thread
    if _thread is not None and _thread.is_alive():
        return
    _stop.clear()
    _thread = threading.Thread(target=loop, args=(_stop,), name="guildhall-worker", daemon=True)
    _thread.start()


def stop_in_process() -> None:
    """Ask the embedded worker thread to stop."""
    _stop.set()


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Run Guildhall's outbox jobs.")
    parser.add_argument("--once", action="store_true", help="run what is due now and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    load_handlers()
    if args.once:
        print(f"ran {outbox.run_due()} job(s)")
        return 0
    stop = threading.Event()

    def _graceful(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _graceful)
    signal.signal(signal.SIGINT, _graceful)
    log.info("worker %s started", outbox.worker_name())
    loop(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
