"""Course status (`authoring.course_status`): publish refusals with their reasons, and the
catalog told of publishing, archiving and returning to draft."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.models.course import CourseStatus
from app.services.authoring import course_lessons, course_outline, course_status, questions
from app.services.core import audit
from app.services.core.tenancy import tenant_session
from app.services.infra import broker
from tests import factories as f
from tests.services.authoring.helpers import detail, new_course, publish, ready_course, run

pytestmark = pytest.mark.usefixtures("backend")


class _Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self.sent.append((topic, payload))

    def listen(self, handler: Any) -> None:  # pragma: no cover - not used
        return None


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """What reached the broker (after commits)."""
    recorder = _Recorder()
    monkeypatch.setattr(broker, "get_broker", lambda: recorder)
    yield recorder.sent


def test_publish_refuses_an_empty_course() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    with pytest.raises(course_status.PublishRefused) as err:
        publish(admin.ctx, course_id)
    assert "no modules" in err.value.message
    run(admin.ctx, course_outline.do_add_module, course_id=course_id, title="Empty one")
    with pytest.raises(course_status.PublishRefused) as err:
        publish(admin.ctx, course_id)
    assert "no lessons" in err.value.message
    assert detail(admin.ctx, course_id).status == CourseStatus.draft


def test_publish_names_the_module_and_lesson_at_fault() -> None:
    admin = f.new_admin()
    course_id, module_id, _text = ready_course(admin.ctx)
    run(admin.ctx, course_outline.do_add_module, course_id=course_id, title="Later")
    quiz = run(
        admin.ctx,
        course_lessons.do_add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="quiz",
        title="Check",
    )
    run(
        admin.ctx,
        course_lessons.do_add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="file",
        title="Handout",
    )
    run(
        admin.ctx,
        course_lessons.do_add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="video",
        title="Clip",
    )
    with pytest.raises(course_status.PublishRefused) as err:
        publish(admin.ctx, course_id)
    reasons = err.value.reasons
    assert "module “Later” has no lessons." in reasons
    assert "the quiz “Check” in module “Basics” has no questions." in reasons
    assert "the file lesson “Handout” in module “Basics” has no file." in reasons
    assert "the video lesson “Clip” in module “Basics” has no video." in reasons
    assert (
        err.value.message.startswith("Cannot publish yet: ") and "(and 3 more)" in err.value.message
    )
    assert detail(admin.ctx, course_id).problems == reasons
    run(
        admin.ctx,
        questions.do_add_question,
        course_id=course_id,
        lesson_id=quiz.id,
        kind="single",
        prompt="Sky?",
        options=["Green", "Blue"],
        answer=[1],
    )
    with pytest.raises(course_status.PublishRefused) as err:
        publish(admin.ctx, course_id)
    assert not any("Check" in r for r in err.value.reasons)


def test_publish_needs_a_required_lesson() -> None:
    admin = f.new_admin()
    course_id, _module, lesson_id = ready_course(admin.ctx)
    run(
        admin.ctx,
        course_lessons.do_set_lesson_required,
        course_id=course_id,
        lesson_id=lesson_id,
        required=False,
    )
    with pytest.raises(course_status.PublishRefused) as err:
        publish(admin.ctx, course_id)
    assert "no lesson is required" in err.value.message


def test_publish_archive_and_back_to_draft_tell_the_catalog(
    published: list[tuple[str, dict[str, Any]]],
) -> None:
    admin = f.new_admin()
    course_id, _module, _lesson = ready_course(admin.ctx)
    topic = f"org:{admin.org_id}:catalog"
    course = publish(admin.ctx, course_id)
    assert course.status == CourseStatus.published and course.published_at is not None
    assert (topic, {"course_id": str(course_id), "status": "published"}) in published
    publish(admin.ctx, course_id)  # a second click changes nothing
    run(admin.ctx, course_status.do_archive_course, course_id=course_id)
    assert detail(admin.ctx, course_id).status == CourseStatus.archived
    run(admin.ctx, course_status.do_unpublish_course, course_id=course_id)
    assert detail(admin.ctx, course_id).status == CourseStatus.draft
    assert [p["status"] for t, p in published if t == topic] == ["published", "archived", "draft"]
    with tenant_session(admin.ctx) as session:
        rows = audit.list_events(session, admin.ctx, page_size=100).rows
    assert sum(1 for e in rows if e.action == "course.published") == 1
    assert {"course.archived", "course.unpublished"} <= {e.action for e in rows}


def test_a_refused_publish_sends_nothing(published: list[tuple[str, dict[str, Any]]]) -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    with pytest.raises(course_status.PublishRefused):
        publish(admin.ctx, course_id)
    assert published == []
