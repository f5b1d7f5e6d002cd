"""`/notifications`: the signed-in user's notifications, newest first, marked read here."""

from __future__ import annotations

import reflex as rx

from app.services import notifications
from app.services.errors import ServiceError
from app.services.tenancy import OrgContext, tenant_session
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState, handle_errors


def _safe_link(link: str) -> str:
    """Only links inside the app (a notification never sends anyone off-site)."""
    return link if link.startswith("/") and not link.startswith("//") else ""


class NotificationsState(PagedState, SessionState):
    """A page of the user's notifications and how many are unread."""

    items: list[dict[str, str]] = []
    unread: int = 0
    loading: bool = True

    def _load(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            found = notifications.list_for_user(session, ctx, page=self.page, page_size=PAGE_SIZE)
        self.total, self.unread = found.total, found.unread
        self.items = [
            {
                "id": r.id,
                "title": r.title,
                "body": r.body,
                "link": _safe_link(r.link),
                "when": r.created.strftime("%Y-%m-%d %H:%M"),
                "read": "yes" if r.read else "",
            }
            for r in found.rows
        ]

    def _reload(self) -> rx.event.EventSpec | None:
        try:
            self._load(self._require())
        except ServiceError as exc:
            return handle_errors(exc)
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect("/signin?next=/notifications")
        self.page = 1
        try:
            self._load(ctx)
        except ServiceError as exc:
            return handle_errors(exc)
        finally:
            self.loading = False
        return None

    def _mark(self, notification_id: str) -> rx.event.EventSpec | None:
        try:
            ctx = self._require()
            with tenant_session(ctx) as session:
                notifications.mark_read(session, ctx, notification_id)
            self._load(ctx)
        except ServiceError as exc:
            return handle_errors(exc)
        return None

    @rx.event
    def mark_read(self, notification_id: str) -> rx.event.EventSpec | None:
        return self._mark(notification_id)

    @rx.event
    def open_item(self, notification_id: str, link: str) -> rx.event.EventSpec | None:
        """Mark it read and go where it points (inside the app only)."""
        refused = self._mark(notification_id)
        if refused is not None:
            return refused
        target = _safe_link(link)
        return rx.redirect(target) if target else None

    @rx.event
    def mark_all_read(self) -> rx.event.EventSpec | None:
        try:
            ctx = self._require()
            with tenant_session(ctx) as session:
                changed = notifications.mark_all_read(session, ctx)
            self._load(ctx)
        except ServiceError as exc:
            return handle_errors(exc)
        return rx.toast.success(f"{changed} marked read." if changed else "Nothing unread.")
