"""Authoring (`authoring.courses`): validation beside the field, publish refusals with their
reason, ordering, ids of other courses, permissions and the catalog message on publish."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.models.course import CourseStatus, LessonKind
from app.models.user import Role
from app.services.authoring import courses, media
from app.services.config import org_config
from app.services.core import audit
from app.services.core.errors import (
    Conflict,
    LimitReached,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.infra import broker
from app.services.people import seats
from tests import factories as f
from tests import learning_factories as lf
from tests.fixtures import media_samples as samples

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture(autouse=True)
def _files(settings_env: Callable[..., None], tmp_path: Path) -> None:
    settings_env(storage_dir=tmp_path / "files")


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


def base(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "Forklift safety",
        "summary": "Drive it safely",
        "description": "# Hello\n\nStay **safe**.",
        "category": "Safety",
        "level": "beginner",
        "delivery_mode": "online",
    }
    data.update(over)
    return data


def run(ctx: OrgContext, fn: Callable[..., Any], **kwargs: Any) -> Any:
    with tenant_session(ctx) as session:
        return fn(session, ctx, **kwargs)


def new_course(ctx: OrgContext, **over: Any) -> uuid.UUID:
    course = run(ctx, courses.create_course, data=base(**over))
    return course.id  # type: ignore[no-any-return]


def ready_course(ctx: OrgContext) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A draft that can be published: one module, one text lesson. (course, module, lesson)"""
    course_id = new_course(ctx)
    module = run(ctx, courses.add_module, course_id=course_id, title="Basics")
    lesson = run(
        ctx, courses.add_lesson, course_id=course_id, module_id=module.id, kind="text", title="Hi"
    )
    return course_id, module.id, lesson.id


def detail(ctx: OrgContext, course_id: uuid.UUID) -> courses.CourseEditorView:
    return run(ctx, courses.course_detail_for_editor, course_id=course_id)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- create / update


def test_create_and_update_a_course_records_audit() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx, price_cents=2500, certificate_valid_days=365)
    view = detail(admin.ctx, course_id)
    assert view.status == CourseStatus.draft and view.title == "Forklift safety"
    assert view.description == "# Hello\n\nStay **safe**."
    assert view.price_cents == 2500 and view.certificate_valid_days == 365
    run(
        admin.ctx,
        courses.update_course,
        course_id=course_id,
        data=base(title="Forklift basics", level="advanced"),
    )
    view = detail(admin.ctx, course_id)
    assert (view.title, view.level) == ("Forklift basics", "advanced")
    with tenant_session(admin.ctx) as session:
        actions = [e.action for e in audit.list_events(session, admin.ctx, page_size=50).rows]
        events = audit.list_events(session, admin.ctx, action="course.updated").rows
    assert "course.created" in actions and "course.updated" in actions
    assert events[0].detail["changes"]["title"] == {
        "from": "Forklift safety",
        "to": "Forklift basics",
    }


@pytest.mark.parametrize(
    ("over", "field", "text"),
    [
        ({"title": "ab"}, "title", "at least 3"),
        ({"title": "x" * 201}, "title", "too long"),
        ({"level": "expert"}, "level", "beginner"),
        ({"price_cents": -1}, "price_cents", "negative"),
        ({"certificate_valid_days": 0}, "certificate_valid_days", "1 and 3650"),
        ({"certificate_valid_days": 3651}, "certificate_valid_days", "1 and 3650"),
        ({"certificate_valid_days": "soon"}, "certificate_valid_days", "whole number"),
        ({"delivery_mode": "carrier_pigeon"}, "delivery_mode", "delivery modes"),
        ({"prerequisite_ids": ["not-a-uuid"]}, "prerequisite_ids", "not valid"),
        ({"prerequisite_ids": [str(uuid.uuid4())]}, "prerequisite_ids", "another course"),
        ({"program_id": str(uuid.uuid4())}, "program_id", "program"),
    ],
)
def test_course_input_is_refused_beside_its_field(
    over: dict[str, Any], field: str, text: str
) -> None:
    admin = f.new_admin()
    with pytest.raises(ValidationFailed) as err:
        new_course(admin.ctx, **over)
    assert err.value.field == field and text in err.value.message


