"""Toasts pushed to a tab from a live refresher (an announcement arriving while a page is open).

A hub refresher (`app/state/live.py`) runs inside `app.modify_state`, outside any event of
that tab, so it cannot *return* an event the way a handler returns `rx.toast...`. What
Reflex does with a handler's returned events is send them to the tab in a `StateUpdate`
(`events=[...]`) over its socket; the browser queues and runs them (state.js: `update.events`
-> `queueEvents`). We do the same here: build the toast's `EventSpec`, turn it into `Event`s
(`Event.from_event_type`) and `emit_update` them to the tab's client token. On a worker that
does not hold the tab's socket, Reflex's Redis token manager forwards the update ("lost and
found"), as it does for deltas.

The toast's text is a JSON string literal inside the script Reflex builds (`rx.toast`
serializes its arguments), so a title like `"); alert(1); ("` stays text.

Lead: in `app/state/session.py`, at the end of `_inbox_changed`, add
`await live_toast.toast_inbox(state, payload)` (and name the third parameter `payload`).
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.state import BaseState, StateUpdate
from reflex_base.event import Event, EventSpec
from reflex_base.registry import RegistrationContext

from app.services.core.topics import InboxChanged

# Kinds of notification that also pop up as a toast in every open tab of the recipient.
TOAST_KINDS: frozenset[str] = frozenset({"announcement"})
TOAST_CLASS = "live-toast"
HEADINGS = {"announcement": "New announcement"}


def toast_for(payload: InboxChanged | None) -> EventSpec | None:
    """The toast for an inbox push, or None when this kind does not toast (or on a resync)."""
    if payload is None:
        return None
    kind = payload.kind
    title = payload.title.strip()[:200]
    note_id = payload.id[:64]
    if kind not in TOAST_KINDS or not title:
        return None
    return rx.toast.info(
        HEADINGS.get(kind, "New notification"),
        description=title,
        duration=10_000,
        close_button=True,
        class_name=f"{TOAST_CLASS} {TOAST_CLASS}-{kind}",
        # One toast per notification, however many times its push reaches the tab (a
        # replay after a reconnect): the browser's toaster replaces a toast of the same id.
        **({"id": f"notification-{note_id}"} if note_id else {}),
    )


async def emit(token: str, *specs: EventSpec, app: Any = None) -> None:
    """Send frontend events (toasts, scripts) to the tab with client `token` now."""
    if not token or not specs:
        return
    app = app or RegistrationContext.get().app
    await app.event_namespace.emit_update(
        update=StateUpdate(events=Event.from_event_type(list(specs))), token=token
    )


async def toast_inbox(state: BaseState, payload: InboxChanged | None, *, app: Any = None) -> bool:
    """From an inbox refresher: toast the tab when the push is of a toasting kind.

    Returns whether a toast was sent. Never raises for a gone tab (the hub logs the rest).
    """
    spec = toast_for(payload)
    if spec is None:
        return False
    token = state.router.session.client_token
    if not token:
        return False
    await emit(token, spec, app=app)
    return True


__all__ = ["TOAST_CLASS", "TOAST_KINDS", "emit", "toast_for", "toast_inbox"]
