"""Visitor pages: landing, sign up, sign in, forgotten password, reset, invite."""

from __future__ import annotations

import reflex as rx

from app.components.shell import public_shell
from app.components.ui import field, form_error, notice, select_field
from app.services.config.orgs import KIND_LABELS
from app.state.account import (
    ForgotState,
    InviteState,
    ResetState,
    SignInState,
    SignUpConfirmState,
    SignUpState,
)
from app.state.session import SessionState

KIND_OPTIONS = [(k, v) for k, v in KIND_LABELS.items()]


def index() -> rx.Component:
    """What Guildhall is, and the way in."""
    return public_shell(
        rx.text(
            "Training providers, employers and workforce boards run their learning here: "
            "courses, live progress, certificates and compliance, one organization at a time.",
        ),
        rx.cond(
            SessionState.signed_in,
            rx.link(rx.button("Go to your dashboard", size="3", width="100%"), href="/dashboard"),
            rx.vstack(
                rx.link(
                    rx.button("Create an organization", size="3", width="100%"),
                    href="/signup",
                    width="100%",
                ),
                rx.link(
                    rx.button("Sign in", size="3", variant="outline", width="100%"),
                    href="/signin",
                    width="100%",
                ),
                width="100%",
            ),
        ),
    )


def signup() -> rx.Component:
    """Ask for an account and a training organization; the emailed link creates them."""
    s = SignUpState
    return public_shell(
        rx.heading("Create your organization", size="5"),
        rx.cond(
            s.sent_to != "",
            rx.vstack(
                rx.callout(
                    rx.text(
                        "Check your email. We sent a message to ",
                        rx.text.strong(s.sent_to),
                        ": open the link in it to finish creating your organization.",
                    ),
                    icon="mail",
                    color_scheme="green",
                    id="signup-check-email",
                    role="status",
                ),
                rx.text(
                    "Nothing arrived after a few minutes? Look in your spam folder, or try "
                    "again with another address.",
                    size="2",
                ),
                rx.button(
                    "Use another address",
                    variant="soft",
                    on_click=s.start_over,
                    id="signup-start-over",
                ),
                width="100%",
            ),
            rx.form(
                rx.vstack(
                    form_error(s.form_error),
                    field("Your name", "full_name", error=s.name_error, auto_complete="name"),
                    field(
                        "Email", "email", type_="email", error=s.email_error, auto_complete="email"
                    ),
                    field(
                        "Password (10+ characters, letters and numbers or symbols)",
                        "password",
                        type_="password",
                        error=s.password_error,
                        auto_complete="new-password",
                    ),
                    field("Organization name", "org_name", error=s.org_name_error),
                    select_field(
                        "Kind of organization",
                        "org_kind",
                        KIND_OPTIONS,
                        error=s.kind_error,
                        default_value="provider",
                    ),
                    rx.button(
                        "Create organization",
                        type="submit",
                        size="3",
                        width="100%",
                        loading=s.busy,
                        id="signup-submit",
                    ),
                    spacing="3",
                ),
                on_submit=s.submit,
                id="signup-form",
            ),
        ),
        rx.text(
            "Already have an account? ",
            rx.link("Sign in", href="/signin", underline="always"),
            size="2",
        ),
    )


def signup_confirm() -> rx.Component:
    """The emailed sign-up link: a moment of "creating", then the dashboard (or why not)."""
    s = SignUpConfirmState
    return public_shell(
        rx.cond(
            s.problem != "",
            rx.vstack(
                rx.heading("This link cannot be used", size="5"),
                rx.callout(
                    s.problem, icon="triangle_alert", color_scheme="red", id="signup-confirm-error"
                ),
                rx.hstack(
                    rx.link("Sign in", href="/signin"),
                    rx.link("Sign up again", href="/signup"),
                    spacing="4",
                ),
            ),
            rx.vstack(
                rx.heading("Creating your organization…", size="5"),
                rx.spinner(size="3"),
                id="signup-confirm-busy",
            ),
        ),
    )


