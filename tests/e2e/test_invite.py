"""Journey 2: an org admin invites an instructor, who joins through the emailed link."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.e2e.conftest import (
    accept_invite,
    confirm_sign_up,
    nav_links,
    open_page,
    open_refused,
    sign_up,
    unique,
    unique_email,
    wait_ready,
)
from tests.smtp_sink import Inbox

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def test_invite_instructor_journey(new_context: Callable[[], BrowserContext], inbox: Inbox) -> None:
    admin = new_context()
    page = admin.new_page()
    org_name = unique("Lakeside Academy")
    admin_email = unique_email("admin")
    sign_up(page, email=admin_email, org_name=org_name)
    confirm_sign_up(page, inbox, admin_email)
    expect(page.locator("#dashboard-role")).to_have_text("Org admin")

    # Members: invite an instructor by email.
    page.click("#side-nav a[data-nav='/admin/members']")
    page.wait_for_url("**/admin/members**")
    expect(page.locator("#members-table")).to_contain_text("Ada Admin")
    expect(page.locator("#send-invite")).to_be_visible()
    wait_ready(page)
    invitee = unique_email("instructor")
    page.fill("#field-email", invitee)
    page.select_option("#field-role", "instructor")
    page.click("#send-invite")
    expect(page.locator("[data-sonner-toast]").filter(has_text=invitee)).to_be_visible()
    pending = page.locator("#invites-table tr").filter(has_text=invitee)
    expect(pending).to_contain_text("Instructor")
    expect(pending).to_contain_text("pending")

    # Mail log: the invite mail is there, but not its link (only the invitee's copy has it).
    page.click("#side-nav a[data-nav='/admin/mail']")
    page.wait_for_url("**/admin/mail**")
    mail = page.locator("#mail-list .mail-item").filter(has_text=invitee)
    expect(mail).to_have_count(1)
    expect(mail).to_contain_text(org_name)
    expect(mail).to_contain_text("link removed from this log")
    expect(mail).not_to_contain_text("/invite/")
    link = inbox.wait_link(invitee, "/invite/")

    # The invitee, in their own browser, creates an account from the link.
    invitee_ctx = new_context()
    guest = invitee_ctx.new_page()
    guest.goto(link)
    expect(guest.locator("#invite-heading")).to_contain_text(org_name)
    expect(guest.locator("body")).to_contain_text(invitee)
    accept_invite(guest, link, full_name="Ivo Instructor")
    expect(guest.locator("#dashboard-role")).to_have_text("Instructor")
    expect(guest.locator("#active-org")).to_have_text(org_name)
    assert nav_links(guest) == {
        "/dashboard",
        "/admin/members",
        "/catalog",
        "/my-learning",
        "/certificates",
        "/teach",
        "/notifications",
        "/chat",
        "/announcements",
    }

    # Pages the role lacks say so, even when opened by URL.
    open_refused(invitee_ctx, "/admin/audit", "#not-allowed")
    open_refused(invitee_ctx, "/admin/mail", "#not-allowed")
    open_refused(invitee_ctx, "/admin/orgs", "#not-allowed")

    # The link is spent: opening it again says so (also to a visitor with no session).
    open_page(invitee_ctx, link, "#invite-invalid")
    stranger = new_context()
    used = open_page(stranger, link, "#invite-invalid")
    expect(used.locator("#invite-invalid")).to_contain_text("already used")
    expect(used.locator("#invite-accept")).to_have_count(0)

    # Back in the admin's browser, the invitee is a member and the invite is accepted.
    members = open_page(admin, "/admin/members", "#members-table")
    row = members.locator("#members-table tr").filter(has_text=invitee)
    expect(row).to_contain_text("Ivo Instructor")
