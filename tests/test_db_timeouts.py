"""Nothing waits on a hung PostgreSQL: a frozen server (SIGSTOP, so the kernel still accepts
and acknowledges) fails a query on an open pooled connection within the deadline, fails a
new connection within the connect timeout, and once it is thawed the same engine works
again without a restart. On a PostgreSQL of the test's own, so nothing else freezes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app import db
from tests.faults.conftest import children_of

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, list[int]]]:
    """(superuser URL, pids to freeze) of a throwaway PostgreSQL."""
    if not (shutil.which("redis-server") and Path("/usr/lib/postgresql/15/bin/initdb").exists()):
        pytest.skip("needs PostgreSQL 15 and Redis (run through `make test`)")
    directory = tmp_path_factory.mktemp("own-pg")
    script = str(REPO_ROOT / "scripts" / "testenv.sh")
    subprocess.run(["bash", script, "start", str(directory)], check=True, capture_output=True)
    try:
        env = dict(
            line[len("export ") :].split("=", 1)
            for line in (directory / "env").read_text().splitlines()
            if line.startswith("export ")
        )
        state = dict(line.split("=", 1) for line in (directory / "state").read_text().splitlines())
        data = state["PG_DATA"].strip("'")
        yield (
            env["GUILDHALL_TEST_PG_SUPER_URL"],
            [int(Path(data, "postmaster.pid").read_text().split()[0])],
        )
    finally:
        subprocess.run(["bash", script, "stop", str(directory)], capture_output=True, check=False)


@contextlib.contextmanager
def frozen(postmaster: int) -> Iterator[None]:
    pids = [postmaster, *children_of(postmaster)]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in [postmaster, *children_of(postmaster), *pids]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)


def test_a_frozen_database_fails_fast_and_the_engine_recovers(
    own_postgres: tuple[str, list[int]], settings_env
) -> None:
    url, (postmaster,) = own_postgres
    settings_env(
        db_connect_timeout_seconds=2, db_statement_timeout_seconds=2, db_deadline_margin_seconds=1
    )
    engine = db._postgres_engine(url)
    try:
        with engine.connect() as conn:  # a pooled connection, open before the freeze
            assert conn.execute(text("SELECT 1")).scalar() == 1
        with frozen(postmaster):
            started = time.monotonic()
            with pytest.raises(OperationalError), engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            on_pooled = time.monotonic() - started
            started = time.monotonic()
            with pytest.raises(OperationalError), engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            on_new = time.monotonic() - started
        print(
            f"frozen database: pooled connection failed in {on_pooled:.1f} s, new in {on_new:.1f} s"
        )
        # ping (3 s deadline) plus a reconnect bounded by the connect timeout (2 s)
        assert on_pooled < 7 and on_new < 4
        with engine.connect() as conn:  # thawed: the same engine works again
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_a_slow_statement_is_cancelled_by_the_server(
    own_postgres: tuple[str, list[int]], settings_env
) -> None:
    url, _ = own_postgres
    settings_env(db_statement_timeout_seconds=1)
    engine = db._postgres_engine(url)
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"), engine.connect() as conn:
            conn.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 3
    finally:
        engine.dispose()
