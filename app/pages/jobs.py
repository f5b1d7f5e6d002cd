"""The background jobs page: failed jobs first, each with its error and a retry."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, pager
from app.services.core.authz import Permission
from app.state.jobs import STATUSES, JobsState


def jobs_page() -> rx.Component:
    """Jobs of the org by status."""
    s = JobsState
    return app_shell(
        rx.text(
            "Work that happens after an action (emails, certificates) runs as jobs. Failed "
            "jobs were retried with growing delays before they stopped.",
            size="2",
            color_scheme="gray",
        ),
        rx.segmented_control.root(
            *[rx.segmented_control.item(st.capitalize(), value=st) for st in STATUSES],
            value=s.status,
            on_change=s.show,
            aria_label="Job status",
        ),
        rx.cond(
            s.jobs.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Created (UTC)", "Kind", "Attempts", "Last error", "")
                        ]
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        s.jobs,
                        lambda j: rx.table.row(
                            rx.table.cell(j["when"]),
                            rx.table.cell(rx.code(j["kind"])),
                            rx.table.cell(j["attempts"]),
                            rx.table.cell(rx.text(j["error"], size="1")),
                            rx.table.cell(
                                rx.cond(
                                    j["status"] == "dead",
                                    rx.button("Retry", size="1", on_click=s.retry(j["id"])),
                                )
                            ),
                        ),
                    )
                ),
                width="100%",
                id="jobs-table",
            ),
            empty_state(
                "Nothing here", "Jobs with this status will be listed here.", "list_checks"
            ),
        ),
        pager(s.page, s.pages, s.prev_page, s.next_page),
        title="Background jobs",
        permission=Permission.config_edit,
    )
