"""Isolation rows for authoring: the course services (`authoring.courses` and its siblings,
`media`), the `/teach` and `/teach/courses/<id>` handlers and the media behind `/files/...`.

Same attackers as `test_surfaces.py`: the admin of an unrelated org B and the admin of C, a
child org of A (whose scope names A as an ancestor). A has a DRAFT course with a file lesson
(stored PDF), a quiz with questions and a cover. Neither attacker may read, edit, reorder,
publish or delete any of it, through the services, the page handlers or the file route, also
when mixing A's ids into a course of their own; A's course reads back unchanged. A's own admin
gets through the same calls (`test_owner_control`), so the rows can fail.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from reflex_base.event import EventSpec
from starlette.testclient import TestClient

from app.api.routes import build_api
from app.services.authoring import (
    course_lessons,
    course_outline,
    course_programs,
    course_status,
    course_views,
    courses,
    media,
    questions,
)
from app.services.core.errors import NotFound, PermissionDenied, ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.infra import storage
from app.settings import get_settings
from app.state.teach import TeachState
from app.state.teach_editor import TeachEditorState
from tests import factories as f
from tests import learning_factories as lf
from tests.fixtures import media_samples as samples
from tests.isolation.test_surfaces import (  # the fixtures are used by name
    Scenario,
    child_admin,  # noqa: F401
    other_tenant,  # noqa: F401
    scenario,  # noqa: F401
)
from tests.state.harness import StateHarness
from tests.state.test_teach import stream


@pytest.fixture(autouse=True)
def _files(settings_env: Callable[..., None], tmp_path: Path) -> None:
    settings_env(storage_dir=tmp_path / "files")


@dataclass(frozen=True)
class Draft:
    """A's draft course and the ids an attacker would try."""

    course_id: str
    module_id: str
    text_lesson_id: str
    file_lesson_id: str
    quiz_lesson_id: str
    question_id: str
    media_key: str
    title: str


def _draft(ctx: OrgContext) -> Draft:
    world = lf.published_course(ctx, status="draft", title=f.unique("Secret draft"))
    with tenant_session(ctx) as session:
        lesson = media.do_attach_media(
            session,
            ctx,
            course_id=world.course_id,
            lesson_id=world.by_kind["file"],
            source=samples.pdf(),
            filename="secret.pdf",
        )
        media.do_set_cover(session, ctx, course_id=world.course_id, data=samples.png())
    return Draft(
        course_id=str(world.course_id),
        module_id=str(world.module_ids[0]),
        text_lesson_id=str(world.by_kind["text"]),
        file_lesson_id=str(world.by_kind["file"]),
        quiz_lesson_id=str(world.quiz_lesson_id),
        question_id=str(world.question_ids[0]),
        media_key=lesson.media_key,
        title=world.title,
    )


def _snapshot(ctx: OrgContext, d: Draft) -> Any:
    with tenant_session(ctx) as session:
        return course_views.course_detail_for_editor(session, ctx, course_id=d.course_id)


def _own_course(ctx: OrgContext) -> tuple[str, str]:
    """A course of the attacker's own (course id, module id) to mix A's ids into."""
    with tenant_session(ctx) as session:
        course = courses.do_create_course(session, ctx, data={"title": "Attacker course"})
        module = course_outline.do_add_module(session, ctx, course_id=course.id, title="Mine")
    return str(course.id), str(module.id)


# --------------------------------------------------------------------------- services

Attempt = Callable[[Draft, str, str], tuple[Callable[..., Any], dict[str, Any]]]

