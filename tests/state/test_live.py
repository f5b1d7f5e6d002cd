"""The live hub's registry: a tab watches only the topics its last load chose."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import pytest

from app.services.core import topics
from app.state import live


def test_a_tab_watches_what_it_was_last_given() -> None:
    hub = live.LiveHub()
    hub.watch("tab1", {"org:a:config"})
    hub.watch("tab2", {"org:a:config"})
    assert sorted(hub.watchers("org:a:config")) == ["tab1", "tab2"]
    hub.watch("tab1", {"org:b:config"})  # switched org
    assert hub.watchers("org:a:config") == ["tab2"]
    assert hub.watchers("org:b:config") == ["tab1"]
    hub.watch("tab2", set())  # signed out
    assert hub.watchers("org:a:config") == []


def test_an_empty_token_is_ignored() -> None:
    hub = live.LiveHub()
    hub.watch("", {"org:a:config"})
    assert hub.watchers("org:a:config") == []


def test_watches_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = live.LiveHub()
    clock = [1000.0]
    monkeypatch.setattr(live.time, "monotonic", lambda: clock[0])
    hub.watch("tab1", {"org:a:config"})
    clock[0] += live.WATCH_TTL_SECONDS + 1
    assert hub.watchers("org:a:config") == []


def test_a_page_group_adds_to_the_session_group_and_is_replaced_on_its_own() -> None:
    hub = live.LiveHub()
    hub.watch("tab", {"org:a:config", "user:u:inbox"})
    hub.watch("tab", {"org:a:course:c:progress"}, group="page")
    assert hub.watching("tab") == {"org:a:config", "user:u:inbox", "org:a:course:c:progress"}
    assert hub.watchers("org:a:course:c:progress") == ["tab"]
    hub.watch("tab", {"org:a:config", "user:u:inbox"})  # the session reloads
    assert "org:a:course:c:progress" in hub.watching("tab")  # the page's set is untouched
    hub.watch("tab", set(), group="page")  # another page opens
    assert hub.watchers("org:a:course:c:progress") == []
    assert hub.watchers("org:a:config") == ["tab"]


def test_a_tab_claimed_by_another_worker_is_forgotten_here() -> None:
    """A full page load may put a tab's socket on another worker: that worker claims the tab
    on the broker and this one stops pushing to it (or the tab would get everything twice)."""
    here, there = live.LiveHub(), live.LiveHub()
    here.watch("tab", {"user:u:inbox"})
    here.watch("tab", {"org:a:channel:c"}, group="page")
    there.watch("tab", {"user:u:inbox"})
    here._on_message(live.CLAIM_TOPIC, {"token": "tab", "worker": there.worker_id})
    assert here.watchers("user:u:inbox") == [] and here.watching("tab") == set()
    assert there.watchers("user:u:inbox") == ["tab"]
    there._on_message(live.CLAIM_TOPIC, {"token": "tab", "worker": there.worker_id})  # own
    assert there.watchers("user:u:inbox") == ["tab"]


def test_workers_forked_from_one_imported_hub_answer_to_different_names() -> None:
    """The server imports the app once and forks its workers from that process: each worker
    must still have its own name on the broker, or it takes the others' claims for its own
    and a tab whose socket moved stays registered on two workers (every toast shown twice)."""
    hub = live.LiveHub()
    parent_id = hub.worker_id
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked worker
        try:
            os.write(write, hub.worker_id.encode())
        finally:
            os._exit(0)
    os.close(write)
    child_id = os.read(read, 200).decode()
    os.waitpid(pid, 0)
    assert child_id and child_id != parent_id
    assert hub.worker_id == parent_id  # stable within one process


class _Record:
    def __init__(self, instance_id: str) -> None:
        self.instance_id = instance_id


class _TokenManager:
    instance_id = "me"

    def __init__(self, **sockets: str) -> None:
        self.token_to_socket = {token: _Record(owner) for token, owner in sockets.items()}


class _App:
    def __init__(self, manager: _TokenManager) -> None:
        self._token_manager = manager


def test_a_late_claim_does_not_take_a_tab_from_the_worker_holding_its_socket() -> None:
    """An old socket's last event can claim a tab after the new socket's worker did: the
    worker holding the socket keeps it, the other forgets it, so exactly one pushes."""
    holder, old = live.LiveHub(), live.LiveHub()
    holder._app = _App(_TokenManager(tab="me"))
    old._app = _App(_TokenManager(tab="elsewhere"))
    for hub in (holder, old):
        hub.watch("tab", {"user:u:inbox"})
    holder._on_message(live.CLAIM_TOPIC, {"token": "tab", "worker": old.worker_id})
    old._on_message(live.CLAIM_TOPIC, {"token": "tab", "worker": holder.worker_id})
    assert holder.watchers("user:u:inbox") == ["tab"]
    assert old.watchers("user:u:inbox") == []
    assert holder.pushes_here("tab") and not old.pushes_here("tab")
    assert live.LiveHub().pushes_here("tab")  # no app (or no socket now): push as before


def test_a_closed_tab_is_forgotten_and_never_refreshed() -> None:
    """A tab whose socket is gone (no record in the token manager) is dropped at the next
    message on its topics, before any state is loaded for it: a closed live view costs
    nothing, and its stored state expires on time instead of being touched by refreshes."""
    hub = live.LiveHub()
    hub._app = _App(_TokenManager(open_tab="me"))  # "closed_tab" has no socket
    for token in ("open_tab", "closed_tab"):
        hub.watch(token, {"course:c:progress"})
    assert hub.watchers("course:c:progress") == ["open_tab"]
    assert hub.watching("closed_tab") == set()
    assert hub.watching("open_tab") == {"course:c:progress"}


def test_closed_tabs_are_swept_without_any_message() -> None:
    """Tabs that closed are forgotten by the sweep too (registration runs it now and then)."""
    hub = live.LiveHub()
    hub._app = _App(_TokenManager(kept="me"))
    hub.watch("kept", {"t"})
    hub.watch("gone", {"t"}, group="page")
    assert hub.forget_closed() == 1
    assert hub.watching("gone") == set() and hub.watching("kept") == {"t"}


class _LostRoot:
    """A tab's state made afresh by the state manager: no route, nothing loaded."""

    router_data: dict[str, str] = {}

    def _get_root_state(self) -> _LostRoot:
        return self

    async def get_state(self, _cls: type) -> _LostRoot:
        raise AssertionError("a lost state must not be refreshed")


