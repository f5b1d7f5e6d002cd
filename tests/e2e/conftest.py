"""End-to-end fixtures: the compiled app in a subprocess, and Chromium driving it.

How the pieces fit:

* `e2e_app`: prepares a database, migrates it, starts `reflex run --env prod` on a free port
  and waits for `GET /health`; at the end it kills the whole process group and drops the
  database. It is package-scoped and the e2e tests are ordered last and together
  (`pytest_collection_modifyitems`), so the app starts once per pytest session and stops
  before the rest of the suite would have to share the CPU with it.

  - Scaled mode (what `make test` runs; `GUILDHALL_TEST_PG_*` and `GUILDHALL_TEST_REDIS_URL`
    set): a fresh PostgreSQL database `guildhall_e2e_<random>` owned by `guildhall_owner`,
    migrated as the owner, with the app connecting as `guildhall_app` (row-level security
    applies); Redis db 1 for the state manager and rate limits; two backend workers
    (`GRANIAN_WORKERS=2`), so consecutive events of one tab may land on different workers.
  - Embedded mode (those variables unset, e.g. a developer running `pytest tests/e2e`
    alone): a SQLite file, no Redis, one worker.

  The app compiles into its own web directory (`REFLEX_WEB_WORKDIR`, default
  `.venv/e2e-web`, seeded from `.web` when that has `node_modules`) and its own states
  directory, so a developer's `make run` on the same checkout is not disturbed. Its output
  goes to `app.log` in a pytest temp directory (path printed on failure).

* `chromium`: one Debian Chromium per session, package-scoped too: while Playwright's sync
  API is alive it leaves its event loop marked as running in the main thread, and
  `asyncio.run`/`asyncio.Runner` in later tests (tests/state) would fail.

* `new_context` (function): a factory of fresh browser contexts (cookie jars) for one test;
  every page of a failed test is screenshotted into `/tmp/e2e-shots/`.

* `app_services`: a context manager that points `app.services` in the test process at the
  e2e database, for setting up data whose UI is covered by another journey.

Pages load over a websocket: tests wait for specific elements, never for fixed times. Each
navigation that asserts "not found" / "not allowed" opens a *new tab* (`open_page`): a new
tab has a new Reflex client token and so starts from the default state; the page can only
show the verdict after its on-load event ran, never stale state of an earlier visit.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright
from sqlalchemy import create_engine, make_url, pool, text

from app import db
from app.services import broker
from app.settings import get_settings
from tests.smtp_sink import Inbox, SmtpSink

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = Path(sys.executable).parent
CHROMIUM = os.environ.get("GUILDHALL_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Lesson videos play in tests without a click, silently.
    "--autoplay-policy=no-user-gesture-required",
    "--mute-audio",
]
SHOTS_DIR = Path(os.environ.get("GUILDHALL_E2E_SHOTS", "/tmp/e2e-shots"))
WEB_DIR = Path(os.environ.get("GUILDHALL_E2E_WEB_DIR", str(REPO_ROOT / ".venv" / "e2e-web")))
START_TIMEOUT = float(os.environ.get("GUILDHALL_E2E_START_TIMEOUT", "300"))
REDIS_DB = os.environ.get("GUILDHALL_E2E_REDIS_DB", "1")
# How long a UI expectation may take (websocket round trips on a loaded 2-core machine).
UI_TIMEOUT_MS = 20_000

OWNER_ROLE = "guildhall_owner"
APP_ROLE = "guildhall_app"
PASSWORD = "Sturdy-lantern-42"

# Settings of the developer's shell that must not leak into the app under test.
_SCRUB_PREFIXES = ("GUILDHALL_", "GRANIAN_")
_SCRUB_NAMES = ("REFLEX_REDIS_URL", "REFLEX_DB_URL", "REFLEX_WEB_WORKDIR", "REFLEX_STATES_WORKDIR")

# Reflex calls these hooks (its OpenTelemetry seam) when the websocket connects/disconnects;
# `wait_ready` waits for the flag, which means the page is hydrated and events go through.
_SOCKET_PROBE = """
window.__reflex_otel = {
  onSocketConnect() { window.__e2eSocketUp = true; },
  onSocketDisconnect() { window.__e2eSocketUp = false; },
};
"""

expect.set_options(timeout=UI_TIMEOUT_MS)


# --------------------------------------------------------------------------- helpers


def unique(prefix: str) -> str:
    """`prefix` with a short random suffix."""
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def unique_email(prefix: str) -> str:
    """A fresh address on a real-looking domain (email-validator refuses .test/.local)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


