"""The audit log and mail log viewers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import reflex as rx
from sqlmodel import Session

from app.services.comms import mail
from app.services.core import audit
from app.services.core.authz import Permission
from app.services.core.errors import ServiceError, ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.core.validation import day_range
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState, handle_errors

EXPORT_PATH = "/api/reports/audit.csv"


class AuditState(PagedState, SessionState):
    """Filterable, paginated audit log of the orgs the viewer may read."""

    events: list[dict[str, str]] = []
    f_action: str = ""
    f_actor: str = ""
    f_since: str = ""
    f_until: str = ""
    filter_error: str = ""

    @rx.var
    def export_href(self) -> str:
        """The CSV download of what the filters currently show (the route re-authorizes)."""
        params = {
            name: value
            for name, value in (
                ("action", self.f_action),
                ("actor", self.f_actor),
                ("since", self.f_since),
                ("until", self.f_until),
            )
            if value
        }
        query = urlencode(params)
        return f"{EXPORT_PATH}?{query}" if query else EXPORT_PATH

    def _events_page(self, session: Session, ctx: OrgContext) -> audit.Page:
        since, until = day_range(self.f_since, self.f_until)
        return audit.list_events(
            session,
            ctx,
            action=self.f_action,
            actor=self.f_actor,
            since=since,
            until=until,
            page=self.page,
            page_size=PAGE_SIZE,
        )

    def _reload(self) -> rx.event.EventSpec | None:
        done = self._call(self._events_page, permission=Permission.audit_view)
        if not done.ok:
            return done.reply
        result = done.value
        self.total = result.total
        self.events = [
            {
                "when": r.created.strftime("%Y-%m-%d %H:%M:%S"),
                "actor": r.actor_email or "—",
                "action": r.action,
                "target": r.target,
                "detail": json.dumps(r.detail) if r.detail else "",
                "ip": r.ip,
            }
            for r in result.rows
        ]
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        if self._refresh() is None:
            return rx.redirect("/signin?next=/admin/audit")
        self.page = 1
        if "audit.view" in self.permissions:
            return self._reload()
        return None

    @rx.event
    def apply_filters(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self.filter_error = ""
        since, until = str(form.get("since", "")), str(form.get("until", ""))
        try:
            day_range(since, until)
        except ValidationFailed as exc:
            self.filter_error = exc.message
            return None
        self.f_action = str(form.get("action", ""))[:60]
        self.f_actor = str(form.get("actor", ""))[:254]
        self.f_since, self.f_until, self.page = since, until, 1
        return self._reload()


class MailState(PagedState, SessionState):
    """Mail the org sent (in the embedded mode this is where mail goes)."""

    messages: list[dict[str, str]] = []

    def _reload(self) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: mail.list_mail(s, ctx, page=self.page, page_size=PAGE_SIZE),
            permission=Permission.mail_view,
        )
        if not done.ok:
            return done.reply
        rows, self.total = done.value
        self.messages = []
        for r in rows:
            self.messages.append(
                {
                    "id": r.id,
                    "when": r.created.strftime("%Y-%m-%d %H:%M"),
                    "to": r.to_email,
                    "subject": r.subject,
                    "body": r.body_text,
                    "status": r.status,
                    "link": r.link,
                }
            )
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect("/signin?next=/admin/mail")
        self.page = 1
        if "mail.view" not in self.permissions:
            return None
        try:
            with tenant_session(ctx) as session:
                mail.do_record_view(session, ctx)
        except ServiceError as exc:
            return handle_errors(exc)
        return self._reload()
