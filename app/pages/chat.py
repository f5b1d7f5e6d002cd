"""The chat page: channels on the left (unread badges, interest channels to join, a new
channel, a direct message), the open channel on the right (history, composer, search).

Message text is always rendered as React text: links are separate parts (http/https only,
decided on the server) shown with `rx.link`; there is no raw HTML and no Markdown here, so
`<script>` in a message shows as those characters.
"""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, not_found, skeleton_rows
from app.services.authz import Permission
from app.state.chat import ChatMsg, ChatState, MsgPart

MUTE_CHOICES = [("10", "10 minutes"), ("60", "1 hour"), ("1440", "1 day"), ("10080", "1 week")]


# --------------------------------------------------------------------------- left column


def _channel_link(c: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon(c["icon"], size=16),
            rx.text(c["name"], size="2", trim="both", class_name="gh-chat-channel-name"),
            rx.spacer(),
            rx.cond(
                c["unread"] != "0",
                rx.badge(c["unread"], color_scheme="red", variant="solid", id="unread-" + c["id"]),
            ),
            align="center",
            spacing="2",
            width="100%",
        ),
        href="/chat/" + c["id"],
        id="channel-link-" + c["id"],
        underline="none",
        weight=rx.cond(c["current"] == "1", "bold", "regular"),
        aria_current=rx.cond(c["current"] == "1", "page", "false"),
        width="100%",
    )


def _browse_row(c: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(c["name"], size="2", weight="medium"),
            rx.text(c["description"], size="1", color_scheme="gray"),
            spacing="0",
        ),
        rx.spacer(),
        rx.button(
            "Join",
            size="1",
            variant="soft",
            on_click=ChatState.join(c["id"]),
            id="join-" + c["id"],
        ),
        align="center",
        width="100%",
    )


def _new_channel() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("New interest channel", size="2", weight="bold"),
            rx.input(
                name="name",
                placeholder="Name",
                max_length=80,
                id="new-channel-name",
                aria_label="Channel name",
                width="100%",
            ),
            rx.input(
                name="description",
                placeholder="What it is about (optional)",
                max_length=300,
                id="new-channel-description",
                aria_label="Channel description",
                width="100%",
            ),
            rx.cond(
                ChatState.create_error != "",
                rx.text(ChatState.create_error, color_scheme="red", size="1", role="alert"),
            ),
            rx.button("Create", type="submit", size="1", id="new-channel-submit"),
            spacing="2",
            width="100%",
        ),
        on_submit=ChatState.create_channel,
        reset_on_submit=True,
        width="100%",
    )


def _new_dm() -> rx.Component:
    return rx.vstack(
        rx.text("Message someone", size="2", weight="bold"),
        rx.debounce_input(
            rx.input(
                placeholder="Search people by name",
                on_change=ChatState.find_people,
                id="dm-search",
                aria_label="Search people to message",
                width="100%",
            ),
            debounce_timeout=300,
        ),
        rx.foreach(
            ChatState.people,
            lambda p: rx.hstack(
                rx.text(p["name"], size="2"),
                rx.spacer(),
                rx.button(
                    "Message",
                    size="1",
                    variant="soft",
                    on_click=ChatState.start_dm(p["id"]),
                    id="dm-start-" + p["id"],
                ),
                align="center",
                width="100%",
            ),
        ),
        spacing="2",
        width="100%",
    )


def channel_list() -> rx.Component:
    """The left column."""
    return rx.vstack(
        rx.vstack(
            rx.foreach(ChatState.channels, _channel_link),
            spacing="1",
            width="100%",
            id="chat-channels",
            role="navigation",
            aria_label="Channels",
        ),
        rx.cond(
            ChatState.browse.length() > 0,
            rx.vstack(
                rx.text("Interest channels to join", size="2", weight="bold"),
                rx.foreach(ChatState.browse, _browse_row),
                spacing="2",
                width="100%",
                id="chat-browse",
            ),
        ),
        rx.divider(),
        _new_channel(),
        rx.divider(),
        _new_dm(),
        spacing="3",
        width=rx.breakpoints(initial="100%", md="18em"),
        flex_shrink="0",
    )


# --------------------------------------------------------------------------- messages


