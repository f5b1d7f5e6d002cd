"""Journey 3: ids of another tenant's orgs are "not found", whoever types them into the URL.

Sign-up and invites have their own journeys; here the two tenants are set up through the
services (same database as the app), and everything about access goes through the browser.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from app.services.core.tenancy import OrgContext, public_session, tenant_session
from app.services.people import auth, invites
from tests.e2e.conftest import (
    PASSWORD,
    E2EApp,
    accept_invite,
    open_page,
    open_refused,
    sign_in,
    unique,
    unique_email,
    wait_ready,
)

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]


def _new_tenant(email: str, org_name: str, kind: str) -> OrgContext:
    """Sign up (services) and return the org admin's context."""
    with public_session() as session:
        user, org = auth.do_sign_up(
            session,
            full_name=unique("Admin"),
            email=email,
            password=PASSWORD,
            org_name=org_name,
            org_kind=kind,
        )
        ticket = auth.ticket_for_user(session, user_id=user.id, active_org_id=org.id)
    with public_session() as session:
        token = auth.do_redeem_ticket(session, ticket)
    with public_session() as session:
        ctx = auth.resolve(session, token)
    assert ctx is not None and ctx.org_id == org.id
    return ctx


def test_cross_tenant_not_found(
    e2e_app: E2EApp, app_services: Services, new_context: Callable[[], BrowserContext]
) -> None:
    a_email, b_email, learner_email = (
        unique_email("a-admin"),
        unique_email("b-admin"),
        unique_email("b-learner"),
    )
    a_name, b_name = unique("Northwind National"), unique("Bramble Provider")
    with app_services():
        a_ctx = _new_tenant(a_email, a_name, "national")
        b_ctx = _new_tenant(b_email, b_name, "provider")
        with tenant_session(b_ctx) as session:
            _, invite_token = invites.do_invite(session, b_ctx, email=learner_email, role="learner")
    a_id, b_id = str(a_ctx.org_id), str(b_ctx.org_id)

    # Org A's admin creates a child org on the Organizations page.
    a_browser = new_context()
    page = a_browser.new_page()
    sign_in(page, a_email)
    page.goto("/admin/orgs")
    expect(page.locator("#org-tree")).to_contain_text(a_name)
    expect(page.locator("#create-org")).to_be_visible()
    wait_ready(page)
    child_name = unique("Harrow Regional")
    page.fill("#field-name", child_name)
    page.select_option("#field-kind", "regional")
    page.click("#create-org")
    child_link = page.locator("#org-tree a").filter(has_text=child_name)
    expect(child_link).to_be_visible()
    child_href = child_link.get_attribute("href") or ""
    root_href = page.locator("#org-tree a").filter(has_text=a_name).get_attribute("href")
    assert root_href == f"/orgs/{a_id}", root_href
    assert child_href.startswith("/orgs/"), child_href
    child_id = child_href.rstrip("/").rsplit("/", 1)[-1]
    # ...and can open both (so "not found" below is about the viewer, not the page).
    detail = open_page(a_browser, f"/orgs/{child_id}", "#org-detail-name")
    expect(detail.locator("#org-detail-name")).to_have_text(child_name)
    detail = open_page(a_browser, f"/orgs/{a_id}", "#org-detail-name")
    expect(detail.locator("#org-detail-name")).to_have_text(a_name)
    expect(detail.locator("main")).to_contain_text(child_name)

    # A learner of org B joins through the invite link.
    learner = new_context()
    page = learner.new_page()
    accept_invite(page, f"{e2e_app.base_url}/invite/{invite_token}", full_name="Lou Learner")
    expect(page.locator("#dashboard-role")).to_have_text("Learner")
    expect(page.locator("#active-org")).to_have_text(b_name)
    own = open_page(learner, f"/orgs/{b_id}", "#org-detail-name")
    expect(own.locator("#org-detail-name")).to_have_text(b_name)

    # A's orgs do not exist for the learner; members pages are not for learners at all.
    for org_id in (child_id, a_id):
        gone = open_refused(learner, f"/orgs/{org_id}", "#not-found")
        for name in (a_name, child_name):
            expect(gone.locator("body")).not_to_contain_text(name)
    denied = open_refused(learner, f"/admin/members?org={a_id}", "#not-allowed")
    for name in (a_name, child_name):
        expect(denied.locator("body")).not_to_contain_text(name)

    # Org B's admin may see members, but not of org A: A's ids are simply not found.
    b_browser = new_context()
    page = b_browser.new_page()
    sign_in(page, b_email)
    expect(page.locator("#active-org")).to_have_text(b_name)
    mine = open_page(b_browser, f"/admin/members?org={b_id}", "#members-table")
    expect(mine.locator("#members-table")).to_contain_text(learner_email)
    for path in (
        f"/admin/members?org={a_id}",
        f"/admin/members?org={child_id}",
        f"/orgs/{a_id}",
        f"/orgs/{child_id}",
    ):
        gone = open_refused(b_browser, path, "#not-found")
        for name in (a_name, child_name):
            expect(gone.locator("body")).not_to_contain_text(name)
