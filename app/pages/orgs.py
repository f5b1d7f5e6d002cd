"""Organization pages: the admin's subtree (create, move) and one org's detail."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import field, form_error, not_found, select_field
from app.pages.account import KIND_OPTIONS
from app.services.core.authz import Permission
from app.state.orgs import OrgDetailState, OrgsState


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
