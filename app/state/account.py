"""Visitor flows: sign up, sign in, forgotten password, reset, invite acceptance."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.services.core.authz import ROLE_LABELS
from app.services.core.errors import ServiceError
from app.services.core.tenancy import public_session
from app.services.people import auth, invites, signup
from app.state.session import SessionState, complete_sign_in


def _safe_next(raw: str) -> str:
    """Only local paths: never redirect a visitor off-site after sign-in."""
    if raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/dashboard"


class FormState(rx.State, mixin=True):
    """Errors per field and for the whole form; a mixin, so each form has its own."""

    errors: dict[str, str] = {}
    form_error: str = ""
    notice: str = ""
    busy: bool = False

    def _fail(self, exc: ServiceError) -> None:
        self.busy = False
        if exc.field:
            self.errors = {exc.field: exc.message}
            self.form_error = ""
        else:
            self.errors = {}
            self.form_error = exc.message

    def _start(self) -> None:
        self.errors, self.form_error, self.notice, self.busy = {}, "", "", True

    @rx.var
    def email_error(self) -> str:
        return self.errors.get("email", "")

    @rx.var
    def password_error(self) -> str:
        return self.errors.get("password", "")

    @rx.var
    def name_error(self) -> str:
        return self.errors.get("full_name", "")

    @rx.var
    def org_name_error(self) -> str:
        return self.errors.get("name", "")

    @rx.var
    def kind_error(self) -> str:
        return self.errors.get("kind", "")


class SignUpState(FormState, SessionState):
    """A visitor asks for an account and an organization; the emailed link creates them."""

    sent_to: str = ""  # set once the confirmation mail is on its way

    @rx.event
    def load(self) -> None:
        """A fresh form on every visit (the tab keeps its state between pages)."""
        self._refresh()
        self.sent_to, self.errors, self.form_error, self.busy = "", {}, "", False

    @rx.event
    def submit(self, form: dict[str, Any]) -> None:
        self._start()
        try:
            with public_session() as session:
                self.sent_to = signup.do_request_sign_up(
                    session,
                    full_name=str(form.get("full_name", "")),
                    email=str(form.get("email", "")),
                    password=str(form.get("password", "")),
                    org_name=str(form.get("org_name", "")),
                    org_kind=str(form.get("org_kind", "")),
                    ip=self._ip(),
                )
        except ServiceError as exc:
            self._fail(exc)
            return
        self.busy = False

    @rx.event
    def start_over(self) -> None:
        """Back to an empty form (a typo in the address)."""
        self.sent_to = ""
        self.errors, self.form_error = {}, ""


class SignUpConfirmState(SessionState):
    """The emailed sign-up link: creates the account and org, then signs the browser in."""

    problem: str = ""

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        self.problem = ""
        token = self.router.url.path.rstrip("/").rsplit("/", 1)[-1][:200]
        try:
            with public_session() as session:
                ticket = signup.do_confirm_sign_up(session, token=token, ip=self._ip())
        except ServiceError as exc:
            self.problem = exc.message
            return None
        return complete_sign_in(ticket, "/dashboard")


class SignInState(FormState, SessionState):
    """Email and password, throttled by the service."""

    @rx.event
    def submit(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self._start()
        try:
            with public_session() as session:
                ticket = auth.do_sign_in(
                    session,
                    email=str(form.get("email", "")),
                    password=str(form.get("password", "")),
                    ip=self._ip(),
                    user_agent=self.router.headers.user_agent,
                )
        except ServiceError as exc:
            self._fail(exc)
            return None
        self.busy = False  # e.g. after signing out, this tab's sign-in form must work again
        next_path = _safe_next(self.router.url.query_parameters.get("next", "/dashboard"))
        return complete_sign_in(ticket, next_path)


class ForgotState(FormState, SessionState):
    """Ask for a password-reset email."""

    @rx.event
    def submit(self, form: dict[str, Any]) -> None:
        self._start()
        try:
            with public_session() as session:
                auth.do_request_password_reset(
                    session, email=str(form.get("email", "")), ip=self._ip()
                )
        except ServiceError as exc:
            self._fail(exc)
            return
        self.busy = False
        self.notice = "If an account uses that address, we have emailed it a reset link."


class ResetState(FormState, SessionState):
    """Choose a new password with the emailed token."""

    @rx.event
    def submit(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self._start()
        token = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        if str(form.get("password", "")) != str(form.get("confirm", "")):
            self._fail(ServiceError("The two passwords differ.", field="password"))
            return None
        try:
            with public_session() as session:
                user_id = auth.do_reset_password(
                    session, token=token, password=str(form.get("password", "")), ip=self._ip()
                )
                ticket = auth.ticket_for_user(
                    session, user_id=user_id, active_org_id=None, ip=self._ip()
                )
        except ServiceError as exc:
            self._fail(exc)
            return None
        self.busy = False
        return [rx.toast.success("Password changed."), complete_sign_in(ticket)]


class InviteState(FormState, SessionState):
    """Open an invite link: accept with the signed-in account, or create one."""

    invite_org: str = ""
    invite_email: str = ""
    invite_role: str = ""
    invite_status: str = ""
    invite_full_name: str = ""  # the name the inviting admin suggested: the form's default
    has_account: bool = False
    invalid: str = ""

    def _invite_token(self) -> str:
        return self.router.url.path.rstrip("/").rsplit("/", 1)[-1]

    @rx.event
    def load(self) -> None:
        self._refresh()
        self.errors, self.form_error, self.invalid = {}, "", ""
        try:
            preview = invites.preview(self._invite_token())
        except ServiceError as exc:
            self.invalid = exc.message
            return
        self.invite_org = preview.org_name
        self.invite_email = preview.email
        self.invite_role = ROLE_LABELS.get(preview.role, preview.role)
        self.invite_status = preview.status
        self.invite_full_name = preview.full_name
        self.has_account = preview.has_account
        messages = {
            "accepted": "This invite was already used. Sign in instead.",
            "revoked": "This invite was revoked. Ask your admin for a new one.",
            "expired": "This invite has expired. Ask your admin for a new one.",
        }
        self.invalid = messages.get(preview.status, "")

    @rx.var
    def signed_in_as_invitee(self) -> bool:
        return self.signed_in and self.user_email == self.invite_email

    @rx.event
    def accept(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self._start()
        ctx = self._context()
        try:
            user_id, org_id = invites.do_accept_invite(
                self._invite_token(),
                signed_in_user_id=ctx.user_id if ctx else None,
                full_name=str(form.get("full_name", "")),
                password=str(form.get("password", "")),
                ip=self._ip(),
            )
            with public_session() as session:
                ticket = auth.ticket_for_user(
                    session, user_id=user_id, active_org_id=org_id, ip=self._ip()
                )
        except ServiceError as exc:
            self._fail(exc)
            return None
        self.busy = False
        return complete_sign_in(ticket, "/dashboard")
