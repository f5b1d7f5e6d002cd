"""Every signed-in page fits the screen: on a 390 px phone and on a 1280 px desktop there is
no sideways scroll; on the phone the content comes first and the side nav is a drawer the
menu button opens and a link closes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.models.user import Role
from tests import factories as f
from tests import learning_factories as lf
from tests.e2e.conftest import sign_in, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

Services = Callable[[], contextlib.AbstractContextManager[None]]

PAGES = [
    "/dashboard",
    "/catalog",
    "/my-learning",
    "/certificates",
    "/teach",
    "/teach/applications",
    "/compliance",
    "/team/live",
    "/chat",
    "/notifications",
    "/announcements",
    "/admin/orgs",
    "/admin/members",
    "/admin/audit",
    "/admin/mail",
    "/admin/settings",
    "/admin/jobs",
]

_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && r.right > width + 1 && getComputedStyle(e).position !== 'fixed'
        && !e.closest('.rt-TableRoot, .gh-sidenav');
    })
    .slice(0, 3)
    .map(e => (e.id ? '#' + e.id : e.tagName.toLowerCase() + '.' + e.className).slice(0, 80));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


def _fits(page: Page, path: str) -> None:
    """The page at `path` scrolls no wider than the screen (naming what sticks out)."""
    got = page.evaluate(_OVERFLOW)
    assert got["scroll"] <= got["width"], f"{path} is {got['scroll']} px wide: {got['wide']}"


def _world(app_services: Services) -> tuple[f.SignedIn, str]:
    """An org admin whose pages have something on them: a course with a learner."""
    with app_services():
        admin = f.new_admin(kind="provider", org_name=f.unique("Riverside Community Training"))
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
        course = lf.published_course(admin.ctx, title=f.unique("Forklift safety refresher"))
        lf.enrollment(learner.ctx, course, progress=True)
    return admin, str(course.course_id)


def main_pages(course_id: str) -> list[str]:
    """Every page of the side nav, the course editor and a course page."""
    return [*PAGES, f"/teach/courses/{course_id}", f"/courses/{course_id}"]


def _each_page_fits(page: Page, course_id: str, check: Callable[[Page, str], None]) -> None:
    """Open each main page, check it fits the screen, then `check(page, path)`."""
    for path in main_pages(course_id):
        page.goto(path)
        wait_ready(page)
        expect(page.locator("#main")).to_be_visible()
        _fits(page, path)
        check(page, path)


def _phone_shell(page: Page, path: str) -> None:
    """The phone's shell: menu button, drawer closed, content first."""
    expect(page.locator("#nav-toggle")).to_be_visible()
    expect(page.locator("#side-nav")).to_be_hidden()
    top = page.locator("#main").bounding_box()
    assert top is not None and top["y"] < 120, f"{path}: content starts {top} down"


def _desktop_shell(page: Page, _path: str) -> None:
    """The desktop's shell: the side nav beside the content, no menu button."""
    expect(page.locator("#side-nav")).to_be_visible()
    expect(page.locator("#nav-toggle")).to_be_hidden()


def test_on_a_phone_every_page_fits_and_the_nav_is_a_drawer(
    new_context: Callable[..., BrowserContext], app_services: Services
) -> None:
    admin, course_id = _world(app_services)
    page = new_context(width=390, height=844).new_page()
    sign_in(page, admin.email, admin.password)
    _each_page_fits(page, course_id, _phone_shell)

    # The drawer: the menu button opens it, with the org and sign-out; a link closes it.
    page.goto("/dashboard")
    wait_ready(page)
    page.click("#nav-toggle")
    nav = page.locator("#side-nav")
    expect(nav).to_be_visible()
    expect(page.locator("#nav-toggle")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#active-org-nav")).to_have_text(admin.ctx.org_name)
    expect(page.locator("#sign-out-nav")).to_be_visible()
    for inside in ("#sign-out-nav", "#org-switcher-nav"):
        box, drawer = page.locator(inside).bounding_box(), nav.bounding_box()
        assert box is not None and drawer is not None
        assert box["x"] + box["width"] <= drawer["x"] + drawer["width"], f"{inside} is cut off"
    nav.locator("a[data-nav='/catalog']").click()
    page.wait_for_url("**/catalog")
    expect(nav).to_be_hidden()
    page.click("#nav-toggle")
    expect(nav).to_be_visible()
    page.locator("#nav-backdrop").click(position={"x": 380, "y": 400})
    expect(nav).to_be_hidden()


def test_on_a_desktop_every_page_fits_beside_the_side_nav(
    new_context: Callable[..., BrowserContext], app_services: Services
) -> None:
    admin, course_id = _world(app_services)
    page = new_context(width=1280, height=900).new_page()
    sign_in(page, admin.email, admin.password)
    _each_page_fits(page, course_id, _desktop_shell)