def signin() -> rx.Component:
    """Email and password."""
    s = SignInState
    return public_shell(
        rx.heading("Sign in", size="5"),
        rx.form(
            rx.vstack(
                form_error(s.form_error),
                field(
                    "Email", "email", type_="email", error=s.email_error, auto_complete="username"
                ),
                field(
                    "Password",
                    "password",
                    type_="password",
                    error=s.password_error,
                    auto_complete="current-password",
                ),
                rx.button(
                    "Sign in",
                    type="submit",
                    size="3",
                    width="100%",
                    loading=s.busy,
                    id="signin-submit",
                ),
                spacing="3",
            ),
            on_submit=s.submit,
            id="signin-form",
        ),
        rx.hstack(
            rx.link("Forgot your password?", href="/forgot", size="2"),
            rx.spacer(),
            rx.link("Create an organization", href="/signup", size="2"),
            width="100%",
        ),
    )


def forgot() -> rx.Component:
    """Ask for a reset link."""
    s = ForgotState
    return public_shell(
        rx.heading("Reset your password", size="5"),
        rx.form(
            rx.vstack(
                form_error(s.form_error),
                notice(s.notice),
                field("Email", "email", type_="email", error=s.email_error, auto_complete="email"),
                rx.button("Email me a link", type="submit", size="3", width="100%", loading=s.busy),
                spacing="3",
            ),
            on_submit=s.submit,
        ),
        rx.link("Back to sign in", href="/signin", size="2"),
    )


def reset() -> rx.Component:
    """Choose a new password."""
    s = ResetState
    return public_shell(
        rx.heading("Choose a new password", size="5"),
        rx.form(
            rx.vstack(
                form_error(s.form_error),
                field(
                    "New password",
                    "password",
                    type_="password",
                    error=s.password_error,
                    auto_complete="new-password",
                ),
                field("Repeat it", "confirm", type_="password", auto_complete="new-password"),
                rx.button("Save password", type="submit", size="3", width="100%", loading=s.busy),
                spacing="3",
            ),
            on_submit=s.submit,
        ),
    )


def invite() -> rx.Component:
    """Accept an invite: with the signed-in account, by signing in, or with a new account."""
    s = InviteState
    return public_shell(
        rx.cond(
            s.invalid != "",
            rx.vstack(
                rx.heading("This invite cannot be used", size="5"),
                rx.callout(
                    s.invalid, icon="triangle_alert", color_scheme="red", id="invite-invalid"
                ),
                rx.link("Go to sign in", href="/signin"),
            ),
            rx.vstack(
                rx.heading("Join ", s.invite_org, size="5", id="invite-heading"),
                rx.text(s.invite_email, " is invited as ", rx.text.strong(s.invite_role), "."),
                form_error(s.form_error),
                rx.cond(
                    s.signed_in_as_invitee,
                    rx.form(
                        rx.button(
                            "Accept invite",
                            type="submit",
                            size="3",
                            width="100%",
                            id="invite-accept",
                        ),
                        on_submit=s.accept,
                        width="100%",
                    ),
                    rx.cond(
                        s.has_account | s.signed_in,
                        rx.vstack(
                            rx.text(
                                "Sign in as ",
                                s.invite_email,
                                " to accept this invite.",
                            ),
                            rx.link(
                                rx.button("Sign in", size="3", width="100%"),
                                href="/signin?next=" + s.router.url.path,
                                width="100%",
                            ),
                        ),
                        rx.form(
                            rx.vstack(
                                rx.fragment(
                                    field(
                                        "Your name",
                                        "full_name",
                                        error=s.name_error,
                                        auto_complete="name",
                                        default_value=s.invite_full_name,
                                    ),
                                    # Remounted when the suggested name arrives: an input
                                    # reads its default only when it mounts.
                                    key=s.invite_full_name,
                                ),
                                field(
                                    "Choose a password",
                                    "password",
                                    type_="password",
                                    error=s.password_error,
                                    auto_complete="new-password",
                                ),
                                rx.button(
                                    "Create account and join",
                                    type="submit",
                                    size="3",
                                    width="100%",
                                    loading=s.busy,
                                    id="invite-accept",
                                ),
                                spacing="3",
                            ),
                            on_submit=s.accept,
                            width="100%",
                        ),
                    ),
                ),
                width="100%",
            ),
        ),
    )
