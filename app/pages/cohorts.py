"""A course's cohorts at `/teach/courses/[course_id]/cohorts`: the list with dates, seats
and state; the create/edit form; archive and restore; the selected cohort's members with
"remove from cohort"; and the "Add learners" panel (the course's learners in no cohort,
searchable, ticked and added at once).

Element ids (tests use them): `new-cohort`, `show-archived`, `cohort-form`, `field-name`,
`field-starts_on`, `field-ends_on`, `field-capacity`, `save-cohort`, `cancel-cohort`,
`cohorts-table`, `cohort-row-<id>`, `select-cohort-<id>`, `edit-cohort-<id>`,
`archive-cohort-<id>`, `restore-cohort-<id>`, `cohort-members` (the members panel),
`member-<enrollment>`, `remove-<enrollment>`, `unplaced-list` (the add panel),
`unplaced-search`, `unplaced-<enrollment>`, `pick-<enrollment>`, `add-to-cohort`,
`assign-error`.
"""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import (
    empty_state,
    field,
    form_error,
    not_allowed,
    not_found,
    pager,
    percent_bar,
    skeleton_rows,
)
from app.services.core.authz import Permission
from app.state.cohorts import CohortsState

S = CohortsState


def _state_badge(state: rx.Var[str]) -> rx.Component:
    return rx.match(
        state,
        ("open", rx.badge("Open", color_scheme="green")),
        ("full", rx.badge("Full", color_scheme="amber")),
        ("ended", rx.badge("Ended", color_scheme="gray", variant="outline")),
        rx.badge("Archived", color_scheme="gray"),
    )


# --------------------------------------------------------------------------- form


def _form() -> rx.Component:
    v = S.form_values
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(rx.cond(S.editing_id != "", "Edit cohort", "New cohort"), size="4"),
                field("Name", "name", error=S.cohort_name_error, default_value=v["name"]),
                rx.flex(
                    *[
                        rx.box(
                            field(
                                label,
                                name,
                                type_=kind,
                                required=False,
                                error=error,
                                default_value=v[name],
                            ),
                            flex="1",
                            min_width="12em",
                        )
                        for label, name, kind, error in (
                            ("Starts on (optional)", "starts_on", "date", S.starts_on_error),
                            ("Ends on (optional)", "ends_on", "date", S.ends_on_error),
                            ("Seats (blank: no limit)", "capacity", "number", S.capacity_error),
                        )
                    ],
                    gap="3",
                    wrap="wrap",
                    width="100%",
                ),
                form_error(S.form_error),
                rx.hstack(
                    rx.button(
                        "Save",
                        type="submit",
                        id="save-cohort",
                        loading=S.busy,
                        disabled=S.busy,
                    ),
                    rx.button(
                        "Cancel",
                        type="button",
                        variant="soft",
                        color_scheme="gray",
                        on_click=S.close_form,
                        id="cancel-cohort",
                    ),
                    spacing="2",
                ),
                align="start",
                width="100%",
            ),
            on_submit=S.save,
            reset_on_submit=False,
            id="cohort-form",
            key=S.form_key,
            width="100%",
        ),
        width="100%",
    )


# --------------------------------------------------------------------------- list


def _cohort_row(c: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.button(
                c["name"],
                variant=rx.cond(S.selected_id == c["id"], "solid", "ghost"),
                on_click=S.select_cohort(c["id"]),
                id="select-cohort-" + c["id"],
                aria_label="Show the members of " + c["name"],
            )
        ),
        rx.table.cell(rx.text(c["dates"], size="2")),
        rx.table.cell(rx.text(c["seats"], size="2", id="cohort-seats-" + c["id"])),
        rx.table.cell(_state_badge(c["state"])),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    "Edit",
                    size="1",
                    variant="soft",
                    on_click=S.edit_cohort(c["id"]),
                    id="edit-cohort-" + c["id"],
                ),
                rx.cond(
                    c["archived"] == "yes",
                    rx.button(
                        "Restore",
                        size="1",
                        variant="soft",
                        on_click=S.restore(c["id"]),
                        id="restore-cohort-" + c["id"],
                    ),
                    rx.button(
                        "Archive",
                        size="1",
                        variant="soft",
                        color_scheme="orange",
                        on_click=S.archive(c["id"]),
                        id="archive-cohort-" + c["id"],
                    ),
                ),
                spacing="2",
            )
        ),
        id="cohort-row-" + c["id"],
    )


def _table() -> rx.Component:
    return rx.cond(
        S.cohorts.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Cohort", "Dates", "Learners / seats", "State", "")
                        ]
                    )
                ),
                rx.table.body(rx.foreach(S.cohorts, _cohort_row)),
                width="100%",
                id="cohorts-table",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.box(
            empty_state(
                "No cohorts yet",
                "Create one for each intake or group that goes through the course together.",
                "users",
            ),
            id="cohorts-empty",
            width="100%",
        ),
    )


# --------------------------------------------------------------------------- people


def _member(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(r["name"], weight="medium", size="2"),
                rx.text(r["email"], size="1", color_scheme="gray"),
                spacing="0",
            )
        ),
        rx.table.cell(rx.text(r["status_label"], size="2")),
        rx.table.cell(
            rx.hstack(
                percent_bar(r["progress"], width="5em"),
                rx.text(r["progress"], "%", size="1"),
                align="center",
            )
        ),
        rx.table.cell(
            rx.button(
                "Remove from cohort",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=S.remove_member(r["id"]),
                id="remove-" + r["id"],
                aria_label="Remove " + r["name"] + " from the cohort",
            )
        ),
        id="member-" + r["id"],
    )


