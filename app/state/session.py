"""The signed-in session every page state builds on.

The session token lives in an HttpOnly cookie set by our own route (`app/api/routes.py`). The
websocket handshake carries it, so each handler resolves it from `router.headers.cookie`
through the services: a revoked, idle or tampered session is refused at the next event.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import quote

import reflex as rx
from sqlmodel import Session
from starlette.requests import cookie_parser

from app.services.comms import notifications
from app.services.config.inheritance import effective_config
from app.services.core import topics
from app.services.core.authz import ROLE_LABELS, Permission, permissions_for, require
from app.services.core.errors import PermissionDenied, ServiceError, Unauthenticated
from app.services.core.tenancy import OrgContext, public_session, tenant_session
from app.services.people import auth
from app.settings import get_settings
from app.state import live_toast
from app.state.live import hub
from app.state.live_coalesce import Change

T = TypeVar("T")

Events = list[rx.event.EventSpec] | rx.event.EventSpec | None
"""What a handler hands back to the browser: nothing, one event, or several."""


def go(url: str) -> rx.event.EventSpec:
    """A full page load of `url` (for our own HTTP routes, which the SPA router can't serve)."""
    return rx.call_script(f"window.location.assign({json.dumps(url)})")


def sign_in_url(ticket: str, next_path: str = "/dashboard") -> str:
    """The route that turns a one-time ticket into the session cookie."""
    return f"/api/auth/complete?ticket={quote(ticket)}&next={quote(next_path)}"


def complete_sign_in(ticket: str, next_path: str = "/dashboard") -> rx.event.EventSpec:
    """Bind the ticket to this browser (a short-lived cookie), then let our route set the
    HttpOnly session cookie."""
    secure = "; secure" if get_settings().secure_cookies else ""
    cookie = (
        f"{auth.LOGIN_BINDING_COOKIE}={auth.ticket_binding(ticket)}; path=/api/auth;"
        f" max-age=120; samesite=strict{secure}"
    )
    url = sign_in_url(ticket, next_path)
    return rx.call_script(
        f"document.cookie = {json.dumps(cookie)}; window.location.assign({json.dumps(url)})"
    )


class SessionState(rx.State):
    """Who is signed in and what they may do; the app shell reads it."""

    loaded: bool = False
    signed_in: bool = False
    user_name: str = ""
    user_email: str = ""
    org_id: str = ""
    org_name: str = ""
    role: str = ""
    role_label: str = ""
    permissions: list[str] = []
    orgs: list[dict[str, str]] = []
    accent: str = "indigo"
    site_name: str = ""
    logo_url: str = ""
    features: list[str] = []
    reporting: list[str] = []
    unread: int = 0  # the bell's badge

    def _token(self) -> str:
        # Starlette's browser-like parser, as our HTTP routes use (`request.cookies`):
        # `SimpleCookie.load` silently drops every cookie after one it cannot parse (JSON,
        # a space, non-ASCII), which signed users out whenever another cookie of the site
        # came first in the header.
        raw = self.router.headers.cookie or ""
        return cookie_parser(raw).get(get_settings().session_cookie_name, "")

    def _ip(self) -> str:
        return self.router.session.client_ip or ""

    def _context(self) -> OrgContext | None:
        token = self._token()
        if not token:
            return None
        with public_session() as session:
            return auth.resolve(session, token, ip=self._ip())

    def _require(self, permission: Permission | None = None) -> OrgContext:
        """The caller's context, refusing if signed out or lacking `permission`."""
        ctx = self._context()
        if ctx is None:
            raise Unauthenticated()
        if permission is not None:
            require(ctx, permission)
        return ctx

    def _call(
        self,
        service: Callable[[Session, OrgContext], T],
        *,
        permission: Permission | None = None,
        then: Callable[[OrgContext], object] | None = None,
    ) -> Outcome[T]:
        """One line of intent for a handler: require `permission` (and a signed-in user),
        open a tenant session, run `service(session, ctx)`, then (once that session has
        closed, so a write is committed) `then(ctx)`, typically the handler's reload. A
        refusal (`ServiceError`) from any step becomes the outcome's toast or redirect
        instead of an exception.

            done = self._call(lambda s, ctx: cohorts.archive(s, ctx, cohort_id=cid))
            if not done.ok:
                return done.reply
        """
        ctx: OrgContext | None = None
        try:
            ctx = self._require(permission)
            with tenant_session(ctx) as session:
                value = service(session, ctx)
            if then is not None:
                then(ctx)
            return Outcome(value=value, ctx=ctx)
        except ServiceError as exc:
            return Outcome(error=exc, reply=handle_errors(exc), ctx=ctx)

    def _apply(self, ctx: OrgContext | None, *, new_page: bool = True) -> None:
        self.loaded = True
        if ctx is None:
            self.signed_in = False
            self.user_name = self.user_email = self.org_id = self.org_name = ""
            self.role = self.role_label = ""
            self.permissions = []
            self.orgs = []
            self.unread = 0
            hub.watch(self.router.session.client_token, set())
            hub.watch(self.router.session.client_token, set(), group="page")
            return
        self.signed_in = True
        self.user_name, self.user_email = ctx.full_name, ctx.email
        self.org_id = str(ctx.org_id or "")
        self.org_name = ctx.org_name
        self.role = ctx.role
        self.role_label = ROLE_LABELS.get(ctx.role, "")
        perms = permissions_for(ctx.role) if ctx.org_id else frozenset()
        if ctx.is_super_admin and ctx.org_id:
            perms = frozenset(Permission)
        self.permissions = sorted(p.value for p in perms)
        with tenant_session(ctx) as session:
            self.unread = notifications.unread_count(session, ctx)
            self.orgs = [
                {"id": o.id, "name": o.name, "role": ROLE_LABELS.get(o.role, o.role)}
                for o in auth.user_orgs(session, ctx.user_id)
            ]
            if ctx.org_id:
                config = effective_config(session, ctx.org_id)
                self.accent = config.branding.primary_color
                self.site_name = config.branding.site_name
                self.logo_url = config.branding.logo_url
                self.features = sorted(k for k, on in config.features.model_dump().items() if on)
                self.reporting = sorted(k for k, on in config.reporting.model_dump().items() if on)
        # This tab now follows its org's config and its ancestors' (which it inherits): an
        # admin's change re-themes and re-gates it.
        orgs = {ctx.org_id, *ctx.ancestor_ids} if ctx.org_id else set()
        watched = {topics.CONFIG.name(org=o) for o in orgs if o}
        # ... and the user's inbox: a new notification lights the bell.
        watched.add(topics.INBOX.name(user=ctx.user_id))
        hub.watch(self.router.session.client_token, watched)
        if new_page:
            # A newly loaded page starts with no page topics; a live page adds its own after.
            hub.watch(self.router.session.client_token, set(), group="page")

    def _refresh(self, *, new_page: bool = True) -> OrgContext | None:
        """Resolve the session and show it; `new_page=False` for a refresh of the page that is
        open (a live push), which keeps the page's live topics."""
        ctx = self._context()
        self._apply(ctx, new_page=new_page)
        return ctx

    @rx.event
    def load_public(self) -> None:
        """On public pages: learn whether someone is signed in, without redirecting."""
        self._refresh()

    @rx.event
    def load_private(self) -> rx.event.EventSpec | None:
        """On signed-in pages: send visitors to the sign-in page, then come back."""
        if self._refresh() is None:
            return rx.redirect(f"/signin?next={quote(self.router.url.path or '/dashboard')}")
        return None

    @rx.event
    def switch_org(self, org_id: str) -> rx.event.EventSpec | None:
        """Make another of the user's orgs the active one and reload the app for it."""
        try:
            ctx = self._require()
            with public_session() as session:
                auth.do_switch_org(session, ctx, org_id)
        except ServiceError as exc:
            return rx.toast.error(exc.message)
        return go("/dashboard")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What `SessionState._call` got: the service's value, or its refusal and the reply
    (toast or redirect) that tells the user."""

    value: T | None = None
    error: ServiceError | None = None
    reply: rx.event.EventSpec | None = None
    ctx: OrgContext | None = None  # whose call it was; None when signed out

    def reply_or(self, success: Events) -> Events:
        """The refusal's reply, or `success` (a toast, a redirect) when the call went through."""
        return self.reply if self.error is not None else success

    @property
    def ok(self) -> bool:
        """Whether the service ran without a refusal."""
        return self.error is None


def handle_errors(exc: ServiceError) -> rx.event.EventSpec:
    """The toast (or redirect) for a refused action."""
    if isinstance(exc, Unauthenticated):
        return rx.redirect("/signin")
    if isinstance(exc, PermissionDenied):
        return rx.toast.error("You are not allowed to do that.")
    return rx.toast.error(exc.message)


async def _config_changed(state: SessionState, _changes: list[Change]) -> None:
    """The org's config changed: reload who-may-see-what and the theme for this tab."""
    state._refresh(new_page=False)


async def _inbox_changed(state: SessionState, changes: list[Change]) -> None:
    """Notifications for this user arrived (or were read elsewhere): recount the badge, and
    show each announcement as a toast at once."""
    ctx = state._context()
    if ctx is None:
        return
    with tenant_session(ctx) as session:
        state.unread = notifications.unread_count(session, ctx)
    for _topic, payload in changes:
        await live_toast.toast_inbox(state, payload)


hub.on(topics.CONFIG, SessionState, _config_changed)
hub.on(topics.INBOX, SessionState, _inbox_changed)
