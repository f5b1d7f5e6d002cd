"""Learner pages: the catalog, a course's page, "My learning", and staff applications.

The lesson player is in `app.pages.learn_player`; `register(app)` adds them all.
Stable element ids for end-to-end tests: catalog-search, catalog-search-button,
catalog-category, catalog-level, catalog-mode, course-card-<id>; enroll-form,
field-funding_source, field-cohort_id (only while the course has open cohorts), field-note,
enroll, start-course, enrollment-status, my-cohort; my-learning
cards my-card-<course id>, continue-<course id>, overdue-<course id>, certificate-<course id>,
recertify-<course id>, expired-<course id>;
applications approve-<id>, reject-<id>, reject-reason, reject-submit.
"""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import (
    document_link,
    empty_state,
    form_error,
    not_found,
    pager,
    percent_bar,
    safe_markdown,
    skeleton_rows,
)
from app.pages import learn_player
from app.services.core.authz import Permission
from app.state.learn import ApplicationsState, CatalogState, CourseState, MyLearningState


def _badge(text: rx.Var[str] | str, color: str = "gray") -> rx.Component:
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


def _cover(url: rx.Var[str]) -> rx.Component:
    return rx.cond(
        url != "",
        rx.image(src=url, alt="", width="100%", height="9em", object_fit="cover"),
        rx.box(height="9em", width="100%", background=rx.color("accent", 4)),
    )


