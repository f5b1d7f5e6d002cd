"""The Reflex app: pages, their on-load events, and our HTTP routes."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import reflex as rx

from app import worker
from app.api.routes import build_api
from app.pages import (
    account,
    announcements,
    chat,
    class_view,
    cohorts,
    credentials,
    dashboard,
    jobs,
    learn,
    logs,
    members,
    orgs,
    settings,
    teach,
)
from app.settings import get_settings
from app.state import failures, handler_threads
from app.state.account import InviteState, SignUpConfirmState, SignUpState
from app.state.jobs import JobsState
from app.state.logs import AuditState, MailState
from app.state.members import MembersState
from app.state.orgs import OrgDetailState, OrgsState
from app.state.session import SessionState
from app.state.settings import SettingsState

# Before any event: our synchronous handlers run on threads, not on the event loop.
handler_threads.install()

app = rx.App(
    stylesheets=["/guildhall.css"],
    api_transformer=build_api(),
    backend_exception_handler=failures.backend_exception_handler,
    # One toast at a time: the newest outcome replaces the last instead of stacking over
    # the page (on a phone three toasts covered the form they were about).
    toaster=rx.toast.provider(visible_toasts=1, close_button=True),
    head_components=[
        rx.el.meta(name="theme-color", content="#3e63dd"),
        # Installable on a phone's home screen, with an offline page (assets/sw.js).
        rx.el.link(rel="manifest", href="/manifest.json"),
        rx.el.link(rel="icon", href="/favicon.ico", sizes="any"),
        rx.el.link(rel="apple-touch-icon", href="/apple-touch-icon.png"),
        rx.el.script(src="/pwa.js", defer=True),
        rx.el.script(src="/a11y.js", defer=True),
        # The lesson player's video resume and watched-time reporting (assets/player.js).
        rx.el.script(src="/player.js", defer=True),
    ],
)

app.add_page(account.index, route="/", title="Guildhall", on_load=SessionState.load_public)
app.add_page(
    account.signup,
    route="/signup",
    title="Create your organization · Guildhall",
    on_load=SignUpState.load,
)
app.add_page(
    account.signup_confirm,
    route="/signup/confirm/[token]",
    title="Confirm your email · Guildhall",
    on_load=SignUpConfirmState.load,
)
app.add_page(
    account.signin, route="/signin", title="Sign in · Guildhall", on_load=SessionState.load_public
)
app.add_page(account.forgot, route="/forgot", title="Reset password · Guildhall")
app.add_page(account.reset, route="/reset/[token]", title="New password · Guildhall")
app.add_page(
    account.invite, route="/invite/[token]", title="Invite · Guildhall", on_load=InviteState.load
)
app.add_page(
    dashboard.dashboard,
    route="/dashboard",
    title="Dashboard · Guildhall",
    on_load=SessionState.load_private,
)
app.add_page(
    orgs.orgs_page, route="/admin/orgs", title="Organizations · Guildhall", on_load=OrgsState.load
)
app.add_page(
    orgs.org_detail_page,
    route="/orgs/[org_id]",
    title="Organization · Guildhall",
    on_load=OrgDetailState.load,
)
app.add_page(
    members.members_page,
    route="/admin/members",
    title="Members · Guildhall",
    on_load=MembersState.load,
)
app.add_page(
    logs.audit_page, route="/admin/audit", title="Audit log · Guildhall", on_load=AuditState.load
)
app.add_page(
    logs.mail_page, route="/admin/mail", title="Mail log · Guildhall", on_load=MailState.load
)
app.add_page(
    settings.settings_page,
    route="/admin/settings",
    title="Settings · Guildhall",
    on_load=SettingsState.load,
)
app.add_page(jobs.jobs_page, route="/admin/jobs", title="Jobs · Guildhall", on_load=JobsState.load)
# The learning areas register their own pages (authoring, learners, credentials and compliance).
teach.register(app)
learn.register(app)
credentials.register(app)
chat.register(app)
announcements.register(app)
class_view.register(app)
cohorts.register(app)


@contextlib.asynccontextmanager
async def embedded_worker() -> AsyncIterator[None]:
    """Run the outbox worker inside this process while it serves (the embedded mode)."""
    if get_settings().worker_in_process:
        worker.start_in_process()
    try:
        yield
    finally:
        worker.stop_in_process()


app.register_lifespan_task(embedded_worker)
