"""PostgreSQL frozen (SIGSTOP: connections are accepted by the kernel and never answered, as
with a hung server or disk): `/health` answers 503 within a second, a signed-in user's
action fails within the timeouts with a message that says so while what they typed stays
(and its handler, waiting on the database meanwhile, holds up nothing else on its worker),
a visitor can still open the sign-in page, and everything works again once the database
is back, without a restart."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from playwright.sync_api import expect

from app.state import failures
from tests.e2e.conftest import sign_in
from tests.e2e.launch import Launched
from tests.faults.conftest import ChatRoom, FaultServices, send, wait_health

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def _slowest_of_probes(base: str, *, probes: int) -> float:
    """Seconds the slowest of `probes` simultaneous `/health` requests took (any answer)."""

    def probe(_: int) -> float:
        started = time.monotonic()
        with httpx.Client(timeout=10) as client:  # a connection of its own
            client.get(f"{base}/health")
        return time.monotonic() - started

    with ThreadPoolExecutor(max_workers=probes) as pool:
        return max(pool.map(probe, range(probes)))


def test_a_frozen_database_fails_fast_and_clearly_and_recovers(
    launched: Launched, fault_services: FaultServices, chat_room: ChatRoom
) -> None:
    writer = chat_room.open(chat_room.admin)
    base = launched.app.base_url
    wait_health(launched.app, 200, timeout=10)
    time.sleep(1)  # the page's last load events are done: no handler is inside a query

    with fault_services.frozen_postgres():
        for _ in range(3):  # every probe answers fast; hung probes do not pile up
            started = time.monotonic()
            health = httpx.get(f"{base}/health", timeout=10)
            took = time.monotonic() - started
            assert health.status_code == 503 and took < 1.5, (health.status_code, took)
            assert health.json()["database"]["ok"] is False
        print(f"/health with a frozen database: 503 in {took:.2f} s")

        started = time.monotonic()
        send(writer, "written while the database hangs")
        # The post's handler now waits on the database (for up to the ping and connect
        # timeouts) on whichever worker holds the tab: the worker still answers. Several
        # probes at once, each on a connection of its own, so some reach that worker.
        time.sleep(0.5)
        slowest = _slowest_of_probes(base, probes=8)
        # Each probe waits its 1 s deadline on the database; stalled, one waited 5.5 s.
        assert slowest < 2.5, f"a worker stalled for {slowest:.1f} s while a handler waited"
        print(f"/health while a handler waits on the database: slowest of 8 in {slowest:.2f} s")
        expect(writer.get_by_text(failures.UNAVAILABLE)).to_be_visible(timeout=45_000)
        print(f"the post failed with a message after {time.monotonic() - started:.1f} s")
        expect(writer.locator("#chat-composer")).to_have_value("written while the database hangs")

        visitor = chat_room.new_context().new_page()
        visitor.goto("/signin")
        expect(visitor.locator("#signin-submit")).to_be_visible()

    wait_health(launched.app, 200, timeout=30)
    writer.press("#chat-composer", "Enter")
    expect(
        writer.locator(".gh-chat-message", has_text="written while the database hangs")
    ).to_have_count(1, timeout=30_000)
    sign_in(visitor, chat_room.admin.email, chat_room.admin.password)
