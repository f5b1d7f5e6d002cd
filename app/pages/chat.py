"""The chat page: channels on the left (unread badges, interest channels to join, a new
channel, a direct message), the open channel on the right (history, composer, search).

The members panel (toggled by "Members") lists the open channel's people a page at a time,
with search; moderators mute, unmute, remove (interest channels, after a confirm) and add
people there. A muted user sees why above a disabled composer, until the mute ends or is
lifted (live); a user removed from the open channel sees a notice instead of it.

Message text is always rendered as React text: links are separate parts (http/https only,
decided on the server) shown with `rx.link`; there is no raw HTML and no Markdown here, so
`<script>` in a message shows as those characters.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, not_found, pager, skeleton_rows
from app.services.core.authz import Permission
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


def _person_picker(
    *,
    search_id: str,
    placeholder: str,
    aria_label: str,
    on_search: Any,
    people: Any,
    action: str,
    on_pick: Any,
    pick_id: str,
) -> rx.Component:
    """A debounced people search and the matches, each with one button (`on_pick(id)`,
    element id `pick_id` + the person's id)."""
    return rx.fragment(
        rx.debounce_input(
            rx.input(
                placeholder=placeholder,
                on_change=on_search,
                id=search_id,
                aria_label=aria_label,
                width="100%",
            ),
            debounce_timeout=300,
        ),
        rx.foreach(
            people,
            lambda p: rx.hstack(
                rx.text(p["name"], size="2"),
                rx.spacer(),
                rx.button(
                    action,
                    size="1",
                    variant="soft",
                    on_click=on_pick(p["id"]),
                    id=pick_id + p["id"],
                ),
                align="center",
                width="100%",
            ),
        ),
    )


def _new_dm() -> rx.Component:
    return rx.vstack(
        rx.text("Message someone", size="2", weight="bold"),
        _person_picker(
            search_id="dm-search",
            placeholder="Search people by name",
            aria_label="Search people to message",
            on_search=ChatState.find_people,
            people=ChatState.people,
            action="Message",
            on_pick=ChatState.start_dm,
            pick_id="dm-start-",
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


# --------------------------------------------------------------------------- members


def _mute_menu(m: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                "Mute…",
                size="1",
                variant="soft",
                id="mute-" + m["id"],
                aria_label="Mute " + m["name"],
            ),
        ),
        rx.menu.content(
            *[
                rx.menu.item(
                    label,
                    on_click=ChatState.mute_member(m["id"], value),
                    id="mute-" + m["id"] + "-" + value,
                )
                for value, label in MUTE_CHOICES
            ]
        ),
    )


def member_row(m: rx.Var[dict[str, str]]) -> rx.Component:
    """One person of the channel: name, role, mute badge and (moderators) actions."""
    muted = m["muted_until"] != ""
    return rx.hstack(
        rx.vstack(
            rx.hstack(
                rx.text(m["name"], size="2", weight="medium"),
                rx.cond(m["me"] == "1", rx.text("(you)", size="1", color_scheme="gray")),
                spacing="1",
                align="center",
            ),
            rx.hstack(
                rx.badge(m["role"], size="1", variant="soft", color_scheme="gray"),
                rx.cond(
                    muted,
                    rx.badge(
                        "muted until ",
                        m["muted_until"],
                        size="1",
                        color_scheme="red",
                        id="muted-" + m["id"],
                    ),
                ),
                spacing="1",
                wrap="wrap",
            ),
            spacing="1",
            min_width="0",
        ),
        rx.spacer(),
        rx.cond(
            m["can_mute"] == "1",
            rx.cond(
                muted,
                rx.button(
                    "Unmute",
                    size="1",
                    variant="soft",
                    on_click=ChatState.unmute(m["id"]),
                    id="unmute-" + m["id"],
                    aria_label="Unmute " + m["name"],
                ),
                _mute_menu(m),
            ),
        ),
        rx.cond(
            m["can_remove"] == "1",
            rx.button(
                "Remove",
                size="1",
                variant="soft",
                color_scheme="red",
                on_click=ChatState.ask_remove(m["id"]),
                id="remove-" + m["id"],
                aria_label="Remove " + m["name"],
            ),
        ),
        align="center",
        spacing="2",
        width="100%",
        role="listitem",
        id="member-" + m["id"],
        custom_attrs={"data-user-id": m["id"]},
    )


def _add_member() -> rx.Component:
    return rx.vstack(
        _person_picker(
            search_id="add-member-search",
            placeholder="Add someone by name",
            aria_label="Add a member to this channel",
            on_search=ChatState.find_addable,
            people=ChatState.add_people,
            action="Add",
            on_pick=ChatState.add_to_channel,
            pick_id="add-member-",
        ),
        spacing="2",
        width="100%",
        id="add-member",
    )


def _remove_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Remove from channel"),
            rx.alert_dialog.description(
                "Remove ",
                ChatState.removing_name,
                " from this channel? They can no longer read or post here, nor join again"
                " unless a moderator adds them.",
            ),
            rx.hstack(
                rx.alert_dialog.cancel(
                    rx.button(
                        "Cancel",
                        variant="soft",
                        on_click=ChatState.cancel_remove,
                        id="cancel-remove",
                    ),
                ),
                rx.alert_dialog.action(
                    rx.button(
                        "Remove",
                        color_scheme="red",
                        on_click=ChatState.confirm_remove,
                        id="confirm-remove",
                    ),
                ),
                spacing="3",
                justify="end",
                margin_top="1em",
            ),
        ),
        open=ChatState.removing_id != "",
        on_open_change=ChatState.remove_dialog_changed,
    )


def members_panel() -> rx.Component:
    """The open channel's people: search, (moderators) muted-only filter and adding, the
    list a page at a time."""
    return rx.vstack(
        rx.hstack(
            rx.heading("Members", size="3"),
            rx.badge(ChatState.members_total, size="1", variant="soft", id="members-total"),
            rx.spacer(),
            rx.icon_button(
                rx.icon("x", size=14),
                size="1",
                variant="ghost",
                on_click=ChatState.toggle_members,
                aria_label="Close members",
                id="members-close",
            ),
            align="center",
            width="100%",
        ),
        rx.debounce_input(
            rx.input(
                value=ChatState.members_query,
                placeholder="Search members",
                on_change=ChatState.search_members,
                id="members-search",
                aria_label="Search members",
                width="100%",
            ),
            debounce_timeout=300,
        ),
        rx.cond(
            ChatState.is_moderator,
            rx.checkbox(
                "Muted only",
                checked=ChatState.members_muted_only,
                on_change=ChatState.set_members_muted_only,
                id="members-muted-only",
                size="2",
            ),
        ),
        rx.cond(ChatState.members_can_add, _add_member()),
        rx.cond(
            ChatState.members.length() > 0,
            rx.vstack(
                rx.foreach(ChatState.members, member_row),
                spacing="2",
                width="100%",
                id="channel-members",
                role="list",
                aria_label="Channel members",
            ),
            rx.text("Nobody matches.", size="2", color_scheme="gray", id="channel-members"),
        ),
        rx.cond(
            ChatState.members_pages > 1,
            pager(
                ChatState.members_page,
                ChatState.members_pages,
                ChatState.members_prev,
                ChatState.members_next,
            ),
        ),
        _remove_dialog(),
        spacing="3",
        width=rx.breakpoints(initial="100%", md="20em"),
        flex_shrink="0",
        id="members-panel",
        role="complementary",
        aria_label="Members",
    )


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