def message_part(p: MsgPart) -> rx.Component:
    """One part of a message: a link (its own text) or plain text; never HTML."""
    return rx.cond(
        p.href != "",
        rx.link(p.text, href=p.href, is_external=True, rel="noopener noreferrer nofollow"),
        rx.text.span(p.text),
    )


def message_body(m: ChatMsg) -> rx.Component:
    """The text of a message, or "message deleted"."""
    return rx.cond(
        m.deleted,
        rx.text("message deleted", size="2", color_scheme="gray", style={"font_style": "italic"}),
        rx.text(
            rx.foreach(m.parts, message_part),
            size="2",
            white_space="pre-wrap",
            style={"overflow_wrap": "anywhere"},
            id="msg-body-" + m.id,
        ),
    )


def _edit_box(m: ChatMsg) -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text_area(
                default_value=m.body,
                name="body",
                aria_label="Edit message",
                id="chat-edit-input",
                width="100%",
            ),
            rx.cond(
                ChatState.edit_error != "",
                rx.text(ChatState.edit_error, color_scheme="red", size="1", role="alert"),
            ),
            rx.hstack(
                rx.button("Save", type="submit", size="1", id="chat-edit-save"),
                rx.button(
                    "Cancel",
                    type="button",
                    size="1",
                    variant="soft",
                    on_click=ChatState.cancel_edit,
                ),
            ),
            width="100%",
        ),
        on_submit=ChatState.save_edit,
        width="100%",
    )


def _actions(m: ChatMsg) -> rx.Component:
    own = m.mine & ~m.deleted
    moderate = ChatState.is_moderator & ~m.mine & ~m.deleted
    return rx.hstack(
        rx.cond(
            own,
            rx.hstack(
                rx.button(
                    "Edit",
                    size="1",
                    variant="ghost",
                    on_click=ChatState.start_edit(m.id),
                    id="msg-edit-" + m.id,
                ),
                rx.button(
                    "Delete",
                    size="1",
                    variant="ghost",
                    color_scheme="red",
                    on_click=ChatState.delete(m.id),
                    id="msg-delete-" + m.id,
                ),
            ),
        ),
        rx.cond(
            moderate,
            rx.hstack(
                rx.button(
                    "Delete",
                    size="1",
                    variant="ghost",
                    color_scheme="red",
                    on_click=ChatState.delete(m.id),
                    id="msg-moddelete-" + m.id,
                ),
                rx.button(
                    "Mute author",
                    size="1",
                    variant="ghost",
                    on_click=ChatState.mute(m.user_id),
                    id="msg-mute-" + m.id,
                ),
            ),
        ),
        spacing="1",
    )


def message_item(m: ChatMsg) -> rx.Component:
    """One message: author, time, "edited", the text (or the edit box), and its actions."""
    return rx.box(
        rx.hstack(
            rx.text(m.author, weight="bold", size="2"),
            rx.text(m.when, size="1", color_scheme="gray"),
            rx.cond(m.edited & ~m.deleted, rx.text("edited", size="1", color_scheme="gray")),
            rx.cond(m.mentions_me, rx.badge("mentions you", size="1")),
            rx.spacer(),
            _actions(m),
            align="center",
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        rx.cond(ChatState.editing_id == m.id, _edit_box(m), message_body(m)),
        id="msg-" + m.id,
        class_name="gh-chat-message",
        padding_y="0.4em",
        width="100%",
    )


def _composer() -> rx.Component:
    return rx.cond(
        ChatState.can_post,
        rx.form(
            rx.vstack(
                rx.el.input(type="hidden", name="client_key", value=ChatState.send_key),
                rx.text_area(
                    name="body",
                    placeholder="Write a message (Enter sends, Shift+Enter for a new line)",
                    enter_key_submit=True,
                    id="chat-composer",
                    aria_label="Message",
                    rows="2",
                    width="100%",
                ),
                rx.cond(
                    ChatState.composer_error != "",
                    rx.text(
                        ChatState.composer_error,
                        color_scheme="red",
                        size="1",
                        role="alert",
                        id="chat-composer-error",
                    ),
                ),
                rx.hstack(
                    rx.spacer(),
                    rx.button("Send", type="submit", id="chat-send"),
                    width="100%",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=ChatState.send,
            width="100%",
        ),
        rx.callout(
            ChatState.channel["refusal"], icon="info", color_scheme="gray", id="chat-readonly"
        ),
    )


def _search() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.input(
                    name="query",
                    placeholder="Search messages",
                    id="chat-search-input",
                    aria_label="Search messages",
                    width="100%",
                ),
                rx.button("Search", type="submit", variant="soft", id="chat-search-submit"),
                width="100%",
            ),
            on_submit=ChatState.search,
            width="100%",
        ),
        rx.cond(
            ChatState.searched,
            rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.text(ChatState.search_total, " found", size="2", weight="bold"),
                        rx.spacer(),
                        rx.button(
                            "Close", size="1", variant="ghost", on_click=ChatState.clear_search
                        ),
                        width="100%",
                    ),
                    rx.foreach(
                        ChatState.search_results,
                        lambda r: rx.link(
                            rx.vstack(
                                rx.text(
                                    r["channel"], " · ", r["author"], " · ", r["when"], size="1"
                                ),
                                rx.text(r["body"], size="2"),
                                spacing="0",
                            ),
                            href="/chat/" + r["channel_id"],
                            underline="none",
                        ),
                    ),
                    spacing="2",
                    width="100%",
                ),
                width="100%",
                id="chat-search-results",
            ),
        ),
        width="100%",
    )