def _card(c: rx.Var) -> rx.Component:
    return rx.card(
        rx.link(
            rx.vstack(
                rx.inset(_cover(c["cover"]), side="top", pb="current"),
                rx.heading(c["title"], size="4"),
                rx.text(c["summary"], size="2", color_scheme="gray"),
                rx.hstack(
                    _badge(c["level"]),
                    _badge(c["mode"]),
                    rx.cond(c["category"] != "", _badge(c["category"], "blue")),
                    wrap="wrap",
                ),
                rx.hstack(
                    rx.text(c["price"], weight="bold"),
                    rx.cond(c["approval"] != "", _badge("Requires approval", "amber")),
                    rx.cond(c["status"] != "", _badge(c["status"], "green")),
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
                    rx.text(s.total, " courses", size="2", color_scheme="gray", id="catalog-total"),
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
                    _badge(s.status_label, "green"),
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
        rx.hstack(
            _badge(s.course["level"]),
            _badge(s.course["mode"]),
            rx.cond(s.course["category"] != "", _badge(s.course["category"], "blue")),
            rx.cond(s.requires_approval, _badge("Requires approval", "amber")),
            rx.cond(s.course["status"] != "published", _badge(s.course["status"], "red")),
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
                                _badge(r["kind"]),
                                rx.cond(r["optional"] != "", _badge(r["optional"], "gray")),
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


def _learning_card(c: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.link(rx.heading(c["title"], size="4"), href="/courses/" + c["course_id"]),
                _badge(c["status_label"], "green"),
                rx.cond(c["mandatory"] != "", _badge("Mandatory", "blue")),
                rx.cond(
                    c["overdue"] != "",
                    rx.badge("Overdue", color_scheme="red", id="overdue-" + c["course_id"]),
                ),
                rx.cond(
                    c["certificate_expired"] != "",
                    rx.badge(
                        "Certificate expired",
                        color_scheme="crimson",
                        id="expired-" + c["course_id"],
                    ),
                ),
                wrap="wrap",
                align="center",
            ),
            percent_bar(c["percent"], width="100%", aria_label="Progress"),
            rx.hstack(
                rx.text(c["percent"], "% complete", size="2"),
                rx.cond(
                    c["recertify_by"] != "",
                    rx.text(
                        "Recertify by ",
                        c["recertify_by"],
                        size="2",
                        id="recertify-" + c["course_id"],
                    ),
                    rx.cond(c["due"] != "", rx.text("Due ", c["due"], size="2")),
                ),
                spacing="4",
            ),
            rx.cond(
                c["reason"] != "",
                rx.text("Reason: ", c["reason"], size="2", color_scheme="gray"),
            ),
            rx.hstack(
                rx.cond(
                    c["next"] != "",
                    rx.link(
                        rx.button(
                            rx.cond(c["status"] == "completed", "Review", "Continue"),
                            id="continue-" + c["course_id"],
                        ),
                        href=c["next"],
                    ),
                ),
                rx.cond(
                    c["certificate"] != "",
                    document_link(
                        rx.button("Certificate (PDF)", variant="soft", tab_index=-1),
                        href=c["certificate"],
                        id="certificate-" + c["course_id"],
                    ),
                ),
                spacing="3",
            ),
            align="start",
            width="100%",
        ),
        id="my-card-" + c["course_id"],
        width="100%",
    )


def my_learning_page() -> rx.Component:
    """The learner's enrollments with progress and what to do next."""
    s = MyLearningState
    return app_shell(
        rx.cond(
            ~s.loaded,
            skeleton_rows(3),
            rx.cond(
                s.cards.length() > 0,
                rx.vstack(rx.foreach(s.cards, _learning_card), width="100%", spacing="3"),
                rx.vstack(
                    empty_state(
                        "Nothing yet",
                        "Find a course in the catalog and enroll: it will show up here.",
                        "graduation_cap",
                    ),
                    rx.link("Open the catalog", href="/catalog"),
                    align="center",
                    width="100%",
                    id="my-learning-empty",
                ),
            ),
        ),
        title="My learning",
        permission=Permission.learning_view,
        feature="lms",
    )


def _reject_dialog() -> rx.Component:
    s = ApplicationsState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Reject application"),
            rx.dialog.description("The learner sees this reason.", size="2"),
            rx.form(
                rx.vstack(
                    rx.el.label("Reason", html_for="reject-reason", class_name="gh-label"),
                    rx.text_area(
                        id="reject-reason",
                        name="reason",
                        required=True,
                        min_length=3,
                        max_length=1000,
                        width="100%",
                    ),
                    rx.cond(
                        s.reason_error != "",
                        rx.text(s.reason_error, color_scheme="red", size="2", role="alert"),
                    ),
                    form_error(s.form_error),
                    rx.hstack(
                        rx.dialog.close(rx.button("Cancel", variant="soft", type="button")),
                        rx.button(
                            "Reject",
                            id="reject-submit",
                            type="submit",
                            color_scheme="red",
                            loading=s.busy,
                        ),
                        justify="end",
                        width="100%",
                    ),
                    width="100%",
                ),
                on_submit=s.reject,
                reset_on_submit=False,
            ),
        ),
        open=s.reject_open,
        on_open_change=s.set_reject_open,
    )


def applications_page() -> rx.Component:
    """Pending applications for staff to approve or reject."""
    s = ApplicationsState
    return app_shell(
        rx.cond(
            s.rows.length() > 0,
            rx.vstack(
                rx.foreach(
                    s.rows,
                    lambda r: rx.card(
                        rx.flex(
                            rx.vstack(
                                rx.text(r["name"], " · ", r["email"], weight="bold"),
                                rx.text(r["course"], " · applied ", r["when"], size="2"),
                                rx.text("Funding: ", r["funding"], size="2"),
                                rx.cond(
                                    r["cohort"] != "",
                                    rx.text(
                                        "Cohort: ", r["cohort"], size="2", id="cohort-" + r["id"]
                                    ),
                                ),
                                rx.cond(r["note"] != "", rx.text("“", r["note"], "”", size="2")),
                                align="start",
                            ),
                            rx.hstack(
                                rx.button(
                                    "Approve", on_click=s.approve(r["id"]), id="approve-" + r["id"]
                                ),
                                rx.button(
                                    "Reject",
                                    on_click=s.open_reject(r["id"]),
                                    color_scheme="red",
                                    variant="soft",
                                    id="reject-" + r["id"],
                                ),
                            ),
                            justify="between",
                            wrap="wrap",
                            gap="1em",
                            width="100%",
                        ),
                        width="100%",
                    ),
                ),
                pager(s.page, s.pages, s.prev_page, s.next_page),
                width="100%",
            ),
            empty_state(
                "No pending applications",
                "Applications to courses that require approval appear here.",
                "inbox",
            ),
        ),
        _reject_dialog(),
        title="Applications",
        permission=Permission.enrollments_manage,
        feature="lms",
    )


def register(app: rx.App) -> None:
    """Add this area's pages to the app."""
    app.add_page(
        catalog_page, route="/catalog", title="Catalog · Guildhall", on_load=CatalogState.load
    )
    app.add_page(
        course_page,
        route="/courses/[course_id]",
        title="Course · Guildhall",
        on_load=CourseState.load,
    )
    app.add_page(
        my_learning_page,
        route="/my-learning",
        title="My learning · Guildhall",
        on_load=MyLearningState.load,
    )
    app.add_page(
        applications_page,
        route="/teach/applications",
        title="Applications · Guildhall",
        on_load=ApplicationsState.load,
    )
    learn_player.register(app)
