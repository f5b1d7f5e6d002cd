"""A video lesson in Chromium: the learner plays part of it, leaves, comes back, and the
player resumes where they stopped; only what was actually played counts as watched."""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from app.models.course import LessonKind
from app.models.enrollment import LessonProgress
from app.models.user import Role
from app.seed_media import demo_video
from app.services.core.tenancy import scoped, tenant_session
from app.services.infra import storage
from tests import factories as f
from tests import learning_factories as lf
from tests.e2e.conftest import sign_in, wait_ready

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

Services = Callable[[], contextlib.AbstractContextManager[None]]


def _progress(learner: f.SignedIn, lesson_id: object) -> LessonProgress | None:
    with tenant_session(learner.ctx) as session:
        return session.exec(
            scoped(learner.ctx, LessonProgress).where(LessonProgress.lesson_id == lesson_id)
        ).first()


def test_a_video_lesson_resumes_where_the_learner_left_it(
    new_context: Callable[[], BrowserContext], app_services: Services
) -> None:
    with app_services():
        admin = f.new_admin(kind="provider")
        learner = f.invite_and_accept_member(admin.ctx, Role.learner)
        course = lf.published_course(admin.ctx)
        video_id = course.by_kind[LessonKind.video]
        key = f"org/{admin.org_id}/courses/{course.course_id}/demo.webm"
        storage.get_storage().put(key, demo_video(30), "video/webm")
        lf.enrollment(learner.ctx, course)

    page = new_context().new_page()
    sign_in(page, learner.email, learner.password)
    lesson_url = f"/learn/{course.course_id}/{video_id}"
    page.goto(lesson_url)
    video = page.locator("video#lesson-video")
    expect(video).to_be_visible()
    wait_ready(page)
    page.wait_for_function(
        "document.querySelector('#lesson-video').readyState >= 1", timeout=20_000
    )
    # Skip ahead to 12 s, watch about 3 s there, pause (the player reports on pause).
    page.evaluate(
        "async () => { const v = document.querySelector('#lesson-video');"
        " v.muted = true; v.currentTime = 12; await v.play(); }"
    )
    page.wait_for_function(
        "document.querySelector('#lesson-video').currentTime >= 15", timeout=20_000
    )
    page.evaluate("document.querySelector('#lesson-video').pause()")
    # The pause report reaches the server: the watched time shown comes back from it.
    expect(page.locator("#video-watched")).to_have_text(re.compile(r"Watched [1-9]"))

    with app_services():
        saved = _progress(learner, video_id)
    assert saved is not None
    assert saved.position_seconds >= 15
    # 12 skipped seconds are not watched time; ~3 played seconds are.
    assert 2 <= saved.watched_seconds <= 8, saved.watched_ranges

    # Leave, come back in a new tab: the video starts where the learner paused.
    page.close()
    again = new_context().new_page()
    sign_in(again, learner.email, learner.password)
    again.goto(lesson_url)
    expect(again.locator("video#lesson-video")).to_be_visible()
    again.wait_for_function(
        "document.querySelector('#lesson-video').readyState >= 1"
        " && document.querySelector('#lesson-video').currentTime >= 14",
        timeout=20_000,
    )
    resumed = again.evaluate("document.querySelector('#lesson-video').currentTime")
    assert abs(resumed - saved.position_seconds) < 1.5, (resumed, saved.position_seconds)

    # Watch on from there and leave through an in-app link while it plays (before the next
    # periodic report): the seconds up to the click are kept.
    again.evaluate(
        "async () => { const v = document.querySelector('#lesson-video');"
        " v.muted = true; await v.play(); }"
    )
    again.wait_for_function(
        "document.querySelector('#lesson-video').currentTime >= 18.5", timeout=20_000
    )
    left_at = again.evaluate("document.querySelector('#lesson-video').currentTime")
    again.click("#side-nav a[data-nav='/my-learning']")
    again.wait_for_url("**/my-learning")
    deadline = time.monotonic() + 10
    while True:
        with app_services():
            kept = _progress(learner, video_id)
        assert kept is not None
        if kept.position_seconds >= left_at - 0.5 or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert kept.position_seconds >= left_at - 0.5, (kept.position_seconds, left_at)
