"""`/announcements`: compose an announcement (org, role or course) and the ones sent."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state, field, form_error, pager, skeleton_rows
from app.services.core.authz import Permission
from app.state.announcements import AnnouncementsState


def _error(message: rx.Var[str], input_id: str) -> rx.Component:
    return rx.cond(
        message != "",
        rx.text(message, id=f"{input_id}-error", color_scheme="red", size="2", role="alert"),
    )


def _choice(
    label: str,
    name: str,
    options: rx.Var[list[dict[str, str]]],
    error: rx.Var[str],
    **props: object,
) -> rx.Component:
    input_id = f"field-{name}"
    return rx.box(
        rx.el.label(label, html_for=input_id, class_name="gh-label"),
        rx.el.select(
            rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"])),
            id=input_id,
            name=name,
            class_name="gh-select",
            aria_describedby=f"{input_id}-error",
            **props,
        ),
        _error(error, input_id),
        width="100%",
    )


def _compose() -> rx.Component:
    s = AnnouncementsState
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("New announcement", size="4", as_="h2"),
                form_error(s.form_error),
                _choice(
                    "Send to",
                    "audience",
                    s.audience_choices,
                    s.audience_error,
                    value=s.audience,
                    on_change=s.set_audience,
                ),
                rx.cond(
                    s.audience == "role",
                    _choice("Role", "role", s.role_choices, s.role_error),
                ),
                rx.cond(
                    s.audience == "course",
                    rx.cond(
                        s.course_choices.length() > 0,
                        _choice("Course", "course_id", s.course_choices, s.course_error),
                        rx.text(
                            "You have no courses yet: create one under Teach first.",
                            size="2",
                            color_scheme="gray",
                        ),
                    ),
                ),
                field("Title", "title", error=s.title_error, placeholder="What it is about"),
                rx.box(
                    rx.el.label("Message", html_for="field-body", class_name="gh-label"),
                    rx.text_area(
                        id="field-body",
                        name="body",
                        placeholder="What everyone should know (up to 2,000 characters)",
                        max_length=2000,
                        rows="5",
                        width="100%",
                        aria_describedby="field-body-error",
                    ),
                    _error(s.body_error, "field-body"),
                    width="100%",
                ),
                rx.button(
                    "Send announcement",
                    type="submit",
                    loading=s.busy,
                    id="send-announcement",
                ),
                spacing="3",
                width="100%",
            ),
            on_submit=s.send,
            key=s.form_key,
            id="announcement-form",
        ),
        width="100%",
    )


def _sent_item(a: rx.Var[dict[str, str]]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(a["title"], weight="bold"),
                rx.spacer(),
                rx.badge(a["audience"], variant="soft"),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.text(a["body"], size="2", white_space="pre-wrap"),
            rx.text(
                a["when"],
                " · ",
                a["sender"],
                " · ",
                a["recipients"],
                " recipient(s)",
                size="1",
                color_scheme="gray",
            ),
            spacing="1",
            width="100%",
        ),
        width="100%",
        class_name="announcement",
        id="announcement-" + a["id"],
    )


def announcements_page() -> rx.Component:
    """Compose and history."""
    s = AnnouncementsState
    return app_shell(
        rx.cond(
            s.loading,
            skeleton_rows(4),
            rx.vstack(
                _compose(),
                rx.heading("Sent", size="4", as_="h2"),
                rx.cond(
                    s.sent.length() > 0,
                    rx.vstack(
                        rx.foreach(s.sent, _sent_item),
                        spacing="2",
                        width="100%",
                        id="announcements-list",
                    ),
                    empty_state(
                        "No announcements yet",
                        "Write one above: the people you choose see it at once and in their "
                        "notifications.",
                        "megaphone",
                    ),
                ),
                pager(s.page, s.pages, s.prev_page, s.next_page),
                spacing="4",
                width="100%",
            ),
        ),
        title="Announcements",
        permission=Permission.courses_author,
    )


def register(app: rx.App) -> None:
    """Add /announcements to the app."""
    app.add_page(
        announcements_page,
        route="/announcements",
        title="Announcements · Guildhall",
        on_load=AnnouncementsState.load,
    )
