"""PostgreSQL frozen (SIGSTOP: connections are accepted by the kernel and never answered, as
with a hung server or disk): `/health` answers 503 within a second, a signed-in user's
action fails within the timeouts with a message that says so while what they typed stays,
a visitor can still open the sign-in page, and everything works again once the database
is back, without a restart."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.services import chat
from app.services.tenancy import tenant_session
from app.state import failures
from tests import factories as f
from tests.e2e.conftest import sign_in, wait_ready
from tests.e2e.launch import Launched
from tests.faults.conftest import FaultServices, Services, wait_health

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def _send(page: Page, text: str) -> None:
    page.fill("#chat-composer", text)
    page.press("#chat-composer", "Enter")


def test_a_frozen_database_fails_fast_and_clearly_and_recovers(
    launched: Launched,
    fault_services: FaultServices,
    new_context: Callable[[], BrowserContext],
    app_services: Services,
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        with tenant_session(admin.ctx) as session:
            general = str(chat.org_channel(session, admin.ctx).id)
    writer = new_context().new_page()
    sign_in(writer, admin.email, admin.password)
    writer.goto(f"/chat/{general}")
    wait_ready(writer)
    expect(writer.locator("#chat-channel-name")).to_have_text("General")
    base = launched.app.base_url
    wait_health(launched.app, 200, timeout=10)
    time.sleep(1)  # the page's last load events are done: no handler is inside a query

    with fault_services.frozen_postgres():
        for _ in range(3):  # every probe answers fast; hung probes do not pile up
            started = time.monotonic()
            health = httpx.get(f"{base}/health", timeout=10)
            took = time.monotonic() - started
            assert health.status_code == 503 and took < 1.5, (health.status_code, took)
            assert health.json()["database"]["ok"] is False
        print(f"/health with a frozen database: 503 in {took:.2f} s")

        started = time.monotonic()
        _send(writer, "written while the database hangs")
        expect(writer.get_by_text(failures.UNAVAILABLE)).to_be_visible(timeout=45_000)
        print(f"the post failed with a message after {time.monotonic() - started:.1f} s")
        expect(writer.locator("#chat-composer")).to_have_value("written while the database hangs")

        visitor = new_context().new_page()
        visitor.goto("/signin")
        expect(visitor.locator("#signin-submit")).to_be_visible()

    wait_health(launched.app, 200, timeout=30)
    writer.press("#chat-composer", "Enter")
    expect(
        writer.locator(".gh-chat-message", has_text="written while the database hangs")
    ).to_have_count(1, timeout=30_000)
    sign_in(visitor, admin.email, admin.password)
