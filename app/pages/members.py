"""The members page: members of an org in the subtree, filters, pagination, managers,
invites and the CSV import (upload, preview, progress, summary with the error report)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import (
    document_link,
    empty_state,
    field,
    form_error,
    not_found,
    pager,
    select_field,
)
from app.services.core.authz import ROLE_LABELS, Permission
from app.state.members import IMPORT_MAX_BYTES, MembersState

ROLE_OPTIONS = list(ROLE_LABELS.items())
UPLOAD_ID = "member-csv"


def _member_row(m: rx.Var) -> rx.Component:
    s = MembersState
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.text(m["name"]), rx.text(m["email"], size="1", color_scheme="gray"), spacing="0"
            )
        ),
        rx.table.cell(
            rx.cond(
                s.can_manage,
                rx.el.select(
                    *[rx.el.option(label, value=value) for value, label in ROLE_OPTIONS],
                    value=m["role"],
                    on_change=lambda v: s.change_role(m["id"], v),
                    aria_label="Role of " + m["name"].to(str),
                    class_name="gh-select",
                ),
                rx.text(m["role_label"]),
            )
        ),
        rx.table.cell(
            rx.cond(
                s.can_manage & (m["role"] == "learner"),
                rx.el.select(
                    rx.el.option("No manager", value=""),
                    rx.foreach(
                        s.manager_options, lambda o: rx.el.option(o["label"], value=o["value"])
                    ),
                    value=m["manager_id"],
                    on_change=lambda v: s.assign_manager(m["id"], v),
                    aria_label="Manager of " + m["name"].to(str),
                    class_name="gh-select",
                ),
                rx.text(m["manager_name"]),
            )
        ),
        rx.table.cell(
            rx.cond(
                m["active"],
                rx.badge("active", color_scheme="green"),
                rx.badge("inactive", color_scheme="gray"),
            )
        ),
        rx.table.cell(m["joined"]),
        rx.table.cell(
            rx.cond(
                s.can_manage,
                rx.cond(
                    m["active"],
                    _deactivate(m),
                    rx.button(
                        "Reactivate", size="1", variant="soft", on_click=s.set_active(m["id"], True)
                    ),
                ),
            )
        ),
    )


def _deactivate(m: rx.Var) -> rx.Component:
    """Deactivate, after a confirmation that says what it does."""
    name = m["name"].to(str)
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(
            rx.button(
                "Deactivate",
                size="1",
                variant="soft",
                color_scheme="red",
                aria_label="Deactivate " + name,
                id="deactivate-" + m["id"].to(str),
            )
        ),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Deactivate " + name + "?"),
            rx.alert_dialog.description(
                "They can no longer sign in to this organization and stop counting against "
                "its seats. Their learning records and certificates stay, and you can "
                "reactivate them at any time.",
                size="2",
            ),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Cancel", variant="soft", color_scheme="gray")),
                rx.alert_dialog.action(
                    rx.button(
                        "Deactivate",
                        color_scheme="red",
                        on_click=MembersState.set_active(m["id"], False),
                        id="confirm-deactivate",
                    )
                ),
                gap="3",
                justify="end",
                margin_top="1em",
            ),
            max_width="28em",
        ),
    )


def _preview_row(r: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.cell(r["line"]),
        rx.table.cell(r["email"]),
        rx.table.cell(r["full_name"]),
        rx.table.cell(r["role"]),
        rx.table.cell(r["manager_email"]),
        rx.table.cell(
            rx.cond(
                r["status"] == "ok",
                rx.hstack(rx.badge("ok", color_scheme="green"), rx.text(r["message"], size="1")),
                rx.hstack(
                    rx.badge("error", color_scheme="red"),
                    rx.text(r["message"], size="1", color_scheme="red"),
                ),
            )
        ),
    )


def _rejected(files: rx.Var) -> rx.event.EventSpec:
    """What the browser refused (too big, not a CSV): its size and reason, to the state."""
    first = files.to(list[dict[str, Any]])[0].to(dict[str, Any])
    return MembersState.upload_rejected(
        first["file"].to(dict[str, Any])["size"],
        first["errors"].to(list[dict[str, Any]])[0].to(dict[str, Any])["code"],
    )


def import_card() -> rx.Component:
    """Upload a CSV, check the preview, confirm, watch the progress, read the summary."""
    s = MembersState
    upload = rx.vstack(
        rx.text(
            "Columns: email, full_name, role (optional, default learner), manager_email "
            "(optional). The first line must be the header. UTF-8, at most 2 MB. Everyone "
            "in the file is sent an invite and joins when they accept it.",
            size="2",
            color_scheme="gray",
        ),
        rx.upload(
            rx.vstack(
                rx.icon("file_up", size=24),
                rx.text("Drop a CSV file here or click to choose one", size="2"),
                rx.foreach(rx.selected_files(UPLOAD_ID), lambda name: rx.badge(name)),
                align="center",
            ),
            id=UPLOAD_ID,
            custom_attrs={"data-file-label": "CSV file of people to invite"},
            accept={"text/csv": [".csv"], "text/plain": [".csv", ".txt"]},
            max_files=1,
            multiple=False,
            max_size=IMPORT_MAX_BYTES,
            on_drop_rejected=_rejected,
            border="1px dashed var(--gray-8)",
            padding="1em",
            width="100%",
            aria_label="CSV file of members",
        ),
        rx.button(
            "Check the file",
            on_click=s.upload_members_csv(rx.upload_files_chunk(upload_id=UPLOAD_ID)),
            id="import-check",
        ),
        width="100%",
    )
    checking = rx.vstack(
        rx.text("Checking ", s.import_filename, "… ", s.import_checked, " of ", s.import_total),
        rx.progress(value=s.import_percent, max=100, width="100%", id="import-check-progress"),
        width="100%",
    )
    preview = rx.vstack(
        rx.text(
            s.import_filename,
            " into ",
            s.import_org_name,
            ": ",
            s.import_ok,
            " rows ready to invite, ",
            s.import_bad,
            " with errors (rows with errors are skipped).",
            id="import-counts",
        ),
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Line"),
                        rx.table.column_header_cell("Email"),
                        rx.table.column_header_cell("Name"),
                        rx.table.column_header_cell("Role"),
                        rx.table.column_header_cell("Manager"),
                        rx.table.column_header_cell("Status"),
                    )
                ),
                rx.table.body(rx.foreach(s.import_preview, _preview_row)),
                width="100%",
                id="import-preview",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.cond(
            s.import_more > 0,
            rx.text("… and ", s.import_more, " more rows (checked, not shown).", size="2"),
        ),
        rx.hstack(
            rx.button(
                "Send ",
                s.import_ok,
                " invites",
                on_click=s.confirm_import,
                disabled=s.import_ok == 0,
                id="import-confirm",
            ),
            rx.button(
                "Cancel",
                variant="soft",
                color_scheme="gray",
                on_click=[s.cancel_import, rx.clear_selected_files(UPLOAD_ID)],
            ),
        ),
        width="100%",
    )
    running = rx.vstack(
        rx.text("Inviting… ", s.import_done, " of ", s.import_total, " rows"),
        rx.progress(value=s.import_percent, max=100, width="100%", id="import-progress"),
        width="100%",
    )
    done = rx.vstack(
        rx.progress(value=s.import_percent, max=100, width="100%"),
        rx.hstack(
            rx.badge(s.import_invited, " invited", color_scheme="green"),
            rx.badge(s.import_failed, " failed", color_scheme="red"),
            id="import-summary",
        ),
        rx.text(
            "They join when they accept their invite: see the pending invites below.",
            size="2",
            color_scheme="gray",
        ),
        rx.hstack(
            rx.cond(
                (s.import_failed > 0) & (s.import_report_url != ""),
                document_link(
                    "Download error report",
                    href=s.import_report_url,
                    download="import-errors.csv",
                    id="import-report",
                    class_name="rt-Link",
                ),
            ),
            rx.button(
                "Import another file",
                variant="soft",
                on_click=[s.cancel_import, rx.clear_selected_files(UPLOAD_ID)],
            ),
            align="center",
            spacing="4",
        ),
        width="100%",
    )
    return rx.card(
        rx.vstack(
            rx.heading("Invite members from a file into ", s.target_org_name, size="4"),
            rx.cond(
                s.import_error != "",
                rx.callout(
                    s.import_error,
                    icon="triangle_alert",
                    color_scheme="red",
                    role="alert",
                    id="import-error",
                ),
            ),
            rx.match(
                s.import_step,
                ("checking", checking),
                ("preview", preview),
                ("running", running),
                ("done", done),
                upload,
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
        id="member-import",
    )


def members_page() -> rx.Component:
    """Members of an org in the subtree, with filters, pagination and invites."""
    s = MembersState
    return app_shell(
        rx.cond(
            s.missing,
            not_found(),
            rx.vstack(
                rx.hstack(
                    rx.el.label("Organization", html_for="member-org", class_name="gh-label"),
                    rx.el.select(
                        rx.foreach(
                            s.org_choices, lambda o: rx.el.option(o["label"], value=o["value"])
                        ),
                        id="member-org",
                        value=s.target_org,
                        on_change=s.choose_org,
                        class_name="gh-select",
                    ),
                    align="center",
                ),
                rx.form(
                    rx.hstack(
                        rx.input(
                            name="search",
                            placeholder="Search name or email",
                            aria_label="Search members",
                        ),
                        rx.el.select(
                            rx.el.option("All roles", value=""),
                            *[rx.el.option(label, value=value) for value, label in ROLE_OPTIONS],
                            name="role",
                            aria_label="Filter by role",
                            class_name="gh-select",
                        ),
                        rx.el.select(
                            rx.el.option("Any status", value=""),
                            rx.el.option("Active", value="active"),
                            rx.el.option("Inactive", value="inactive"),
                            name="status",
                            aria_label="Filter by status",
                            class_name="gh-select",
                        ),
                        rx.button("Filter", type="submit", variant="soft"),
                        wrap="wrap",
                        class_name="gh-filters",
                    ),
                    on_submit=s.apply_filters,
                    reset_on_submit=False,
                ),
                rx.cond(
                    s.rows.length() > 0,
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Member"),
                                rx.table.column_header_cell("Role"),
                                rx.table.column_header_cell("Manager"),
                                rx.table.column_header_cell("Status"),
                                rx.table.column_header_cell("Joined"),
                                rx.table.column_header_cell(""),
                            )
                        ),
                        rx.table.body(rx.foreach(s.rows, _member_row)),
                        width="100%",
                        id="members-table",
                    ),
                    empty_state(
                        "No members match",
                        "Change the filters, or invite someone below.",
                        icon="users",
                    ),
                ),
                pager(s.page, s.pages, s.prev_page, s.next_page),
                rx.cond(
                    s.can_invite,
                    rx.card(
                        rx.form(
                            rx.vstack(
                                rx.heading("Invite to ", s.target_org_name, size="4"),
                                form_error(s.form_error),
                                field("Email", "email", type_="email", error=s.email_error),
                                select_field(
                                    "Role",
                                    "role",
                                    ROLE_OPTIONS,
                                    error=s.errors.get("role", ""),
                                    default_value="learner",
                                ),
                                rx.button(
                                    "Send invite", type="submit", loading=s.busy, id="send-invite"
                                ),
                                spacing="2",
                            ),
                            on_submit=s.invite,
                            reset_on_submit=True,
                        ),
                        width="100%",
                    ),
                ),
                rx.cond(s.can_manage, import_card()),
                rx.cond(
                    s.invites.length() > 0,
                    rx.vstack(
                        rx.heading("Invites", size="4"),
                        rx.table.root(
                            rx.table.body(
                                rx.foreach(
                                    s.invites,
                                    lambda i: rx.table.row(
                                        rx.table.cell(i["email"]),
                                        rx.table.cell(i["role"]),
                                        rx.table.cell(rx.badge(i["status"])),
                                        rx.table.cell("expires ", i["expires"]),
                                        rx.table.cell(
                                            rx.hstack(
                                                rx.cond(
                                                    (i["status"] == "pending")
                                                    | (i["status"] == "expired"),
                                                    rx.button(
                                                        "Resend",
                                                        size="1",
                                                        variant="soft",
                                                        on_click=s.resend(i["id"]),
                                                        class_name="invite-resend",
                                                    ),
                                                ),
                                                rx.cond(
                                                    i["status"] == "pending",
                                                    rx.button(
                                                        "Revoke",
                                                        size="1",
                                                        variant="soft",
                                                        color_scheme="red",
                                                        on_click=s.revoke(i["id"]),
                                                    ),
                                                ),
                                                spacing="2",
                                            )
                                        ),
                                    ),
                                )
                            ),
                            width="100%",
                            id="invites-table",
                        ),
                        width="100%",
                    ),
                ),
                width="100%",
                spacing="4",
            ),
        ),
        title="Members",
        permission=Permission.members_view,
    )
