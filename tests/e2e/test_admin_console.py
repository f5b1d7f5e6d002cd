"""The admin console in Chromium: a config change reaches an open learner page at once; a
seat limit set in the settings refuses an invite with the reason; a CSV import with two bad
rows invites the rest (who join only by accepting) and reports the two; a file over 2 MB is
refused with its size."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from app.models.user import Role
from tests import factories as f
from tests.e2e.conftest import PASSWORD, accept_invite, sign_in, unique_email, wait_ready
from tests.smtp_sink import Inbox

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]


def _admin_and_learner(app_services: Services) -> tuple[f.SignedIn, f.SignedIn]:
    with app_services():
        admin = f.new_admin(kind="provider")
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    return admin, learner


def test_a_new_primary_colour_recolours_an_open_learner_page(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    admin, learner = _admin_and_learner(app_services)
    watcher = new_context().new_page()
    sign_in(watcher, learner.email, learner.password)
    accents = "els => els.map(e => e.getAttribute('data-accent-color'))"
    assert "crimson" not in watcher.locator("[data-accent-color]").evaluate_all(accents)
    watcher.evaluate("window.__stillTheSamePage = true")

    page = new_context().new_page()
    sign_in(page, admin.email, PASSWORD)
    page.goto("/admin/settings")
    expect(page.locator("#cfg-color")).to_be_visible()
    wait_ready(page)
    page.select_option("#cfg-color", "crimson")
    page.click("#save-branding")
    expect(page.locator("[data-sonner-toast]").first).to_be_visible()

    # The learner's page changes colour by itself: no reload (the marker survives).
    watcher.wait_for_function(
        "[...document.querySelectorAll('[data-accent-color]')]"
        ".some(e => e.getAttribute('data-accent-color') === 'crimson')",
        timeout=10_000,
    )
    assert watcher.evaluate("window.__stillTheSamePage") is True


def test_an_invite_over_the_seat_limit_is_refused_with_the_reason(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
    page = new_context().new_page()
    sign_in(page, admin.email, PASSWORD)
    page.goto("/admin/settings")
    expect(page.locator("#cfg-limit-max_staff")).to_be_visible()
    wait_ready(page)
    page.fill("#cfg-limit-max_staff", "1")  # the admin holds the only staff seat
    page.click("#save-limits")
    expect(page.locator("[data-sonner-toast]").first).to_be_visible()

    page.goto("/admin/members")
    expect(page.locator("#send-invite")).to_be_visible()
    wait_ready(page)
    invitee = unique_email("over-limit")
    page.fill("#field-email", invitee)
    page.select_option("#field-role", "instructor")
    page.click("#send-invite")
    refusal = page.locator("#field-role-error")
    expect(refusal).to_contain_text("staff seats")
    expect(page.locator("#invites-table")).to_have_count(0)


def test_a_csv_import_with_two_bad_rows_invites_the_rest_and_reports_them(
    new_context: Callable[[], BrowserContext], app_services: Services, inbox: Inbox
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
    good = [unique_email(f"good{i}") for i in range(3)]
    lines = [
        "email,full_name,role",
        f"{good[0]},Gail Good,learner",
        "not-an-email,Bad Address,learner",
        f"{good[1]},Gus Good,learner",
        f"{unique_email('bad-role')},Bob Badrole,wizard",
        f"{good[2]},Gia Good,instructor",
    ]
    page = new_context().new_page()
    sign_in(page, admin.email, PASSWORD)
    page.goto("/admin/members")
    expect(page.locator("#member-import")).to_be_visible()
    wait_ready(page)
    page.locator("#member-csv input[type=file]").set_input_files(
        files=[{"name": "people.csv", "mimeType": "text/csv", "buffer": "\n".join(lines).encode()}]
    )
    page.click("#import-check")
    expect(page.locator("#import-counts")).to_contain_text("3 rows ready to invite, 2 with errors")
    expect(page.locator("#import-preview")).to_contain_text("will be invited")
    page.click("#import-confirm")
    summary = page.locator("#import-summary")
    expect(summary).to_contain_text("3 invited")
    expect(summary).to_contain_text("2 failed")

    report = page.request.get(page.locator("#import-report").get_attribute("href") or "")
    assert report.ok, report.status
    text = report.text()
    assert "not-an-email" in text and "wizard" in text
    assert not any(email in text for email in good)

    # Invited, not added: they are pending invites until they accept.
    page.reload()
    pending = page.locator("#invites-table")
    for email in good:
        expect(pending.locator("tr").filter(has_text=email)).to_contain_text("pending")
    expect(page.locator("#members-table")).not_to_contain_text(good[0])

    # Gail opens her link: the name from the file is offered; accepting makes her a member.
    link = inbox.wait_link(good[0], "/invite/")
    guest = new_context().new_page()
    guest.goto(link)
    expect(guest.locator("#field-full_name")).to_have_value("Gail Good")
    accept_invite(guest, link, full_name="Gail Good")
    page.reload()
    expect(page.locator("#members-table")).to_contain_text(good[0])


def test_a_csv_over_2_mb_is_refused_with_its_size(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    """The browser drops the file (rx.upload's max_size): the card says why, and pressing
    Check afterwards does not turn that into "choose a file"."""
    with app_services():
        admin = f.new_admin(kind="provider")
    page = new_context().new_page()
    sign_in(page, admin.email, PASSWORD)
    page.goto("/admin/members")
    expect(page.locator("#member-import")).to_be_visible()
    wait_ready(page)
    big = b"email,full_name\n" + b"a@example.com,A\n" * 190_000  # 2.9 MB
    page.locator("#member-csv input[type=file]").set_input_files(
        files=[{"name": "big.csv", "mimeType": "text/csv", "buffer": big}]
    )
    refusal = page.locator("#import-error")
    expect(refusal).to_contain_text("This file is 2.9 MB; the limit is 2 MB")
    page.click("#import-check")
    expect(refusal).to_contain_text("This file is 2.9 MB; the limit is 2 MB")
    expect(page.locator("#import-counts")).to_have_count(0)


def test_turning_exports_off_removes_the_export_link_from_an_open_page(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        auditor = f.invite_and_accept_member(admin.ctx, Role.auditor)
    watcher = new_context().new_page()
    sign_in(watcher, auditor.email, auditor.password)
    # The dashboard promises an auditor only what they may do: read, not invite.
    expect(watcher.locator("main")).to_contain_text("See who is here and their roles.")
    expect(watcher.locator("main")).not_to_contain_text("invite people")
    watcher.goto("/admin/audit")
    expect(watcher.locator("#audit-export")).to_be_visible()
    watcher.evaluate("window.__stillTheSamePage = true")

    page = new_context().new_page()
    sign_in(page, admin.email, PASSWORD)
    page.goto("/admin/settings")
    switch = page.locator("#cfg-reporting-exports")
    expect(switch).to_be_visible()
    wait_ready(page)
    expect(switch).to_have_attribute("data-state", "checked")
    switch.click()
    page.click("#save-reporting")
    expect(page.locator("[data-sonner-toast]").first).to_be_visible()

    expect(watcher.locator("#audit-export")).to_have_count(0, timeout=10_000)
    assert watcher.evaluate("window.__stillTheSamePage") is True
    # The route refuses too, not only the page.
    refused = watcher.request.get("/api/reports/audit.csv")
    assert refused.status == 403


@pytest.mark.parametrize(
    ("feature", "path", "content", "entries"),
    [
        ("lms", "/catalog", "#catalog-search", ["/catalog", "/my-learning"]),
        ("chat", "/chat", "#chat-composer", ["/chat"]),
    ],
)
def test_turning_a_feature_off_takes_it_from_an_open_learner_page_at_once(
    new_context: Callable[[], BrowserContext],
    app_services: Services,
    feature: str,
    path: str,
    content: str,
    entries: list[str],
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    watcher = new_context().new_page()
    sign_in(watcher, learner.email, learner.password)
    watcher.goto(path)
    expect(watcher.locator(content)).to_be_visible()
    for entry in entries:
        expect(watcher.locator(f"#side-nav a[data-nav='{entry}']")).to_be_visible()
    watcher.evaluate("window.__stillTheSamePage = true")

    page = new_context().new_page()
    sign_in(page, admin.email, PASSWORD)
    page.goto("/admin/settings")
    switch = page.locator(f"#cfg-features-{feature}")
    expect(switch).to_be_visible()
    wait_ready(page)
    expect(switch).to_have_attribute("data-state", "checked")
    switch.click()
    page.click("#save-features")
    expect(page.locator("[data-sonner-toast]").first).to_be_visible()

    # The learner's open page loses the nav entries and the page itself, without a reload.
    for entry in entries:
        nav = watcher.locator(f"#side-nav a[data-nav='{entry}']")
        expect(nav).to_have_count(0, timeout=10_000)
    expect(watcher.locator("#feature-off")).to_be_visible()
    expect(watcher.locator(content)).to_have_count(0)
    assert watcher.evaluate("window.__stillTheSamePage") is True