def _header() -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.heading(ChatState.channel["name"], size="5", id="chat-channel-name"),
            rx.text(ChatState.channel["description"], size="2", color_scheme="gray"),
            rx.cond(
                ChatState.channel["muted_until"] != "",
                rx.text(
                    "You are muted here until ",
                    ChatState.channel["muted_until"],
                    size="1",
                    color_scheme="red",
                ),
            ),
            spacing="0",
        ),
        rx.spacer(),
        rx.cond(
            ChatState.can_join,
            rx.button(
                "Join", size="1", on_click=ChatState.join(ChatState.channel["id"]), id="chat-join"
            ),
        ),
        rx.cond(
            ChatState.can_leave,
            rx.button("Leave", size="1", variant="soft", on_click=ChatState.leave, id="chat-leave"),
        ),
        rx.cond(
            ChatState.can_archive,
            rx.button(
                "Archive",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=ChatState.archive,
                id="chat-archive",
            ),
        ),
        rx.cond(
            ChatState.is_moderator,
            rx.select.root(
                rx.select.trigger(aria_label="Mute for"),
                rx.select.content(
                    *[rx.select.item(label, value=value) for value, label in MUTE_CHOICES]
                ),
                value=ChatState.mute_minutes,
                on_change=ChatState.set_mute_minutes,
                size="1",
            ),
        ),
        align="center",
        wrap="wrap",
        width="100%",
    )


def channel_view() -> rx.Component:
    """The right column: the open channel."""
    return rx.vstack(
        _header(),
        _search(),
        rx.box(
            rx.vstack(
                rx.cond(
                    ChatState.has_more,
                    rx.button(
                        "Load earlier",
                        size="1",
                        variant="soft",
                        on_click=ChatState.load_earlier,
                        id="chat-load-earlier",
                    ),
                ),
                rx.cond(
                    ChatState.messages.length() > 0,
                    rx.foreach(ChatState.messages, message_item),
                    empty_state("No messages yet", "Say hello below.", "message_circle"),
                ),
                spacing="1",
                width="100%",
                id="chat-messages",
                aria_live="polite",
            ),
            # column-reverse keeps the view pinned to the newest message as messages arrive
            display="flex",
            flex_direction="column-reverse",
            overflow_y="auto",
            max_height="60vh",
            width="100%",
            id="chat-scroll",
        ),
        _composer(),
        spacing="3",
        width="100%",
        min_width="0",
    )


def chat_page() -> rx.Component:
    """`/chat` and `/chat/[channel_id]`."""
    return app_shell(
        rx.flex(
            channel_list(),
            rx.cond(
                ChatState.found,
                channel_view(),
                rx.cond(ChatState.loaded, not_found(), skeleton_rows(4)),
            ),
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