def test_delivery_mode_must_be_one_the_org_offers() -> None:
    admin = f.new_admin()
    with tenant_session(admin.ctx) as session:
        org_config.set_overrides(session, admin.org_id, {"delivery": {"modes": ["online"]}})
        session.commit()
    with pytest.raises(ValidationFailed) as err:
        new_course(admin.ctx, delivery_mode="in_person")
    assert err.value.field == "delivery_mode" and "Online" in err.value.message
    course_id = new_course(admin.ctx, delivery_mode="online")
    assert [c.value for c in detail(admin.ctx, course_id).delivery_modes] == ["online"]


def test_prerequisites_other_courses_of_the_org_only_and_no_circles() -> None:
    pair = f.two_tenants()
    first = new_course(pair.a.ctx, title="First steps")
    second = new_course(pair.a.ctx, title="Second steps", prerequisite_ids=[str(first)])
    assert detail(pair.a.ctx, second).prerequisite_ids == [str(first)]
    with pytest.raises(ValidationFailed, match="its own prerequisite"):
        run(
            pair.a.ctx,
            courses.update_course,
            course_id=first,
            data=base(prerequisite_ids=[str(first)]),
        )
    with pytest.raises(ValidationFailed, match="circle"):
        run(
            pair.a.ctx,
            courses.update_course,
            course_id=first,
            data=base(prerequisite_ids=[str(second)]),
        )
    theirs = new_course(pair.b.ctx)
    with pytest.raises(ValidationFailed, match="another course of this organization"):
        new_course(pair.a.ctx, prerequisite_ids=[str(theirs)])


def test_form_input_parses_checkboxes_price_and_prerequisites() -> None:
    data = courses.course_input_from_form(
        {
            "title": "  Welding   101 ",
            "level": "intermediate",
            "delivery_mode": "hybrid",
            "sequential": "on",
            "price": "$1,250.50",
            "certificate_valid_days": "",
            "prereq_abc": "on",
        }
    )
    assert data.title == "Welding 101" and data.sequential and not data.requires_approval
    assert data.price_cents == 125050 and data.certificate_valid_days is None
    assert data.prerequisite_ids == ["abc"]
    for bad in ("12.345", "ten", "-5"):
        with pytest.raises(ValidationFailed) as err:
            courses.course_input_from_form({"title": "Welding", "price": bad})
        assert err.value.field == "price_cents"


def test_programs() -> None:
    admin = f.new_admin()
    program = run(admin.ctx, courses.create_program, title="Warehouse pathway")
    new_course(admin.ctx, program_id=str(program.id))
    (view,) = [p for p in run(admin.ctx, courses.list_programs) if p.id == str(program.id)]
    assert view.title == "Warehouse pathway" and view.courses == 1
    with pytest.raises(ValidationFailed):
        run(admin.ctx, courses.create_program, title="  ")


def test_programs_stop_at_the_org_s_limit_and_the_usage_meter_counts_them() -> None:
    admin = f.new_admin()
    run(admin.ctx, courses.create_program, title="Pathway one")
    with tenant_session(admin.ctx) as session:
        org_config.update_section(
            session, admin.ctx, org_id=admin.org_id, section="limits", values={"max_programs": 1}
        )
        assert seats.usage(session, admin.ctx, org_id=admin.org_id)["max_programs"] == (1, 1)
    with pytest.raises(LimitReached, match="1 of its 1"):
        run(admin.ctx, courses.create_program, title="Pathway two")
    assert [p.title for p in run(admin.ctx, courses.list_programs)] == ["Pathway one"]


# --------------------------------------------------------------------------- who may


def test_only_authors_and_only_with_the_lms_feature() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with pytest.raises(PermissionDenied):
        new_course(learner.ctx)
    with pytest.raises(PermissionDenied):
        run(learner.ctx, courses.add_module, course_id=course_id, title="Sneaky")
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    run(instructor.ctx, courses.add_module, course_id=course_id, title="Allowed")
    with tenant_session(admin.ctx) as session:
        org_config.set_overrides(session, admin.org_id, {"features": {"lms": False}})
        session.commit()
    with pytest.raises(PermissionDenied, match="turned off"):
        run(instructor.ctx, courses.add_module, course_id=course_id, title="Off")


