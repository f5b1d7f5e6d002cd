"""Learner pages: the catalog (search and filters) and a course's page (outline,
prerequisites, enrollment).

Stable element ids for end-to-end tests: catalog-search, catalog-search-button,
catalog-category, catalog-level, catalog-mode, course-card-<id>; enroll-form,
field-funding_source, field-cohort_id (only while the course has open cohorts), field-note,
enroll, start-course, enrollment-status, my-cohort.
"""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import (
    empty_state,
    form_error,
    not_found,
    pager,
    safe_markdown,
    skeleton_rows,
)
from app.services.core.authz import Permission
from app.state.learn import CatalogState, CourseState


def badge(text: rx.Var[str] | str, color: str = "gray") -> rx.Component:
    return rx.badge(text, color_scheme=color, variant="soft")


def _filter(
    label: str, id_: str, value: rx.Var[str], options: rx.Var, on_change: object
) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=id_, class_name="gh-label"),
        rx.el.select(
            rx.el.option("Any", value="any"),
            rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"])),
            id=id_,
            value=rx.cond(value == "", "any", value),
            on_change=on_change,
            class_name="gh-select",
        ),
        spacing="1",
        min_width="10em",
    )


def _cover(c: rx.Var, height: str = "9em") -> rx.Component:
    """The uploaded cover, or one made from the category's colour and the title's initials."""
    return rx.cond(
        c["cover"] != "",
        rx.image(src=c["cover"], alt="", width="100%", height=height, object_fit="cover"),
        rx.center(
            rx.text(c["initials"], size="8", weight="bold", color="white"),
            height=height,
            width="100%",
            background="var(--" + c["tint"].to(str) + "-9)",
            aria_hidden="true",
            class_name="gh-generated-cover",
        ),
    )


def _card(c: rx.Var) -> rx.Component:
    return rx.card(
        rx.link(
            rx.vstack(
                rx.inset(_cover(c), side="top", pb="current"),
                rx.heading(c["title"], size="4"),
                rx.text(c["summary"], size="2", color_scheme="gray"),
                rx.hstack(
                    badge(c["level"]),
                    badge(c["mode"]),
                    rx.cond(c["category"] != "", badge(c["category"], "blue")),
                    wrap="wrap",
                ),
                rx.hstack(
                    rx.text(c["price"], weight="bold"),
                    rx.cond(c["approval"] != "", badge("Requires approval", "amber")),
                    rx.cond(c["status"] != "", badge(c["status"], "green")),
                    wrap="wrap",
                    align="center",
                ),
                spacing="2",
                align="start",
            ),
            href="/courses/" + c["id"],
            underline="none",
            color="inherit",
        ),
        id="course-card-" + c["id"],
        width="100%",
    )


def catalog_page() -> rx.Component:
    """Search and filter published courses."""
    s = CatalogState
    return app_shell(
        rx.form(
            rx.hstack(
                rx.el.label("Search courses", html_for="catalog-search", class_name="sr-only"),
                rx.input(
                    id="catalog-search",
                    name="q",
                    placeholder="Search courses",
                    default_value=s.query,
                    aria_label="Search courses",
                    width="100%",
                    size="3",
                ),
                rx.button("Search", id="catalog-search-button", type="submit", size="3"),
                width="100%",
            ),
            on_submit=s.search,
            reset_on_submit=False,
            width="100%",
        ),
        rx.hstack(
            _filter("Category", "catalog-category", s.category, s.categories, s.set_category),
            _filter("Level", "catalog-level", s.level, s.levels, s.set_level),
            _filter("Delivery", "catalog-mode", s.mode, s.modes, s.set_mode),
            rx.cond(
                s.filtered,
                rx.button("Clear", on_click=s.clear, variant="ghost", id="catalog-clear"),
            ),
            wrap="wrap",
            align="end",
            spacing="4",
        ),
        rx.cond(
            ~s.loaded,
            skeleton_rows(3),
            rx.cond(
                s.cards.length() > 0,
                rx.vstack(
                    rx.text(s.total_label, size="2", color_scheme="gray", id="catalog-total"),
                    rx.grid(
                        rx.foreach(s.cards, _card),
                        columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                        spacing="4",
                        width="100%",
                    ),
                    pager(s.page, s.pages, s.prev_page, s.next_page),
                    width="100%",
                ),
                rx.box(
                    empty_state(
                        "No courses found",
                        "Try other words or clear the filters. New courses appear here when "
                        "your organization publishes them.",
                        "book_open",
                    ),
                    id="catalog-empty",
                    width="100%",
                ),
            ),
        ),
        title="Catalog",
        permission=Permission.learning_view,
        feature="lms",
    )


