"""The app shell: top bar (org, switcher, user menu) and a side nav filtered by permission.

On a phone (below 768 px, `assets/guildhall.css`) the top bar keeps the menu button, the
site name, the bell and dark mode; the side nav becomes a drawer the menu button opens,
carrying the org switcher and the user's name and sign-out. The drawer opens and closes in
the browser (a class on `<body>`), with no round trip to the server."""

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


_OPEN_NAV = (
    "const open = document.body.classList.toggle('gh-nav-open');"
    "document.getElementById('nav-toggle').setAttribute('aria-expanded', String(open));"
)
_CLOSE_NAV = (
    "document.body.classList.remove('gh-nav-open');"
    "document.getElementById('nav-toggle')?.setAttribute('aria-expanded', 'false');"
)


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
            on_click=rx.call_script(_CLOSE_NAV),
        ),
    )


def menu_button() -> rx.Component:
    """The phone's menu button: opens and closes the side nav drawer."""
    return rx.icon_button(
        rx.icon("menu", size=20),
        variant="ghost",
        size="2",
        aria_label="Menu",
        aria_controls="side-nav",
        aria_expanded="false",
        id="nav-toggle",
        class_name="gh-phone-only",
        on_click=rx.call_script(_OPEN_NAV),
    )


def side_nav() -> rx.Component:
    """Links the user's role allows; on a phone, also the org switcher and the user."""
    return rx.fragment(
        rx.el.nav(
            rx.vstack(
                rx.box(
                    org_switcher(suffix="-nav"),
                    user_menu(suffix="-nav"),
                    class_name="gh-phone-only gh-nav-account",
                ),
                *[_nav_link(*item) for item in NAV_ITEMS],
                spacing="1",
                width="100%",
            ),
            aria_label="Main",
            id="side-nav",
            class_name="gh-sidenav",
        ),
        rx.box(
            class_name="gh-nav-backdrop",
            id="nav-backdrop",
            on_click=rx.call_script(_CLOSE_NAV),
        ),
    )


def org_switcher(suffix: str = "") -> rx.Component:
    """The active org, and a menu of the user's other orgs (`suffix` keeps the ids of the
    drawer's copy apart from the top bar's)."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.icon("building_2", size=16),
                rx.text(SessionState.org_name, id=f"active-org{suffix}", class_name="gh-org-name"),
                rx.icon("chevron_down", size=14),
                variant="soft",
                # The visible text (the org's name) starts the accessible name.
                aria_label=SessionState.org_name + ": switch organization",
                id=f"org-switcher{suffix}",
                class_name="gh-org-switcher",
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


def user_menu(suffix: str = "") -> rx.Component:
    """Who is signed in, and the sign-out form (a POST to our own route)."""
    form_id = f"sign-out-form{suffix}"
    return rx.hstack(
        rx.vstack(
            rx.text(SessionState.user_name, size="2", weight="bold", id=f"user-name{suffix}"),
            rx.text(
                SessionState.role_label, size="1", color_scheme="gray", id=f"user-role{suffix}"
            ),
            spacing="0",
            align="end",
        ),
        rx.el.form(
            rx.button(
                "Sign out", type="submit", variant="outline", size="2", id=f"sign-out{suffix}"
            ),
            action="/api/auth/signout",
            method="post",
            id=form_id,
            # Reflex forms always call preventDefault on submit; hand the POST back to the
            # browser (`form.submit()` fires no submit event, so this does not loop).
            on_submit=rx.call_script(f"document.getElementById('{form_id}').submit()"),
        ),
        align="center",
        spacing="3",
    )


def top_bar() -> rx.Component:
    """Brand, org switcher, user: the page's banner landmark."""
    return rx.el.header(_top_bar_row())


def _top_bar_row() -> rx.Component:
    return rx.hstack(
        menu_button(),
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
                        class_name="gh-site-name",
                    ),
                    align="center",
                    spacing="2",
                    min_width="0",
                ),
                href="/dashboard",
                underline="none",
                min_width="0",
            ),
            rx.box(org_switcher(), class_name="gh-desktop-only"),
            align="center",
            spacing="4",
            min_width="0",
            flex_shrink="1",
        ),
        rx.spacer(),
        bell(),
        rx.box(user_menu(), class_name="gh-desktop-only"),
        rx.color_mode.button(size="2", variant="ghost", aria_label="Toggle dark mode"),
        align="center",
        class_name="gh-topbar",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
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
                    id="main",
                ),
                direction="row",
                width="100%",
            ),
            min_height="100vh",
        ),
        accent_color=SessionState.accent,
        has_background=True,
    )


def public_shell(*content: rx.Component) -> rx.Component:
    """A page for visitors: a centred card, the page's main landmark."""
    return rx.center(
        rx.el.main(
            rx.card(
                rx.vstack(
                    rx.link(rx.heading("Guildhall", size="6"), href="/", underline="none"),
                    *content,
                    spacing="4",
                    width="100%",
                ),
                width="100%",
                size="4",
            ),
            id="main",
            width="100%",
            max_width="28em",
        ),
        min_height="100vh",
        padding="1em",
    )
