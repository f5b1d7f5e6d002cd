"""The signed-in home: who you are here and where to go."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import empty_state
from app.services.core.authz import Permission
from app.state.session import SessionState


def _card(
    title: str, text: str | rx.Var[str], href: str, permission: Permission, feature: str = ""
) -> rx.Component:
    shown = SessionState.permissions.contains(permission.value)
    if feature:
        shown = shown & SessionState.features.contains(feature)
    return rx.cond(
        shown,
        rx.link(
            rx.card(rx.vstack(rx.text(title, weight="bold"), rx.text(text, size="2"))),
            href=href,
            underline="none",
        ),
    )


def dashboard() -> rx.Component:
    """Greeting, the active org and role, and shortcuts the role allows."""
    return app_shell(
        rx.cond(
            SessionState.org_id == "",
            empty_state(
                "You are not a member of any organization yet",
                "Ask an admin for an invite, or create your own organization.",
                icon="building",
            ),
            rx.vstack(
                rx.text(
                    "Welcome, ",
                    SessionState.user_name,
                    ". You are ",
                    rx.text.strong(SessionState.role_label, id="dashboard-role"),
                    " in ",
                    rx.text.strong(SessionState.org_name),
                    ".",
                ),
                rx.grid(
                    _card(
                        "My learning",
                        "Your courses, what to do next and what is due.",
                        "/my-learning",
                        Permission.learning_view,
                        "lms",
                    ),
                    _card(
                        "Catalog",
                        "Find a course and enroll.",
                        "/catalog",
                        Permission.learning_view,
                        "lms",
                    ),
                    _card(
                        "Teach",
                        "Build courses: modules, lessons, videos and quizzes.",
                        "/teach",
                        Permission.courses_author,
                        "lms",
                    ),
                    _card(
                        "Compliance",
                        "Mandatory training: who is done, who is overdue.",
                        "/compliance",
                        Permission.compliance_view,
                        "lms",
                    ),
                    _card(
                        "Organizations",
                        "Create child organizations and appoint their admins.",
                        "/admin/orgs",
                        Permission.org_manage,
                    ),
                    _card(
                        "Members",
                        rx.cond(
                            SessionState.permissions.contains(Permission.members_manage.value),
                            "See who is here, invite people, change roles.",
                            rx.cond(
                                SessionState.permissions.contains(Permission.members_invite.value),
                                "See who is here and invite people.",
                                "See who is here and their roles.",
                            ),
                        ),
                        "/admin/members",
                        Permission.members_view,
                    ),
                    _card(
                        "Audit log",
                        "Who did what, and when.",
                        "/admin/audit",
                        Permission.audit_view,
                    ),
                    _card(
                        "Mail log",
                        "Every email the platform sent.",
                        "/admin/mail",
                        Permission.mail_view,
                    ),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="4",
                    width="100%",
                ),
            ),
        ),
        title="Dashboard",
        permission=None,
    )
