"""The lesson half of the course editor (`TeachEditorState` mixes it in): the selected
lesson's form, its quiz questions, and the streamed media upload with its progress.

Like the rest of the editor, every handler re-checks `courses.author` (the permission of its
`_call`, or `_ctx()`) and hands ids to the services, which refuse ids of another course or org.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import reflex as rx
from sqlmodel import Session

from app.models.course import Lesson
from app.services.authoring import course_lessons, course_views, media, questions
from app.services.authoring.course_views import LessonView
from app.services.core.authz import Permission
from app.services.core.errors import ServiceError, ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.state.form_keys import form_key
from app.state.session import Events, Outcome, handle_errors

FILE_UPLOAD_ID = "lesson-file-upload"
VIDEO_UPLOAD_ID = "lesson-video-upload"
LESSON_FIELDS = ("lesson_title", "body", "passing_score", "max_attempts", "file")
QUESTION_FIELDS = ("kind", "prompt", "options", "answer", "points", "explanation")
PROGRESS_EVERY = 4 * media.MB  # how often the server-side byte count reaches the page

T = TypeVar("T")


def yes(value: bool) -> str:
    """A flag as state rows carry it ("1" or "")."""
    return "1" if value else ""


def _size(n: int) -> str:
    if n >= media.MB:
        return f"{n / media.MB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


def _duration(seconds: float) -> str:
    if seconds <= 0:
        return ""
    total = round(seconds)
    return f"{total // 60}:{total % 60:02d}"


def _question_row(q: course_views.QuestionView) -> dict[str, str]:
    short = q.kind == "short"
    return {
        "id": q.id,
        "kind": q.kind,
        "kind_label": questions.QUESTION_KINDS.get(q.kind, q.kind),
        "prompt": q.prompt,
        "options": "" if short else questions.marked_options(q.options, [int(i) for i in q.answer]),
        "answers": "\n".join(str(a) for a in q.answer) if short else "",
        "points": str(q.points),
        "explanation": q.explanation,
        "key": form_key(q.id, [q.kind, q.prompt, q.options, q.answer, q.points, q.explanation]),
    }


class LessonEditorMixin(rx.State, mixin=True):
    """The selected lesson, its questions and its upload (a mixin of `TeachEditorState`)."""

    sel: str = ""
    lesson: dict[str, str] = {}
    preview: str = ""
    questions: list[dict[str, str]] = []
    new_question_kind: str = "single"
    uploading: bool = False
    upload_progress: int = 0
    upload_note: str = ""

    if TYPE_CHECKING:  # provided by TeachEditorState
        cid: str
        field_errors: dict[str, str]

        def _ctx(self) -> OrgContext: ...
        def _clear_errors(self) -> None: ...
        def _reload(self, ctx: OrgContext | None = None) -> None: ...
        def _field_fail(
            self, exc: ServiceError, *, rename: dict[str, str] | None = None
        ) -> Events: ...
        def _structure(self, call: Any, success: str = "", **kwargs: Any) -> Events: ...
        def _call(
            self,
            service: Callable[[Session, OrgContext], T],
            *,
            permission: Permission | None = None,
            then: Callable[[OrgContext], object] | None = None,
        ) -> Outcome[T]: ...

    def _show_lesson(self, lsn: LessonView) -> None:
        self.sel = lsn.id
        self.lesson = {
            "id": lsn.id,
            "module_id": lsn.module_id,
            "title": lsn.title,
            "kind": lsn.kind,
            "kind_label": course_lessons.LESSON_KINDS.get(lsn.kind, lsn.kind),
            "required": yes(lsn.required),
            "body": lsn.body,
            "media_name": lsn.media_name,
            "media_type": lsn.media_type,
            "media_size": _size(lsn.media_size) if lsn.media_size else "",
            "media_url": lsn.media_url,
            "duration": _duration(lsn.duration_seconds),
            "passing_score": str(lsn.passing_score),
            "max_attempts": str(lsn.max_attempts),
            "shuffle": yes(lsn.shuffle),
            "limit": f"{media.limit_bytes(lsn.kind) // media.MB} MB"
            if lsn.kind in ("file", "video")
            else "",
            "key": form_key(
                lsn.id,
                [
                    lsn.title,
                    lsn.body,
                    lsn.required,
                    lsn.passing_score,
                    lsn.max_attempts,
                    lsn.shuffle,
                    lsn.media_name,
                ],
            ),
        }
        self.preview = lsn.body
        self.questions = [_question_row(q) for q in lsn.questions]

    # ------------------------------------------------------------------ lessons

    @rx.event
    def add_lesson(self, form: dict[str, Any]) -> Events:
        self._clear_errors()

        def add(session: Session, ctx: OrgContext) -> Lesson:
            lesson = course_lessons.do_add_lesson(
                session,
                ctx,
                course_id=self.cid,
                module_id=str(form.get("module_id", "")),
                kind=str(form.get("kind", "")),
                title=str(form.get("lesson_title", "")),
            )
            self.sel = str(lesson.id)  # the reload then shows the new lesson
            return lesson

        done = self._call(add, permission=Permission.courses_author, then=self._reload)
        if done.error is not None:
            return self._field_fail(done.error)
        return rx.toast.success(f"Lesson “{done.value.title}” added.")

    @rx.event
    def select_lesson(self, lesson_id: str) -> Events:
        self._clear_errors()
        self.upload_note, self.upload_progress = "", 0
        previous, self.sel = self.sel, lesson_id
        try:
            self._reload()
        except ServiceError as exc:
            self.sel = previous
            return handle_errors(exc)
        if self.sel != lesson_id:
            return rx.toast.error("Not found.")
        return None

    @rx.event
    def close_lesson(self) -> None:
        self.sel, self.lesson, self.questions, self.preview = "", {}, [], ""

    @rx.event
    def set_preview(self, value: str) -> None:
        self.preview = value[: course_lessons.MAX_BODY]

    @rx.event
    def save_lesson(self, form: dict[str, Any]) -> Events:
        self._clear_errors()
        kind = self.lesson.get("kind", "")
        quiz = kind == "quiz"
        done = self._call(
            lambda s, ctx: course_lessons.do_update_lesson(
                s,
                ctx,
                course_id=self.cid,
                lesson_id=self.sel,
                title=str(form.get("lesson_title", "")),
                body=str(form.get("body", "")),
                required=str(form.get("required", "")) == "on",
                passing_score=str(form.get("passing_score", "")) if quiz else None,
                max_attempts=str(form.get("max_attempts", "")) if quiz else None,
                shuffle=(str(form.get("shuffle", "")) == "on") if quiz else None,
            ),
            permission=Permission.courses_author,
            then=self._reload,
        )
        if done.error is not None:
            return self._field_fail(done.error, rename={"title": "lesson_title"})
        return rx.toast.success("Lesson saved.")

    @rx.event
    def set_required(self, lesson_id: str, value: bool) -> Events:
        return self._structure(
            course_lessons.do_set_lesson_required,
            "Lesson is required." if value else "Lesson is optional.",
            lesson_id=lesson_id,
            required=bool(value),
        )

    @rx.event
    def delete_lesson(self, lesson_id: str) -> Events:
        if lesson_id == self.sel:
            self.sel = ""
        return self._structure(
            course_lessons.do_delete_lesson, "Lesson deleted.", lesson_id=lesson_id
        )

    @rx.event
    def move_lesson(self, lesson_id: str, direction: str) -> Events:
        return self._structure(
            course_lessons.do_move_lesson, lesson_id=lesson_id, direction=direction
        )

    @rx.event
    def move_lesson_to(self, module_id: str) -> Events:
        return self._structure(
            course_lessons.do_move_lesson_to_module,
            "Lesson moved.",
            lesson_id=self.sel,
            module_id=module_id,
        )

    @rx.event
    def remove_media(self) -> Events:
        return self._structure(media.do_remove_media, "File removed.", lesson_id=self.sel)

    # ------------------------------------------------------------------ questions

    @rx.event
    def set_new_question_kind(self, value: str) -> None:
        self.new_question_kind = value if value in questions.QUESTION_KINDS else "single"

    @staticmethod
    def _question_input(form: dict[str, Any]) -> dict[str, Any]:
        kind = str(form.get("kind", ""))
        if kind == "short":
            answers = [a for a in str(form.get("answers", "")).splitlines() if a.strip()]
            return {"kind": kind, "options": [], "answer": answers}
        options, right = questions.parse_marked_options(str(form.get("options", "")))
        return {"kind": kind, "options": options, "answer": right}

    @rx.event
    def add_question(self, form: dict[str, Any]) -> Events:
        self._clear_errors()
        return self._structure(
            questions.do_add_question,
            "Question added.",
            lesson_id=self.sel,
            prompt=str(form.get("prompt", "")),
            points=str(form.get("points", "1") or "1"),
            explanation=str(form.get("explanation", "")),
            **self._question_input(form),
        )

    @rx.event
    def save_question(self, form: dict[str, Any]) -> Events:
        self._clear_errors()
        return self._structure(
            questions.do_update_question,
            "Question saved.",
            question_id=str(form.get("question_id", "")),
            prompt=str(form.get("prompt", "")),
            points=str(form.get("points", "1") or "1"),
            explanation=str(form.get("explanation", "")),
            **self._question_input(form),
        )

    @rx.event
    def delete_question(self, question_id: str) -> Events:
        return self._structure(
            questions.do_delete_question, "Question deleted.", question_id=question_id
        )

    @rx.event
    def move_question(self, question_id: str, direction: str) -> Events:
        return self._structure(
            questions.do_move_question, question_id=question_id, direction=direction
        )

    # ------------------------------------------------------------------ media upload

    @rx.event
    def set_upload_progress(self, progress: dict[str, Any]) -> None:
        """The browser's view of the upload (a bar); the server counts bytes itself."""
        try:
            fraction = float(progress.get("progress", 0) or 0)
        except (TypeError, ValueError):
            fraction = 0.0
        self.upload_progress = max(0, min(100, round(fraction * 100)))

    @rx.event(background=True)
    async def upload_media(self, chunk_iter: rx.UploadChunkIterator) -> Events:
        """Stream the chosen file into an `UploadSink` (bytes counted as they arrive, refused
        at the size limit), check its type by content, then store it on the lesson."""
        async with self:
            try:
                ctx = self._ctx()
            except ServiceError as exc:
                return handle_errors(exc)
            course_id, lesson_id = self.cid, self.sel
            kind = self.lesson.get("kind", "")
            self._clear_errors()
            self.uploading, self.upload_note = True, "Uploading…"
        if kind not in ("file", "video"):
            async with self:
                self.uploading, self.upload_note = False, ""
            return rx.toast.error("Only file and video lessons take an upload.")
        sink: media.UploadSink | None = None
        filename = ""
        try:
            sink = media.UploadSink(kind)
            reported = 0
            async for chunk in chunk_iter:
                if not filename:
                    filename = chunk.filename
                elif chunk.filename != filename:
                    raise ValidationFailed("Upload one file at a time.", field="file")
                sink.write(chunk.data)
                if sink.size - reported >= PROGRESS_EVERY:
                    reported = sink.size
                    async with self:
                        self.upload_note = f"Received {_size(sink.size)}…"
            if not filename:
                raise ValidationFailed("Choose a file first.", field="file")
            async with self:
                self.upload_note = "Checking the file…"
            await asyncio.to_thread(sink.finish, filename)
            await asyncio.to_thread(self._attach, ctx, course_id, lesson_id, sink, filename)
        except ServiceError as exc:
            async with self:
                self.uploading, self.upload_progress = False, 0
                self.upload_note = exc.message
                if exc.field:
                    self.field_errors = {**self.field_errors, "file": exc.message}
            return handle_errors(exc)
        finally:
            if sink is not None:
                sink.discard()
        async with self:
            self.uploading, self.upload_progress, self.upload_note = False, 100, "Stored."
            try:
                self._reload(ctx)
            except ServiceError as exc:
                return handle_errors(exc)
        upload_id = VIDEO_UPLOAD_ID if kind == "video" else FILE_UPLOAD_ID
        return [rx.clear_selected_files(upload_id), rx.toast.success(f"Uploaded {filename}.")]

    @staticmethod
    def _attach(
        ctx: OrgContext, course_id: str, lesson_id: str, sink: media.UploadSink, filename: str
    ) -> None:
        with tenant_session(ctx) as session:
            media.do_attach_media(
                session,
                ctx,
                course_id=course_id,
                lesson_id=lesson_id,
                source=sink,
                filename=filename,
            )
