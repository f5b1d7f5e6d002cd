"""The live class view pages: `/teach/courses/<id>/live` for a course's staff and
`/team/live` for managers (their team) and org admins and staff (the org).

Element ids (tests use them): `live-roster` (table), `live-row-<enrollment>`,
`live-progress-<enrollment>` (the percentage text), `live-active-<enrollment>` (the "active
now" dot, present only while active), `live-filter`, `live-sort`, `live-inactive-days`,
`live-refresh`, `live-count-<total|active_now|struggling|inactive|completed>`, `live-title`,
`cohort-filter` (the course view's cohort select, present only when the course has
cohorts), `live-cohort-<enrollment>` (the row's cohort cell).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import (
    empty_state,
    not_allowed,
    not_found,
    pager,
    percent_bar,
    skeleton_rows,
)
from app.state.class_view import (
    FILTER_CHOICES,
    SORT_CHOICES,
    ClassViewState,
    LiveRosterMixin,
    TeamLiveState,
)

COUNTS = (
    ("total", "Learners", "gray"),
    ("active_now", "Active now", "green"),
    ("struggling", "Struggling", "red"),
    ("inactive", "Inactive", "amber"),
    ("completed", "Completed", "blue"),
)


def _summary(s: Any) -> rx.Component:
    return rx.flex(
        *[
            rx.card(
                rx.vstack(
                    rx.text(label, size="1", color_scheme="gray"),
                    rx.heading(
                        s.counts[key], size="5", color=rx.color(color, 11), id=f"live-count-{key}"
                    ),
                    spacing="0",
                ),
                min_width="7em",
                flex="1",
            )
            for key, label, color in COUNTS
        ],
        spacing="3",
        wrap="wrap",
        width="100%",
        aria_live="polite",
    )


def _cohort_filter(s: Any) -> rx.Component:
    """The course view's cohort select, only when the course has cohorts."""
    return rx.cond(
        s.cohorts.length() > 0,
        rx.hstack(
            rx.el.label("Cohort", html_for="cohort-filter", class_name="gh-label"),
            rx.el.select(
                rx.el.option("All cohorts", value="all"),
                rx.el.option("No cohort", value="none"),
                rx.foreach(s.cohorts, lambda c: rx.el.option(c["name"], value=c["id"])),
                id="cohort-filter",
                value=s.cohort_by,
                on_change=s.set_cohort,
                class_name="gh-select",
            ),
            align="center",
            spacing="2",
        ),
    )


def _controls(s: Any, *, cohort_filter: bool = False) -> rx.Component:
    return rx.flex(
        rx.segmented_control.root(
            *[rx.segmented_control.item(label, value=value) for value, label in FILTER_CHOICES],
            value=s.filter_by,
            on_change=s.set_filter,
            aria_label="Show",
            id="live-filter",
        ),
        *([_cohort_filter(s)] if cohort_filter else []),
        rx.hstack(
            rx.el.label("Sort by", html_for="live-sort", class_name="gh-label"),
            rx.el.select(
                *[rx.el.option(label, value=value) for value, label in SORT_CHOICES],
                id="live-sort",
                value=s.sort_by,
                on_change=s.set_sort,
                class_name="gh-select",
            ),
            align="center",
            spacing="2",
        ),
        rx.hstack(
            rx.el.label(
                "Inactive after (days)", html_for="live-inactive-days", class_name="gh-label"
            ),
            rx.input(
                id="live-inactive-days",
                type="number",
                min=1,
                max=365,
                default_value=s.inactive_days,
                key=s.inactive_days,
                on_blur=s.set_inactive_days,
                width="5em",
                aria_describedby="live-inactive-days-error",
            ),
            rx.cond(
                s.inactive_error != "",
                rx.text(
                    s.inactive_error,
                    id="live-inactive-days-error",
                    color_scheme="red",
                    size="1",
                    role="alert",
                ),
            ),
            align="center",
            spacing="2",
        ),
        rx.button(
            rx.icon("refresh_cw", size=14),
            "Refresh",
            on_click=s.refresh_now,
            variant="soft",
            size="1",
            id="live-refresh",
        ),
        rx.cond(
            s.shown_at != "",
            rx.text(
                "Read ",
                # ticks every minute; its change events let the server re-read a quiet view
                rx.moment(
                    date=s.shown_at,
                    from_now=True,
                    interval=60_000,
                    on_change=s.age_tick,
                    id="live-shown-at",
                ),
                size="1",
                color_scheme="gray",
            ),
        ),
        spacing="3",
        wrap="wrap",
        align="center",
        width="100%",
    )


def _active_dot(r: Any) -> rx.Component:
    return rx.cond(
        r["active"] == "yes",
        rx.box(
            id="live-active-" + r["id"],
            role="img",
            aria_label="Active now",
            title="Active now",
            width="0.6em",
            height="0.6em",
            border_radius="50%",
            background=rx.color("green", 9),
            flex_shrink="0",
        ),
    )


