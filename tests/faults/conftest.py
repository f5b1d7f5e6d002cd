"""The faults suite: the compiled app in the scaled mode, on services of its own to break.

`fault_services` starts a PostgreSQL, a Redis and an S3 server of the suite's own
(`scripts/testenv.sh`), so freezing the database or restarting Redis disturbs nothing else;
`e2e_app` (the name the e2e fixtures `new_context` and `app_services` expect) starts the app
on them with two backend workers and no job worker inside it, and `job_workers` starts
separate `python -m app.worker` processes, as production runs them.

The suite runs after every other test (`tests/e2e/conftest.py` orders it last), once per
session; each test leaves the services running and healthy for the next.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.models.user import Role
from app.services.comms import chat_channels
from app.services.core.tenancy import tenant_session
from tests import factories as f
from tests.e2e.conftest import (  # noqa: F401 (fixtures used by the faults tests)
    FAILED,
    app_services,
    chromium,
    e2e_smtp,
    inbox,
    new_context,
    sign_in,
    wait_ready,
)
from tests.e2e.launch import BIN_DIR, REPO_ROOT, E2EApp, Launched, launch_app
from tests.smtp_sink import SmtpSink


@dataclass
class FaultServices:
    """The suite's own PostgreSQL and Redis, and what it takes to break them."""

    env: dict[str, str]  # GUILDHALL_TEST_* as scripts/testenv.sh wrote them
    state: dict[str, str]  # PG_DATA, REDIS_PORT, REDIS_PIDFILE, ...
    directory: Path

    def pg_urls(self) -> dict[str, str]:
        return {n: self.env[f"GUILDHALL_TEST_PG_{n}_URL"] for n in ("OWNER", "APP", "SUPER")}

    def postgres_pids(self) -> list[int]:
        """The postmaster and every backend it forked (all of them must stop to freeze it)."""
        postmaster = int(Path(self.state["PG_DATA"], "postmaster.pid").read_text().split()[0])
        return [postmaster, *children_of(postmaster)]

    @contextlib.contextmanager
    def frozen_postgres(self) -> Iterator[None]:
        """PostgreSQL stopped dead (SIGSTOP), as a hung server or disk is: connections are
        accepted by the kernel and never answered. Thawed at the end, whatever happens."""
        pids = self.postgres_pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in self.postgres_pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    def restart_redis(self) -> None:
        """Stop Redis without saving (every key is lost, as on a crash of an unpersisted
        Redis) and start it again on the same port."""
        port = self.state["REDIS_PORT"]
        subprocess.run(
            ["redis-cli", "-h", "127.0.0.1", "-p", port, "shutdown", "nosave"],
            capture_output=True,
            timeout=10,
            check=False,
        )
        deadline = time.monotonic() + 10
        while _redis_answers(port) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # the app notices the broker is gone
        root = Path(self.state["REDIS_PIDFILE"]).parent
        subprocess.run(
            [
                "redis-server",
                "--port",
                port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
                "--pidfile",
                self.state["REDIS_PIDFILE"],
                "--logfile",
                str(root / "redis.log"),
                "--dir",
                str(root),
            ],
            capture_output=True,
            timeout=10,
            check=True,
        )
        deadline = time.monotonic() + 10
        while not _redis_answers(port):
            assert time.monotonic() < deadline, "Redis did not come back"
            time.sleep(0.1)


def _redis_answers(port: str) -> bool:
    done = subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", port, "ping"],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    )
    return done.stdout.strip() == "PONG"


