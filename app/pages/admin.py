"""Admin pages: organizations, members and invites, audit log, mail log."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, field, form_error, not_found, pager, select_field
from app.pages.account import KIND_OPTIONS
from app.services.authz import ROLE_LABELS, Permission
from app.state.logs import AuditState, MailState
from app.state.members import MembersState
from app.state.orgs import OrgDetailState, OrgsState

ROLE_OPTIONS = list(ROLE_LABELS.items())


def orgs_page() -> rx.Component:
    """The subtree, a form to create a child org, a form to move one."""
    s = OrgsState
    tree_options = rx.foreach(s.tree, lambda n: rx.el.option(n["label"], value=n["id"]))
    return app_shell(
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Organization"),
                    rx.table.column_header_cell("Kind"),
                    rx.table.column_header_cell("Active members"),
                )
            ),
            rx.table.body(
                rx.foreach(
                    s.tree,
                    lambda n: rx.table.row(
                        rx.table.cell(
                            rx.link(n["name"], href="/orgs/" + n["id"].to(str)),
                            padding_left=n["indent"],
                        ),
                        rx.table.cell(n["kind"]),
                        rx.table.cell(n["members"]),
                    ),
                )
            ),
            width="100%",
            id="org-tree",
        ),
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Create a child organization", size="4"),
                    form_error(s.form_error),
                    rx.el.label("Parent", html_for="field-parent_id", class_name="gh-label"),
                    rx.el.select(
                        tree_options, id="field-parent_id", name="parent_id", class_name="gh-select"
                    ),
                    field("Name", "name", error=s.org_name_error),
                    select_field(
                        "Kind", "kind", KIND_OPTIONS, error=s.kind_error, default_value="regional"
                    ),
                    rx.button("Create", type="submit", loading=s.busy, id="create-org"),
                    spacing="2",
                ),
                on_submit=s.create,
                reset_on_submit=False,
            ),
            width="100%",
        ),
        rx.card(
            rx.form(
                rx.vstack(
                    rx.heading("Move an organization", size="4"),
                    form_error(s.move_error),
                    rx.el.label("Organization", html_for="move-org", class_name="gh-label"),
                    rx.el.select(
                        tree_options, id="move-org", name="org_id", class_name="gh-select"
                    ),
                    rx.el.label("New parent", html_for="move-parent", class_name="gh-label"),
                    rx.el.select(
                        tree_options, id="move-parent", name="parent_id", class_name="gh-select"
                    ),
                    rx.button("Move", type="submit", variant="soft", id="move-org-submit"),
                    spacing="2",
                ),
                on_submit=s.move,
            ),
            width="100%",
        ),
        rx.text(
            "To appoint a child organization's admin, open Members, choose that organization "
            "and invite them as Org admin.",
            size="2",
            color_scheme="gray",
        ),
        title="Organizations",
        permission=Permission.org_manage,
    )


def org_detail_page() -> rx.Component:
    """One org of the subtree."""
    s = OrgDetailState
    return app_shell(
        rx.cond(
            s.found,
            rx.vstack(
                rx.heading(s.detail_name, size="5", id="org-detail-name"),
                rx.badge(s.detail_kind),
                rx.heading("Child organizations", size="3"),
                rx.cond(
                    s.detail_children.length() > 0,
                    rx.vstack(
                        rx.foreach(
                            s.detail_children,
                            lambda c: rx.link(c["name"], href="/orgs/" + c["id"]),
                        )
                    ),
                    rx.text("None yet.", color_scheme="gray"),
                ),
            ),
            not_found(),
        ),
        title="Organization",
    )


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
            "Without SMTP settings, Guildhall records mail here instead of sending it.",
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
            empty_state("No mail yet", "Invites and password resets appear here.", icon="mail"),
        ),
        pager(s.page, s.pages, s.prev_page, s.next_page),
        title="Mail log",
        permission=Permission.mail_view,
    )
