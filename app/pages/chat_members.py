"""The chat page's members panel: the open channel's people (search, muted-only filter,
pages), each with the moderators' mute menu and remove button, the add picker and the remove
confirmation."""

from __future__ import annotations

import reflex as rx

from app.components.ui import pager
from app.pages.chat_channels import person_picker
from app.state.chat import ChatState

MUTE_CHOICES = [("10", "10 minutes"), ("60", "1 hour"), ("1440", "1 day"), ("10080", "1 week")]


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
        person_picker(
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
