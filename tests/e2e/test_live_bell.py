"""The bell in Chromium: an instructor's open page lights up when a learner enrolls in their
course (the enrollment job notifies them; the inbox topic reaches their tab), no reload."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from app.models.user import Role
from app.services.core.tenancy import tenant_session
from app.services.learning import enrollments
from tests import factories as f
from tests import learning_factories as lf
from tests.e2e.conftest import sign_in, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]


def test_an_enrollment_lights_the_instructor_s_bell_live(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
        course = lf.published_course(instructor.ctx)

    page = new_context().new_page()
    sign_in(page, instructor.email, instructor.password)
    wait_ready(page)
    expect(page.locator("#bell")).to_be_visible()
    expect(page.locator("#unread-badge")).to_have_count(0)
    page.evaluate("window.__stillTheSamePage = true")

    with app_services(), tenant_session(learner.ctx) as session:
        enrollments.do_enroll(
            session, learner.ctx, course_id=course.course_id, funding_source="self_pay"
        )

    expect(page.locator("#unread-badge")).to_have_text("1", timeout=30_000)
    assert page.evaluate("window.__stillTheSamePage") is True
    page.click("#bell")
    expect(page.locator("#notifications-list")).to_contain_text(course.title)
