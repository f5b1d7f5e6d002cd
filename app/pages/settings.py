"""The settings console: an org of the admin's subtree, one form per config section."""

from __future__ import annotations

import reflex as rx

from app.components.settings_form import (
    field_error,
    field_meta,
    section_card,
    toggle_row,
    usage_meter,
)
from app.components.shell import app_shell
from app.components.ui import not_found, skeleton_rows
from app.services.core.authz import Permission
from app.state.settings import LOGO_UPLOAD_ID, SettingsState

S = SettingsState


def _org_selector() -> rx.Component:
    return rx.hstack(
        rx.el.label("Organization", html_for="settings-org", class_name="gh-label"),
        rx.el.select(
            rx.foreach(S.org_choices, lambda o: rx.el.option(o["label"], value=o["value"])),
            id="settings-org",
            value=S.target_org,
            on_change=S.choose_org,
            class_name="gh-select",
        ),
        align="center",
        wrap="wrap",
    )


def _features() -> rx.Component:
    return section_card(
        "Features",
        rx.foreach(S.feature_rows, toggle_row),
        section="features",
        on_submit=S.save_features,
        hint="Turned-off features leave the menu and their pages for everyone in the org.",
        save_id="save-features",
    )


def _funding() -> rx.Component:
    return rx.vstack(
        section_card(
            "Funding sources",
            rx.hstack(
                rx.text("Sources learners may enroll under", size="2"),
                rx.spacer(),
                field_meta(S.meta["funding.sources"]),
                width="100%",
                wrap="wrap",
            ),
            rx.foreach(
                S.source_rows,
                lambda r: rx.hstack(
                    rx.checkbox(r["label"], name=r["slug"], default_checked=r["checked"], size="2"),
                    rx.cond(r["custom"], rx.badge("custom", variant="outline", size="1")),
                    rx.cond(
                        r["custom"],
                        rx.button(
                            "Remove",
                            size="1",
                            variant="ghost",
                            color_scheme="red",
                            type="button",
                            on_click=S.remove_custom_source(r["slug"]),
                            aria_label="Remove custom source " + r["label"].to(str),
                        ),
                    ),
                    align="center",
                ),
            ),
            section="funding",
            on_submit=S.save_funding,
            save_id="save-funding",
        ),
        rx.card(
            rx.form(
                rx.vstack(
                    rx.hstack(
                        rx.heading("Add a custom source", size="3"),
                        rx.spacer(),
                        field_meta(S.meta["funding.custom"]),
                        width="100%",
                        wrap="wrap",
                    ),
                    rx.hstack(
                        rx.box(
                            rx.el.label("Code", html_for="custom-slug", class_name="gh-label"),
                            rx.input(
                                id="custom-slug",
                                name="slug",
                                placeholder="state_grant",
                                required=True,
                                max_length=40,
                            ),
                        ),
                        rx.box(
                            rx.el.label("Name", html_for="custom-label", class_name="gh-label"),
                            rx.input(
                                id="custom-label",
                                name="label",
                                placeholder="State grant",
                                required=True,
                                max_length=40,
                            ),
                        ),
                        rx.button("Add", type="submit", variant="soft", id="add-source"),
                        align="end",
                        wrap="wrap",
                    ),
                    rx.text(
                        "Code: 2 to 40 letters, digits or underscores.",
                        size="1",
                        color_scheme="gray",
                    ),
                    width="100%",
                ),
                on_submit=S.add_custom_source,
                reset_on_submit=True,
            ),
            width="100%",
        ),
        width="100%",
    )


def _delivery() -> rx.Component:
    return section_card(
        "Delivery modes",
        rx.hstack(
            rx.foreach(
                S.mode_rows,
                lambda m: rx.checkbox(m["label"], name=m["value"], default_checked=m["checked"]),
            ),
            spacing="4",
            wrap="wrap",
        ),
        field_meta(S.meta["delivery.modes"]),
        section="delivery",
        on_submit=S.save_delivery,
        save_id="save-delivery",
    )


def _reporting() -> rx.Component:
    return section_card(
        "Reporting",
        rx.foreach(S.reporting_rows, toggle_row),
        section="reporting",
        on_submit=S.save_reporting,
        save_id="save-reporting",
    )


