"""The app shell: top bar (org, switcher, user menu) and a side nav filtered by permission."""

from __future__ import annotations

import reflex as rx

from app.components.ui import feature_off, not_allowed, skeleton_rows
from app.services.core.authz import Permission
from app.state.session import SessionState

# (label, href, icon, permission that shows it, org feature it needs or "")
NAV_ITEMS: list[tuple[str, str, str, Permission, str]] = [
    ("Dashboard", "/dashboard", "layout_dashboard", Permission.dashboard_view, ""),
    ("Catalog", "/catalog", "library", Permission.learning_view, "lms"),
    ("My learning", "/my-learning", "graduation_cap", Permission.learning_view, "lms"),
    ("Certificates", "/certificates", "award", Permission.learning_view, "lms"),
    ("Teach", "/teach", "presentation", Permission.courses_author, "lms"),
    ("Applications", "/teach/applications", "inbox", Permission.enrollments_manage, "lms"),
    ("Compliance", "/compliance", "shield_check", Permission.compliance_view, "lms"),
    ("Live progress", "/team/live", "activity", Permission.compliance_view, "lms"),
    ("Chat", "/chat", "message_circle", Permission.dashboard_view, "chat"),
    ("Notifications", "/notifications", "bell", Permission.dashboard_view, ""),
    ("Announcements", "/announcements", "megaphone", Permission.courses_author, ""),
    ("Organizations", "/admin/orgs", "network", Permission.org_manage, ""),
    ("Members", "/admin/members", "users", Permission.members_view, ""),
    ("Audit log", "/admin/audit", "scroll_text", Permission.audit_view, ""),
    ("Mail log", "/admin/mail", "mail", Permission.mail_view, ""),
    ("Settings", "/admin/settings", "settings", Permission.config_edit, ""),
    ("Background jobs", "/admin/jobs", "list_checks", Permission.config_edit, ""),
]


def _nav_link(
    label: str, href: str, icon: str, permission: Permission, feature: str
) -> rx.Component:
    allowed = SessionState.permissions.contains(permission.value)
    if feature:
        allowed = allowed & SessionState.features.contains(feature)
    return rx.cond(
        allowed,
        rx.link(
            rx.hstack(rx.icon(icon, size=18), rx.text(label), align="center", spacing="2"),
            href=href,
            class_name="gh-nav-link",
            data_nav=href,
            underline="none",
        ),
    )


def side_nav() -> rx.Component:
    """Links the user's role allows."""
    return rx.el.nav(
        rx.vstack(*[_nav_link(*item) for item in NAV_ITEMS], spacing="1", width="100%"),
        aria_label="Main",
        id="side-nav",
        class_name="gh-sidenav",
    )


def org_switcher() -> rx.Component:
    """The active org, and a menu of the user's other orgs."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("building_2", size=16),
                rx.text(SessionState.org_name, id="active-org"),
                rx.icon("chevron_down", size=14),
                variant="soft",
                aria_label="Switch organization",
                id="org-switcher",
            )
        ),
        rx.menu.content(
            rx.foreach(
                SessionState.orgs,
                lambda o: rx.menu.item(
                    rx.text(o["name"], " · ", o["role"]),
                    on_select=SessionState.switch_org(o["id"]),
                ),
            )
        ),
    )


def bell() -> rx.Component:
    """Notifications, with the unread count (kept live through the user's inbox topic)."""
    return rx.link(
        rx.box(
            rx.icon("bell", size=20),
            rx.cond(
                SessionState.unread > 0,
                rx.badge(
                    SessionState.unread,
                    color_scheme="red",
                    variant="solid",
                    radius="full",
                    size="1",
                    id="unread-badge",
                    position="absolute",
                    top="-0.6em",
                    right="-0.8em",
                ),
            ),
            position="relative",
            display="inline-flex",
        ),
        href="/notifications",
        aria_label=rx.cond(
            SessionState.unread > 0,
            "Notifications, " + SessionState.unread.to_string() + " unread",
            "Notifications",
        ),
        id="bell",
        color="inherit",
        margin_right="0.75em",
    )


def user_menu() -> rx.Component:
    """Who is signed in, and the sign-out form (a POST to our own route)."""
    return rx.hstack(
        rx.vstack(
            rx.text(SessionState.user_name, size="2", weight="bold", id="user-name"),
            rx.text(SessionState.role_label, size="1", color_scheme="gray", id="user-role"),
            spacing="0",
            align="end",
        ),
        rx.el.form(
            rx.button("Sign out", type="submit", variant="outline", size="2", id="sign-out"),
            action="/api/auth/signout",
            method="post",
            id="sign-out-form",
            # Reflex forms always call preventDefault on submit; hand the POST back to the
            # browser (`form.submit()` fires no submit event, so this does not loop).
            on_submit=rx.call_script("document.getElementById('sign-out-form').submit()"),
        ),
        align="center",
        spacing="3",
    )


def top_bar() -> rx.Component:
    """Brand, org switcher, user."""
    return rx.hstack(
        rx.hstack(
            rx.link(
                rx.hstack(
                    rx.cond(
                        SessionState.logo_url != "",
                        rx.image(src=SessionState.logo_url, alt="", height="2em", id="org-logo"),
                    ),
                    rx.heading(
                        rx.cond(SessionState.site_name != "", SessionState.site_name, "Guildhall"),
                        size="5",
                        id="site-name",
                    ),
                    align="center",
                    spacing="2",
                ),
                href="/dashboard",
                underline="none",
            ),
            org_switcher(),
            align="center",
            spacing="4",
        ),
        rx.spacer(),
        bell(),
        user_menu(),
        rx.color_mode.button(size="2", variant="ghost", aria_label="Toggle dark mode"),
        align="center",
        padding_x="1.5em",
        padding_y="0.75em",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        wrap="wrap",
    )


def app_shell(
    *content: rx.Component,
    title: str | rx.Var[str],
    permission: Permission | None = None,
    feature: str = "",
) -> rx.Component:
    """A signed-in page: shell around `content`, or 'not allowed' if the role lacks it, or
    'turned off' when the org has switched the page's `feature` off."""
    body = rx.vstack(rx.heading(title, size="7"), *content, spacing="4", width="100%")
    if feature:
        body = rx.cond(SessionState.features.contains(feature), body, feature_off())
    if permission is not None:
        body = rx.cond(SessionState.permissions.contains(permission.value), body, not_allowed())
    return rx.theme(
        rx.box(
            top_bar(),
            rx.flex(
                side_nav(),
                rx.el.main(
                    rx.cond(SessionState.signed_in, body, skeleton_rows(4)),
                    class_name="gh-main",
                ),
                direction=rx.breakpoints(initial="column", md="row"),
                width="100%",
            ),
            min_height="100vh",
        ),
        accent_color=SessionState.accent,
        has_background=True,
    )


def public_shell(*content: rx.Component) -> rx.Component:
    """A page for visitors: a centred card."""
    return rx.center(
        rx.card(
            rx.vstack(
                rx.link(rx.heading("Guildhall", size="6"), href="/", underline="none"),
                *content,
                spacing="4",
                width="100%",
            ),
            width="100%",
            max_width="28em",
            size="4",
        ),
        min_height="100vh",
        padding="1em",
    )
