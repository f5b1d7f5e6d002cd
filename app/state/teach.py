"""`/teach`: the org's courses for authors (search, status filter, pages), creating a course
and a program. The course editor lives in `app.state.teach_editor`."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.services.authoring import course_input, course_programs, course_views, courses
from app.services.core.authz import Permission
from app.state.account import FormState
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState

STATUS_FILTERS = ("all", "draft", "published", "archived")
STATUS_COLORS = {"draft": "gray", "published": "green", "archived": "orange"}
COURSE_FIELDS = (
    "title",
    "summary",
    "description",
    "category",
    "level",
    "delivery_mode",
    "price_cents",
    "certificate_valid_days",
    "prerequisite_ids",
    "program_id",
    "shared_with_children",
    "requires_approval",
    "sequential",
)


def blank_errors(*extra: str) -> dict[str, str]:
    """One empty message per known field, so pages can index any of them."""
    return dict.fromkeys((*COURSE_FIELDS, *extra), "")


class TeachState(PagedState, FormState, SessionState):
    """The authoring list and its create forms."""

    rows: list[dict[str, str]] = []
    search: str = ""
    status_filter: str = "all"
    modes: list[dict[str, str]] = []
    programs: list[dict[str, str]] = []
    field_errors: dict[str, str] = blank_errors()
    program_error: str = ""
    create_open: bool = False

    def _reload(self) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: (
                course_views.list_authored(
                    s,
                    ctx,
                    page=self.page,
                    page_size=PAGE_SIZE,
                    search=self.search,
                    status="" if self.status_filter == "all" else self.status_filter,
                ),
                course_views.delivery_mode_choices(s, ctx),
                course_programs.list_programs(s, ctx),
            ),
            permission=Permission.courses_author,
        )
        if not done.ok:
            self.rows = []
            return done.reply
        result, modes, programs = done.value
        self.total = result.total
        self.rows = [
            {
                "id": r.id,
                "title": r.title,
                "status": r.status,
                "color": STATUS_COLORS.get(r.status, "gray"),
                "category": r.category,
                "level": course_input.LEVELS.get(r.level, r.level),
                "modules": str(r.modules),
                "lessons": str(r.lessons),
                "updated": r.updated.strftime("%Y-%m-%d %H:%M"),
                "href": f"/teach/courses/{r.id}",
            }
            for r in result.rows
        ]
        self.modes = [{"value": m.value, "label": m.label} for m in modes]
        self.programs = [
            {"value": p.id, "label": p.title, "courses": str(p.courses)} for p in programs
        ]
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        if self._refresh() is None:
            return rx.redirect("/signin?next=/teach")
        self.page, self.search, self.status_filter = 1, "", "all"
        self.field_errors, self.form_error, self.program_error = blank_errors(), "", ""
        if Permission.courses_author.value in self.permissions:
            return self._reload()
        return None

    @rx.event
    def set_search(self, value: str) -> rx.event.EventSpec | None:
        self.search = value[:100]
        self.page = 1
        return self._reload()

    @rx.event
    def show_status(self, value: str | list[str]) -> rx.event.EventSpec | None:
        chosen = value if isinstance(value, str) else (value[0] if value else "all")
        self.status_filter = chosen if chosen in STATUS_FILTERS else "all"
        self.page = 1
        return self._reload()

    @rx.event
    def set_create_open(self, value: bool) -> None:
        self.create_open = value
        if value:
            self.field_errors, self.form_error = blank_errors(), ""

    @rx.event
    def create(self, form: dict[str, Any]) -> list[rx.event.EventSpec] | rx.event.EventSpec | None:
        self._start()
        self.field_errors = blank_errors()
        done = self._call(
            lambda s, ctx: courses.do_create_course(
                s, ctx, data=course_input.course_input_from_form(form)
            ),
            permission=Permission.courses_author,
        )
        if not done.ok:
            self._fail(done.error)
            if done.error.field:
                self.field_errors = {**blank_errors(), done.error.field: done.error.message}
                return None
            return done.reply
        course = done.value
        self.busy, self.create_open = False, False
        return [
            rx.toast.success(f"Created “{course.title}”. Add modules and lessons next."),
            rx.redirect(f"/teach/courses/{course.id}"),
        ]

    @rx.event
    def create_program(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self.program_error = ""
        done = self._call(
            lambda s, ctx: course_programs.do_create_program(
                s,
                ctx,
                title=str(form.get("program_title", "")),
                description=str(form.get("program_description", "")),
            ),
            permission=Permission.courses_author,
        )
        if not done.ok:
            self.program_error = done.error.message
            return done.reply
        self._reload()
        return rx.toast.success(f"Program “{done.value.title}” created.")
