"""No serious or critical accessibility violation (axe-core) on any main page: the public
pages, every page of the side nav as an org admin, the course editor and a course page,
on a desktop and on a phone."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import BrowserContext, Page

from tests.e2e.conftest import sign_in, wait_ready
from tests.e2e.test_layout import _world, main_pages

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

Services = Callable[[], contextlib.AbstractContextManager[None]]
BLOCKING = ("serious", "critical")


def _violations(axe: Axe, page: Page, path: str) -> list[str]:
    """The page's serious and critical axe findings, each with its first offending node."""
    page.goto(path)
    wait_ready(page)
    page.wait_for_timeout(300)  # the page's data arrives just after the socket connects
    found = axe.run(page).response["violations"]
    return [
        f"{path}: {v['id']} ({v['impact']}) at {v['nodes'][0]['target']}: {v['help']}"
        for v in found
        if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("width", [1280, 390], ids=["desktop", "phone"])
def test_no_serious_or_critical_violation_on_any_main_page(
    width: int, new_context: Callable[..., BrowserContext], app_services: Services
) -> None:
    admin, course_id = _world(app_services)
    page = new_context(width=width, height=900).new_page()
    axe = Axe()
    problems: list[str] = []
    for path in ("/", "/signin", "/signup", "/forgot"):
        problems += _violations(axe, page, path)
    sign_in(page, admin.email, admin.password)
    for path in main_pages(course_id):
        problems += _violations(axe, page, path)
    assert problems == [], "\n".join(problems)
