"""Lesson gating: another course's lessons, sequential modules, prerequisites and preview."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.models.course import Course
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.tenancy import access, tenant_session
from tests import learning_factories as lf
from tests.conftest import Backend
from tests.services.learning import learner_helpers as h

pytestmark = pytest.mark.usefixtures("backend")


def test_a_lesson_id_of_another_course_is_not_found(backend: Backend) -> None:
    admin, learner, world = h.learner_with()
    other = lf.published_course(admin.ctx)
    lf.enrollment(learner, world)
    with pytest.raises(NotFound):
        h.complete(learner, world, other.lesson_ids[0])
    with pytest.raises(NotFound):
        h.view(learner, world, other.lesson_ids[0])
    with pytest.raises(NotFound):
        h.complete(learner, world, uuid.uuid4())


def test_sequential_course_locks_later_modules(backend: Backend) -> None:
    _admin, learner, world = h.learner_with(sequential=True)
    lf.enrollment(learner, world)
    video = world.by_kind["video"]
    view = h.view(learner, world, video)
    assert view.locked and "Basics" in view.lock_reason and view.lesson.media_url == ""
    assert [i.status for p in view.outline for i in p.lessons] == [
        "open",
        "open",
        "current",
        "locked",
    ]
    with pytest.raises(ValidationFailed, match="Basics"):
        h.complete(learner, world, video)
    h.complete(learner, world, world.lesson_ids[0])
    h.complete(learner, world, world.lesson_ids[1])
    view = h.view(learner, world, video)
    assert not view.locked and view.lesson.media_url.startswith("/files/org/")
    assert view.previous_id == str(world.lesson_ids[1])
    assert view.next_id == str(world.quiz_lesson_id)
    assert [i.status for p in view.outline for i in p.lessons] == [
        "done",
        "done",
        "current",
        "open",
    ]


def test_prerequisites_lock_every_lesson(backend: Backend) -> None:
    admin, learner, world = h.learner_with()
    basics = lf.published_course(admin.ctx, title="Needed first")
    with tenant_session(admin.ctx) as session:
        row = access(session, admin.ctx, Course, world.course_id)
        row.prerequisite_ids = [str(basics.course_id)]
        session.add(row)
        session.commit()
    lf.enrollment(learner, world)  # enrolled by staff before the rule, say
    view = h.view(learner, world, world.lesson_ids[0])
    assert view.locked and "Needed first" in view.lock_reason
    with pytest.raises(ValidationFailed, match="Needed first"):
        h.complete(learner, world, world.lesson_ids[0])


def test_preview_is_for_authors_sees_drafts_and_records_nothing(
    backend: Backend, peek: Any
) -> None:
    admin, learner, _world = h.learner_with()
    draft = lf.published_course(admin.ctx, status="draft", sequential=True)
    view = h.view(admin.ctx, draft, draft.by_kind["video"], preview=True)
    assert view.preview and not view.locked and view.lesson.media_url
    assert (
        int(
            peek(
                "SELECT count(*) FROM lesson_progress WHERE lesson_id = :l",
                l=str(draft.by_kind["video"])
                if backend.is_postgres
                else draft.by_kind["video"].hex,
            )[0][0]
        )
        == 0
    )
    with pytest.raises(NotFound):
        h.view(learner, draft, draft.lesson_ids[0], preview=True)
    with pytest.raises(NotFound):
        h.view(learner, draft, draft.lesson_ids[0])
