"""The live hub's registry: a tab watches only the topics its last load chose."""

from __future__ import annotations

import pytest

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