def wait_ready(page: Page) -> None:
    """Wait until the page is hydrated and its websocket is connected."""
    page.wait_for_function("window.__e2eSocketUp === true", timeout=UI_TIMEOUT_MS)


def open_page(context: BrowserContext, path: str, selector: str) -> Page:
    """Open `path` in a new tab (fresh Reflex state) and wait for `selector` to show."""
    page = context.new_page()
    page.goto(path)
    expect(page.locator(selector).first).to_be_visible()
    return page


# Elements that show a tenant's data; a "not found" / "not allowed" page has none of them.
DATA_SELECTORS = ("#org-detail-name", "#org-tree", "#members-table", "#audit-table", "#mail-list")


def open_refused(context: BrowserContext, path: str, verdict: str) -> Page:
    """Open `path` in a new tab and check it shows `verdict` (`#not-found` or `#not-allowed`)
    and no data; if it shows data instead, fail at once and say what leaked."""
    page = context.new_page()
    page.goto(path)
    expect(page.locator(", ".join((verdict, *DATA_SELECTORS))).first).to_be_visible()
    for selector in DATA_SELECTORS:
        shown = page.locator(selector)
        if shown.count():
            pytest.fail(
                f"{path} should show {verdict}, but shows {selector}: "
                f"{shown.first.inner_text()[:300]!r}",
                pytrace=False,
            )
    expect(page.locator(verdict)).to_be_visible()
    return page


def sign_up(
    page: Page,
    *,
    email: str,
    org_name: str,
    full_name: str = "Ada Admin",
    password: str = PASSWORD,
    kind: str = "provider",
) -> None:
    """Fill and submit the sign-up form (on /signup); does not wait for the outcome (the
    "check your email" notice, or a field error). `confirm_sign_up` finishes it."""
    if "/signup" not in page.url:
        page.goto("/signup")
    wait_ready(page)
    page.fill("#field-full_name", full_name)
    page.fill("#field-email", email)
    page.fill("#field-password", password)
    page.fill("#field-org_name", org_name)
    page.select_option("#field-org_kind", kind)
    page.click("#signup-submit")


