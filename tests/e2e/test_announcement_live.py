"""Announcements in Chromium: an org admin sends one from /announcements; a learner who has
any page open sees it as a toast at once and the bell's count rises, without a reload (in
the scaled mode the two tabs may sit on different backend workers)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from app.models.user import Role
from tests import factories as f
from tests.e2e.conftest import sign_in, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]


def test_an_announcement_toasts_an_open_learner_page_and_lights_the_bell(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)

    watcher = new_context().new_page()
    sign_in(watcher, learner.email, learner.password)
    watcher.goto("/catalog")
    wait_ready(watcher)
    expect(watcher.locator("#bell")).to_be_visible()
    expect(watcher.locator("#unread-badge")).to_have_count(0)
    watcher.evaluate("window.__stillTheSamePage = true")

    page = new_context().new_page()
    sign_in(page, admin.email, admin.password)
    page.goto("/announcements")
    wait_ready(page)
    expect(page.locator("#announcement-form")).to_be_visible()
    page.select_option("#field-audience", "role")
    page.select_option("#field-role", "learner")
    page.fill("#field-title", "Fire drill at noon")
    page.fill("#field-body", "Meet in the car park.")
    page.click("#send-announcement")
    expect(page.locator("[data-sonner-toast]").filter(has_text="sent to 1 person")).to_be_visible()
    expect(page.locator("#announcements-list")).to_contain_text("Fire drill at noon")

    toast = watcher.locator("[data-sonner-toast].live-toast-announcement")
    expect(toast.first).to_contain_text("Fire drill at noon", timeout=15_000)
    expect(toast).to_have_count(1)  # one toast, whichever workers the two tabs are on
    expect(watcher.locator("#unread-badge")).to_have_text("1")
    assert watcher.evaluate("window.__stillTheSamePage") is True

    watcher.click("#bell")
    expect(watcher.locator("#notifications-list")).to_contain_text("Fire drill at noon")
