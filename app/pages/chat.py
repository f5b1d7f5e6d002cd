"""The chat page: channels on the left (unread badges, interest channels to join, a new
channel, a direct message), the open channel on the right (history, composer, search).

The members panel (toggled by "Members") lists the open channel's people a page at a time,
with search; moderators mute, unmute, remove (interest channels, after a confirm) and add
people there. A muted user sees why above a disabled composer, until the mute ends or is
lifted (live); a user removed from the open channel sees a notice instead of it.

The parts are laid out in `app.pages.chat_channels` (left column), `app.pages.chat_messages`
(the open channel) and `app.pages.chat_members` (the members panel).
"""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import not_found, skeleton_rows
from app.pages.chat_channels import channel_list
from app.pages.chat_members import members_panel
from app.pages.chat_messages import channel_view
from app.services.core.authz import Permission
from app.state.chat import ChatState


def _closed() -> rx.Component:
    """What stands where a channel was: why it went (removed), or "not found"."""
    return rx.cond(
        ChatState.closed_notice != "",
        rx.callout(
            ChatState.closed_notice,
            icon="circle_alert",
            color_scheme="orange",
            role="alert",
            id="chat-closed-notice",
            width="100%",
        ),
        not_found(),
    )


def chat_page() -> rx.Component:
    """`/chat` and `/chat/[channel_id]`."""
    return app_shell(
        rx.flex(
            channel_list(),
            rx.cond(
                ChatState.found,
                channel_view(),
                rx.cond(ChatState.loaded, _closed(), skeleton_rows(4)),
            ),
            rx.cond(ChatState.found & ChatState.members_open, members_panel()),
            direction=rx.breakpoints(initial="column", md="row"),
            spacing="5",
            width="100%",
        ),
        title="Chat",
        permission=Permission.dashboard_view,
        feature="chat",
    )


def register(app: rx.App) -> None:
    """Add the chat pages to the app."""
    app.add_page(chat_page, route="/chat", title="Chat · Guildhall", on_load=ChatState.load)
    app.add_page(
        chat_page,
        route="/chat/[channel_id]",
        title="Chat · Guildhall",
        on_load=ChatState.load,
    )
