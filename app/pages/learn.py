"""Learner pages: "My learning" here; `register(app)` adds them all (the catalog and course
pages are in `app.pages.learn_catalog`, staff applications in `app.pages.learn_applications`,
the lesson player in `app.pages.learn_player`).

Stable element ids for end-to-end tests: my-learning cards my-card-<course id>,
continue-<course id>, overdue-<course id>, certificate-<course id>, recertify-<course id>,
expired-<course id>.
"""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import document_link, empty_state, percent_bar, skeleton_rows
from app.pages import learn_player
from app.pages.learn_applications import applications_page
from app.pages.learn_catalog import badge, catalog_page, course_page
from app.services.core.authz import Permission
from app.state.learn import ApplicationsState, CatalogState, CourseState, MyLearningState


def _learning_card(c: rx.Var) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.link(rx.heading(c["title"], size="4"), href="/courses/" + c["course_id"]),
                badge(c["status_label"], "green"),
                rx.cond(c["mandatory"] != "", badge("Mandatory", "blue")),
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