# --------------------------------------------------------------------------- publishing


def _publish(ctx: OrgContext, course_id: uuid.UUID) -> Any:
    return run(ctx, courses.publish_course, course_id=course_id)


def test_publish_refuses_an_empty_course() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    with pytest.raises(courses.PublishRefused) as err:
        _publish(admin.ctx, course_id)
    assert "no modules" in err.value.message
    run(admin.ctx, courses.add_module, course_id=course_id, title="Empty one")
    with pytest.raises(courses.PublishRefused) as err:
        _publish(admin.ctx, course_id)
    assert "no lessons" in err.value.message
    assert detail(admin.ctx, course_id).status == CourseStatus.draft


def test_publish_names_the_module_and_lesson_at_fault() -> None:
    admin = f.new_admin()
    course_id, module_id, _text = ready_course(admin.ctx)
    run(admin.ctx, courses.add_module, course_id=course_id, title="Later")
    quiz = run(
        admin.ctx,
        courses.add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="quiz",
        title="Check",
    )
    run(
        admin.ctx,
        courses.add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="file",
        title="Handout",
    )
    run(
        admin.ctx,
        courses.add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="video",
        title="Clip",
    )
    with pytest.raises(courses.PublishRefused) as err:
        _publish(admin.ctx, course_id)
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
        courses.add_question,
        course_id=course_id,
        lesson_id=quiz.id,
        kind="single",
        prompt="Sky?",
        options=["Green", "Blue"],
        answer=[1],
    )
    with pytest.raises(courses.PublishRefused) as err:
        _publish(admin.ctx, course_id)
    assert not any("Check" in r for r in err.value.reasons)


def test_publish_needs_a_required_lesson() -> None:
    admin = f.new_admin()
    course_id, _module, lesson_id = ready_course(admin.ctx)
    run(
        admin.ctx,
        courses.set_lesson_required,
        course_id=course_id,
        lesson_id=lesson_id,
        required=False,
    )
    with pytest.raises(courses.PublishRefused) as err:
        _publish(admin.ctx, course_id)
    assert "no lesson is required" in err.value.message


def test_publish_archive_and_back_to_draft_tell_the_catalog(
    published: list[tuple[str, dict[str, Any]]],
) -> None:
    admin = f.new_admin()
    course_id, _module, _lesson = ready_course(admin.ctx)
    topic = f"org:{admin.org_id}:catalog"
    course = _publish(admin.ctx, course_id)
    assert course.status == CourseStatus.published and course.published_at is not None
    assert (topic, {"course_id": str(course_id), "status": "published"}) in published
    _publish(admin.ctx, course_id)  # a second click changes nothing
    run(admin.ctx, courses.archive_course, course_id=course_id)
    assert detail(admin.ctx, course_id).status == CourseStatus.archived
    run(admin.ctx, courses.unpublish_course, course_id=course_id)
    assert detail(admin.ctx, course_id).status == CourseStatus.draft
    assert [p["status"] for t, p in published if t == topic] == ["published", "archived", "draft"]
    with tenant_session(admin.ctx) as session:
        rows = audit.list_events(session, admin.ctx, page_size=100).rows
    assert sum(1 for e in rows if e.action == "course.published") == 1
    assert {"course.archived", "course.unpublished"} <= {e.action for e in rows}


def test_a_refused_publish_sends_nothing(published: list[tuple[str, dict[str, Any]]]) -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    with pytest.raises(courses.PublishRefused):
        _publish(admin.ctx, course_id)
    assert published == []


# --------------------------------------------------------------------------- structure


def _titles(ctx: OrgContext, course_id: uuid.UUID) -> list[tuple[str, list[str]]]:
    return [(m.title, [lsn.title for lsn in m.lessons]) for m in detail(ctx, course_id).modules]


