"""Pieces of the settings console: where a value comes from, reset, errors, toggles, meters."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.state.settings import SettingsState


def source_badge(row: Any) -> rx.Component:
    """ "default", "set here" or "inherited from <org>"."""
    return rx.badge(row["badge"], color_scheme=row["color"], variant="soft", size="1")


def reset_button(row: Any) -> rx.Component:
    """Drop this org's own value (only for values set here)."""
    return rx.cond(
        row["overridden"],
        rx.button(
            "Reset",
            size="1",
            variant="ghost",
            type="button",
            on_click=SettingsState.reset_field(row["section"], row["name"]),
            aria_label="Reset " + row["label"].to(str) + " to the inherited value",
        ),
    )


def field_error(row: Any) -> rx.Component:
    """The field's validation message, announced to screen readers."""
    return rx.cond(
        row["error"] != "",
        rx.text(row["error"], color_scheme="red", size="2", role="alert"),
    )


def field_meta(row: Any) -> rx.Component:
    """Badge, reset and error for one field."""
    return rx.vstack(
        rx.hstack(source_badge(row), reset_button(row), align="center", spacing="2"),
        field_error(row),
        spacing="1",
    )


def toggle_row(row: Any) -> rx.Component:
    """A labelled switch (submitted with its form) and its field meta."""
    input_id = "cfg-" + row["section"].to(str) + "-" + row["name"].to(str)
    return rx.hstack(
        rx.switch(name=row["name"], default_checked=row["value"], id=input_id),
        rx.el.label(row["label"], html_for=input_id, class_name="gh-label"),
        rx.spacer(),
        field_meta(row),
        align="center",
        width="100%",
        wrap="wrap",
    )


def section_card(
    title: str,
    *children: rx.Component,
    section: str,
    on_submit: Any,
    hint: str = "",
    save_id: str = "",
) -> rx.Component:
    """One section's form: heading, fields, save button. The form is remounted (showing the
    stored values) only when `section`'s stored values change."""
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading(title, size="4"),
                rx.cond(hint != "", rx.text(hint, size="2", color_scheme="gray")),
                *children,
                rx.button("Save", type="submit", loading=SettingsState.busy, id=save_id),
                spacing="3",
                width="100%",
            ),
            on_submit=on_submit,
            reset_on_submit=False,
            key=SettingsState.form_keys[section],
        ),
        width="100%",
    )


def usage_meter(row: Any) -> rx.Component:
    """Used against the limit; red and labelled when over."""
    return rx.vstack(
        rx.cond(
            row["cap"] == "unlimited",
            rx.text(row["used"], " in use · unlimited", size="2", color_scheme="gray"),
            rx.hstack(
                rx.progress(
                    value=row["percent"],
                    max=100,
                    color_scheme=rx.cond(row["full"], "red", "green"),
                    width="12em",
                    aria_label=row["label"].to(str) + " usage",
                ),
                rx.text(row["used"], " of ", row["cap"], size="2"),
                rx.cond(row["over"], rx.badge("over the limit", color_scheme="red")),
                align="center",
                spacing="2",
            ),
        ),
        spacing="1",
    )