SERVICE_ATTEMPTS: list[tuple[str, Attempt]] = [
    (
        "read for the editor",
        lambda d, c, m: (course_views.course_detail_for_editor, {"course_id": d.course_id}),
    ),
    (
        "publish problems",
        lambda d, c, m: (course_status.publish_problems, {"course_id": d.course_id}),
    ),
    (
        "update details",
        lambda d, c, m: (
            courses.do_update_course,
            {"course_id": d.course_id, "data": {"title": "Owned"}},
        ),
    ),
    ("publish", lambda d, c, m: (course_status.do_publish_course, {"course_id": d.course_id})),
    ("archive", lambda d, c, m: (course_status.do_archive_course, {"course_id": d.course_id})),
    (
        "back to draft",
        lambda d, c, m: (course_status.do_unpublish_course, {"course_id": d.course_id}),
    ),
    (
        "add module",
        lambda d, c, m: (course_outline.do_add_module, {"course_id": d.course_id, "title": "X"}),
    ),
    (
        "rename module",
        lambda d, c, m: (
            course_outline.do_rename_module,
            {"course_id": d.course_id, "module_id": d.module_id, "title": "X"},
        ),
    ),
    (
        "move module",
        lambda d, c, m: (
            course_outline.do_move_module,
            {"course_id": d.course_id, "module_id": d.module_id, "direction": "down"},
        ),
    ),
    (
        "delete module",
        lambda d, c, m: (
            course_outline.do_delete_module,
            {"course_id": d.course_id, "module_id": d.module_id},
        ),
    ),
    (
        "add lesson",
        lambda d, c, m: (
            course_lessons.do_add_lesson,
            {"course_id": d.course_id, "module_id": d.module_id, "kind": "text", "title": "X"},
        ),
    ),
    (
        "update lesson",
        lambda d, c, m: (
            course_lessons.do_update_lesson,
            {"course_id": d.course_id, "lesson_id": d.text_lesson_id, "body": "pwned"},
        ),
    ),
    (
        "delete lesson",
        lambda d, c, m: (
            course_lessons.do_delete_lesson,
            {"course_id": d.course_id, "lesson_id": d.text_lesson_id},
        ),
    ),
    (
        "move lesson",
        lambda d, c, m: (
            course_lessons.do_move_lesson,
            {"course_id": d.course_id, "lesson_id": d.file_lesson_id, "direction": "up"},
        ),
    ),
    (
        "add question",
        lambda d, c, m: (
            questions.do_add_question,
            {
                "course_id": d.course_id,
                "lesson_id": d.quiz_lesson_id,
                "kind": "short",
                "prompt": "x",
                "answer": ["x"],
            },
        ),
    ),
    (
        "update question",
        lambda d, c, m: (
            questions.do_update_question,
            {
                "course_id": d.course_id,
                "question_id": d.question_id,
                "kind": "short",
                "prompt": "x",
                "answer": ["x"],
            },
        ),
    ),
    (
        "delete question",
        lambda d, c, m: (
            questions.do_delete_question,
            {"course_id": d.course_id, "question_id": d.question_id},
        ),
    ),
    (
        "move question",
        lambda d, c, m: (
            questions.do_move_question,
            {"course_id": d.course_id, "question_id": d.question_id, "direction": "down"},
        ),
    ),
    (
        "replace media",
        lambda d, c, m: (
            media.do_attach_media,
            {
                "course_id": d.course_id,
                "lesson_id": d.file_lesson_id,
                "source": samples.pdf(),
                "filename": "x.pdf",
            },
        ),
    ),
    (
        "remove media",
        lambda d, c, m: (
            media.do_remove_media,
            {"course_id": d.course_id, "lesson_id": d.file_lesson_id},
        ),
    ),
    (
        "set cover",
        lambda d, c, m: (media.do_set_cover, {"course_id": d.course_id, "data": samples.png()}),
    ),
    # A's ids mixed into a course of the attacker's own
    (
        "own course, A's lesson",
        lambda d, c, m: (
            course_lessons.do_update_lesson,
            {"course_id": c, "lesson_id": d.text_lesson_id, "title": "X"},
        ),
    ),
    (
        "own course, A's module",
        lambda d, c, m: (
            course_lessons.do_add_lesson,
            {"course_id": c, "module_id": d.module_id, "kind": "text", "title": "X"},
        ),
    ),
    (
        "own course, A's question",
        lambda d, c, m: (
            questions.do_delete_question,
            {"course_id": c, "question_id": d.question_id},
        ),
    ),
    (
        "own course, A's lesson to my module",
        lambda d, c, m: (
            course_lessons.do_move_lesson_to_module,
            {"course_id": c, "lesson_id": d.text_lesson_id, "module_id": m},
        ),
    ),
    (
        "own course, A's quiz",
        lambda d, c, m: (
            questions.do_add_question,
            {
                "course_id": c,
                "lesson_id": d.quiz_lesson_id,
                "kind": "short",
                "prompt": "x",
                "answer": ["x"],
            },
        ),
    ),
    (
        "own course, A's media lesson",
        lambda d, c, m: (
            media.do_attach_media,
            {
                "course_id": c,
                "lesson_id": d.file_lesson_id,
                "source": samples.pdf(),
                "filename": "x.pdf",
            },
        ),
    ),
    (
        "own course, A's course as prerequisite",
        lambda d, c, m: (
            courses.do_update_course,
            {"course_id": c, "data": {"title": "Mine", "prerequisite_ids": [d.course_id]}},
        ),
    ),
]

