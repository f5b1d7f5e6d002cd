"""Cohorts in Chromium: an instructor creates a cohort from the course editor, a learner
picks it on the course page as they enroll, and the instructor finds them among the
cohort's members."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from app.models.user import Role
from tests import factories as f
from tests import learning_factories as lf
from tests.e2e.conftest import sign_in, unique, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]


def test_a_learner_enrolls_into_the_cohort_an_instructor_created(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
        course = lf.published_course(instructor.ctx)
    name = unique("Spring intake")

    # The instructor: course editor -> Cohorts -> a new cohort with dates and seats.
    teacher = new_context().new_page()
    sign_in(teacher, instructor.email, instructor.password)
    teacher.goto(f"/teach/courses/{course.course_id}")
    wait_ready(teacher)
    teacher.click("#course-cohorts")
    teacher.wait_for_url(f"**/teach/courses/{course.course_id}/cohorts")
    wait_ready(teacher)
    teacher.click("#new-cohort")
    form = teacher.locator("#cohort-form")
    expect(form).to_be_visible()
    teacher.fill("#field-name", name)
    teacher.fill("#field-starts_on", "2099-03-01")
    teacher.fill("#field-ends_on", "2099-02-01")  # before the start: refused beside the field
    teacher.fill("#field-capacity", "10")
    teacher.click("#save-cohort")
    expect(teacher.locator("#field-ends_on-error")).to_contain_text("before the start")
    teacher.fill("#field-ends_on", "2099-06-30")
    teacher.click("#save-cohort")
    table = teacher.locator("#cohorts-table")
    expect(table).to_contain_text(name)
    expect(table).to_contain_text("0 / 10")
    expect(form).to_have_count(0)

    # The learner: the course page offers the cohort; they pick it and enroll.
    student = new_context().new_page()
    sign_in(student, learner.email, learner.password)
    student.goto(f"/courses/{course.course_id}")
    wait_ready(student)
    choice = student.locator("#field-cohort_id")
    expect(choice).to_be_visible()
    student.select_option(
        "#field-cohort_id", label=f"{name} (2099-03-01 to 2099-06-30, 10 seats left)"
    )
    student.click("#enroll")
    expect(student.locator("#start-course")).to_be_visible()
    expect(student.locator("#my-cohort")).to_contain_text(name)

    # The instructor opens the cohort and finds the learner among its members.
    teacher.get_by_role("button", name=f"Show the members of {name}").click()
    members = teacher.locator("#cohort-members")
    expect(members).to_contain_text(learner.email)
    expect(table).to_contain_text("1 / 10")
    expect(teacher.locator("#unplaced-list")).not_to_contain_text(learner.email)
