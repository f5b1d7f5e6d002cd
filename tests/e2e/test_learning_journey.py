"""The learning core in Chromium, end to end, as two people in two browsers.

An instructor builds a two-module course (a Markdown lesson with a script tag in it, an
uploaded PDF, a quiz) in the editor, is refused publishing while it is empty, then publishes
it. A learner finds it by search, enrolls, completes the lessons, fails the quiz, passes it
on the second attempt, downloads the certificate and opens its verification page, which
says it is valid.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.models.user import Role
from app.seed_media import demo_pdf
from tests import factories as f
from tests.e2e.conftest import PASSWORD, sign_in, unique, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

Services = Callable[[], contextlib.AbstractContextManager[None]]
TOAST = "[data-sonner-toast]"
MARKDOWN = (
    "Read this **before the first shift**.\n\n"
    "<script>window.__pwned = true</script>\n\n"
    '<img src="x" onerror="window.__pwned = true">\n\n'
    "- Stop\n- Think\n- Act\n"
)


def _toast(page: Page, text: str) -> None:
    expect(page.locator(TOAST).filter(has_text=text).first).to_be_visible()


def _add_lesson(page: Page, module: int, number: int, kind: str, title: str) -> None:
    """Add lesson `number` (1-based) of `module`; the editor opens it by itself."""
    page.select_option(f"#new-lesson-kind-{module}", kind)
    page.fill(f"#new-lesson-title-{module}", title)
    page.click(f"#add-lesson-{module}")
    row = page.locator(f"#lesson-{module}-{number}")
    expect(row).to_contain_text(title)
    expect(page.locator("#lesson-title")).to_have_value(title)


def _build_course(page: Page, title: str, tmp_path: Path) -> str:
    """As the instructor: create, fill and publish; returns the course id."""
    page.goto("/teach")
    expect(page.locator("#new-course")).to_be_visible()
    wait_ready(page)
    page.click("#new-course")
    page.fill("#create-course-form #field-title", title)
    page.fill("#create-course-form #field-category", "Safety")
    page.click("#create-course")
    page.wait_for_url(re.compile(r"/teach/courses/[0-9a-f-]{36}"))
    course_id = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator("#course-status")).to_have_text(re.compile("Draft", re.I))
    wait_ready(page)

    # An empty course cannot be published, and the page says why.
    page.click("#publish-course")
    expect(page.locator("#publish-error")).to_contain_text(re.compile("module", re.I))

    page.fill("#new-module-title", "Basics")
    page.click("#add-module")
    expect(page.locator("#module-1")).to_be_visible()
    page.fill("#new-module-title", "Check")
    page.click("#add-module")
    expect(page.locator("#module-2")).to_be_visible()

    # Module 1: a Markdown lesson and an uploaded handbook.
    _add_lesson(page, 1, 1, "text", "Welcome")
    expect(page.locator("#lesson-body")).to_be_visible()
    page.fill("#lesson-body", MARKDOWN)
    page.click("#save-lesson")
    _toast(page, "saved")

    _add_lesson(page, 1, 2, "file", "Handbook")
    # A file named .pdf that is not a PDF is refused by its content, with the reason.
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"<html><script>alert(1)</script></html>")
    page.locator("#lesson-file-upload input[type=file]").set_input_files(str(fake))
    page.click("#upload-media")
    _toast(page, "not a type this lesson takes")
    expect(page.locator("#current-media")).to_have_count(0)
    handbook = tmp_path / "handbook.pdf"
    handbook.write_bytes(demo_pdf("Handbook", ["Keep walkways clear."]))
    page.locator("#lesson-file-upload input[type=file]").set_input_files(str(handbook))
    page.click("#upload-media")
    expect(page.locator("#current-media")).to_contain_text("handbook.pdf")

    # Module 2: a quiz with one single-choice question (Blue is right).
    _add_lesson(page, 2, 1, "quiz", "Final quiz")
    expect(page.locator("#new-question-prompt")).to_be_visible()
    page.select_option("#new-question-kind", "single")
    page.fill("#new-question-prompt", "Which colour is the sky?")
    page.fill("#new-question-options", "Green\n* Blue\nRed")
    page.click("#add-question")
    expect(page.locator("[id^='question-'][id$='-prompt']")).to_have_count(1)

    page.click("#publish-course")
    expect(page.locator("#course-status")).to_have_text(re.compile("Published", re.I))
    return course_id


def _take_course(page: Page, title: str, course_id: str) -> None:
    """As the learner: find, enroll, complete, fail then pass the quiz."""
    page.goto("/catalog")
    expect(page.locator("#catalog-search")).to_be_visible()
    wait_ready(page)
    page.fill("#catalog-search", title)
    page.click("#catalog-search-button")
    card = page.locator(f"#course-card-{course_id}")
    expect(card).to_be_visible()
    expect(page.locator("[id^='course-card-']")).to_have_count(1)
    card.locator("a").first.click()

    page.wait_for_url(f"**/courses/{course_id}")
    expect(page.locator("#enroll")).to_be_enabled()
    wait_ready(page)
    page.click("#enroll")
    expect(page.locator("#start-course")).to_be_visible()
    page.click("#start-course")

    # Lesson 1: the Markdown renders; its script tag does not run.
    expect(page.locator("#lesson-title")).to_have_text("Welcome")
    expect(page.locator("#lesson-body strong")).to_have_text("before the first shift")
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("#lesson-body script, #lesson-body img").count() == 0
    wait_ready(page)
    page.click("#mark-complete")
    expect(page.locator("#lesson-done")).to_be_visible()
    page.click("#next-lesson")

    expect(page.locator("#lesson-title")).to_have_text("Handbook")
    expect(page.locator("#lesson-file")).to_be_visible()
    page.click("#mark-complete")
    expect(page.locator("#lesson-done")).to_be_visible()
    page.click("#next-lesson")

    # The quiz: a wrong answer fails, the second attempt passes.
    expect(page.locator("#lesson-title")).to_have_text("Final quiz")
    radios = page.locator("#quiz-form input[type=radio]")
    expect(radios).to_have_count(3)
    page.locator("#quiz-form label", has_text="Green").click()
    page.click("#quiz-submit")
    expect(page.locator("#quiz-result")).to_contain_text("Not passed")
    page.click("#quiz-try-again")
    page.locator("#quiz-form label", has_text="Blue").click()
    page.click("#quiz-submit")
    expect(page.locator("#quiz-result")).to_contain_text(re.compile(r"^(?!.*Not).*Passed"))
    expect(page.locator("#quiz-try-again")).to_have_count(0)  # passed: nothing to try again
    expect(page.locator("#player-progress")).to_have_attribute("data-value", "100")


def _certificate(page: Page, title: str, tmp_path: Path) -> None:
    """The certificate arrives (issued by the worker), downloads as a PDF and verifies."""
    row = page.locator("#my-certificates tr", has_text=title)
    for _ in range(30):  # the worker issues it a moment after completion
        page.goto("/certificates")
        expect(page.locator("#my-certificates, #certificates-empty").first).to_be_visible()
        wait_ready(page)
        page.wait_for_timeout(500)  # the list arrives with the page's load event
        if row.count():
            break
    expect(row).to_be_visible()
    with page.expect_download() as download:
        row.locator("a.cert-download").click()
    saved = tmp_path / "certificate.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")

    row.locator("a.cert-verify").click()
    page.wait_for_url("**/verify/**")
    expect(page.locator("#verify-status")).to_have_text("Valid")
    expect(page.locator("#verify-course")).to_contain_text(title)


def test_an_instructor_builds_a_course_and_a_learner_earns_its_certificate(
    new_context: Callable[[], BrowserContext], app_services: Services, tmp_path: Path
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    title = unique("Forklift basics")

    teacher = new_context().new_page()
    sign_in(teacher, instructor.email, PASSWORD)
    course_id = _build_course(teacher, title, tmp_path)

    student = new_context().new_page()
    sign_in(student, learner.email, PASSWORD)
    _take_course(student, title, course_id)
    _certificate(student, title, tmp_path)