def test_modules_and_lessons_reorder_rename_and_delete() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    m1 = run(admin.ctx, courses.add_module, course_id=course_id, title="One")
    m2 = run(admin.ctx, courses.add_module, course_id=course_id, title="Two")
    a = run(
        admin.ctx, courses.add_lesson, course_id=course_id, module_id=m1.id, kind="text", title="A"
    )
    b = run(
        admin.ctx, courses.add_lesson, course_id=course_id, module_id=m1.id, kind="text", title="B"
    )
    assert _titles(admin.ctx, course_id) == [("One", ["A", "B"]), ("Two", [])]
    assert run(admin.ctx, courses.move_module, course_id=course_id, module_id=m2.id, direction="up")
    assert not run(
        admin.ctx, courses.move_module, course_id=course_id, module_id=m2.id, direction="up"
    )
    assert run(admin.ctx, courses.move_lesson, course_id=course_id, lesson_id=b.id, direction="up")
    assert _titles(admin.ctx, course_id) == [("Two", []), ("One", ["B", "A"])]
    run(admin.ctx, courses.rename_module, course_id=course_id, module_id=m2.id, title="Second")
    run(
        admin.ctx,
        courses.move_lesson_to_module,
        course_id=course_id,
        lesson_id=a.id,
        module_id=m2.id,
    )
    assert _titles(admin.ctx, course_id) == [("Second", ["A"]), ("One", ["B"])]
    with pytest.raises(ValidationFailed):
        run(
            admin.ctx,
            courses.move_lesson,
            course_id=course_id,
            lesson_id=a.id,
            direction="sideways",
        )
    with pytest.raises(ValidationFailed) as err:
        run(admin.ctx, courses.rename_module, course_id=course_id, module_id=m2.id, title=" ")
    assert err.value.field == "title"
    run(admin.ctx, courses.delete_lesson, course_id=course_id, lesson_id=a.id)
    run(admin.ctx, courses.delete_module, course_id=course_id, module_id=m1.id)
    assert _titles(admin.ctx, course_id) == [("Second", [])]


def test_lesson_settings_are_checked_and_markdown_kept_verbatim() -> None:
    admin = f.new_admin()
    course_id, module_id, lesson_id = ready_course(admin.ctx)
    body = "# Title\n\n<script>alert('x')</script>\n\n* one"
    run(
        admin.ctx,
        courses.update_lesson,
        course_id=course_id,
        lesson_id=lesson_id,
        body=body,
        title="Intro",
    )
    (lesson,) = detail(admin.ctx, course_id).modules[0].lessons
    assert lesson.body == body and lesson.title == "Intro"
    quiz = run(
        admin.ctx,
        courses.add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="quiz",
        title="Q",
    )
    run(
        admin.ctx,
        courses.update_lesson,
        course_id=course_id,
        lesson_id=quiz.id,
        passing_score="80",
        max_attempts=0,
        shuffle=True,
    )
    view = detail(admin.ctx, course_id).modules[0].lessons[1]
    assert (view.passing_score, view.max_attempts, view.shuffle) == (80, 0, True)
    for field, value in (
        ("passing_score", 101),
        ("passing_score", -1),
        ("max_attempts", 21),
        ("max_attempts", "x"),
    ):
        with pytest.raises(ValidationFailed) as err:
            run(
                admin.ctx,
                courses.update_lesson,
                course_id=course_id,
                lesson_id=quiz.id,
                **{field: value},
            )
        assert err.value.field == field
    with pytest.raises(ValidationFailed):
        run(
            admin.ctx,
            courses.add_lesson,
            course_id=course_id,
            module_id=module_id,
            kind="live",
            title="x",
        )


def test_published_courses_keep_their_lessons() -> None:
    admin = f.new_admin()
    course_id, module_id, lesson_id = ready_course(admin.ctx)
    _publish(admin.ctx, course_id)
    with pytest.raises(Conflict, match="back to draft"):
        run(admin.ctx, courses.delete_lesson, course_id=course_id, lesson_id=lesson_id)
    with pytest.raises(Conflict):
        run(admin.ctx, courses.delete_module, course_id=course_id, module_id=module_id)


def test_deleting_a_lesson_with_learner_records_is_refused_not_crashed() -> None:
    admin = f.new_admin()
    world = lf.published_course(admin.ctx)
    lf.enrollment(admin.ctx, world, progress=True)
    run(admin.ctx, courses.unpublish_course, course_id=world.course_id)
    with pytest.raises(Conflict, match="Learners have records"):
        run(
            admin.ctx,
            courses.delete_lesson,
            course_id=world.course_id,
            lesson_id=world.lesson_ids[0],
        )
    assert len(detail(admin.ctx, world.course_id).modules[0].lessons) == 2