def _branding() -> rx.Component:
    site = S.meta["branding.site_name"]
    colour = S.meta["branding.primary_color"]
    hide = S.meta["branding.hide_platform_branding"]
    logo = S.meta["branding.logo_url"]
    return rx.vstack(
        section_card(
            "Branding",
            rx.box(
                rx.hstack(
                    rx.el.label("Site name", html_for="cfg-site-name", class_name="gh-label"),
                    rx.spacer(),
                    field_meta(site),
                    width="100%",
                ),
                rx.input(
                    id="cfg-site-name",
                    name="site_name",
                    default_value=S.site_name,
                    max_length=80,
                    placeholder="Shown in the top bar, emails and certificates",
                    width="100%",
                ),
                width="100%",
            ),
            rx.box(
                rx.hstack(
                    rx.el.label("Primary colour", html_for="cfg-color", class_name="gh-label"),
                    rx.spacer(),
                    field_meta(colour),
                    width="100%",
                ),
                rx.hstack(
                    rx.el.select(
                        rx.foreach(S.color_options, lambda c: rx.el.option(c, value=c)),
                        id="cfg-color",
                        name="primary_color",
                        value=S.color,
                        on_change=S.set_color,
                        class_name="gh-select",
                    ),
                    rx.box(
                        width="2em",
                        height="2em",
                        border_radius="50%",
                        background="var(--" + S.color + "-9)",
                        id="color-swatch",
                        aria_hidden="true",
                    ),
                    align="center",
                ),
                width="100%",
            ),
            rx.hstack(
                rx.switch(
                    name="hide_platform_branding",
                    default_checked=S.hide_branding,
                    id="cfg-hide-branding",
                ),
                rx.el.label(
                    "Hide Guildhall branding", html_for="cfg-hide-branding", class_name="gh-label"
                ),
                rx.spacer(),
                field_meta(hide),
                align="center",
                width="100%",
                wrap="wrap",
            ),
            section="branding",
            on_submit=S.save_branding,
            save_id="save-branding",
        ),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading("Logo", size="3"),
                    rx.spacer(),
                    field_meta(logo),
                    width="100%",
                ),
                rx.cond(
                    S.logo_url != "",
                    rx.hstack(
                        rx.image(src=S.logo_url, alt="Current logo", height="3em", id="logo"),
                        rx.button(
                            "Remove logo",
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            on_click=S.remove_logo,
                        ),
                        align="center",
                    ),
                    rx.text("No logo yet.", size="2", color_scheme="gray"),
                ),
                rx.upload(
                    rx.vstack(
                        rx.icon("image_up", size=24),
                        rx.text("Drop a PNG, JPEG or WebP (at most 1 MB), or click to choose."),
                        align="center",
                    ),
                    id=LOGO_UPLOAD_ID,
                    custom_attrs={"data-file-label": "Logo image"},
                    accept={
                        "image/png": [".png"],
                        "image/jpeg": [".jpg", ".jpeg"],
                        "image/webp": [".webp"],
                    },
                    max_files=1,
                    max_size=1_000_000,
                    border="1px dashed var(--gray-7)",
                    padding="1em",
                    width="100%",
                ),
                rx.foreach(rx.selected_files(LOGO_UPLOAD_ID), lambda name: rx.text(name, size="2")),
                rx.button(
                    "Upload logo",
                    on_click=S.upload_logo(rx.upload_files(upload_id=LOGO_UPLOAD_ID)),
                    loading=S.busy,
                    id="upload-logo",
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
        width="100%",
    )


def _limit_row(row: rx.Var) -> rx.Component:
    input_id = "cfg-limit-" + row["name"].to(str)
    return rx.hstack(
        rx.box(
            rx.el.label(row["label"], html_for=input_id, class_name="gh-label"),
            rx.input(
                id=input_id,
                name=row["name"],
                type="number",
                min=0,
                step=1,
                default_value=row["text"],
                placeholder="unlimited",
                width="8em",
            ),
            field_error(row),
        ),
        usage_meter(row),
        rx.spacer(),
        field_meta(row),
        align="end",
        width="100%",
        wrap="wrap",
        spacing="4",
    )


def _limits() -> rx.Component:
    return section_card(
        "Limits",
        rx.foreach(S.limit_rows, _limit_row),
        section="limits",
        on_submit=S.save_limits,
        hint="Leave empty for no limit. A limit below current use stops new additions only.",
        save_id="save-limits",
    )


def _license() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("License", size="4"),
            rx.data_list.root(
                rx.data_list.item(
                    rx.data_list.label("Plan"), rx.data_list.value(S.license_info["plan"])
                ),
                rx.data_list.item(
                    rx.data_list.label("State"),
                    rx.data_list.value(rx.badge(S.license_info["state"])),
                ),
                rx.data_list.item(
                    rx.data_list.label("Grace days"),
                    rx.data_list.value(S.license_info["grace_days"]),
                ),
            ),
            rx.text("Read-only: billing sets the license.", size="2", color_scheme="gray"),
            id="license-panel",
        ),
        width="100%",
    )


def settings_page() -> rx.Component:
    """The org config of an org in the admin's subtree, section by section."""
    return app_shell(
        rx.cond(
            S.missing,
            not_found(),
            rx.cond(
                S.ready,
                rx.vstack(
                    _org_selector(),
                    rx.text(
                        "Each value shows where it comes from: the default, this "
                        "organization, or the organization above it. Reset a value set here "
                        "to inherit again.",
                        size="2",
                        color_scheme="gray",
                    ),
                    _features(),
                    _funding(),
                    _delivery(),
                    _reporting(),
                    _branding(),
                    _limits(),
                    _license(),
                    spacing="4",
                    width="100%",
                    id="settings",
                ),
                skeleton_rows(6),
            ),
        ),
        title="Settings",
        permission=Permission.config_edit,
    )
