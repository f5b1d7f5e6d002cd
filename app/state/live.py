"""Pushing committed changes to the tabs that watch them, on whichever worker they live.

Each backend worker keeps a small registry of its own tabs: which client tokens watch which
broker topics (chosen on the server from the tab's signed-in context, never from a handler
argument). Every worker listens to the broker; when a message arrives, the worker applies it
to the tabs it registered with `app.modify_state`, which locks that tab's state, runs the
topic's refresh and sends the delta down that tab's socket. With Redis every worker hears
every message, so a change made on one worker reaches tabs on all of them; each tab is
refreshed by the worker that registered it.

A push only says "something changed": the tab reloads what it shows from the database,
so a missed or repeated message costs a refresh, never a wrong screen.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from reflex.istate.manager.token import BaseStateToken
from reflex.state import BaseState, State, StateUpdate
from reflex_base.constants import CompileVars
from reflex_base.event import Event
from reflex_base.registry import RegistrationContext
from reflex_base.utils.format import format_event_handler

from app.services.infra.broker import RESYNC_TOPIC, get_broker
from app.state.handler_threads import event_loop

log = logging.getLogger(__name__)

Refresh = Callable[[BaseState, str, dict[str, Any]], Awaitable[None]]
WATCH_TTL_SECONDS = 6 * 3600
# A worker that registers a tab says so on the broker; the worker that had it before (a full
# page load can land the tab's new socket on another worker) forgets it, so every push
# reaches the tab once (a second worker would refresh it again and show toasts twice).
CLAIM_TOPIC = "hub:claim"
# How often registering a tab also sweeps out the tabs that closed since.
SWEEP_SECONDS = 60.0


class LiveHub:
    """This worker's tabs and the topics they watch."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[str, dict[str, float]] = {}  # topic -> token -> expiry
        self._by_token: dict[str, dict[str, set[str]]] = {}  # token -> group -> topics
        self._refreshers: list[tuple[str, type[BaseState], Refresh]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._app: Any = None
        self._listening = False
        self._worker: tuple[int, str] | None = None
        self._swept = time.monotonic()

    @property
    def worker_id(self) -> str:
        """This process's name on the broker. Made in the process that uses it: the app
        module is imported once before the server forks its workers, so an id made at import
        would be the same in every worker and each would take the others' claims for its own."""
        pid = os.getpid()
        if self._worker is None or self._worker[0] != pid:
            self._worker = (pid, uuid.uuid4().hex)
        return self._worker[1]

    def on(self, pattern: str, state_cls: type[BaseState], refresh: Refresh) -> None:
        """Run `refresh(state_cls instance, topic, payload)` for topics matching `pattern`."""
        self._refreshers.append((pattern, state_cls, refresh))

    def watch(self, token: str, topics: set[str], *, group: str = "session") -> None:
        """Make `topics` the set this tab watches for `group` (replacing that group's last set).

        Groups keep independent sets per tab: `session` (config and inbox, set by the
        session on every load) and `page` (what the open page shows; the session clears it
        on every load, and the page sets it after). Called from an event handler, on the
        worker's event loop or a handler thread.
        """
        if not token:
            return
        self._bind()
        expiry = time.monotonic() + WATCH_TTL_SECONDS
        with self._lock:
            groups = self._by_token.setdefault(token, {})
            groups[group] = set(topics)
            wanted = set().union(*groups.values())
            for old in {t for t, tokens in self._topics.items() if token in tokens} - wanted:
                self._topics[old].pop(token, None)
            for topic in wanted:
                self._topics.setdefault(topic, {})[token] = expiry
        if self._listening and group == "session":
            get_broker().publish(CLAIM_TOPIC, {"token": token, "worker": self.worker_id})
        if time.monotonic() - self._swept > SWEEP_SECONDS:
            self._swept = time.monotonic()
            self.forget_closed()

    def forget(self, token: str) -> None:
        """Stop pushing to `token` from this worker (another worker holds it now)."""
        with self._lock:
            self._by_token.pop(token, None)
            for tokens in self._topics.values():
                tokens.pop(token, None)

    def watching(self, token: str) -> set[str]:
        """Every topic the tab watches, over all groups."""
        with self._lock:
            return set().union(*self._by_token.get(token, {}).values())

    def watchers(self, topic: str) -> list[str]:
        """Tokens on this worker that watch `topic`. Expired tabs, and tabs whose socket is
        gone (closed, or reconnected to another worker), are forgotten: a closed tab is
        never refreshed, and a tab that comes back re-registers as its page loads (every
        reconnect re-runs the page's on-load events)."""
        now = time.monotonic()
        with self._lock:
            tokens = self._topics.get(topic, {})
            for token in [t for t, exp in tokens.items() if exp < now]:
                tokens.pop(token, None)
            listed = list(tokens)
        gone = [token for token in listed if not self.pushes_here(token)]
        for token in gone:
            self.forget(token)
        return [token for token in listed if token not in gone]

    def _closed(self, token: str) -> bool:
        """Whether the running app knows of no socket for `token` at all (the tab closed)."""
        manager = getattr(self._app, "_token_manager", None)
        records = getattr(manager, "token_to_socket", None)
        return records is not None and token not in records

    def forget_closed(self) -> int:
        """Forget every tab with no socket on this worker (called on each disconnect and
        before a resync); returns how many were forgotten."""
        with self._lock:
            tokens = list(self._by_token)
        gone = [token for token in tokens if not self.pushes_here(token)]
        for token in gone:
            self.forget(token)
        return len(gone)

    def _bind(self) -> None:
        if self._listening:
            return
        loop = event_loop()
        try:
            app = None if loop is None else RegistrationContext.get().app
        except (LookupError, RuntimeError):  # Reflex's: no app registered
            app = None
        if app is None:
            return  # not inside a running app (unit tests drive states without one)
        self._loop, self._app = loop, app
        self._listening = True
        get_broker().listen(self._on_message)

    def socket_here(self, token: str) -> bool | None:
        """Whether this worker holds the tab's socket: True, False (another worker does), or
        None when nobody knows (not connected now, or no running app, as in unit tests).

        Reads Reflex's token manager, the record `emit_update` itself routes by."""
        manager = getattr(self._app, "_token_manager", None)
        records = getattr(manager, "token_to_socket", None)
        if manager is None or records is None:
            return None
        record = records.get(token)
        if record is None:
            return None
        return bool(record.instance_id == manager.instance_id)

    def pushes_here(self, token: str) -> bool:
        """Whether this worker should push to `token`: not when another worker holds its
        socket (that worker registered the tab on its own load and pushes to it), nor when
        the tab has closed."""
        return self.socket_here(token) is not False and not self._closed(token)

    def _on_message(self, topic: str, payload: dict[str, Any]) -> None:
        if topic == CLAIM_TOPIC:
            token = str(payload.get("token", ""))
            # A late claim from a tab's old socket must not take it from the worker that
            # holds its socket now.
            if payload.get("worker") != self.worker_id and self.socket_here(token) is not True:
                self.forget(token)
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if topic == RESYNC_TOPIC:
            # The broker was away: every tab reloads each thing it watches, once.
            self.forget_closed()
            for token, watched in self._all_watches().items():
                for each in sorted(watched):
                    asyncio.run_coroutine_threadsafe(self._push(token, each, {}), loop)
            return
        for token in self.watchers(topic):
            asyncio.run_coroutine_threadsafe(self._push(token, topic, payload), loop)

    def _all_watches(self) -> dict[str, set[str]]:
        with self._lock:
            return {
                token: set().union(*groups.values()) for token, groups in self._by_token.items()
            }

    async def _push(self, token: str, topic: str, payload: dict[str, Any]) -> None:
        if not self.pushes_here(token):
            return
        for pattern, state_cls, refresh in self._refreshers:
            if not fnmatch.fnmatchcase(topic, pattern):
                continue
            try:
                async with self._app.modify_state(
                    BaseStateToken(ident=token, cls=state_cls)
                ) as state:
                    if not state._get_root_state().router_data:
                        lost = True  # see `_rebuild`
                    else:
                        lost = False
                        target = await state.get_state(state_cls)
                        await refresh(target, topic, payload)
                if lost:
                    await self._rebuild(token)
                    return
            except Exception:  # a gone tab must not stop the others
                log.exception("live push to a tab failed for %s", topic)
                with self._lock:
                    self._topics.get(topic, {}).pop(token, None)

    async def _rebuild(self, token: str) -> None:
        """The tab's stored state is gone (Redis restarted or lost it, or it expired) while
        its socket stayed open: a state made afresh has no route and no signed-in user, and
        refreshing it would render the tab blank and signed out. Ask the tab to hydrate
        again instead, as it does on every reconnect: it sends its page and cookie, its
        session and page reload from the database, and it shows the truth."""
        namespace = getattr(self._app, "event_namespace", None)
        if namespace is None:
            return
        hydrate = format_event_handler(State.event_handlers[CompileVars.HYDRATE_AND_LOAD])
        log.info("tab %s lost its state; asking it to hydrate again", token[:8])
        await namespace.emit_update(StateUpdate(events=[Event(name=hydrate, payload={})]), token)


hub = LiveHub()