def _row(r: Any, *, show_course: bool) -> rx.Component:
    cells = [
        rx.table.cell(
            rx.hstack(
                _active_dot(r),
                rx.vstack(
                    rx.text(r["name"], weight="medium"),
                    rx.text(r["email"], size="1", color_scheme="gray"),
                    spacing="0",
                ),
                align="center",
                spacing="2",
            )
        ),
    ]
    if show_course:
        cells.append(rx.table.cell(r["course"]))
    cells.append(rx.table.cell(r["cohort"], id="live-cohort-" + r["id"]))
    cells += [
        rx.table.cell(
            rx.hstack(
                percent_bar(r["progress"], width="5em", aria_label="Progress"),
                rx.text(r["progress"], "%", size="1", id="live-progress-" + r["id"]),
                align="center",
            )
        ),
        rx.table.cell(r["current"]),
        rx.table.cell(rx.text(r["activity"], title=r["activity_at"], size="2")),
        rx.table.cell(
            rx.text(
                r["score"],
                color_scheme=rx.match(r["passed"], ("yes", "green"), ("no", "red"), "gray"),
                size="2",
            )
        ),
        rx.table.cell(
            rx.vstack(
                rx.badge(
                    r["status_label"],
                    color_scheme=rx.match(
                        r["status"], ("completed", "green"), ("pending", "gray"), "blue"
                    ),
                    variant="soft",
                ),
                rx.cond(
                    r["struggling"] == "yes",
                    rx.badge(r["reasons"], color_scheme="red", variant="surface"),
                ),
                spacing="1",
            )
        ),
    ]
    return rx.table.row(*cells, id="live-row-" + r["id"])


def _table(s: Any, *, show_course: bool) -> rx.Component:
    headers = ["Learner", *(["Course"] if show_course else []), "Cohort", "Progress"]
    headers += ["Current lesson"]
    headers += ["Last activity", "Latest quiz", "Status"]
    return rx.cond(
        s.rows.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                rx.table.body(rx.foreach(s.rows, lambda r: _row(r, show_course=show_course))),
                width="100%",
                id="live-roster",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.box(
            empty_state(
                "Nobody here",
                "Learners appear as they enroll; try another filter if you expected some.",
                "users",
            ),
            id="live-roster-empty",
            width="100%",
        ),
    )


def _view(
    s: type[LiveRosterMixin],
    *,
    show_course: bool,
    hint: rx.Component,
    cohort_filter: bool = False,
) -> rx.Component:
    body = rx.vstack(
        rx.hstack(
            rx.heading(s.title, size="4", id="live-title"),
            rx.badge(rx.icon("radio", size=12), "Live", color_scheme="green", variant="soft"),
            align="center",
            spacing="2",
            wrap="wrap",
        ),
        hint,
        _summary(s),
        _controls(s, cohort_filter=cohort_filter),
        _table(s, show_course=show_course),
        pager(s.page, s.pages, s.prev_page, s.next_page),
        spacing="4",
        width="100%",
    )
    return rx.cond(
        s.loading,
        skeleton_rows(4),
        rx.cond(s.denied, not_allowed(), rx.cond(s.found, body, not_found())),
    )


def course_live_page() -> rx.Component:
    """One course's learners, updating as they progress."""
    s = ClassViewState
    return app_shell(
        _view(
            s,
            show_course=False,
            cohort_filter=True,
            hint=rx.hstack(
                rx.cond(
                    s.team_only,
                    rx.text("Showing the learners you manage.", size="2", color_scheme="gray"),
                ),
                rx.link("Back to the course editor", href="/teach/courses/" + s.cid, size="2"),
                spacing="3",
                wrap="wrap",
            ),
        ),
        title="Live class view",
        feature="lms",
    )


def team_live_page() -> rx.Component:
    """A manager's team, or an org admin's org, across courses, live."""
    s = TeamLiveState
    return app_shell(
        _view(
            s,
            show_course=True,
            hint=rx.text(
                rx.cond(
                    s.team_only,
                    "Every course of the learners you manage.",
                    "Every enrollment in your organization.",
                ),
                size="2",
                color_scheme="gray",
            ),
        ),
        title="Live progress",
        feature="lms",
    )


def register(app: rx.App) -> None:
    """Add the live class view pages to the app."""
    app.add_page(
        course_live_page,
        route="/teach/courses/[course_id]/live",
        title="Live class view · Guildhall",
        on_load=ClassViewState.load,
    )
    app.add_page(
        team_live_page,
        route="/team/live",
        title="Live progress · Guildhall",
        on_load=TeamLiveState.load,
    )
