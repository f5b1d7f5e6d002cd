"""The audit log and mail log pages."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import document_link, empty_state, form_error, pager
from app.services.core.authz import Permission
from app.state.logs import AuditState, MailState
from app.state.session import SessionState


def audit_page() -> rx.Component:
    """Filter by actor, action and date; newest first."""
    s = AuditState
    return app_shell(
        rx.form(
            rx.hstack(
                rx.input(name="action", placeholder="Action (e.g. auth.)", aria_label="Action"),
                rx.input(name="actor", placeholder="Actor email", aria_label="Actor"),
                rx.input(name="since", type="date", aria_label="From date"),
                rx.input(name="until", type="date", aria_label="To date"),
                rx.button("Filter", type="submit", variant="soft"),
                # A plain anchor (not the client-side router): the browser downloads the CSV
                # from the backend route, which checks the session and permission itself.
                # Shown only while the org's settings allow exports (reporting.exports);
                # the route refuses anyway when they are off.
                rx.cond(
                    SessionState.reporting.contains("exports"),
                    document_link(
                        rx.icon("download", size=16, aria_hidden="true"),
                        "Export CSV",
                        href=s.export_href,
                        download="",
                        id="audit-export",
                        title="Download the filtered audit log as CSV",
                        style={
                            "display": "inline-flex",
                            "align_items": "center",
                            "gap": "0.4em",
                            "color": "var(--accent-11)",
                            "font_size": "var(--font-size-2)",
                            "text_decoration": "underline",
                        },
                    ),
                ),
                wrap="wrap",
            ),
            on_submit=s.apply_filters,
            reset_on_submit=False,
        ),
        form_error(s.filter_error),
        rx.cond(
            s.events.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("When (UTC)", "Actor", "Action", "Target", "Detail", "IP")
                        ]
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        s.events,
                        lambda e: rx.table.row(
                            rx.table.cell(e["when"]),
                            rx.table.cell(e["actor"]),
                            rx.table.cell(rx.code(e["action"])),
                            rx.table.cell(e["target"]),
                            rx.table.cell(rx.text(e["detail"], size="1")),
                            rx.table.cell(e["ip"]),
                        ),
                    )
                ),
                width="100%",
                id="audit-table",
            ),
            empty_state("No events match", "Widen the filters.", icon="scroll_text"),
        ),
        pager(s.page, s.pages, s.prev_page, s.next_page),
        title="Audit log",
        permission=Permission.audit_view,
    )


def mail_page() -> rx.Component:
    """Mail the org sent, newest first, with its links."""
    s = MailState
    return app_shell(
        rx.text(
            "Mail this organization sent. Links that sign someone in or give them a role "
            "(invites, password resets) are never kept here: only the recipient's copy has "
            "them. Without SMTP settings nothing is sent, and such messages go to the "
            "server's console instead. Opening this log is recorded in the audit log.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            s.messages.length() > 0,
            rx.vstack(
                rx.foreach(
                    s.messages,
                    lambda m: rx.card(
                        rx.vstack(
                            rx.hstack(
                                rx.text(m["subject"], weight="bold"),
                                rx.spacer(),
                                rx.badge(m["status"]),
                                width="100%",
                            ),
                            rx.text(
                                "To ", m["to"], " · ", m["when"], size="1", color_scheme="gray"
                            ),
                            rx.text(m["body"], white_space="pre-wrap", size="2"),
                            rx.cond(
                                m["link"] != "",
                                rx.link("Open link", href=m["link"], class_name="mail-link"),
                            ),
                        ),
                        width="100%",
                        class_name="mail-item",
                    ),
                ),
                width="100%",
                id="mail-list",
            ),
            empty_state(
                "No mail yet", "Invites and notifications this org sends appear here.", icon="mail"
            ),
        ),
        pager(s.page, s.pages, s.prev_page, s.next_page),
        title="Mail log",
        permission=Permission.mail_view,
    )
