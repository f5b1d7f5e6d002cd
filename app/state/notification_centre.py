"""`/notifications`: the signed-in user's notification centre and email preferences.

Newest first a page at a time, filtered by kind or to unread ones; read/unread toggles, mark
all read; each item opens what it is about (links inside the app only). While the page is
open, a new notification reloads the first page live: the tab already follows its inbox topic
(the session group), and the refresher below acts only when this tab's state says the page is
open (`live_open`, set by `load`) and the tab is still on /notifications, so other pages pay
one flag check and no query.
"""

from __future__ import annotations

import reflex as rx
from sqlmodel import Session

from app.services.comms import notifications
from app.services.core import topics
from app.services.core.errors import ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.state.live import hub
from app.state.live_coalesce import Change
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState, handle_errors

ROUTE = "/notifications"
ALL = "all"  # the kind filter's "every kind" (a radix select cannot hold "")


def _safe_link(link: str) -> str:
    """Only links inside the app (a notification never sends anyone off-site)."""
    return link if link.startswith("/") and not link.startswith("//") else ""


class NotificationsState(PagedState, SessionState):
    """A page of the user's notifications, the filter, and the email preferences."""

    items: list[dict[str, str]] = []
    unread: int = 0
    loading: bool = True
    kind_filter: str = ALL
    unread_only: bool = False
    kind_options: list[dict[str, str]] = [
        {"value": ALL, "label": "All kinds"},
        *({"value": k.key, "label": k.label} for k in notifications.KINDS.values()),
    ]
    email_prefs: list[dict[str, str]] = []  # {"key", "label", "on": "1" | ""}
    has_org: bool = False
    live_open: bool = False

    def _load(self, ctx: OrgContext) -> None:
        kind = "" if self.kind_filter == ALL else self.kind_filter
        with tenant_session(ctx) as session:
            found = notifications.list_for_user(
                session,
                ctx,
                page=self.page,
                page_size=PAGE_SIZE,
                kind=kind,
                unread_only=self.unread_only,
            )
        self.total, self.unread = found.total, found.unread
        self.items = [
            {
                "id": r.id,
                "kind": r.kind,
                "kind_label": notifications.kind_label(r.kind),
                "title": r.title,
                "body": r.body,
                "link": _safe_link(r.link),
                "when": notifications.relative_time(r.created),
                "at": r.created.strftime("%Y-%m-%d %H:%M UTC"),
                "read": "yes" if r.read else "",
            }
            for r in found.rows
        ]

    def _load_prefs(self, ctx: OrgContext) -> None:
        self.has_org = ctx.org_id is not None
        if not self.has_org:
            self.email_prefs = []
            return
        with tenant_session(ctx) as session:
            chosen = set(notifications.get_preferences(session, ctx))
        self.email_prefs = [
            {"key": k.key, "label": k.label, "on": "1" if k.key in chosen else ""}
            for k in notifications.KINDS.values()
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
            self.live_open = False
            return rx.redirect(f"/signin?next={ROUTE}")
        self.page = 1
        try:
            self._load(ctx)
            self._load_prefs(ctx)
            self.live_open = True
        except ServiceError as exc:
            return handle_errors(exc)
        finally:
            self.loading = False
        return None

    @rx.event
    def set_kind_filter(self, value: str) -> rx.event.EventSpec | None:
        """Keep one kind (or `all`); back to the first page."""
        self.kind_filter = value if value in notifications.KINDS else ALL
        self.page = 1
        return self._reload()

    @rx.event
    def set_unread_only(self, value: bool) -> rx.event.EventSpec | None:
        """Show only unread notifications (or all again)."""
        self.unread_only = bool(value)
        self.page = 1
        return self._reload()

    def _mark(self, notification_id: str, *, read: bool = True) -> rx.event.EventSpec | None:
        mark = notifications.do_mark_read if read else notifications.do_mark_unread
        return self._call(lambda s, ctx: mark(s, ctx, notification_id), then=self._load).reply

    @rx.event
    def mark_read(self, notification_id: str) -> rx.event.EventSpec | None:
        return self._mark(notification_id)

    @rx.event
    def mark_unread(self, notification_id: str) -> rx.event.EventSpec | None:
        """Keep it as unread, to come back to it."""
        return self._mark(notification_id, read=False)

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
        done = self._call(notifications.do_mark_all_read, then=self._load)
        if not done.ok:
            return done.reply
        changed = done.value
        return rx.toast.success(f"{changed} marked read." if changed else "Nothing unread.")

    @rx.event
    def set_email_kind(self, kind: str, on: bool) -> rx.event.EventSpec | None:
        """Turn one kind's email on or off for the active org; saved at once."""

        def save(session: Session, ctx: OrgContext) -> None:
            chosen = set(notifications.get_preferences(session, ctx))
            if on:
                chosen.add(kind)
            else:
                chosen.discard(kind)
            notifications.do_set_preferences(session, ctx, email_kinds=chosen)

        done = self._call(save, then=self._load_prefs)
        if not done.ok:
            return done.reply
        label = notifications.kind_label(kind)
        return rx.toast.success(
            f"You will get emails for: {label}." if on else f"No more emails for: {label}."
        )


async def _inbox_pushed(state: NotificationsState, _changes: list[Change]) -> None:
    """A notification arrived (or was read elsewhere) while this tab may be on the page."""
    if not state.live_open or state.router.url.path != ROUTE:
        return
    ctx = state._context()
    if ctx is None:
        return
    if state.page == 1:
        state._load(ctx)  # the newest are on the first page
    else:
        with tenant_session(ctx) as session:
            state.unread = notifications.unread_count(session, ctx)


hub.on(topics.INBOX, NotificationsState, _inbox_pushed)
