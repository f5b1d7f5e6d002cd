"""`/notifications`: the notification centre (newest first, unread highlighted, filters,
read/unread toggles, live) and the "Email me about" preferences."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, pager, skeleton_rows
from app.services.core.authz import Permission
from app.state.notification_centre import NotificationsState


def _item(n: rx.Var[dict[str, str]]) -> rx.Component:
    s = NotificationsState
    unread = n["read"] == ""
    return rx.card(
        rx.hstack(
            rx.box(
                rx.cond(
                    unread,
                    rx.box(
                        width="0.6em",
                        height="0.6em",
                        border_radius="50%",
                        background=rx.color("accent", 9),
                        aria_label="Unread",
                        role="img",
                    ),
                ),
                width="0.8em",
                padding_top="0.45em",
            ),
            rx.vstack(
                rx.hstack(
                    rx.badge(n["kind_label"], variant="soft", size="1", class_name="kind"),
                    rx.text(
                        n["when"],
                        size="1",
                        color_scheme="gray",
                        title=n["at"],
                        class_name="when",
                    ),
                    spacing="2",
                    align="center",
                    wrap="wrap",
                ),
                rx.cond(
                    n["link"] != "",
                    rx.link(
                        n["title"],
                        href="#",
                        on_click=s.open_item(n["id"], n["link"]),
                        weight=rx.cond(unread, "bold", "regular"),
                        class_name="notification-title",
                    ),
                    rx.text(
                        n["title"],
                        weight=rx.cond(unread, "bold", "regular"),
                        class_name="notification-title",
                    ),
                ),
                rx.cond(n["body"] != "", rx.text(n["body"], size="2")),
                spacing="1",
                flex="1",
                min_width="12em",
            ),
            rx.hstack(
                rx.cond(
                    n["link"] != "",
                    rx.button(
                        "Open",
                        size="1",
                        variant="soft",
                        on_click=s.open_item(n["id"], n["link"]),
                    ),
                ),
                rx.cond(
                    unread,
                    rx.button(
                        "Mark read",
                        size="1",
                        variant="ghost",
                        on_click=s.mark_read(n["id"]),
                        class_name="mark-read",
                        id="mark-read-" + n["id"],
                    ),
                    rx.button(
                        "Mark unread",
                        size="1",
                        variant="ghost",
                        on_click=s.mark_unread(n["id"]),
                        class_name="mark-unread",
                        id="mark-unread-" + n["id"],
                    ),
                ),
                spacing="2",
                align="center",
            ),
            align="start",
            spacing="3",
            width="100%",
            wrap="wrap",
        ),
        variant=rx.cond(unread, "surface", "ghost"),
        width="100%",
        class_name=rx.cond(unread, "notification unread", "notification"),
        id="notification-" + n["id"],
    )


def _toolbar() -> rx.Component:
    s = NotificationsState
    return rx.hstack(
        rx.text(s.unread, " unread", size="2", id="unread-count"),
        rx.spacer(),
        rx.el.label("Kind", html_for="notification-kind", class_name="gh-label sr-only"),
        rx.select.root(
            rx.select.trigger(aria_label="Kind of notification", id="notification-kind"),
            rx.select.content(
                rx.foreach(
                    s.kind_options,
                    lambda o: rx.select.item(o["label"], value=o["value"]),
                ),
            ),
            value=s.kind_filter,
            on_change=s.set_kind_filter,
            size="2",
        ),
        rx.el.label(
            rx.switch(
                checked=s.unread_only,
                on_change=s.set_unread_only,
                id="unread-only",
                size="1",
            ),
            rx.text("Unread only", size="2"),
            style={"display": "flex", "gap": "0.4em", "align_items": "center"},
        ),
        rx.button(
            "Mark all read",
            variant="soft",
            size="2",
            on_click=s.mark_all_read,
            disabled=s.unread == 0,
            id="mark-all-read",
        ),
        width="100%",
        align="center",
        spacing="3",
        wrap="wrap",
    )


def _pref(row: rx.Var[dict[str, str]]) -> rx.Component:
    s = NotificationsState
    switch_id = "email-pref-" + row["key"].replace(".", "-")
    return rx.el.label(
        rx.switch(
            checked=row["on"] == "1",
            on_change=lambda on: s.set_email_kind(row["key"], on),
            id=switch_id,
            size="1",
        ),
        rx.text(row["label"], size="2"),
        style={"display": "flex", "gap": "0.5em", "align_items": "center"},
        class_name="email-pref",
    )


def _preferences() -> rx.Component:
    s = NotificationsState
    return rx.cond(
        s.has_org,
        rx.card(
            rx.vstack(
                rx.heading("Email me about", size="3", as_="h2"),
                rx.text(
                    "Everything still appears here; these also arrive by email "
                    "(for this organization).",
                    size="2",
                    color_scheme="gray",
                ),
                rx.grid(
                    rx.foreach(s.email_prefs, _pref),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="2",
                    width="100%",
                ),
                spacing="2",
                width="100%",
            ),
            width="100%",
            id="email-preferences",
        ),
    )


def notifications_page() -> rx.Component:
    """The user's notifications with filters and mark-read controls, then email choices."""
    s = NotificationsState
    return app_shell(
        rx.cond(
            s.loading,
            skeleton_rows(4),
            rx.vstack(
                _toolbar(),
                rx.cond(
                    s.items.length() > 0,
                    rx.vstack(
                        rx.foreach(s.items, _item),
                        spacing="2",
                        width="100%",
                        id="notifications-list",
                    ),
                    empty_state(
                        "No notifications",
                        "Certificates, enrollments, reminders and announcements for you "
                        "appear here.",
                        "bell",
                    ),
                ),
                pager(s.page, s.pages, s.prev_page, s.next_page),
                _preferences(),
                spacing="3",
                width="100%",
            ),
        ),
        title="Notifications",
        permission=Permission.dashboard_view,
    )
