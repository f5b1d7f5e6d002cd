"""Destructive member actions ask first: Deactivate opens a confirmation that says what it
does; Cancel changes nothing, confirming deactivates."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from app.models.user import Role
from app.services.core.tenancy import tenant_session
from app.services.people import members
from tests import factories as f
from tests.e2e.conftest import sign_in, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]


def test_deactivate_asks_first_and_cancel_changes_nothing(
    new_context: Callable[..., BrowserContext], app_services: Services
) -> None:
    name = f.unique("Dana Departing")
    with app_services():
        admin = f.new_admin(kind="provider")
        leaver = f.invite_and_accept_member(admin.ctx, Role.learner, full_name=name)
        with tenant_session(admin.ctx) as session:
            (row,) = [
                r
                for r in members.list_members(session, admin.ctx, search=leaver.email).rows
                if r.email == leaver.email
            ]

    page = new_context().new_page()
    sign_in(page, admin.email, admin.password)
    page.goto("/admin/members")
    wait_ready(page)
    line = page.locator("tr", has_text=leaver.email)
    expect(line.get_by_text("active", exact=True)).to_be_visible()

    page.click(f"#deactivate-{row.membership_id}")
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text(f"Deactivate {name}?")
    expect(dialog).to_contain_text("can no longer sign in")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(line.get_by_text("active", exact=True)).to_be_visible()

    page.click(f"#deactivate-{row.membership_id}")
    page.click("#confirm-deactivate")
    expect(line.get_by_text("inactive", exact=True)).to_be_visible()
    expect(line.get_by_role("button", name="Reactivate")).to_be_visible()
