"""Small building blocks: form fields with errors, empty states, notices, pagination."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars.function import FunctionStringVar


def field(
    label: str,
    name: str,
    *,
    error: rx.Var[str] | str = "",
    type_: str = "text",
    placeholder: str = "",
    required: bool = True,
    auto_complete: str = "",
    default_value: Any = None,
) -> rx.Component:
    """A labelled input whose error shows beside it (and is announced to screen readers)."""
    input_id = f"field-{name}"
    props: dict[str, Any] = {}
    if default_value is not None:
        props["default_value"] = default_value
    return rx.box(
        rx.el.label(label, html_for=input_id, class_name="gh-label"),
        rx.input(
            id=input_id,
            name=name,
            type=type_,
            placeholder=placeholder,
            required=required,
            auto_complete=auto_complete or "off",
            width="100%",
            size="3",
            aria_describedby=f"{input_id}-error",
            **props,
        ),
        rx.cond(
            error != "",
            rx.text(error, id=f"{input_id}-error", color_scheme="red", size="2", role="alert"),
        ),
        width="100%",
    )


def select_field(
    label: str,
    name: str,
    options: list[tuple[str, str]] | rx.Var[Any],
    *,
    error: rx.Var[str] | str = "",
    default_value: str | rx.Var[str] = "",
) -> rx.Component:
    """A labelled native select (keyboard and screen-reader friendly)."""
    input_id = f"field-{name}"
    if isinstance(options, list):
        children = [rx.el.option(text, value=value) for value, text in options]
    else:
        children = [rx.foreach(options, lambda o: rx.el.option(o["label"], value=o["value"]))]
    return rx.box(
        rx.el.label(label, html_for=input_id, class_name="gh-label"),
        rx.el.select(
            *children,
            id=input_id,
            name=name,
            default_value=default_value,
            class_name="gh-select",
        ),
        rx.cond(
            error != "",
            rx.text(error, id=f"{input_id}-error", color_scheme="red", size="2", role="alert"),
        ),
        width="100%",
    )


def form_error(message: rx.Var[str]) -> rx.Component:
    """A form-level error callout."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", width="100%"),
    )


def notice(message: rx.Var[str], *, color: str = "green") -> rx.Component:
    """A form-level success or info callout."""
    return rx.cond(
        message != "",
        rx.callout(message, icon="info", color_scheme=color, width="100%"),
    )


def empty_state(title: str, hint: str, icon: str = "inbox") -> rx.Component:
    """What an empty list shows: what it is and what to do next."""
    return rx.vstack(
        rx.icon(icon, size=32, color=rx.color("gray", 9)),
        rx.text(title, weight="bold"),
        rx.text(hint, color_scheme="gray", size="2"),
        align="center",
        padding="2em",
        width="100%",
    )


def pager(page: rx.Var[int], pages: rx.Var[int], on_prev: Any, on_next: Any) -> rx.Component:
    """Previous / next with the position."""
    return rx.hstack(
        rx.button("Previous", on_click=on_prev, disabled=page <= 1, variant="soft", size="1"),
        rx.text("Page ", page, " of ", pages, size="2"),
        rx.button("Next", on_click=on_next, disabled=page >= pages, variant="soft", size="1"),
        align="center",
        spacing="3",
    )


def not_allowed() -> rx.Component:
    """Shown when the role does not allow a page."""
    return rx.vstack(
        rx.icon("shield_x", size=40, color=rx.color("red", 9)),
        rx.heading("Not allowed", size="6"),
        rx.text("Your role in this organization does not give access to this page."),
        rx.link("Back to your dashboard", href="/dashboard"),
        align="center",
        padding="4em",
        id="not-allowed",
    )


def feature_off() -> rx.Component:
    """Shown when the org has turned the page's part of the product off."""
    return rx.vstack(
        rx.icon("power_off", size=40, color=rx.color("gray", 9)),
        rx.heading("Turned off", size="6"),
        rx.text("Your organization has turned this part of Guildhall off."),
        rx.link("Back to your dashboard", href="/dashboard"),
        align="center",
        padding="4em",
        id="feature-off",
    )


def not_found() -> rx.Component:
    """Shown for ids that do not exist or belong to someone else (indistinguishable)."""
    return rx.vstack(
        rx.icon("search_x", size=40, color=rx.color("gray", 9)),
        rx.heading("Not found", size="6"),
        rx.text("There is nothing here, or you do not have access to it."),
        rx.link("Back to your dashboard", href="/dashboard"),
        align="center",
        padding="4em",
        id="not-found",
    )


def skeleton_rows(count: int = 3) -> rx.Component:
    """Placeholder while data loads."""
    return rx.vstack(
        *[rx.skeleton(rx.box(height="2em", width="100%"), loading=True) for _ in range(count)],
        width="100%",
    )


def safe_markdown(text: rx.Var[str] | str, **props: Any) -> rx.Component:
    """Markdown written by users (lessons, course descriptions), rendered without raw HTML.

    Reflex's `rx.markdown` turns raw HTML on by default (rehype-raw), which would let a
    lesson's `<img onerror=...>` run script in every learner's browser: always use this.
    """
    return rx.markdown(text, use_raw=False, **props)


def document_link(*children: Any, href: Any, **props: Any) -> rx.Component:
    """A link the browser follows itself (downloads from our own HTTP routes).

    `rx.el.a` compiles to React Router's `Link`, which would route `/api/...pdf` inside the
    single-page app and show its 404; `reloadDocument` hands the click back to the browser.
    """
    return rx.el.a(*children, href=href, reload_document=True, **props)


def percent_bar(percent: rx.Var[Any], **props: Any) -> rx.Component:
    """A progress bar for a 0-100 value held as text in a row dict.

    Radix's progress treats a non-number value as "unknown" and shows a busy, nearly full bar;
    rows of `dict[str, str]` hand it strings, so convert in the browser.
    """
    value = FunctionStringVar("Number").call(percent).to(int)
    return rx.progress(value=value, max=100, **props)