# --------------------------------------------------------------------------- questions


def _quiz(ctx: OrgContext) -> tuple[uuid.UUID, uuid.UUID]:
    course_id, module_id, _ = ready_course(ctx)
    quiz = run(
        ctx, courses.add_lesson, course_id=course_id, module_id=module_id, kind="quiz", title="Quiz"
    )
    return course_id, quiz.id


@pytest.mark.parametrize(
    ("kind", "options", "answer", "points", "field"),
    [
        ("single", ["Only"], [0], 1, "options"),
        ("single", ["A", "B"], [0, 1], 1, "answer"),
        ("single", ["A", "B"], [], 1, "answer"),
        ("multiple", ["A", "B"], [], 1, "answer"),
        ("multiple", ["A", "B"], [5], 1, "answer"),
        ("multiple", ["A", "a"], [0], 1, "options"),
        ("short", [], [" "], 1, "answer"),
        ("single", ["A", "B"], [0], 0, "points"),
        ("single", ["A", "B"], [0], 101, "points"),
        ("essay", ["A", "B"], [0], 1, "kind"),
    ],
)
def test_question_rules(
    kind: str, options: list[str], answer: list[Any], points: int, field: str
) -> None:
    admin = f.new_admin()
    course_id, quiz_id = _quiz(admin.ctx)
    with pytest.raises(ValidationFailed) as err:
        run(
            admin.ctx,
            courses.add_question,
            course_id=course_id,
            lesson_id=quiz_id,
            kind=kind,
            prompt="Which?",
            options=options,
            answer=answer,
            points=points,
        )
    assert err.value.field == field


def test_questions_add_edit_move_delete() -> None:
    admin = f.new_admin()
    course_id, quiz_id = _quiz(admin.ctx)

    def add(prompt: str, **kw: Any) -> Any:
        return run(
            admin.ctx,
            courses.add_question,
            course_id=course_id,
            lesson_id=quiz_id,
            prompt=prompt,
            **kw,
        )

    q1 = add("Pick one", kind="single", options=["A", "B", "C"], answer=[2], points=2)
    q2 = add("Pick some", kind="multiple", options=["A", "B", "C"], answer=[0, 2])
    q3 = add("Say it", kind="short", answer=["Blue", "blue ", "azure"])
    assert q3.answer == ["Blue", "azure"]
    run(admin.ctx, courses.move_question, course_id=course_id, question_id=q3.id, direction="up")
    run(
        admin.ctx,
        courses.update_question,
        course_id=course_id,
        question_id=q1.id,
        kind="single",
        prompt="Pick exactly one",
        options=["A", "B"],
        answer=[0],
        points=5,
        explanation="Because.",
    )
    run(admin.ctx, courses.delete_question, course_id=course_id, question_id=q2.id)
    quiz = next(
        lsn
        for lsn in detail(admin.ctx, course_id).modules[0].lessons
        if lsn.kind == LessonKind.quiz
    )
    assert [(q.prompt, q.points) for q in quiz.questions] == [
        ("Pick exactly one", 5),
        ("Say it", 1),
    ]
    assert quiz.questions[0].answer == [0] and quiz.questions[0].explanation == "Because."
    text_lesson = detail(admin.ctx, course_id).modules[0].lessons[0]
    with pytest.raises(ValidationFailed, match="quiz lessons"):
        run(
            admin.ctx,
            courses.add_question,
            course_id=course_id,
            lesson_id=text_lesson.id,
            kind="short",
            prompt="x",
            answer=["x"],
        )


def test_marked_options_round_trip() -> None:
    options, right = courses.parse_marked_options("Green\n* Blue\n\n  *Red  \n")
    assert options == ["Green", "Blue", "Red"] and right == [1, 2]
    assert courses.parse_marked_options(courses.marked_options(options, right)) == (options, right)


# --------------------------------------------------------------------------- other ids


