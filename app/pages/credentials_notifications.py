"""`/notifications`: the user's notifications, newest first, unread ones highlighted."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, pager, skeleton_rows
from app.services.authz import Permission
from app.state.credentials_notifications import NotificationsState


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
                rx.text(n["title"], weight=rx.cond(unread, "bold", "regular")),
                rx.cond(n["body"] != "", rx.text(n["body"], size="2")),
                rx.text(n["when"], " UTC", size="1", color_scheme="gray"),
                spacing="1",
                flex="1",
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


def notifications_page() -> rx.Component:
    """The user's notifications with mark-read controls."""
    s = NotificationsState
    return app_shell(
        rx.cond(
            s.loading,
            skeleton_rows(4),
            rx.vstack(
                rx.hstack(
                    rx.text(s.unread, " unread", size="2", id="unread-count"),
                    rx.spacer(),
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
                ),
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
                        "Certificates, enrollments and other news for you appear here.",
                        "bell",
                    ),
                ),
                pager(s.page, s.pages, s.prev_page, s.next_page),
                spacing="3",
                width="100%",
            ),
        ),
        title="Notifications",
        permission=Permission.dashboard_view,
    )
