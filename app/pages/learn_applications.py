"""Staff page: pending course applications to approve or reject (with a reason).

Stable element ids for end-to-end tests: approve-<id>, reject-<id>, reject-reason,
reject-submit.
"""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, form_error, pager
from app.services.core.authz import Permission
from app.state.learn import ApplicationsState


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