def test_ids_of_another_course_or_org_are_not_found() -> None:
    pair = f.two_tenants()
    mine, my_module, my_lesson = ready_course(pair.a.ctx)
    other = lf.published_course(pair.a.ctx, status=CourseStatus.draft)  # same org
    theirs = lf.published_course(pair.b.ctx, status=CourseStatus.draft)
    ctx = pair.a.ctx
    o, t, c = other, theirs, courses
    cross: list[tuple[Callable[..., Any], dict[str, Any]]] = [
        (c.update_lesson, {"course_id": mine, "lesson_id": o.lesson_ids[0], "title": "X"}),
        (c.delete_lesson, {"course_id": mine, "lesson_id": o.lesson_ids[0]}),
        (c.move_lesson, {"course_id": mine, "lesson_id": o.lesson_ids[1], "direction": "up"}),
        (c.rename_module, {"course_id": mine, "module_id": o.module_ids[0], "title": "X"}),
        (
            c.add_lesson,
            {"course_id": mine, "module_id": o.module_ids[0], "kind": "text", "title": "X"},
        ),
        (
            c.move_lesson_to_module,
            {"course_id": mine, "lesson_id": my_lesson, "module_id": o.module_ids[0]},
        ),
        (
            c.move_lesson_to_module,
            {"course_id": o.course_id, "lesson_id": my_lesson, "module_id": o.module_ids[0]},
        ),
        (c.delete_question, {"course_id": mine, "question_id": o.question_ids[0]}),
        (
            c.add_question,
            {
                "course_id": mine,
                "lesson_id": o.quiz_lesson_id,
                "kind": "short",
                "prompt": "x",
                "answer": ["x"],
            },
        ),
        (c.publish_course, {"course_id": t.course_id}),
        (c.course_detail_for_editor, {"course_id": t.course_id}),
        (c.update_lesson, {"course_id": t.course_id, "lesson_id": t.lesson_ids[0], "title": "X"}),
        (c.delete_module, {"course_id": mine, "module_id": t.module_ids[0]}),
        (c.update_lesson, {"course_id": "not-a-uuid", "lesson_id": my_lesson, "title": "X"}),
        (
            media.attach_media,
            {
                "course_id": mine,
                "lesson_id": o.by_kind["file"],
                "source": samples.pdf(),
                "filename": "a.pdf",
            },
        ),
    ]
    for fn, kwargs in cross:
        with pytest.raises(NotFound):
            run(ctx, fn, **kwargs)
    assert _titles(ctx, mine) == [("Basics", ["Hi"])]
    assert detail(ctx, other.course_id).modules[0].title == "Basics"
    assert my_module


def test_list_authored_searches_counts_and_pages() -> None:
    pair = f.two_tenants()
    ctx = pair.a.ctx
    tag = uuid.uuid4().hex[:6]
    for i in range(3):
        new_course(ctx, title=f"Crane {tag} {i}")
    lf.published_course(ctx, title=f"Ladder {tag}")
    new_course(pair.b.ctx, title=f"Crane {tag} theirs")
    page = run(ctx, courses.list_authored, search=f"crane {tag}", page_size=2)
    assert page.total == 3 and len(page.rows) == 2
    page2 = run(ctx, courses.list_authored, search=f"crane {tag}", page_size=2, page=2)
    assert len(page2.rows) == 1
    assert not {r.id for r in page.rows} & {r.id for r in page2.rows}
    (ladder,) = run(ctx, courses.list_authored, search=f"ladder {tag}").rows
    assert (ladder.modules, ladder.lessons, ladder.status) == (2, 4, "published")
    drafts = run(ctx, courses.list_authored, search=tag, status="draft")
    assert drafts.total == 3


def test_replay_of_structure_calls_is_harmless() -> None:
    """Double clicks: a second delete of the same lesson is NotFound, not a crash; a second
    publish is a no-op."""
    admin = f.new_admin()
    course_id, module_id, _lesson = ready_course(admin.ctx)
    extra = run(
        admin.ctx,
        courses.add_lesson,
        course_id=course_id,
        module_id=module_id,
        kind="text",
        title="X",
    )
    run(admin.ctx, courses.delete_lesson, course_id=course_id, lesson_id=extra.id)
    with pytest.raises(NotFound):
        run(admin.ctx, courses.delete_lesson, course_id=course_id, lesson_id=extra.id)
