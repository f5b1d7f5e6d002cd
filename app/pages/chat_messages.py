"""The chat page's open channel: its header, message search, the messages (each with its
edit box and actions) and the composer with the muted notice.

Message text is always rendered as React text: links are separate parts (http/https only,
decided on the server) shown with `rx.link`; there is no raw HTML and no Markdown here, so
`<script>` in a message shows as those characters.
"""

from __future__ import annotations

import reflex as rx

from app.components.ui import empty_state
from app.pages.chat_members import MUTE_CHOICES
from app.state.chat import ChatState
from app.state.chat_rows import ChatMsg, MsgPart


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


def _muted_notice() -> rx.Component:
    """Why the composer is disabled, with a timer that re-checks once the mute is over."""
    return rx.cond(
        ChatState.muted_notice != "",
        rx.callout(
            rx.hstack(
                rx.text(ChatState.muted_notice, id="chat-muted-text"),
                rx.cond(
                    ChatState.mute_ends != "",
                    rx.text(
                        "(ends ",
                        # ticks while shown; its change events let the server re-check
                        rx.moment(
                            date=ChatState.mute_ends,
                            from_now=True,
                            interval=15_000,
                            on_change=ChatState.mute_tick,
                            id="chat-mute-timer",
                        ),
                        ")",
                        size="1",
                        color_scheme="gray",
                    ),
                ),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            icon="volume_x",
            color_scheme="orange",
            role="status",
            id="chat-muted-notice",
            width="100%",
        ),
    )


def _composer() -> rx.Component:
    """The composer stays mounted when posting is not allowed (it is hidden instead): a
    state that reloads (a reconnect, a lost Redis) flips `can_post` off and on, and an
    unmounted text box would drop what the user had typed."""
    muted = ChatState.muted_notice != ""
    return rx.fragment(
        rx.form(
            rx.vstack(
                _muted_notice(),
                rx.el.input(type="hidden", name="client_key", value=ChatState.send_key),
                rx.text_area(
                    name="body",
                    placeholder=rx.cond(
                        muted,
                        "You cannot post here while muted",
                        "Write a message (Enter sends, Shift+Enter for a new line)",
                    ),
                    enter_key_submit=True,
                    id="chat-composer",
                    aria_label="Message",
                    rows="2",
                    disabled=muted,
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
                    rx.button("Send", type="submit", id="chat-send", disabled=muted),
                    width="100%",
                ),
                spacing="2",
                width="100%",
            ),
            on_submit=ChatState.send,
            width="100%",
            display=rx.cond(ChatState.can_post, "block", "none"),
        ),
        rx.cond(
            ~ChatState.can_post,
            rx.callout(
                ChatState.channel["refusal"], icon="info", color_scheme="gray", id="chat-readonly"
            ),
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
            spacing="0",
        ),
        rx.spacer(),
        rx.button(
            rx.icon("users", size=14),
            "Members",
            size="1",
            variant=rx.cond(ChatState.members_open, "solid", "soft"),
            on_click=ChatState.toggle_members,
            id="members-toggle",
            aria_expanded=rx.cond(ChatState.members_open, "true", "false"),
            aria_controls="members-panel",
        ),
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
