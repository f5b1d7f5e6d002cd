"""`/teach/courses/<id>`: the course editor (details, cover, publishing, the modules > lessons
tree; the selected lesson, its questions and uploads are in `app.state.teach_lesson`).

Every handler re-checks `courses.author` (the permission of its `_call`, or `_ctx()`) and
passes ids to the services, which check that each one belongs to this course of the active
org (a module, lesson or question id of another course or org is not found). The course id
comes from the page's URL.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.services.authoring import (
    course_input,
    course_lessons,
    course_outline,
    course_status,
    course_views,
    courses,
    media,
)
from app.services.authoring.course_views import CourseEditorView, LessonView
from app.services.core.authz import Permission
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.core.wording import counted
from app.state.account import FormState
from app.state.form_keys import form_key
from app.state.session import Events, SessionState, handle_errors
from app.state.teach import STATUS_COLORS, blank_errors
from app.state.teach_lesson import (
    LESSON_FIELDS,
    QUESTION_FIELDS,
    LessonEditorMixin,
    yes,
)

COVER_UPLOAD_ID = "course-cover-upload"


class TeachEditorState(LessonEditorMixin, FormState, SessionState):
    """One course being edited."""

    found: bool = False
    cid: str = ""
    details_key: str = ""  # remounts the details form only when the saved details change
    course: dict[str, str] = {}
    modes: list[dict[str, str]] = []
    programs: list[dict[str, str]] = []
    prereqs: list[dict[str, str]] = []
    tree: list[dict[str, str]] = []
    module_choices: list[dict[str, str]] = []
    problems: list[str] = []
    publish_error: str = ""
    field_errors: dict[str, str] = blank_errors(*LESSON_FIELDS, *QUESTION_FIELDS, "cover")

    # ------------------------------------------------------------------ helpers

    def _course_id(self) -> str:
        parts = self.router.url.path.rstrip("/").split("/")
        return parts[-1] if len(parts) >= 4 and parts[-2] == "courses" else ""

    def _ctx(self) -> OrgContext:
        return self._require(Permission.courses_author)

    def _clear_errors(self) -> None:
        self.field_errors = blank_errors(*LESSON_FIELDS, *QUESTION_FIELDS, "cover")
        self.form_error = ""

    def _field_fail(self, exc: ServiceError, *, rename: dict[str, str] | None = None) -> Events:
        """A refusal: beside its field when it names one, else a toast."""
        self.busy = False
        if exc.field:
            name = (rename or {}).get(exc.field, exc.field)
            self.field_errors = {
                **blank_errors(*LESSON_FIELDS, *QUESTION_FIELDS, "cover"),
                name: exc.message,
            }
            return rx.toast.error(exc.message)
        return handle_errors(exc)

    def _fill(self, view: CourseEditorView) -> None:
        self.found = True
        self.cid = view.id
        self.course = {
            "id": view.id,
            "title": view.title,
            "summary": view.summary,
            "description": view.description,
            "category": view.category,
            "level": view.level,
            "delivery_mode": view.delivery_mode,
            "status": view.status,
            "status_color": STATUS_COLORS.get(view.status, "gray"),
            "shared_with_children": yes(view.shared_with_children),
            "requires_approval": yes(view.requires_approval),
            "sequential": yes(view.sequential),
            "price": f"{view.price_cents / 100:.2f}" if view.price_cents else "",
            "certificate_valid_days": str(view.certificate_valid_days or ""),
            "program_id": view.program_id,
            "cover_url": view.cover_url,
            "modified": view.modified.strftime("%Y-%m-%d %H:%M UTC"),
            "preview_href": f"/preview/{view.id}",
        }
        editable = ("title", "summary", "description", "category", "level", "delivery_mode")
        self.details_key = form_key(
            view.id,
            [
                *(self.course[k] for k in editable),
                *(self.course[k] for k in ("shared_with_children", "requires_approval")),
                *(self.course[k] for k in ("sequential", "price", "certificate_valid_days")),
                view.program_id,
                sorted(view.prerequisite_ids),
            ],
        )
        self.modes = [{"value": c.value, "label": c.label} for c in view.delivery_modes]
        self.programs = [{"value": "", "label": "No program"}] + [
            {"value": c.value, "label": c.label} for c in view.programs
        ]
        self.prereqs = [
            {"id": c.value, "title": c.label, "checked": yes(c.value in view.prerequisite_ids)}
            for c in view.prerequisite_choices
        ]
        rows: list[dict[str, str]] = []
        lessons: dict[str, LessonView] = {}
        for mi, module in enumerate(view.modules):
            rows.append(
                {
                    "type": "module",
                    "id": module.id,
                    "module_id": module.id,
                    "title": module.title,
                    "number": str(mi + 1),
                    "slug": str(mi + 1),
                    "first": yes(mi == 0),
                    "last": yes(mi == len(view.modules) - 1),
                    "kind": "",
                    "kind_label": "",
                    "required": "",
                    "count": counted(len(module.lessons), "lesson"),
                }
            )
            for li, lsn in enumerate(module.lessons):
                lessons[lsn.id] = lsn
                rows.append(
                    {
                        "type": "lesson",
                        "id": lsn.id,
                        "module_id": module.id,
                        "title": lsn.title,
                        "number": f"{mi + 1}.{li + 1}",
                        "slug": f"{mi + 1}-{li + 1}",
                        "first": yes(li == 0),
                        "last": yes(li == len(module.lessons) - 1),
                        "kind": lsn.kind,
                        "kind_label": course_lessons.LESSON_KINDS.get(lsn.kind, lsn.kind),
                        "required": yes(lsn.required),
                        "count": str(len(lsn.questions)),
                    }
                )
            rows.append({**rows[-1 - len(module.lessons)], "type": "add"})
        self.tree = rows
        self.module_choices = [{"value": m.id, "label": m.title} for m in view.modules]
        self.problems = list(view.problems)
        if self.sel and self.sel in lessons:
            self._show_lesson(lessons[self.sel])
        else:
            self.sel, self.lesson, self.questions, self.preview = "", {}, [], ""

    def _reload(self, ctx: OrgContext | None = None) -> None:
        ctx = ctx or self._ctx()
        with tenant_session(ctx) as session:
            view = course_views.course_detail_for_editor(session, ctx, course_id=self.cid)
        self._fill(view)

    # ------------------------------------------------------------------ page

    @rx.event
    def load(self) -> Events:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect(f"/signin?next={self.router.url.path}")
        self.found, self.cid, self.sel = False, self._course_id(), ""
        self.publish_error, self.upload_note, self.upload_progress = "", "", 0
        self.uploading = False
        self._clear_errors()
        if Permission.courses_author.value not in self.permissions:
            return None
        try:
            self._reload(ctx)
        except NotFound:
            self.found = False
        except ServiceError as exc:
            self.found = False
            return handle_errors(exc)
        return None

    # ------------------------------------------------------------------ details

    @rx.event
    def save_details(self, form: dict[str, Any]) -> Events:
        self._clear_errors()
        done = self._call(
            lambda s, ctx: courses.do_update_course(
                s, ctx, course_id=self.cid, data=course_input.course_input_from_form(form)
            ),
            permission=Permission.courses_author,
            then=self._reload,
        )
        if done.error is not None:
            return self._field_fail(done.error)
        return rx.toast.success("Details saved.")

    @rx.event
    async def upload_cover(self, files: list[rx.UploadFile]) -> Events:
        self._clear_errors()
        if not files:
            return rx.toast.error("Choose an image first.")
        data = await files[0].read(media.MAX_COVER_BYTES + 1)
        done = self._call(
            lambda s, ctx: media.do_set_cover(s, ctx, course_id=self.cid, data=data),
            permission=Permission.courses_author,
            then=self._reload,
        )
        if done.error is not None:
            return self._field_fail(done.error)
        return [rx.clear_selected_files(COVER_UPLOAD_ID), rx.toast.success("Cover image saved.")]

    # ------------------------------------------------------------------ status

    def _status(self, action: str) -> Events:
        self.publish_error = ""
        fn = {
            "publish": course_status.do_publish_course,
            "archive": course_status.do_archive_course,
            "draft": course_status.do_unpublish_course,
        }[action]
        done = self._call(
            lambda s, ctx: fn(s, ctx, course_id=self.cid),
            permission=Permission.courses_author,
            then=self._reload,
        )
        if isinstance(done.error, course_status.PublishRefused):
            self.publish_error = done.error.message
            self.problems = list(done.error.reasons)
            return rx.toast.error(done.error.message)
        if done.error is not None:
            return done.reply
        message = {
            "publish": "Published: learners can find this course in the catalog.",
            "archive": "Archived: the course left the catalog.",
            "draft": "Back to draft: the course left the catalog.",
        }[action]
        return rx.toast.success(message)

    @rx.event
    def publish(self) -> Events:
        return self._status("publish")

    @rx.event
    def archive(self) -> Events:
        return self._status("archive")

    @rx.event
    def back_to_draft(self) -> Events:
        return self._status("draft")

    # ------------------------------------------------------------------ modules

    def _structure(self, call: Any, success: str = "", **kwargs: Any) -> Events:
        """Run one structural service call on this course, reload, toast."""
        done = self._call(
            lambda s, ctx: call(s, ctx, course_id=self.cid, **kwargs),
            permission=Permission.courses_author,
            then=self._reload,
        )
        if done.error is not None:
            return self._field_fail(done.error)
        return rx.toast.success(success) if success else None

    @rx.event
    def add_module(self, form: dict[str, Any]) -> Events:
        self._clear_errors()
        return self._structure(
            course_outline.do_add_module, "Module added.", title=str(form.get("module_title", ""))
        )

    @rx.event
    def rename_module(self, module_id: str, title: str) -> Events:
        if title.strip() == next(
            (r["title"] for r in self.tree if r["id"] == module_id and r["type"] == "module"), None
        ):
            return None
        return self._structure(
            course_outline.do_rename_module, "Module renamed.", module_id=module_id, title=title
        )

    @rx.event
    def delete_module(self, module_id: str) -> Events:
        return self._structure(
            course_outline.do_delete_module, "Module deleted.", module_id=module_id
        )

    @rx.event
    def move_module(self, module_id: str, direction: str) -> Events:
        return self._structure(
            course_outline.do_move_module, module_id=module_id, direction=direction
        )
