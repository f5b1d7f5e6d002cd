"""The members page: members of an org in the subtree, filters, pagination, invites."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, field, form_error, not_found, pager, select_field
from app.services.authz import ROLE_LABELS, Permission
from app.state.members import MembersState

ROLE_OPTIONS = list(ROLE_LABELS.items())


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
                    rx.button(
                        "Deactivate",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        on_click=s.set_active(m["id"], False),
                    ),
                    rx.button(
                        "Reactivate", size="1", variant="soft", on_click=s.set_active(m["id"], True)
                    ),
                ),
            )
        ),
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
                                            rx.cond(
                                                i["status"] == "pending",
                                                rx.button(
                                                    "Revoke",
                                                    size="1",
                                                    variant="soft",
                                                    color_scheme="red",
                                                    on_click=s.revoke(i["id"]),
                                                ),
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
