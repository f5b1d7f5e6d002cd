"""`/announcements`: compose an announcement and see the ones sent.

What the form offers (audiences, roles, courses) comes from the server for the signed-in
sender; `send` re-checks everything in the service (a hand-made event with another org's
course or a role the sender may not reach is refused there).
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.services.comms import announcements
from app.services.core.errors import ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.state.account import FormState
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState, handle_errors

ROUTE = "/announcements"


class AnnouncementsState(PagedState, FormState, SessionState):
    """The compose form's choices and state, and a page of sent announcements."""

    audience_choices: list[dict[str, str]] = []  # {"value", "label"}
    role_choices: list[dict[str, str]] = []
    course_choices: list[dict[str, str]] = []
    audience: str = ""
    sent: list[dict[str, str]] = []
    loading: bool = True
    allowed: bool = False
    form_key: int = 0  # bumped after a send to clear the form's inputs

    @rx.var
    def title_error(self) -> str:
        return self.errors.get("title", "")

    @rx.var
    def body_error(self) -> str:
        return self.errors.get("body", "")

    @rx.var
    def audience_error(self) -> str:
        return self.errors.get("audience", "")

    @rx.var
    def role_error(self) -> str:
        return self.errors.get("role", "")

    @rx.var
    def course_error(self) -> str:
        return self.errors.get("course_id", "")

    def _load_choices(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            options = announcements.audience_options(session, ctx)
        self.audience_choices = [{"value": k, "label": v} for k, v in options.audiences]
        self.role_choices = [{"value": k, "label": v} for k, v in options.roles]
        self.course_choices = [{"value": k, "label": v} for k, v in options.courses]
        values = [c["value"] for c in self.audience_choices]
        if self.audience not in values:
            self.audience = values[0] if values else ""

    def _load_sent(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            rows, self.total = announcements.list_sent(
                session, ctx, page=self.page, page_size=PAGE_SIZE
            )
        self.sent = [
            {
                "id": r.id,
                "title": r.title,
                "body": r.body,
                "audience": r.audience,
                "recipients": str(r.recipients),
                "sender": r.sender,
                "when": r.created.strftime("%Y-%m-%d %H:%M UTC"),
            }
            for r in rows
        ]

    def _load_first_page(self, ctx: OrgContext) -> None:
        """Back to the newest sent announcements (where one just sent shows)."""
        self.page = 1
        self._load_sent(ctx)

    def _reload(self) -> rx.event.EventSpec | None:
        try:
            self._load_sent(self._require())
        except ServiceError as exc:
            return handle_errors(exc)
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect(f"/signin?next={ROUTE}")
        self.page = 1
        self.errors, self.form_error, self.notice, self.busy = {}, "", "", False
        self.allowed = announcements.may_send(ctx)
        try:
            if self.allowed:
                self._load_choices(ctx)
                self._load_sent(ctx)
        except ServiceError as exc:
            return handle_errors(exc)
        finally:
            self.loading = False
        return None

    @rx.event
    def set_audience(self, value: str) -> None:
        """Which extra choice the form shows (role or course); the server re-checks."""
        self.audience = value
        self.errors = {}

    @rx.event
    def send(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """Send to the chosen audience; a toast says how many it reaches."""
        self._start()
        done = self._call(
            lambda s, ctx: announcements.do_send_announcement(
                s,
                ctx,
                audience=str(form.get("audience") or self.audience),
                title=str(form.get("title", "")),
                body=str(form.get("body", "")),
                role=str(form.get("role", "")),
                course_id=str(form.get("course_id", "")) or None,
            ),
            then=self._load_first_page,
        )
        if done.error is not None:
            self._fail(done.error)
            if done.error.field:
                return None
            return done.reply
        self.busy = False
        self.form_key += 1
        recipients = done.value.recipients
        people = "person" if recipients == 1 else "people"
        return rx.toast.success(f"Announcement sent to {recipients} {people}.")