def confirm_sign_up(page: Page, inbox: Inbox, email: str) -> None:
    """After `sign_up`: wait for "check your email", open the mailed link in the same tab and
    wait for the new admin's dashboard."""
    expect(page.locator("#signup-check-email")).to_contain_text(email)
    page.goto(inbox.wait_link(email, "/signup/confirm/"))
    page.wait_for_url("**/dashboard**")
    expect(page.locator("#dashboard-role")).to_be_visible()


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through /signin and wait for the dashboard."""
    page.goto("/signin")
    wait_ready(page)
    page.fill("#field-email", email)
    page.fill("#field-password", password)
    page.click("#signin-submit")
    page.wait_for_url("**/dashboard**")
    expect(page.locator("#dashboard-role")).to_be_visible()


def accept_invite(page: Page, link: str, *, full_name: str, password: str = PASSWORD) -> None:
    """Open an invite link as a visitor, create the account and wait for the dashboard."""
    if page.url != link:
        page.goto(link)
    expect(page.locator("#invite-heading")).to_be_visible()
    wait_ready(page)
    page.fill("#field-full_name", full_name)
    page.fill("#field-password", password)
    page.click("#invite-accept")
    page.wait_for_url("**/dashboard**")
    expect(page.locator("#dashboard-role")).to_be_visible()


def nav_links(page: Page) -> set[str]:
    """The `data-nav` targets of the side navigation."""
    expect(page.locator("#side-nav a[data-nav='/dashboard']")).to_be_visible()
    hrefs = page.locator("#side-nav a[data-nav]").evaluate_all(
        "els => els.map(e => e.getAttribute('data-nav'))"
    )
    return set(hrefs)


# --------------------------------------------------------------------------- the app


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


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _with_database(url: str, name: str) -> str:
    parsed = make_url(url).set(database=name, drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def _redis_url(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _admin_sql(super_url: str, *statements: str) -> None:
    engine = create_engine(
        db.postgres_driver_url(super_url), isolation_level="AUTOCOMMIT", poolclass=pool.NullPool
    )
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def _base_env() -> dict[str, str]:
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


def _migrate(env: dict[str, str], log_path: Path) -> None:
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


def _prepare_web_dir() -> None:
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


def _stop(proc: subprocess.Popen[bytes]) -> None:
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


def _wait_healthy(proc: subprocess.Popen[bytes], app: E2EApp) -> None:
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
            _stop(proc)
            pytest.fail(
                f"the app was not healthy after {START_TIMEOUT:.0f} s (last: {last}; "
                f"log: {app.log_path}):\n{app.log_tail()}",
                pytrace=False,
            )
        time.sleep(0.5)


@pytest.fixture(scope="package")
def e2e_smtp() -> Iterator[SmtpSink]:
    """The SMTP server the app under test sends all its mail to (started before the app)."""
    sink = SmtpSink()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def inbox(e2e_smtp: SmtpSink) -> Inbox:
    """What the app under test mailed (reset, invite and sign-up links included)."""
    return e2e_smtp.inbox


@pytest.fixture(scope="package")
def e2e_app(tmp_path_factory: pytest.TempPathFactory, e2e_smtp: SmtpSink) -> Iterator[E2EApp]:
    """The compiled app, started once per session (see the module docstring)."""
    workdir = tmp_path_factory.mktemp("e2e-app")
    log_path = workdir / "app.log"
    log_path.touch()
    port = _free_port()
    base_url = f"http://localhost:{port}"
    env = _base_env()
    env.update(
        GUILDHALL_PORT=str(port),
        GUILDHALL_BASE_URL=base_url,
        REFLEX_WEB_WORKDIR=str(WEB_DIR),
        REFLEX_STATES_WORKDIR=str(workdir / "states"),
        GUILDHALL_STORAGE_DIR=str(workdir / "files"),
        # Mail goes out over SMTP, as in production: links reach people only by mail.
        GUILDHALL_SMTP_HOST="127.0.0.1",
        GUILDHALL_SMTP_PORT=str(e2e_smtp.port),
    )

    pg_urls = {
        name: os.environ.get(f"GUILDHALL_TEST_PG_{name}_URL", "")
        for name in ("OWNER", "APP", "SUPER")
    }
    redis_url = os.environ.get("GUILDHALL_TEST_REDIS_URL", "")
    db_name = ""
    if all(pg_urls.values()) and redis_url:
        mode = "scaled"
        db_name = f"guildhall_e2e_{uuid.uuid4().hex[:10]}"
        _admin_sql(
            pg_urls["SUPER"],
            f'CREATE DATABASE "{db_name}" OWNER {OWNER_ROLE}',
            f'GRANT CONNECT ON DATABASE "{db_name}" TO {APP_ROLE}',
        )
        database_url = _with_database(pg_urls["APP"], db_name)
        _migrate(
            {
                **env,
                "GUILDHALL_DATABASE_URL": database_url,
                "GUILDHALL_MIGRATE_DATABASE_URL": _with_database(pg_urls["OWNER"], db_name),
                "GUILDHALL_DB_APP_ROLE": APP_ROLE,
            },
            log_path,
        )
        app_redis = _redis_url(redis_url, REDIS_DB)
        env.update(
            GUILDHALL_DATABASE_URL=database_url,
            GUILDHALL_REDIS_URL=app_redis,
            REFLEX_REDIS_URL=app_redis,
            GRANIAN_WORKERS="2",
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
        _migrate({**env, "GUILDHALL_DATABASE_URL": database_url}, log_path)
        env["GUILDHALL_DATABASE_URL"] = database_url

    app = E2EApp(
        base_url=base_url,
        mode=mode,
        database_url=database_url,
        log_path=log_path,
        storage_dir=env["GUILDHALL_STORAGE_DIR"],
        redis_url=env.get("GUILDHALL_REDIS_URL", ""),
    )
    _prepare_web_dir()
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
        _wait_healthy(proc, app)
        yield app
    finally:
        _stop(proc)
        db.dispose_engines()
        if db_name:
            _admin_sql(pg_urls["SUPER"], f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


@pytest.fixture
def app_services(e2e_app: E2EApp) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """`with app_services(): ...` runs `app.services` against the e2e database."""

    @contextlib.contextmanager
    def active() -> Iterator[None]:
        names = (
            "GUILDHALL_DATABASE_URL",
            "GUILDHALL_BASE_URL",
            "GUILDHALL_REDIS_URL",
            "GUILDHALL_SMTP_HOST",
            "GUILDHALL_MIGRATE_DATABASE_URL",
            "GUILDHALL_STORAGE_DIR",
            "GUILDHALL_S3_BUCKET",
        )
        saved = {name: os.environ.get(name) for name in names}
        for name in names:
            os.environ.pop(name, None)
        os.environ["GUILDHALL_DATABASE_URL"] = e2e_app.database_url
        os.environ["GUILDHALL_BASE_URL"] = e2e_app.base_url
        os.environ["GUILDHALL_STORAGE_DIR"] = e2e_app.storage_dir
        if e2e_app.redis_url:  # what the services publish reaches the app's workers
            os.environ["GUILDHALL_REDIS_URL"] = e2e_app.redis_url
        get_settings.cache_clear()
        db.dispose_engines()
        broker.reset_broker()
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            get_settings.cache_clear()
            db.dispose_engines()
            broker.reset_broker()

    return active


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One Chromium for the session (see the module docstring for the scope)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} not found (apt-get install chromium, or run `make test`)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the e2e tests last and together: faster tests fail first, and the app and the
    browser (package-scoped) are started once and stopped before anything else runs."""
    here = Path(__file__).parent
    e2e = [item for item in items if here in item.path.parents]
    if e2e:
        rest = [item for item in items if here not in item.path.parents]
        items[:] = rest + e2e
    for item in e2e:
        item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if report.failed:
        item.stash[_FAILED] = True
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def new_context(
    request: pytest.FixtureRequest, chromium: Browser, e2e_app: E2EApp
) -> Iterator[Callable[[], BrowserContext]]:
    """A factory of fresh browser contexts (own cookies) on the app's base URL."""
    contexts: list[BrowserContext] = []

    def make() -> BrowserContext:
        context = chromium.new_context(
            base_url=e2e_app.base_url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        context.add_init_script(_SOCKET_PROBE)
        contexts.append(context)
        return context

    yield make
    if request.node.stash.get(_FAILED, False):
        SHOTS_DIR.mkdir(parents=True, exist_ok=True)
        for i, context in enumerate(contexts):
            for j, page in enumerate(context.pages):
                path = SHOTS_DIR / f"{request.node.name}-ctx{i}-page{j}.png"
                with contextlib.suppress(Exception):
                    page.screenshot(path=str(path), full_page=True)
                    print(f"screenshot: {path} ({page.url})")
        print(f"app log: {e2e_app.log_path}\n{e2e_app.log_tail(30)}")
    for context in contexts:
        with contextlib.suppress(Exception):
            context.close()
