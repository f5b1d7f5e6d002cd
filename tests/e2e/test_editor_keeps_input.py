"""The course editor never loses what an instructor typed: adding a module reloads the
course, and the lesson body typed before it is still there, and is what "Save lesson"
saves."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from app.models.user import Role
from app.services.authoring import course_views
from app.services.core.tenancy import tenant_session
from tests import factories as f
from tests import learning_factories as lf
from tests.e2e.conftest import sign_in, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]


def test_text_typed_in_a_lesson_survives_a_reload_and_is_saved(
    new_context: Callable[..., BrowserContext], app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
        course = lf.published_course(instructor.ctx, title=f.unique("Ladder safety"))

    page = new_context().new_page()
    sign_in(page, instructor.email, instructor.password)
    page.goto(f"/teach/courses/{course.course_id}")
    wait_ready(page)
    page.click("#lesson-1-1")
    body = page.locator("#lesson-body")
    expect(body).to_be_visible()
    typed = "Check the feet before you climb.\n\nThree points of contact, always."
    body.fill(typed)

    # Something else on the page changes the course: the editor reloads it.
    page.fill("#new-module-title", "Refresher")
    page.click("#add-module")
    expect(page.locator("#course-tree, body")).to_contain_text("Refresher")
    expect(body).to_have_value(typed)

    page.click("#save-lesson")
    expect(page.get_by_text("Lesson saved")).to_be_visible()
    with app_services(), tenant_session(instructor.ctx) as session:
        view = course_views.course_detail_for_editor(
            session, instructor.ctx, course_id=course.course_id
        )
    assert view.modules[0].lessons[0].body == typed