# Attempts A's own admin may not make either (the control skips them): they are refusals of
# the input itself, not of who asks.
OWNER_REFUSED = {"own course, A's course as prerequisite"}


@pytest.mark.parametrize(
    ("name", "attempt"), SERVICE_ATTEMPTS, ids=[n for n, _ in SERVICE_ATTEMPTS]
)
def test_service_gives_attacker_nothing(scenario: Scenario, name: str, attempt: Attempt) -> None:  # noqa: F811
    victim = scenario.victim.admin
    draft = _draft(victim.ctx)
    before = _snapshot(victim.ctx, draft)
    attacker = scenario.attacker.ctx
    own_course, own_module = _own_course(attacker)
    fn, kwargs = attempt(draft, own_course, own_module)
    with tenant_session(attacker) as session, pytest.raises(ServiceError) as err:
        fn(session, attacker, **kwargs)
    assert isinstance(err.value, NotFound) or (
        name == "own course, A's course as prerequisite" and err.value.field == "prerequisite_ids"
    ), (name, err.value)
    assert draft.title not in err.value.message
    assert _snapshot(victim.ctx, draft) == before
    assert storage.get_storage().get(draft.media_key)[0] == samples.pdf()


def test_lists_show_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    draft = _draft(scenario.victim.admin.ctx)
    attacker = scenario.attacker.ctx
    with tenant_session(attacker) as session:
        page = course_views.list_authored(session, attacker, page_size=100)
        programs = course_programs.list_programs(session, attacker)
        own = _own_course(attacker)[0]
        choices = course_views.course_detail_for_editor(session, attacker, course_id=own)
    assert draft.course_id not in [r.id for r in page.rows]
    assert draft.title not in str(page) and draft.title not in str(programs)
    assert draft.course_id not in [c.value for c in choices.prerequisite_choices]


def test_media_route_gives_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    draft = _draft(scenario.victim.admin.ctx)
    with TestClient(
        build_api(), base_url="http://localhost:3000", follow_redirects=False
    ) as client:
        client.cookies.set(get_settings().session_cookie_name, scenario.attacker.token)
        response = client.get(f"/files/{draft.media_key}")
        assert response.status_code == 404 and b"%PDF" not in response.content
        client.cookies.set(get_settings().session_cookie_name, scenario.victim.admin.token)
        assert client.get(f"/files/{draft.media_key}").content == samples.pdf()


# --------------------------------------------------------------------------- handlers

S = TeachEditorState

HANDLER_ATTEMPTS: list[tuple[str, Callable[[Draft], EventSpec]]] = [
    ("save details", lambda d: S.save_details({"title": "Owned", "delivery_mode": "online"})),
    ("publish", lambda d: S.publish()),
    ("archive", lambda d: S.archive()),
    ("add module", lambda d: S.add_module({"module_title": "X"})),
    ("select lesson", lambda d: S.select_lesson(d.text_lesson_id)),
    ("rename module", lambda d: S.rename_module(d.module_id, "X")),
    ("move module", lambda d: S.move_module(d.module_id, "down")),
    ("delete module", lambda d: S.delete_module(d.module_id)),
    (
        "add lesson",
        lambda d: S.add_lesson({"module_id": d.module_id, "kind": "text", "lesson_title": "X"}),
    ),
    ("required", lambda d: S.set_required(d.text_lesson_id, False)),
    ("move lesson", lambda d: S.move_lesson(d.file_lesson_id, "up")),
    ("delete lesson", lambda d: S.delete_lesson(d.text_lesson_id)),
    ("delete question", lambda d: S.delete_question(d.question_id)),
    ("move question", lambda d: S.move_question(d.question_id, "down")),
    (
        "save question",
        lambda d: S.save_question(
            {"question_id": d.question_id, "kind": "short", "prompt": "x", "answers": "x"}
        ),
    ),
]