def children_of(pid: int) -> list[int]:
    """Direct children of `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def descendants_of(pid: int) -> list[int]:
    """Every process below `pid`."""
    out, todo = [], [pid]
    while todo:
        for child in children_of(todo.pop()):
            out.append(child)
            todo.append(child)
    return out


def _read_exports(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            values[key] = value
    return values


def _read_state(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition("=")
        parsed = shlex.split(value)
        values[key] = parsed[0] if parsed else ""
    return values


@pytest.fixture(scope="package")
def fault_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultServices]:
    """A PostgreSQL, Redis and S3 of the suite's own."""
    directory = tmp_path_factory.mktemp("fault-services")
    script = REPO_ROOT / "scripts" / "testenv.sh"
    started = subprocess.run(
        ["bash", str(script), "start", str(directory)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if started.returncode != 0:
        pytest.fail(f"could not start the faults services:\n{started.stderr[-3000:]}")
    try:
        yield FaultServices(
            env=_read_exports(directory / "env"),
            state=_read_state(directory / "state"),
            directory=directory,
        )
    finally:
        subprocess.run(
            ["bash", str(script), "stop", str(directory)],
            capture_output=True,
            timeout=120,
            check=False,
        )


@pytest.fixture(scope="package")
def launched(
    tmp_path_factory: pytest.TempPathFactory,
    fault_services: FaultServices,
    e2e_smtp: SmtpSink,  # noqa: F811
) -> Iterator[Launched]:
    """The compiled app on the faults services: two backend workers, no in-process jobs."""
    with launch_app(
        tmp_path_factory.mktemp("fault-app"),
        smtp_port=e2e_smtp.port,
        pg_urls=fault_services.pg_urls(),
        redis_url=fault_services.env["GUILDHALL_TEST_REDIS_URL"],
        extra_env={"GUILDHALL_WORKER_IN_PROCESS": "false"},
    ) as app:
        yield app


@pytest.fixture(scope="package")
def e2e_app(launched: Launched) -> E2EApp:
    """The app under test, under the name the e2e fixtures use."""
    return launched.app


@dataclass
class JobWorkers:
    """`python -m app.worker` processes against the app's database."""

    env: dict[str, str]
    log_dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"worker-{len(self.procs)}.log").open("ab")
        proc = subprocess.Popen(
            [str(BIN_DIR / "python"), "-m", "app.worker"],
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=15)
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)


@pytest.fixture
def job_workers(launched: Launched, tmp_path: Path) -> Iterator[JobWorkers]:
    """Start job workers for one test (all stopped at its end)."""
    workers = JobWorkers(env=dict(launched.env), log_dir=tmp_path)
    try:
        yield workers
    finally:
        workers.stop_all()


def backend_workers(launched: Launched) -> list[int]:
    """The pids of granian's worker processes: the app's processes that hold a socket.io
    port... found as the children of granian's main process that are Python like it."""
    procs = descendants_of(launched.proc.pid)
    python = [p for p in procs if _cmdline(p).startswith(str(BIN_DIR))]
    # Granian's workers are forked from its main process: the leaves of the Python tree.
    return [p for p in python if not any(c in python for c in children_of(p))]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def wait_health(app: E2EApp, status: int, *, timeout: float) -> float:
    """Seconds until `/health` answers `status` (fails after `timeout`)."""
    started = time.monotonic()
    last = "no answer"
    while time.monotonic() - started < timeout:
        try:
            got = httpx.get(f"{app.base_url}/health", timeout=3).status_code
            if got == status:
                return time.monotonic() - started
            last = str(got)
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise AssertionError(f"/health did not answer {status} within {timeout} s (last: {last})")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


Services = Callable[[], contextlib.AbstractContextManager[None]]


@dataclass
class ChatRoom:
    """A new provider org's admin and a learner of it, and its General channel."""

    admin: f.SignedIn
    learner: f.SignedIn
    general: str
    new_context: Callable[[], BrowserContext]

    def open(self, person: f.SignedIn) -> Page:
        """A tab of its own for `person`, signed in, on General, its load events done."""
        page = self.new_context().new_page()
        sign_in(page, person.email, person.password)
        page.goto(f"/chat/{self.general}")
        wait_ready(page)
        expect(page.locator("#chat-channel-name")).to_have_text("General")
        return page


@pytest.fixture
def chat_room(new_context: Callable[[], BrowserContext], app_services: Services) -> ChatRoom:  # noqa: F811
    """A fresh org to chat in (the writer is its admin, the reader its learner)."""
    with app_services():
        admin = f.new_admin(kind="provider")
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
        with tenant_session(admin.ctx) as session:
            general = str(chat_channels.org_channel(session, admin.ctx).id)
    return ChatRoom(admin, learner, general, new_context)


def send(page: Page, text: str) -> None:
    """Type `text` into the chat composer and press Enter."""
    page.fill("#chat-composer", text)
    page.press("#chat-composer", "Enter")
