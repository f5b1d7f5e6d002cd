"""`TeachState` (/teach) and `TeachEditorState` (/teach/courses/<id>) driven like a browser tab:
create, build, upload (streamed, with its limits), publish and its refusals, and roles."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import reflex as rx
from reflex_base.event import Event

from app.models.user import Role
from app.services.authoring import course_views, courses
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.infra import storage
from app.state.teach import TeachState
from app.state.teach_editor import TeachEditorState
from tests import factories as f
from tests.fixtures import media_samples as samples
from tests.state.harness import Reply, StateHarness

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture(autouse=True)
def _files(settings_env: Callable[..., None], tmp_path: Path) -> None:
    settings_env(storage_dir=tmp_path / "files")


def view(ctx: OrgContext, course_id: str) -> course_views.CourseEditorView:
    with tenant_session(ctx) as session:
        return course_views.course_detail_for_editor(session, ctx, course_id=course_id)


def new_course(ctx: OrgContext, title: str = "Ladder safety") -> str:
    with tenant_session(ctx) as session:
        return str(courses.do_create_course(session, ctx, data={"title": title}).id)


def editor(who: f.SignedIn, course_id: str) -> StateHarness:
    tab = StateHarness(cookie=who.token, path=f"/teach/courses/{course_id}")
    tab.dispatch(TeachEditorState.load())
    return tab


def stream(tab: StateHarness, parts: list[bytes], filename: str) -> Reply:
    """What `rx.upload_files_chunk` does: the background handler gets an iterator of chunks."""
    chunks = rx.UploadChunkIterator(maxsize=len(parts) + 1)
    event = Event(
        name=f"{TeachEditorState.get_full_name()}.upload_media",
        router_data=tab.router_data(),
        payload={"chunk_iter": chunks},
    )

    async def go() -> None:
        if not tab._started:
            await tab._processor.start()
            tab._started = True
        offset = 0
        for part in parts:
            await chunks.push(
                rx.UploadChunk(filename=filename, offset=offset, content_type="", data=part)
            )
            offset += len(part)
        await chunks.finish()
        future = await tab._processor.enqueue(tab.token, event)
        await asyncio.wait_for(future.wait_all(), timeout=30)
        await tab._processor.join(timeout=30)

    tab._reply, tab._errors = Reply(), []
    try:
        tab._runner.run(go())
    finally:
        reply, tab._reply = tab._reply, None
    if tab._errors:
        raise tab._errors[0]
    assert reply is not None
    return reply


# --------------------------------------------------------------------------- /teach


def test_the_list_creates_with_errors_beside_fields_and_opens_the_editor() -> None:
    admin = f.new_admin()
    existing = new_course(admin.ctx, "Existing course")
    with StateHarness(cookie=admin.token, path="/teach") as tab:
        tab.dispatch(TeachState.load())
        state = tab.state(TeachState)
        assert [r["id"] for r in state.rows] == [existing]
        assert {m["value"] for m in state.modes} == {"online", "in_person", "hybrid"}
        reply = tab.dispatch(TeachState.create({"title": "ab", "delivery_mode": "online"}))
        assert tab.state(TeachState).field_errors["title"].startswith("Give the course a title")
        assert reply.redirects == []
        reply = tab.dispatch(
            TeachState.create(
                {"title": "Forklift 101", "level": "beginner", "delivery_mode": "online"}
            )
        )
        (target,) = reply.redirects
        assert target.startswith("/teach/courses/") and reply.toast("success", "Forklift 101")
        tab.dispatch(TeachState.set_search("forklift"))
        assert [r["title"] for r in tab.state(TeachState).rows] == ["Forklift 101"]
        tab.dispatch(TeachState.show_status("published"))
        assert tab.state(TeachState).rows == []
        assert tab.dispatch(TeachState.create_program({"program_title": "Warehouse"})).toast(
            "success"
        )
        assert [p["label"] for p in tab.state(TeachState).programs] == ["Warehouse"]
        reply = tab.dispatch(TeachState.create_program({"program_title": " "}))
        assert reply.toast("error") and not reply.toasts("success")
        assert tab.state(TeachState).program_error
        assert [p["label"] for p in tab.state(TeachState).programs] == ["Warehouse"]


# --------------------------------------------------------------------------- the editor


def test_build_a_course_and_publish_it() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    with editor(admin, course_id) as tab:
        s = tab.state(TeachEditorState)
        assert s.found and s.course["title"] == "Ladder safety" and s.course["status"] == "draft"
        reply = tab.dispatch(TeachEditorState.publish())
        assert reply.toast("error", "no modules")
        assert "no modules" in tab.state(TeachEditorState).publish_error
        tab.dispatch(TeachEditorState.add_module({"module_title": "Getting started"}))
        (module_row,) = [r for r in tab.state(TeachEditorState).tree if r["type"] == "module"]
        tab.dispatch(
            TeachEditorState.add_lesson(
                {"module_id": module_row["id"], "kind": "text", "lesson_title": "Welcome"}
            )
        )
        s = tab.state(TeachEditorState)
        assert s.lesson["title"] == "Welcome" and s.sel == s.lesson["id"]
        tab.dispatch(TeachEditorState.set_preview("# Hi <script>x</script>"))
        assert tab.state(TeachEditorState).preview.startswith("# Hi")
        reply = tab.dispatch(
            TeachEditorState.save_lesson(
                {"lesson_title": "Welcome!", "body": "# Hi\n\nRead *this*.", "required": "on"}
            )
        )
        assert reply.toast("success", "Lesson saved")
        reply = tab.dispatch(TeachEditorState.publish())
        assert reply.toast("success", "Published")
        s = tab.state(TeachEditorState)
        assert s.course["status"] == "published" and s.publish_error == ""
        tab.dispatch(TeachEditorState.back_to_draft())
        assert tab.state(TeachEditorState).course["status"] == "draft"
    (module,) = view(admin.ctx, course_id).modules
    assert (
        module.lessons[0].title == "Welcome!" and module.lessons[0].body == "# Hi\n\nRead *this*."
    )


def test_a_reload_never_remounts_a_form_whose_saved_values_did_not_change() -> None:
    """Typed text lives in the browser until its form's key changes: other changes on the
    page (a new module, a saved lesson) keep the details and lesson forms' keys; saving a
    form changes only its own key, so it shows what was saved."""
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    with editor(admin, course_id) as tab:
        tab.dispatch(TeachEditorState.add_module({"module_title": "One"}))
        (module,) = [r for r in tab.state(TeachEditorState).tree if r["type"] == "module"]
        tab.dispatch(
            TeachEditorState.add_lesson(
                {"module_id": module["id"], "kind": "text", "lesson_title": "Welcome"}
            )
        )
        s = tab.state(TeachEditorState)
        details, lesson = s.details_key, s.lesson["key"]

        tab.dispatch(TeachEditorState.add_module({"module_title": "Two"}))  # reloads the course
        s = tab.state(TeachEditorState)
        assert (s.details_key, s.lesson["key"]) == (details, lesson)

        tab.dispatch(TeachEditorState.save_lesson({"lesson_title": "Welcome", "body": "Hello"}))
        s = tab.state(TeachEditorState)
        assert s.lesson["key"] != lesson and s.details_key == details
        assert s.lesson["body"] == "Hello"


def test_details_form_with_errors_beside_fields() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    other = new_course(admin.ctx, "Basics first")
    with editor(admin, course_id) as tab:
        assert [p["id"] for p in tab.state(TeachEditorState).prereqs] == [other]
        form = {
            "title": "Ladder safety II",
            "level": "advanced",
            "delivery_mode": "hybrid",
            "price": "abc",
        }
        tab.dispatch(TeachEditorState.save_details(form))
        assert "price like" in tab.state(TeachEditorState).field_errors["price_cents"]
        form.update(
            price="19.99", sequential="on", certificate_valid_days="30", **{f"prereq_{other}": "on"}
        )
        assert tab.dispatch(TeachEditorState.save_details(form)).toast("success")
        s = tab.state(TeachEditorState)
        assert s.course["price"] == "19.99" and s.course["sequential"] == "1"
        assert s.prereqs[0]["checked"] == "1" and s.field_errors["price_cents"] == ""
    saved = view(admin.ctx, course_id)
    assert (saved.price_cents, saved.level, saved.certificate_valid_days) == (1999, "advanced", 30)
    assert saved.prerequisite_ids == [other]


def test_quiz_questions_through_the_editor() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    with editor(admin, course_id) as tab:
        tab.dispatch(TeachEditorState.add_module({"module_title": "M"}))
        module_id = tab.state(TeachEditorState).tree[0]["id"]
        tab.dispatch(
            TeachEditorState.add_lesson(
                {"module_id": module_id, "kind": "quiz", "lesson_title": "Check"}
            )
        )
        reply = tab.dispatch(
            TeachEditorState.add_question(
                {
                    "kind": "single",
                    "prompt": "Sky?",
                    "options": "Green\n*Blue\n* Red",
                    "points": "2",
                }
            )
        )
        assert reply.toast("error", "exactly one right option")
        assert tab.state(TeachEditorState).field_errors["answer"]
        tab.dispatch(
            TeachEditorState.add_question(
                {"kind": "single", "prompt": "Sky?", "options": "Green\n*Blue\nRed", "points": "2"}
            )
        )
        tab.dispatch(
            TeachEditorState.add_question(
                {"kind": "short", "prompt": "Colour?", "answers": "blue\nazure"}
            )
        )
        qs = tab.state(TeachEditorState).questions
        assert [(q["kind"], q["options"], q["answers"]) for q in qs] == [
            ("single", "Green\n* Blue\nRed", ""),
            ("short", "", "blue\nazure"),
        ]
        tab.dispatch(
            TeachEditorState.save_question(
                {
                    "question_id": qs[0]["id"],
                    "kind": "multiple",
                    "prompt": "Warm colours?",
                    "options": "*Red\nBlue\n*Orange",
                    "points": "3",
                }
            )
        )
        tab.dispatch(TeachEditorState.move_question(qs[1]["id"], "up"))
        tab.dispatch(
            TeachEditorState.save_lesson(
                {
                    "lesson_title": "Check",
                    "body": "",
                    "required": "on",
                    "passing_score": "80",
                    "max_attempts": "0",
                    "shuffle": "on",
                }
            )
        )
        s = tab.state(TeachEditorState)
        assert [q["prompt"] for q in s.questions] == ["Colour?", "Warm colours?"]
        assert (s.lesson["passing_score"], s.lesson["max_attempts"], s.lesson["shuffle"]) == (
            "80",
            "0",
            "1",
        )
        tab.dispatch(TeachEditorState.delete_question(qs[1]["id"]))
        assert len(tab.state(TeachEditorState).questions) == 1
    quiz = view(admin.ctx, course_id).modules[0].lessons[0]
    assert quiz.questions[0].answer == [0, 2] and quiz.questions[0].kind == "multiple"


def test_tree_reorder_required_toggle_and_delete() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    with editor(admin, course_id) as tab:
        for title in ("One", "Two"):
            tab.dispatch(TeachEditorState.add_module({"module_title": title}))
        modules = [r for r in tab.state(TeachEditorState).tree if r["type"] == "module"]
        for title in ("A", "B"):
            tab.dispatch(
                TeachEditorState.add_lesson(
                    {"module_id": modules[0]["id"], "kind": "text", "lesson_title": title}
                )
            )
        tab.dispatch(TeachEditorState.move_module(modules[1]["id"], "up"))
        tab.dispatch(TeachEditorState.rename_module(modules[1]["id"], "Second"))
        tree = tab.state(TeachEditorState).tree
        assert [(r["type"], r["title"], r["slug"]) for r in tree if r["type"] != "add"] == [
            ("module", "Second", "1"),
            ("module", "One", "2"),
            ("lesson", "A", "2-1"),
            ("lesson", "B", "2-2"),
        ]
        counts = {r["title"]: r["count"] for r in tree if r["type"] == "module"}
        assert counts == {"Second": "0 lessons", "One": "2 lessons"}
        lesson_b = tree[-2]
        assert lesson_b["title"] == "B"
        tab.dispatch(TeachEditorState.move_lesson(lesson_b["id"], "up"))
        tab.dispatch(TeachEditorState.set_required(lesson_b["id"], False))
        tab.dispatch(TeachEditorState.select_lesson(lesson_b["id"]))
        tab.dispatch(TeachEditorState.move_lesson_to(modules[1]["id"]))
        tab.dispatch(TeachEditorState.delete_module(modules[0]["id"]))
    (only,) = view(admin.ctx, course_id).modules
    assert only.title == "Second" and [(lsn.title, lsn.required) for lsn in only.lessons] == [
        ("B", False)
    ]


def _file_lesson(tab: StateHarness, kind: str) -> str:
    tab.dispatch(TeachEditorState.add_module({"module_title": "M"}))
    module_id = tab.state(TeachEditorState).tree[0]["id"]
    tab.dispatch(
        TeachEditorState.add_lesson({"module_id": module_id, "kind": kind, "lesson_title": "Media"})
    )
    return tab.state(TeachEditorState).sel


def test_streamed_upload_stores_the_file(tmp_path: Path) -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    video = samples.real_video(tmp_path, "webm", seconds=2).read_bytes()
    with editor(admin, course_id) as tab:
        _file_lesson(tab, "video")
        reply = stream(tab, [video[:500], video[500:]], "clip.webm")
        assert reply.toast("success", "Uploaded clip.webm")
        s = tab.state(TeachEditorState)
        assert s.lesson["media_name"] == "clip.webm" and s.lesson["duration"] == "0:02"
        assert s.upload_note == "Stored." and not s.uploading
        tab.dispatch(
            TeachEditorState.set_upload_progress({"progress": 0.5, "loaded": 5, "total": 10})
        )
        assert tab.state(TeachEditorState).upload_progress == 50
    lesson = view(admin.ctx, course_id).modules[0].lessons[0]
    assert lesson.media_type == "video/webm" and lesson.media_size == len(video)
    key = lesson.media_url.removeprefix("/files/")
    assert storage.get_storage().get(key)[0] == video


def test_streamed_upload_refuses_wrong_type_and_too_large(
    settings_env: Callable[..., None],
) -> None:
    settings_env(max_file_mb=1)
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    with editor(admin, course_id) as tab:
        _file_lesson(tab, "file")
        reply = stream(tab, [b"<html><script>alert(1)</script>"], "notes.pdf")
        assert reply.toast("error", "not a type this lesson takes")
        assert "not a type" in tab.state(TeachEditorState).field_errors["file"]
        mb = 1024 * 1024
        reply = stream(tab, [samples.pdf(), b"\x00" * mb, b"\x00" * mb], "big.pdf")
        assert reply.toast("error", "larger than 1 MB")
        s = tab.state(TeachEditorState)
        assert s.lesson["media_name"] == "" and not s.uploading and s.upload_progress == 0
        reply = stream(tab, [samples.pdf()], "fine.pdf")
        assert reply.toast("success")
    assert view(admin.ctx, course_id).modules[0].lessons[0].media_name == "fine.pdf"


# --------------------------------------------------------------------------- roles and ids


def test_a_learner_gets_nothing_and_changes_nothing() -> None:
    admin = f.new_admin()
    course_id = new_course(admin.ctx)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with StateHarness(cookie=learner.token, path="/teach") as tab:
        tab.dispatch(TeachState.load())
        assert tab.state(TeachState).rows == []
        assert tab.dispatch(
            TeachState.create({"title": "Mine now", "delivery_mode": "online"})
        ).toast("error")
    with editor(learner, course_id) as tab:
        assert not tab.state(TeachEditorState).found
        tab.state(TeachEditorState).cid = course_id  # as if the page had loaded
        for event in (
            TeachEditorState.publish(),
            TeachEditorState.add_module({"module_title": "Sneaky"}),
            TeachEditorState.save_details({"title": "Hijacked", "delivery_mode": "online"}),
        ):
            assert tab.dispatch(event).toast("error", "not allowed")
    saved = view(admin.ctx, course_id)
    assert saved.title == "Ladder safety" and saved.modules == [] and saved.status == "draft"


def test_unknown_and_foreign_course_ids_are_not_found() -> None:
    pair = f.two_tenants()
    theirs = new_course(pair.b.ctx)
    for course_id in (theirs, str(uuid.uuid4()), "nonsense"):
        with editor(pair.a, course_id) as tab:
            s = tab.state(TeachEditorState)
            assert not s.found and s.course == {}