COURSE_ONLY = {"save details", "publish", "archive", "add module"}


def _editor_on(tab: StateHarness, course_id: str, draft: Draft) -> None:
    """The attacker's tab on their own course, or forced onto A's course id (as a forged
    page would be), with A's lesson 'selected'."""
    tab.navigate(f"/teach/courses/{course_id}")
    tab.dispatch(S.load())
    state = tab.state(S)
    state.cid, state.sel = course_id, draft.text_lesson_id
    state.lesson = {"kind": "file", "id": draft.file_lesson_id}


def test_handlers_give_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    victim = scenario.victim.admin
    draft = _draft(victim.ctx)
    before = _snapshot(victim.ctx, draft)
    own_course, _own_module = _own_course(scenario.attacker.ctx)
    with StateHarness(cookie=scenario.attacker.token, path="/teach") as tab:
        tab.dispatch(TeachState.load())
        assert draft.course_id not in str(tab.state(TeachState).rows)
        tab.navigate(f"/teach/courses/{draft.course_id}")
        tab.dispatch(S.load())
        assert not tab.state(S).found and draft.title not in str(tab.state(S).course)
        for target in (draft.course_id, own_course):
            for name, make in HANDLER_ATTEMPTS:
                if target == own_course and name in COURSE_ONLY:
                    continue  # no id of A's in it: on their own course it is their business
                _editor_on(tab, target, draft)
                reply = tab.dispatch(make(draft))
                assert reply.toast("error"), (target == own_course, name)
                assert draft.title not in str(tab.state(S).tree), name
            _editor_on(tab, target, draft)
            state = tab.state(S)
            state.sel = draft.file_lesson_id
            assert stream(tab, [samples.pdf()], "x.pdf").toast("error")
    assert _snapshot(victim.ctx, draft) == before


def test_owner_control(other_tenant: Scenario) -> None:  # noqa: F811
    """A's admin gets through the same service calls and handlers."""
    admin = other_tenant.victim.admin
    for name, attempt in SERVICE_ATTEMPTS:
        if name in OWNER_REFUSED:
            continue
        draft = _draft(admin.ctx)
        own_course, own_module = _own_course(admin.ctx)
        fn, kwargs = attempt(draft, own_course, own_module)
        if name.startswith("own course"):
            # A's own ids in another of A's courses are still refused: they are not that
            # course's. The control here is the same call on the right course.
            kwargs = {**kwargs, "course_id": draft.course_id}
            if name == "own course, A's lesson to my module":
                kwargs["module_id"] = draft.module_id
        with tenant_session(admin.ctx) as session:
            try:
                fn(session, admin.ctx, **kwargs)
            except (NotFound, PermissionDenied) as exc:  # pragma: no cover - the failure message
                raise AssertionError(f"owner refused: {name}") from exc
            except ServiceError:
                pass  # refused on content (e.g. publishing a draft that is not ready): allowed
    draft = _draft(admin.ctx)
    with StateHarness(cookie=admin.token, path=f"/teach/courses/{draft.course_id}") as tab:
        tab.dispatch(S.load())
        assert tab.state(S).found and tab.state(S).course["title"] == draft.title
        for name, make in HANDLER_ATTEMPTS:
            if name in ("publish", "archive", "delete module", "delete lesson", "delete question"):
                continue  # change the course's shape; checked in the service rows above
            _editor_on(tab, draft.course_id, draft)
            reply = tab.dispatch(make(draft))
            assert not reply.toast("error", "Not found"), name
        # State set from outside (as `_editor_on` does for the attackers) is what handlers see:
        _editor_on(tab, draft.course_id, draft)
        tab.dispatch(S.save_lesson({"lesson_title": "Renamed by owner", "body": "ok"}))
        tab.dispatch(S.select_lesson(draft.file_lesson_id))
        assert stream(tab, [samples.pdf()], "x.pdf").toast("success")
    titles = [lsn.title for m in _snapshot(admin.ctx, draft).modules for lsn in m.lessons]
    assert "Renamed by owner" in titles
    assert uuid.UUID(draft.course_id)