class _Namespace:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    async def emit_update(self, update: object, token: str) -> None:
        self.sent.append((token, update))


class _LostApp(_App):
    def __init__(self) -> None:
        super().__init__(_TokenManager(tab="me"))
        self.event_namespace = _Namespace()

    def modify_state(self, _token: object) -> contextlib.AbstractAsyncContextManager[_LostRoot]:
        @contextlib.asynccontextmanager
        async def lost() -> AsyncIterator[_LostRoot]:
            yield _LostRoot()

        return lost()


def test_a_tab_whose_state_was_lost_is_asked_to_hydrate_instead_of_refreshed() -> None:
    """After Redis lost the tabs' states, a push must not fill a blank state (the tab would
    render signed out): the tab is told to hydrate again, so it reloads what it shows."""
    hub = live.LiveHub()
    app = _LostApp()
    hub._app = app
    hub.on(topics.INBOX, live.BaseState, _never_called)
    hub.watch("tab", {"user:u:inbox"})
    _deliver_now(hub, "tab", "user:u:inbox", None)
    [(token, update)] = app.event_namespace.sent
    assert token == "tab"
    assert [e.name for e in update.events] == ["reflex___state____state.hydrate_and_load"]


async def _never_called(*_args: object) -> None:
    raise AssertionError("refresh ran on a lost state")


class _LiveRoot:
    """A loaded tab's state (its route is known)."""

    router_data = {"pathname": "/notifications"}

    def _get_root_state(self) -> _LiveRoot:
        return self

    async def get_state(self, _cls: type) -> _LiveRoot:
        return self


class _LiveApp(_App):
    def __init__(self) -> None:
        super().__init__(_TokenManager(tab="me", t1="me", t2="me", t3="me"))

    def modify_state(self, _token: object) -> contextlib.AbstractAsyncContextManager[_LiveRoot]:
        @contextlib.asynccontextmanager
        async def live_root() -> AsyncIterator[_LiveRoot]:
            yield _LiveRoot()

        return live_root()


def _deliver_now(
    hub: live.LiveHub, token: str, topic: str, message: dict[str, object] | None
) -> None:
    """What the broker thread and the event loop do for one message, without the wait."""
    for key, _wait in hub._collect(token, topic, message):
        asyncio.run(hub.coalescer.refresh(key, 0.0))


def test_a_refresher_hears_its_own_family_with_the_payloads_parsed_and_batched() -> None:
    """Each refresher runs for its topic family only, and gets every change since its last
    run, each payload as its typed class; a resync (no payload) or a misfit is None."""
    hub = live.LiveHub()
    hub._app = _LiveApp()
    heard: list[list[tuple[str, object]]] = []

    async def record(_state: object, changes: list[tuple[str, object]]) -> None:
        heard.append(list(changes))

    hub.on(topics.INBOX, live.BaseState, record)
    inbox = topics.INBOX.name(user="u")
    hub.watch("tab", {inbox})
    burst = [
        (inbox, {"kind": "announcement", "title": "Hi", "id": "n1"}),
        (topics.CONFIG.name(org="o"), {"org_id": "o", "section": "*"}),  # not its family
        (inbox, None),
        (inbox, {"kind": 7}),
    ]
    due = [job for topic, message in burst for job in hub._collect("tab", topic, message)]
    assert len(due) == 1  # one refresh for the burst
    asyncio.run(hub.coalescer.refresh(due[0][0], 0.0))
    assert heard == [
        [
            (inbox, topics.InboxChanged(kind="announcement", title="Hi", id="n1")),
            (inbox, None),
            (inbox, None),
        ]
    ]


def test_a_tab_refresher_runs_only_for_tabs_whose_open_page_is_its_state() -> None:
    class ViewA(live.BaseState):
        pass

    class ViewB(live.BaseState):
        pass

    hub = live.LiveHub()
    hub._app = _LiveApp()
    ran: list[tuple[str, str]] = []

    async def refresh_tab(_app: object, token: str, view: type) -> bool:
        ran.append((token, view.__name__))
        return True

    hub.on_tab(topics.PROGRESS, ViewA, refresh_tab)
    hub.on_tab(topics.PROGRESS, ViewB, refresh_tab)
    topic = topics.PROGRESS.name(org="a", course="c")
    hub.watch("t1", {topic}, group="page", owner=ViewA)
    hub.watch("t2", {topic}, group="page", owner=ViewB)
    hub.watch("t3", {topic}, group="page")  # opened no live view
    message = {"kind": "video", "user_ids": ["u"]}
    for token in ("t1", "t2", "t3"):
        _deliver_now(hub, token, topic, message)
    assert sorted(ran) == [("t1", "ViewA"), ("t2", "ViewB")]
    hub.watch("t1", set(), group="page")  # t1 went to another page
    ran.clear()
    _deliver_now(hub, "t1", topic, message)
    assert ran == []
