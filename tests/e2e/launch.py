"""Starting the compiled app in a subprocess, for the e2e journeys and the faults suite.

`launch_app` prepares a database (a fresh PostgreSQL database migrated as the owner role, the
app connecting as the non-owner role, in the scaled mode; a SQLite file in the embedded
mode), starts `reflex run --env prod` on a free port, waits for `GET /health` and, at the end,
kills the whole process group and drops the database. See tests/e2e/conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from sqlalchemy import create_engine, make_url, pool, text

from app import db

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
WEB_DIR = Path(os.environ.get("GUILDHALL_E2E_WEB_DIR", str(REPO_ROOT / ".venv" / "e2e-web")))
START_TIMEOUT = float(os.environ.get("GUILDHALL_E2E_START_TIMEOUT", "300"))

OWNER_ROLE = "guildhall_owner"
APP_ROLE = "guildhall_app"

# Settings of the developer's shell that must not leak into the app under test.
_SCRUB_PREFIXES = ("GUILDHALL_", "GRANIAN_")
_SCRUB_NAMES = ("REFLEX_REDIS_URL", "REFLEX_DB_URL", "REFLEX_WEB_WORKDIR", "REFLEX_STATES_WORKDIR")


@dataclass(frozen=True)
class E2EApp:
    """The running app under test."""

    base_url: str
    mode: str  # "scaled" (PostgreSQL + Redis, 2 workers) or "embedded" (SQLite)
    database_url: str  # what the app connects with
    log_path: Path
    storage_dir: str  # the app's local file storage (lesson media, certificates)
    redis_url: str = ""  # the app's Redis (scaled mode): the tests publish on it too

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def with_database(url: str, name: str) -> str:
    parsed = make_url(url).set(database=name, drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def redis_url_for(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def admin_sql(super_url: str, *statements: str) -> None:
    engine = create_engine(
        db.postgres_driver_url(super_url), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
    )
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUB_PREFIXES) and k not in _SCRUB_NAMES
    }
    env.update(
        REFLEX_USE_SYSTEM_BUN="1",
        REFLEX_TELEMETRY_ENABLED="false",
        REFLEX_CHECK_LATEST_VERSION="false",
        PYTHONUNBUFFERED="1",
        GUILDHALL_ARGON2_TIME_COST="1",
        GUILDHALL_ARGON2_MEMORY_COST="8192",
    )
    return env


def migrate(env: dict[str, str], log_path: Path) -> None:
    with log_path.open("ab") as log:
        done = subprocess.run(
            [str(BIN_DIR / "alembic"), "upgrade", "head"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=120,
            check=False,
        )
    if done.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        pytest.fail(f"alembic upgrade head failed:\n{tail}", pytrace=False)


def prepare_web_dir() -> None:
    """Seed the e2e web directory from `.web` so the first run skips `bun install`."""
    if WEB_DIR.exists():
        return
    source = REPO_ROOT / ".web"
    if not (source / "node_modules").is_dir():
        return  # Reflex initializes the directory itself (first `bun install`: ~2 minutes)
    staging = WEB_DIR.with_name(f"{WEB_DIR.name}.tmp-{os.getpid()}")
    try:
        shutil.copytree(
            source,
            staging,
            symlinks=True,
            # Only the top-level build output; packages in node_modules have `build` dirs too.
            ignore=lambda d, _names: ["build"] if Path(d) == source else [],
        )
        staging.rename(WEB_DIR)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the app and everything it started (its own process group)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=15)
    # Workers may outlive the supervisor briefly: make sure the whole group is gone.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def wait_healthy(proc: subprocess.Popen[bytes], app: E2EApp) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while True:
        code = proc.poll()
        if code is not None:
            pytest.fail(
                f"the app exited with code {code} before it was healthy "
                f"(log: {app.log_path}):\n{app.log_tail()}",
                pytrace=False,
            )
        try:
            response = httpx.get(f"{app.base_url}/health", timeout=3)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        if time.monotonic() > deadline:
            stop(proc)
            pytest.fail(
                f"the app was not healthy after {START_TIMEOUT:.0f} s (last: {last}; "
                f"log: {app.log_path}):\n{app.log_tail()}",
                pytrace=False,
            )
        time.sleep(0.5)


@dataclass(frozen=True)
class Launched:
    """A started app: what tests read, and its supervisor process (to signal its workers)."""

    app: E2EApp
    proc: subprocess.Popen[bytes]
    env: dict[str, str]


@contextlib.contextmanager
def launch_app(
    workdir: Path,
    *,
    smtp_port: int,
    pg_urls: Mapping[str, str],
    redis_url: str,
    redis_db: str = "1",
    workers: int = 2,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Launched]:
    """Start the compiled app (scaled mode when `pg_urls` has OWNER/APP/SUPER and
    `redis_url` is set, else embedded) and stop it, and drop its database, at the end."""
    log_path = workdir / "app.log"
    log_path.touch()
    port = free_port()
    base_url = f"http://localhost:{port}"
    env = base_env()
    env.update(
        GUILDHALL_PORT=str(port),
        GUILDHALL_BASE_URL=base_url,
        REFLEX_WEB_WORKDIR=str(WEB_DIR),
        REFLEX_STATES_WORKDIR=str(workdir / "states"),
        GUILDHALL_STORAGE_DIR=str(workdir / "files"),
        # Mail goes out over SMTP, as in production: links reach people only by mail.
        GUILDHALL_SMTP_HOST="127.0.0.1",
        GUILDHALL_SMTP_PORT=str(smtp_port),
    )
    db_name = ""
    if all(pg_urls.get(name) for name in ("OWNER", "APP", "SUPER")) and redis_url:
        mode = "scaled"
        db_name = f"guildhall_e2e_{uuid.uuid4().hex[:10]}"
        admin_sql(
            pg_urls["SUPER"],
            f'CREATE DATABASE "{db_name}" OWNER {OWNER_ROLE}',
            f'GRANT CONNECT ON DATABASE "{db_name}" TO {APP_ROLE}',
        )
        database_url = with_database(pg_urls["APP"], db_name)
        migrate(
            {
                **env,
                "GUILDHALL_DATABASE_URL": database_url,
                "GUILDHALL_MIGRATE_DATABASE_URL": with_database(pg_urls["OWNER"], db_name),
                "GUILDHALL_DB_APP_ROLE": APP_ROLE,
            },
            log_path,
        )
        app_redis = redis_url_for(redis_url, redis_db)
        env.update(
            GUILDHALL_DATABASE_URL=database_url,
            GUILDHALL_REDIS_URL=app_redis,
            REFLEX_REDIS_URL=app_redis,
            GRANIAN_WORKERS=str(workers),
        )
    else:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(
                "e2e tests in CI need GUILDHALL_TEST_PG_*_URL and GUILDHALL_TEST_REDIS_URL "
                "(run them through `make test`)",
                pytrace=False,
            )
        mode = "embedded"
        database_url = f"sqlite:///{workdir / 'guildhall.db'}"
        migrate({**env, "GUILDHALL_DATABASE_URL": database_url}, log_path)
        env["GUILDHALL_DATABASE_URL"] = database_url
    env.update(extra_env or {})

    app = E2EApp(
        base_url=base_url,
        mode=mode,
        database_url=database_url,
        log_path=log_path,
        storage_dir=env["GUILDHALL_STORAGE_DIR"],
        redis_url=env.get("GUILDHALL_REDIS_URL", ""),
    )
    prepare_web_dir()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [str(BIN_DIR / "reflex"), "run", "--env", "prod"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_healthy(proc, app)
        yield Launched(app=app, proc=proc, env=env)
    finally:
        stop(proc)
        db.dispose_engines()
        if db_name:
            admin_sql(pg_urls["SUPER"], f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
