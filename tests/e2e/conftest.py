"""End-to-end fixtures: the compiled app in a subprocess, and Chromium driving it.

How the pieces fit:

* `e2e_app`: prepares a database, migrates it, starts `reflex run --env prod` on a free port
  and waits for `GET /health`; at the end it kills the whole process group and drops the
  database (`tests/e2e/launch.py`, which the faults suite in tests/faults uses too). It is
  package-scoped and the e2e tests are ordered last and together
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
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from app import db
from app.services.infra import broker
from app.settings import get_settings
from tests.e2e.launch import E2EApp, launch_app
from tests.smtp_sink import Inbox, SmtpSink

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
REDIS_DB = os.environ.get("GUILDHALL_E2E_REDIS_DB", "1")
# How long a UI expectation may take (websocket round trips on a loaded 2-core machine).
UI_TIMEOUT_MS = 20_000

PASSWORD = "Sturdy-lantern-42"


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
    pg_urls = {
        name: os.environ.get(f"GUILDHALL_TEST_PG_{name}_URL", "")
        for name in ("OWNER", "APP", "SUPER")
    }
    with launch_app(
        tmp_path_factory.mktemp("e2e-app"),
        smtp_port=e2e_smtp.port,
        pg_urls=pg_urls,
        redis_url=os.environ.get("GUILDHALL_TEST_REDIS_URL", ""),
        redis_db=REDIS_DB,
    ) as launched:
        yield launched.app


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
    """Run the e2e tests last and together, and the faults suite (tests/faults, which
    breaks services of its own under another app) after them: faster tests fail first, and
    each app and browser (package-scoped) is started once and stopped before anything else
    runs."""
    here = Path(__file__).parent
    faults = here.parent / "faults"

    def rank(item: pytest.Item) -> int:
        if faults in item.path.parents:
            return 2
        return 1 if here in item.path.parents else 0

    items[:] = sorted(items, key=rank)  # stable: the order within each group is kept
    for item in items:
        if rank(item) == 1:
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> pytest.TestReport:
    report: pytest.TestReport = yield
    if report.failed:
        item.stash[FAILED] = True
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def new_context(
    request: pytest.FixtureRequest, chromium: Browser, e2e_app: E2EApp
) -> Iterator[Callable[..., BrowserContext]]:
    """A factory of fresh browser contexts (own cookies) on the app's base URL."""
    contexts: list[BrowserContext] = []

    def make(*, width: int = 1280, height: int = 900) -> BrowserContext:
        context = chromium.new_context(
            base_url=e2e_app.base_url,
            viewport={"width": width, "height": height},
            is_mobile=width < 768,
            has_touch=width < 768,
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        context.add_init_script(_SOCKET_PROBE)
        contexts.append(context)
        return context

    yield make
    if request.node.stash.get(FAILED, False):
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