def _enroll_form() -> rx.Component:
    s = CourseState
    return rx.form(
        rx.vstack(
            rx.box(
                rx.el.label(
                    "Funding source", html_for="field-funding_source", class_name="gh-label"
                ),
                rx.el.select(
                    rx.foreach(s.funding, lambda o: rx.el.option(o["label"], value=o["value"])),
                    id="field-funding_source",
                    name="funding_source",
                    class_name="gh-select",
                    aria_describedby="field-funding_source-error",
                ),
                rx.cond(
                    s.funding_error != "",
                    rx.text(
                        s.funding_error,
                        id="field-funding_source-error",
                        color_scheme="red",
                        size="2",
                        role="alert",
                    ),
                ),
                width="100%",
            ),
            rx.cond(
                s.cohort_choices.length() > 0,
                rx.box(
                    rx.el.label(
                        "Cohort (optional)", html_for="field-cohort_id", class_name="gh-label"
                    ),
                    rx.el.select(
                        rx.el.option("No preference", value=""),
                        rx.foreach(
                            s.cohort_choices, lambda o: rx.el.option(o["label"], value=o["value"])
                        ),
                        id="field-cohort_id",
                        name="cohort_id",
                        class_name="gh-select",
                        aria_describedby="field-cohort_id-hint field-cohort_id-error",
                    ),
                    rx.text(
                        "Join a group that goes through the course together, or decide later.",
                        id="field-cohort_id-hint",
                        size="1",
                        color_scheme="gray",
                    ),
                    rx.cond(
                        s.cohort_error != "",
                        rx.text(
                            s.cohort_error,
                            id="field-cohort_id-error",
                            color_scheme="red",
                            size="2",
                            role="alert",
                        ),
                    ),
                    width="100%",
                ),
            ),
            rx.cond(
                s.requires_approval,
                rx.box(
                    rx.el.label(
                        "Why you'd like to join (optional)",
                        html_for="field-note",
                        class_name="gh-label",
                    ),
                    rx.text_area(id="field-note", name="note", max_length=1000, width="100%"),
                    rx.cond(
                        s.note_error != "",
                        rx.text(s.note_error, color_scheme="red", size="2", role="alert"),
                    ),
                    width="100%",
                ),
            ),
            form_error(s.form_error),
            rx.button(
                rx.cond(s.requires_approval, "Apply", "Enroll"),
                id="enroll",
                type="submit",
                loading=s.busy,
                disabled=s.busy,
                size="3",
            ),
            align="start",
            width="100%",
        ),
        on_submit=s.enroll,
        reset_on_submit=False,
        id="enroll-form",
        width="100%",
    )


def _enrollment_panel() -> rx.Component:
    s = CourseState
    return rx.card(
        rx.vstack(
            rx.heading(s.course["price"], size="5", id="course-price"),
            rx.cond(
                s.status_label != "",
                rx.hstack(
                    badge(s.status_label, "green"),
                    id="enrollment-status",
                ),
            ),
            rx.cond(
                s.enrollment_status == "rejected",
                rx.text("Reason: ", s.decision_reason, size="2", color_scheme="gray"),
            ),
            rx.cond(
                s.my_cohort != "",
                rx.text("Cohort: ", s.my_cohort, size="2", id="my-cohort"),
            ),
            rx.cond(
                s.can_open,
                rx.link(
                    rx.button(
                        rx.cond(s.enrollment_status == "completed", "Review", "Continue"),
                        size="3",
                        id="start-course",
                    ),
                    href="/learn/" + s.course["id"] + "/" + s.next_lesson_id,
                ),
            ),
            rx.cond(
                s.enrollment_status == "pending",
                rx.text("Staff will review your application.", size="2"),
            ),
            rx.cond(
                s.is_paid & (s.enrollment_status == ""),
                rx.vstack(
                    rx.button("Payment opens with billing", disabled=True, id="enroll", size="3"),
                    rx.text(
                        "Paid courses open when billing is set up.", size="2", color_scheme="gray"
                    ),
                ),
            ),
            rx.cond(
                ~s.prerequisites_met & ~s.can_open,
                rx.text("Complete the prerequisite courses first.", size="2", color_scheme="amber"),
            ),
            rx.cond(s.can_enroll, _enroll_form()),
            align="start",
            width="100%",
        ),
        width="100%",
    )


def course_page() -> rx.Component:
    """A course: description, outline, prerequisites and the enrollment form."""
    s = CourseState
    body = rx.vstack(
        rx.box(
            _cover(s.course, height="10em"),
            width="100%",
            border_radius="var(--radius-3)",
            overflow="hidden",
            id="course-cover",
        ),
        rx.hstack(
            badge(s.course["level"]),
            badge(s.course["mode"]),
            rx.cond(s.course["category"] != "", badge(s.course["category"], "blue")),
            rx.cond(s.requires_approval, badge("Requires approval", "amber")),
            rx.cond(s.course["status"] != "published", badge(s.course["status"], "red")),
            wrap="wrap",
        ),
        rx.text(s.course["summary"], size="3"),
        rx.flex(
            rx.vstack(
                safe_markdown(s.course["description"]),
                rx.cond(
                    s.prerequisites.length() > 0,
                    rx.vstack(
                        rx.heading("Before you start", size="4"),
                        rx.foreach(
                            s.prerequisites,
                            lambda p: rx.hstack(
                                rx.cond(
                                    p["met"] != "",
                                    rx.icon("circle_check", color=rx.color("green", 9)),
                                    rx.icon("circle", color=rx.color("gray", 9)),
                                ),
                                rx.link(p["title"], href="/courses/" + p["id"]),
                            ),
                        ),
                        id="prerequisites",
                    ),
                ),
                rx.heading("What's inside", size="4"),
                rx.vstack(
                    rx.foreach(
                        s.outline,
                        lambda r: rx.cond(
                            r["type"] == "module",
                            rx.text(r["title"], weight="bold", padding_top="0.5em"),
                            rx.hstack(
                                rx.text(r["title"]),
                                badge(r["kind"]),
                                rx.cond(r["optional"] != "", badge(r["optional"], "gray")),
                                padding_left="1em",
                            ),
                        ),
                    ),
                    id="course-outline",
                    spacing="1",
                ),
                flex="2",
                align="start",
                width="100%",
            ),
            rx.box(_enrollment_panel(), flex="1", min_width="16em", width="100%"),
            direction=rx.breakpoints(initial="column", md="row"),
            gap="1.5em",
            width="100%",
        ),
        width="100%",
        spacing="4",
    )
    return app_shell(
        rx.cond(~s.loaded, skeleton_rows(4), rx.cond(s.found, body, not_found())),
        title=rx.cond(s.found, s.course["title"], "Course"),
        permission=Permission.learning_view,
        feature="lms",
    )
