"""The chat page's left column: the channel list with unread badges, interest channels to
join, a new interest channel and a new direct message (and the people picker they share)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.state.chat import ChatState


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


def person_picker(
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
        person_picker(
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
