"""Authoring pages: `/teach` (the org's courses, create a course or a program) and the course
editor at `/teach/courses/[course_id]` (its layout is in `app.pages.teach_editor`)."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, form_error, pager, select_field
from app.pages.teach_editor import course_editor_page
from app.services.authoring.course_input import LEVELS
from app.services.core.authz import Permission
from app.state.teach import STATUS_FILTERS, TeachState
from app.state.teach_editor import TeachEditorState


def labelled_input(
    label: str,
    name: str,
    error: rx.Var[str] | str = "",
    *,
    placeholder: str = "",
    required: bool = False,
    default_value: rx.Var[str] | str | None = None,
    type_: str = "text",
) -> rx.Component:
    """A labelled input named `name` (id `field-{name}`) with its error beside it."""
    input_id = f"field-{name}"
    extra = {} if default_value is None else {"default_value": default_value}
    return rx.box(
        rx.el.label(label, html_for=input_id, class_name="gh-label"),
        rx.input(
            id=input_id,
            name=name,
            type=type_,
            placeholder=placeholder,
            required=required,
            width="100%",
            aria_describedby=f"{input_id}-error",
            **extra,
        ),
        rx.cond(
            error != "",
            rx.text(error, id=f"{input_id}-error", color_scheme="red", size="2", role="alert"),
        ),
        width="100%",
    )


def _create_dialog() -> rx.Component:
    s = TeachState
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(rx.icon("plus"), "New course", id="new-course")),
        rx.dialog.content(
            rx.dialog.title("New course"),
            rx.dialog.description(
                "Start with the basics; you add modules, lessons, a cover and the rest next.",
                size="2",
            ),
            rx.form(
                rx.vstack(
                    form_error(s.form_error),
                    labelled_input("Title", "title", s.field_errors["title"], required=True),
                    labelled_input("Summary (one line)", "summary", s.field_errors["summary"]),
                    labelled_input("Category", "category", s.field_errors["category"]),
                    select_field(
                        "Level",
                        "level",
                        list(LEVELS.items()),
                        error=s.field_errors["level"],
                        default_value="beginner",
                    ),
                    select_field(
                        "Delivery mode",
                        "delivery_mode",
                        s.modes,
                        error=s.field_errors["delivery_mode"],
                    ),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", type="button")),
                        rx.button(
                            "Create course", type="submit", loading=s.busy, id="create-course"
                        ),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=s.create,
                id="create-course-form",
            ),
        ),
        open=s.create_open,
        on_open_change=s.set_create_open,
    )


def _courses_table() -> rx.Component:
    s = TeachState
    return rx.cond(
        s.rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Course", "Status", "Modules", "Lessons", "Updated (UTC)")
                        ]
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        s.rows,
                        lambda r: rx.table.row(
                            rx.table.cell(
                                rx.vstack(
                                    rx.link(r["title"], href=r["href"], weight="medium"),
                                    rx.text(
                                        r["category"],
                                        " · ",
                                        r["level"],
                                        size="1",
                                        color_scheme="gray",
                                    ),
                                    spacing="0",
                                )
                            ),
                            rx.table.cell(rx.badge(r["status"], color_scheme=r["color"])),
                            rx.table.cell(r["modules"]),
                            rx.table.cell(r["lessons"]),
                            rx.table.cell(r["updated"]),
                        ),
                    )
                ),
                width="100%",
                id="courses-table",
            ),
            overflow_x="auto",
            width="100%",
        ),
        empty_state(
            "No courses here yet",
            "Create a course with “New course”, then add modules and lessons.",
            "book_open",
        ),
    )


def _programs_card() -> rx.Component:
    s = TeachState
    return rx.card(
        rx.vstack(
            rx.heading("Programs", size="4"),
            rx.text(
                "A program groups courses into a pathway; choose it in a course's details.",
                size="2",
                color_scheme="gray",
            ),
            rx.flex(
                rx.foreach(
                    s.programs,
                    lambda p: rx.badge(p["label"], " (", p["courses"], ")", variant="soft"),
                ),
                wrap="wrap",
                gap="2",
            ),
            rx.form(
                rx.flex(
                    rx.box(
                        rx.el.label("New program", html_for="program-title", class_name="gh-label"),
                        rx.input(id="program-title", name="program_title", required=True),
                        flex="1",
                        min_width="12em",
                    ),
                    rx.button("Add program", type="submit", id="create-program", variant="soft"),
                    align="end",
                    gap="2",
                    wrap="wrap",
                ),
                on_submit=s.create_program,
                reset_on_submit=True,
            ),
            rx.cond(
                s.program_error != "",
                rx.text(s.program_error, color_scheme="red", size="2", role="alert"),
            ),
            width="100%",
        ),
        width="100%",
    )


def teach_page() -> rx.Component:
    """The org's courses for authors."""
    s = TeachState
    return app_shell(
        rx.flex(
            rx.input(
                placeholder="Search by title, category or summary",
                value=s.search,
                on_change=s.set_search,
                debounce_timeout=300,
                id="course-search",
                aria_label="Search courses",
                min_width="16em",
                flex="1",
            ),
            rx.segmented_control.root(
                *[rx.segmented_control.item(st.capitalize(), value=st) for st in STATUS_FILTERS],
                value=s.status_filter,
                on_change=s.show_status,
                aria_label="Course status",
            ),
            _create_dialog(),
            gap="3",
            wrap="wrap",
            align="center",
            width="100%",
        ),
        _courses_table(),
        pager(s.page, s.pages, s.prev_page, s.next_page),
        _programs_card(),
        title="Teach",
        permission=Permission.courses_author,
        feature="lms",
    )


def register(app: rx.App) -> None:
    """Add this area's pages to the app."""
    app.add_page(teach_page, route="/teach", title="Teach · Guildhall", on_load=TeachState.load)
    app.add_page(
        course_editor_page,
        route="/teach/courses/[course_id]",
        title="Course editor · Guildhall",
        on_load=TeachEditorState.load,
    )
