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
import logging
import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from reflex.istate.manager.token import BaseStateToken
from reflex.state import BaseState, State, StateUpdate
from reflex_base.constants import CompileVars
from reflex_base.event import Event
from reflex_base.registry import RegistrationContext
from reflex_base.utils.format import format_event_handler

from app.services.core.topics import Topic
from app.services.infra.broker import RESYNC_TOPIC, get_broker
from app.state.handler_threads import event_loop
from app.state.live_coalesce import Change, Coalescer

log = logging.getLogger(__name__)

# refresh(state, changes): run under the tab's state lock with every (topic, payload) that
# came since its last run (a payload parsed by its Topic, or None on a resync or a misfit).
Refresh = Callable[[BaseState, list[Change]], Awaitable[None]]
# tab_refresh(app, token, state class): for a refresh that takes the tab's lock itself, only
# to show what it read without it (the class view's roster reads take seconds when busy).
TabRefresh = Callable[[Any, str, type[BaseState]], Awaitable[object]]
WATCH_TTL_SECONDS = 6 * 3600
# A worker that registers a tab says so on the broker; the worker that had it before (a full
# page load can land the tab's new socket on another worker) forgets it, so every push
# reaches the tab once (a second worker would refresh it again and show toasts twice).
CLAIM_TOPIC = "hub:claim"
# How often registering a tab also sweeps out the tabs that closed since.
SWEEP_SECONDS = 60.0


@dataclass(frozen=True)
class _Subscription:
    family: Topic[Any]
    state_cls: type[BaseState]
    refresh: Refresh | None = None
    tab_refresh: TabRefresh | None = None  # runs only for tabs whose open page is state_cls


class LiveHub:
    """This worker's tabs, the topics they watch, and the one way changes reach them: every
    message is collected per tab and refresher, and bursts coalesce (`live_coalesce`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[str, dict[str, float]] = {}  # topic -> token -> expiry
        self._by_token: dict[str, dict[str, set[str]]] = {}  # token -> group -> topics
        self._subscriptions: list[_Subscription] = []
        self._page_owner: dict[str, type[BaseState]] = {}  # token -> state that set its page
        self.coalescer = Coalescer(self._deliver)
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

    def on(self, family: Topic[Any], state_cls: type[BaseState], refresh: Refresh) -> None:
        """Run `refresh(state_cls instance, changes)` when topics of `family` that a tab
        watches change; `changes` lists each (topic, parsed payload) since the last run."""
        self._subscriptions.append(_Subscription(family, state_cls, refresh=refresh))

    def on_tab(self, family: Topic[Any], state_cls: type[BaseState], refresh: TabRefresh) -> None:
        """Run `refresh(app, token, state_cls)` (it locks the tab itself) for tabs whose open
        page is `state_cls` (`watch(..., owner=state_cls)`) when topics of `family` change."""
        self._subscriptions.append(_Subscription(family, state_cls, tab_refresh=refresh))

    def watch(
        self,
        token: str,
        topics: set[str],
        *,
        group: str = "session",
        owner: type[BaseState] | None = None,
    ) -> None:
        """Make `topics` the set this tab watches for `group` (replacing that group's last set).

        Groups keep independent sets per tab: `session` (config and inbox, set by the
        session on every load) and `page` (what the open page shows; the session clears it
        on every load, and the page sets it after). `owner` names the page's state, for
        `on_tab` refreshers. Called from an event handler, on the worker's event loop or a
        handler thread.
        """
        if not token:
            return
        self._bind()
        expiry = time.monotonic() + WATCH_TTL_SECONDS
        with self._lock:
            if group == "page":
                if owner is None:
                    self._page_owner.pop(token, None)
                else:
                    self._page_owner[token] = owner
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
            self._page_owner.pop(token, None)
            for tokens in self._topics.values():
                tokens.pop(token, None)
        self.coalescer.forget(lambda key: key[0] == token)

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
            due = [
                job
                for token, watched in self._all_watches().items()
                for each in sorted(watched)
                for job in self._collect(token, each, None)
            ]
        else:
            due = [
                job
                for token in self.watchers(topic)
                for job in self._collect(token, topic, payload)
            ]
        for key, wait in due:
            asyncio.run_coroutine_threadsafe(self.coalescer.refresh(key, wait), loop)

    def _collect(
        self, token: str, topic: str, message: dict[str, Any] | None
    ) -> list[tuple[tuple[str, int], float]]:
        """Hand one message to the tab's refreshers of its family; the (key, wait) of each
        refresh to start now (none for a key whose refresh is pending already)."""
        with self._lock:
            owner = self._page_owner.get(token)
        due = []
        now = time.monotonic()
        for index, sub in enumerate(self._subscriptions):
            if not sub.family.matches(topic):
                continue
            if sub.tab_refresh is not None and owner is not sub.state_cls:
                continue  # that live page is not the one open in this tab
            key = (token, index)
            wait = self.coalescer.add(key, (topic, sub.family.parse(message)), now)
            if wait is not None:
                due.append((key, wait))
        return due

    def _all_watches(self) -> dict[str, set[str]]:
        with self._lock:
            return {
                token: set().union(*groups.values()) for token, groups in self._by_token.items()
            }

    async def _deliver(self, key: Hashable, changes: list[Change]) -> None:
        """Run one refresher of one tab with the changes collected for it (the coalescer's
        callback; never two at once for one key)."""
        assert isinstance(key, tuple)
        token: str = key[0]
        sub = self._subscriptions[key[1]]
        with self._lock:
            known = token in self._by_token
        if not changes or not known or not self.pushes_here(token):
            return  # forgotten meanwhile (closed, moved to another worker, or rebuilt)
        try:
            if sub.tab_refresh is not None:
                await sub.tab_refresh(self._app, token, sub.state_cls)
                return
            assert sub.refresh is not None
            async with self._app.modify_state(
                BaseStateToken(ident=token, cls=sub.state_cls)
            ) as state:
                if not state._get_root_state().router_data:
                    lost = True  # see `_rebuild`
                else:
                    lost = False
                    target = await state.get_state(sub.state_cls)
                    await sub.refresh(target, changes)
            if lost:
                self.forget(token)  # its reload registers it again
                await self._rebuild(token)
        except Exception:  # a gone tab must not stop the others
            log.exception("live push to a tab failed for %s", changes[-1][0])
            with self._lock:
                for topic, _ in changes:
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
