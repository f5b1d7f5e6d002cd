"""Journey 1: a visitor creates an organization, signs out, and cannot get back in unsigned."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.conftest import (
    PASSWORD,
    confirm_sign_up,
    nav_links,
    sign_in,
    sign_up,
    unique,
    unique_email,
)
from tests.smtp_sink import Inbox

# The first test of a session also waits for the app to compile (a first `bun install`
# alone takes about two minutes), hence the generous timeout.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ADMIN_NAV = {
    "/dashboard",
    "/admin/orgs",
    "/admin/members",
    "/admin/audit",
    "/admin/mail",
    "/admin/settings",
    "/admin/jobs",
    "/catalog",
    "/my-learning",
    "/certificates",
    "/teach",
    "/teach/applications",
    "/compliance",
    "/notifications",
    "/chat",
    "/announcements",
    "/team/live",
}


def test_signup_creates_org(new_context: Callable[[], BrowserContext], inbox: Inbox) -> None:
    context = new_context()
    page = context.new_page()
    email = unique_email("founder")
    org_name = unique("Harbour Skills")

    # Nothing exists until the emailed link is opened.
    sign_up(page, email=email, org_name=org_name, full_name="Fay Founder", kind="provider")
    confirm_sign_up(page, inbox, email)
    expect(page.locator("#dashboard-role")).to_have_text("Org admin")
    expect(page.locator("#active-org")).to_have_text(org_name)
    expect(page.locator("#user-name")).to_have_text("Fay Founder")
    expect(page.locator("#user-role")).to_have_text("Org admin")
    assert nav_links(page) == ADMIN_NAV
    for label in ("Organizations", "Members", "Audit log", "Mail log"):
        expect(page.locator("#side-nav")).to_contain_text(label)

    # Signing out ends the session: the dashboard now sends the visitor to sign in.
    page.click("#sign-out")
    page.wait_for_url("**/signin**")
    expect(page.locator("#signin-submit")).to_be_visible()
    page.goto("/dashboard")
    page.wait_for_url("**/signin**")
    expect(page.locator("#signin-submit")).to_be_visible()
    expect(page.locator("#dashboard-role")).to_have_count(0)

    # Signing in again in the same tab works (its forms keep no stale "busy" state).
    sign_in(page, email)
    expect(page.locator("#active-org")).to_have_text(org_name)
    page.click("#sign-out")
    page.wait_for_url("**/signin**")

    # The same email again gets the same answer as a new one (the form tells nobody who has
    # an account); the owner is told by mail, and nothing is created.
    second_org = unique("Second Org")
    sign_up(page, email=email, org_name=second_org, password=PASSWORD)
    expect(page.locator("#signup-check-email")).to_contain_text(email)
    note = inbox.wait_message(email, "already have a Guildhall account")
    assert "/signup/confirm/" not in str(note.get_payload(decode=True), "utf-8")
    assert "/signup" in page.url

    # A weak password is refused next to the password field.
    page.click("#signup-start-over")
    expect(page.locator("#signup-submit")).to_be_visible()
    sign_up(page, email=unique_email("weak"), org_name=unique("Weak Org"), password="short1")
    expect(page.locator("#field-password-error")).to_contain_text("at least 10 characters")
    expect(page.locator("#field-email-error")).to_have_count(0)
    assert "/signup" in page.url
