"""Certificates (`/certificates`), the public verification page (`/verify/<serial>`), and
the registration of this area's pages (compliance and notifications are beside this)."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import document_link, empty_state, form_error, pager, skeleton_rows
from app.pages.credentials_compliance import compliance_page
from app.pages.notification_centre import notifications_page
from app.services.core.authz import Permission
from app.state.credentials import CertificatesState, VerifyState
from app.state.credentials_compliance import ComplianceState
from app.state.notification_centre import NotificationsState


def status_badge(status: rx.Var[str], label: rx.Var[str]) -> rx.Component:
    """Valid (green), expired (amber) or revoked (red)."""
    return rx.badge(
        label,
        color_scheme=rx.match(status, ("valid", "green"), ("expired", "amber"), "red"),
        variant="soft",
    )


def _my_certificates() -> rx.Component:
    s = CertificatesState
    return rx.cond(
        s.mine.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        *[
                            rx.table.column_header_cell(h)
                            for h in ("Course", "Issued by", "Issued", "Expires", "Status", "")
                        ]
                    )
                ),
                rx.table.body(
                    rx.foreach(
                        s.mine,
                        lambda c: rx.table.row(
                            rx.table.cell(rx.text(c["course"], weight="medium")),
                            rx.table.cell(c["issuer"]),
                            rx.table.cell(c["issued"]),
                            rx.table.cell(c["expires"]),
                            rx.table.cell(status_badge(c["status"], c["status_label"])),
                            rx.table.cell(
                                rx.hstack(
                                    # A full page load: our own route serves the PDF.
                                    document_link(
                                        rx.hstack(
                                            rx.icon("download", size=14),
                                            rx.text("Download PDF", size="2"),
                                            spacing="1",
                                            align="center",
                                        ),
                                        href=c["pdf_url"],
                                        id="download-" + c["id"],
                                        class_name="cert-download",
                                        custom_attrs={"data-serial": c["serial"]},
                                    ),
                                    rx.link(
                                        "Verify",
                                        href=c["verify_url"],
                                        size="2",
                                        class_name="cert-verify",
                                        id="verify-" + c["id"],
                                    ),
                                    spacing="3",
                                    wrap="wrap",
                                )
                            ),
                            id="cert-" + c["serial"],
                        ),
                    )
                ),
                width="100%",
                id="my-certificates",
            ),
            overflow_x="auto",
            width="100%",
        ),
        rx.box(
            empty_state(
                "No certificates yet",
                "Complete every required lesson of a course and its certificate appears here.",
                "award",
            ),
            id="certificates-empty",
            width="100%",
        ),
    )


def _revoke_dialog() -> rx.Component:
    s = CertificatesState
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Revoke certificate"),
            rx.dialog.description(
                rx.text(
                    "Revoking ",
                    rx.text.strong(s.revoke_label),
                    " cannot be undone. Its verification page will say revoked.",
                )
            ),
            rx.form(
                rx.vstack(
                    form_error(s.form_error),
                    rx.el.label("Reason", html_for="revoke-reason", class_name="gh-label"),
                    rx.text_area(
                        id="revoke-reason",
                        name="reason",
                        placeholder="Why is it revoked? (kept in the audit log)",
                        max_length=500,
                        width="100%",
                        aria_describedby="revoke-reason-error",
                    ),
                    rx.cond(
                        s.reason_error != "",
                        rx.text(
                            s.reason_error,
                            id="revoke-reason-error",
                            color_scheme="red",
                            size="2",
                            role="alert",
                        ),
                    ),
                    rx.hstack(
                        rx.dialog.close(
                            rx.button("Cancel", variant="soft", color_scheme="gray", type="button")
                        ),
                        rx.button(
                            "Revoke",
                            color_scheme="red",
                            type="submit",
                            loading=s.busy,
                            id="revoke-confirm",
                        ),
                        justify="end",
                        width="100%",
                    ),
                    spacing="3",
                ),
                on_submit=s.confirm_revoke,
                reset_on_submit=False,
            ),
        ),
        open=s.revoke_open,
        on_open_change=s.set_revoke_open,
    )


def _org_certificates() -> rx.Component:
    s = CertificatesState
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.box(
                    rx.el.label("Search", html_for="cert-search", class_name="gh-label"),
                    rx.input(
                        id="cert-search",
                        name="search",
                        placeholder="Learner, course or serial",
                        default_value=s.search,
                    ),
                ),
                rx.box(
                    rx.el.label("Status", html_for="cert-status", class_name="gh-label"),
                    rx.el.select(
                        rx.el.option("Any status", value=""),
                        rx.el.option("Valid", value="valid"),
                        rx.el.option("Expired", value="expired"),
                        rx.el.option("Revoked", value="revoked"),
                        id="cert-status",
                        name="status",
                        class_name="gh-select",
                    ),
                ),
                rx.button("Search", type="submit", variant="soft", id="cert-search-submit"),
                align="end",
                spacing="3",
                wrap="wrap",
            ),
            on_submit=s.filter_org,
            reset_on_submit=False,
        ),
        rx.cond(
            s.org_rows.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ("Learner", "Course", "Serial", "Issued", "Status", "")
                            ]
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            s.org_rows,
                            lambda c: rx.table.row(
                                rx.table.cell(c["learner"]),
                                rx.table.cell(c["course"]),
                                rx.table.cell(rx.code(c["serial"])),
                                rx.table.cell(c["issued"]),
                                rx.table.cell(
                                    rx.vstack(
                                        status_badge(c["status"], c["status_label"]),
                                        rx.cond(
                                            c["reason"] != "",
                                            rx.text(c["reason"], size="1", color_scheme="gray"),
                                        ),
                                        spacing="1",
                                    )
                                ),
                                rx.table.cell(
                                    rx.hstack(
                                        document_link(
                                            "PDF",
                                            href=c["pdf_url"],
                                            class_name="cert-download",
                                        ),
                                        rx.cond(
                                            c["status"] != "revoked",
                                            rx.button(
                                                "Revoke",
                                                size="1",
                                                variant="soft",
                                                color_scheme="red",
                                                on_click=s.open_revoke(
                                                    c["id"], c["serial"] + " · " + c["learner"]
                                                ),
                                                id="revoke-" + c["id"],
                                                class_name="cert-revoke",
                                            ),
                                        ),
                                        spacing="3",
                                        align="center",
                                    )
                                ),
                                id="org-cert-" + c["serial"],
                            ),
                        )
                    ),
                    width="100%",
                    id="org-certificates",
                ),
                overflow_x="auto",
                width="100%",
            ),
            empty_state(
                "No certificates match",
                "Certificates appear here as learners of the organization complete courses.",
                "award",
            ),
        ),
        pager(s.page, s.pages, s.prev_page, s.next_page),
        _revoke_dialog(),
        spacing="3",
        width="100%",
    )


def certificates_page() -> rx.Component:
    """The learner's certificates; for admins, a tab with the organization's."""
    s = CertificatesState
    return app_shell(
        rx.cond(
            s.loading,
            skeleton_rows(3),
            rx.vstack(
                rx.cond(
                    s.can_manage,
                    rx.segmented_control.root(
                        rx.segmented_control.item("My certificates", value="mine"),
                        rx.segmented_control.item("Organization", value="org"),
                        value=s.tab,
                        on_change=s.show_tab,
                        aria_label="Whose certificates",
                        id="cert-tabs",
                    ),
                ),
                rx.cond(s.tab == "org", _org_certificates(), _my_certificates()),
                spacing="4",
                width="100%",
            ),
        ),
        title="Certificates",
        permission=Permission.learning_view,
        feature="lms",
    )


def _fact(label: str, value: rx.Var[str], id_: str) -> rx.Component:
    return rx.cond(
        value != "",
        rx.hstack(
            rx.text(label, color_scheme="gray", size="2", min_width="8em"),
            rx.text(value, weight="medium", id=id_),
            spacing="3",
            wrap="wrap",
        ),
    )


def verify_page() -> rx.Component:
    """Public: is this certificate genuine, revoked or expired? Shows only its face."""
    s = VerifyState
    status_color = rx.match(s.status, ("valid", "green"), ("expired", "amber"), "red")
    found = rx.vstack(
        rx.callout(
            rx.text(s.status_label, weight="bold", id="verify-status"),
            icon=rx.match(s.status, ("valid", "badge_check"), ("expired", "clock"), "circle_x"),
            color_scheme=status_color,
            size="3",
            width="100%",
        ),
        rx.text(
            rx.match(
                s.status,
                ("valid", "This certificate is genuine and in force."),
                ("expired", "This certificate was genuine but has expired."),
                "This certificate was revoked by its issuer.",
            ),
            size="2",
        ),
        _fact("Awarded to", s.learner, "verify-learner"),
        _fact("Course", s.course, "verify-course"),
        _fact("Issued by", s.issuer, "verify-issuer"),
        _fact("Issued on", s.issued, "verify-issued"),
        _fact("Valid until", s.expires, "verify-expires"),
        _fact("Revoked on", s.revoked, "verify-revoked"),
        _fact("Serial", s.shown_serial, "verify-serial"),
        spacing="3",
        width="100%",
    )
    missing = rx.vstack(
        rx.callout(
            rx.text("Not found", weight="bold", id="verify-status"),
            icon="search_x",
            color_scheme="gray",
            size="3",
            width="100%",
        ),
        rx.text(
            "No certificate has this serial. Check it against the certificate "
            "(it looks like GH-XXXX-XXXX-XXXX-XXXX).",
            size="2",
        ),
        spacing="3",
        width="100%",
    )
    return rx.center(
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.icon("award", size=28),
                    rx.heading("Certificate verification", size="6"),
                    align="center",
                    spacing="2",
                ),
                rx.cond(s.checked, rx.cond(s.found, found, missing), skeleton_rows(3)),
                rx.text("Verified by Guildhall", size="1", color_scheme="gray"),
                spacing="4",
                width="100%",
            ),
            width="100%",
            max_width="34em",
            size="4",
            id="verify-card",
        ),
        min_height="100vh",
        padding="1em",
    )


def register(app: rx.App) -> None:
    """Add this area's pages to the app."""
    app.add_page(
        certificates_page,
        route="/certificates",
        title="Certificates · Guildhall",
        on_load=CertificatesState.load,
    )
    app.add_page(
        verify_page,
        route="/verify/[serial]",
        title="Verify a certificate · Guildhall",
        on_load=VerifyState.load,
    )
    app.add_page(
        compliance_page,
        route="/compliance",
        title="Compliance · Guildhall",
        on_load=ComplianceState.load,
    )
    app.add_page(
        notifications_page,
        route="/notifications",
        title="Notifications · Guildhall",
        on_load=NotificationsState.load,
    )