def _members() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Members of ", S.selected_name, size="4"),
            rx.cond(
                S.members_rows.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.body(rx.foreach(S.members_rows, _member)),
                        width="100%",
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                empty_state("Nobody in this cohort yet", "Add learners from the list.", "users"),
            ),
            pager(S.members_page, S.members_pages, S.members_prev, S.members_next),
            width="100%",
        ),
        id="cohort-members",
        flex="1",
        min_width="18em",
        width="100%",
    )


def _candidate(r: rx.Var) -> rx.Component:
    return rx.hstack(
        rx.checkbox(
            checked=S.picked.contains(r["id"]),
            on_change=lambda checked: S.toggle_pick(r["id"], checked),
            id="pick-" + r["id"],
            aria_label="Choose " + r["name"],
        ),
        rx.vstack(
            rx.text(r["name"], weight="medium", size="2"),
            rx.text(r["email"], " · ", r["status_label"], size="1", color_scheme="gray"),
            spacing="0",
        ),
        align="center",
        spacing="3",
        id="unplaced-" + r["id"],
        width="100%",
    )


def _add_panel() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Add learners", size="4"),
            rx.text(
                "Learners enrolled in this course who are in no cohort yet.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.hstack(
                    rx.el.label(
                        "Search learners", html_for="unplaced-search", class_name="sr-only"
                    ),
                    rx.input(
                        name="q",
                        id="unplaced-search",
                        placeholder="Name or email",
                        default_value=S.unplaced_q,
                        width="100%",
                    ),
                    rx.button("Search", type="submit", variant="soft"),
                    width="100%",
                ),
                on_submit=S.search_unplaced,
                reset_on_submit=False,
                width="100%",
            ),
            rx.cond(
                S.unplaced_rows.length() > 0,
                rx.vstack(rx.foreach(S.unplaced_rows, _candidate), spacing="2", width="100%"),
                empty_state(
                    "Nobody to add",
                    "Every enrolled learner is in a cohort, or nobody matches the search.",
                    "user_check",
                ),
            ),
            pager(S.unplaced_page, S.unplaced_pages, S.unplaced_prev, S.unplaced_next),
            rx.cond(
                S.assign_error != "",
                rx.callout(
                    S.assign_error,
                    icon="triangle_alert",
                    color_scheme="red",
                    role="alert",
                    id="assign-error",
                    width="100%",
                ),
            ),
            rx.cond(
                S.selected_archived,
                rx.text(
                    "This cohort is archived: restore it to add learners.",
                    size="2",
                    color_scheme="amber",
                ),
            ),
            rx.button(
                rx.icon("user_plus"),
                rx.cond(
                    S.picked_count > 0,
                    "Add " + S.picked_count.to_string() + " to cohort",
                    "Add to cohort",
                ),
                on_click=S.add_to_cohort,
                disabled=S.selected_archived | (S.picked_count == 0),
                id="add-to-cohort",
            ),
            width="100%",
        ),
        id="unplaced-list",
        flex="1",
        min_width="18em",
        width="100%",
    )


# --------------------------------------------------------------------------- page


def _body() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.link("← Course editor", href="/teach/courses/" + S.cid, size="2"),
            rx.heading(S.course_title, size="4", id="cohorts-course"),
            rx.spacer(),
            rx.link(
                rx.button(rx.icon("activity"), "Live class view", variant="outline"),
                href="/teach/courses/" + S.cid + "/live",
            ),
            rx.button(rx.icon("plus"), "New cohort", on_click=S.new_cohort, id="new-cohort"),
            gap="3",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        rx.text(
            "Cohorts are groups of this course's learners in your organization who go through "
            "it together, with their own dates, seats and chat channel. Learners may pick an "
            "open cohort when they enroll.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(S.form_open, _form()),
        rx.hstack(
            rx.switch(
                checked=S.show_archived,
                on_change=S.set_show_archived,
                id="show-archived",
            ),
            rx.el.label("Show archived cohorts", html_for="show-archived"),
            align="center",
            spacing="2",
        ),
        _table(),
        rx.cond(
            S.selected_id != "",
            rx.flex(_members(), _add_panel(), gap="4", wrap="wrap", width="100%"),
            rx.cond(
                S.cohorts.length() > 0,
                rx.text("Choose a cohort to see and add its members.", size="2"),
            ),
        ),
        spacing="4",
        width="100%",
    )


def cohorts_page() -> rx.Component:
    """A course's cohorts for its staff."""
    return app_shell(
        rx.cond(
            ~S.loaded,
            skeleton_rows(4),
            rx.cond(S.denied, not_allowed(), rx.cond(S.found, _body(), not_found())),
        ),
        title="Cohorts",
        permission=Permission.courses_author,
        feature="lms",
    )


def register(app: rx.App) -> None:
    """Add the cohorts page to the app."""
    app.add_page(
        cohorts_page,
        route="/teach/courses/[course_id]/cohorts",
        title="Cohorts · Guildhall",
        on_load=CohortsState.load,
    )
