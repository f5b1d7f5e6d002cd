"""Coalescing live refreshes: one pending refresh per tab and refresher, bursts batched."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

import pytest

from app.state import live_coalesce as lc


async def _nothing(_key: Hashable, _changes: list[lc.Change]) -> None:
    return None


def test_a_burst_is_coalesced_into_one_pending_refresh_per_key() -> None:
    c = lc.Coalescer(_nothing)
    assert c.add("tab", ("t", 1), now=100.0) == 0.0  # the first message: refresh at once
    assert c.add("tab", ("t", 2), now=100.01) is None  # the rest of the burst: pending
    assert c.add("other", ("t", 1), now=100.01) == 0.0  # another tab is not held up
    assert c.changes["tab"] == [("t", 1), ("t", 2)]  # ... and the refresh gets them all
    c.pending.discard("tab")  # the refresh starts ...
    c.last_run["tab"] = 100.02
    # ... a message during it schedules exactly one more, after the window.
    assert c.delay("tab", now=100.05) == pytest.approx(lc.COALESCE_SECONDS - 0.03)
    assert c.delay("tab", now=100.06) is None


def test_a_message_during_a_refresh_makes_exactly_one_more_after_it_with_its_change() -> None:
    """Two refreshes of one key never run at once (they would read twice and queue on the
    tab's lock); changes that arrive while one runs are answered by one more, after it."""
    ran: list[list[lc.Change]] = []

    async def run(key: Hashable, changes: list[lc.Change]) -> None:
        ran.append(changes)
        if len(ran) == 1:  # learners move while the first refresh reads
            assert c.add(key, ("t", "second"), now=0.0) is None
            assert c.add(key, ("t", "third"), now=0.0) is None

    c = lc.Coalescer(run)

    async def scenario() -> None:
        assert c.add("tab", ("t", "first"), now=100.0) == 0.0
        await c.refresh("tab", 0.0)
        while c.tasks:
            await asyncio.gather(*list(c.tasks))

    asyncio.run(scenario())
    assert ran == [[("t", "first")], [("t", "second"), ("t", "third")]]
    assert not c.running and not c.pending and not c.again and not c.changes


def test_a_key_whose_refreshes_got_slow_is_refreshed_less_often() -> None:
    """Under load a roster refresh can take a second or more; refreshing every 300 ms would
    then keep the database busy with refreshes alone, so the gap grows with the cost."""
    c = lc.Coalescer(_nothing)
    c.last_run["slow"] = c.last_run["quick"] = 100.0
    c.cost["slow"], c.cost["quick"] = 0.6, 0.05
    assert c.delay("slow", now=100.1) == pytest.approx(lc.COST_FACTOR * 0.6 - 0.1)
    assert c.delay("quick", now=100.1) == pytest.approx(lc.COALESCE_SECONDS - 0.1)
    # ... but one refresh stuck at the peak of a burst does not hold the next one back long.
    c.last_run["stuck"], c.cost["stuck"] = 100.0, 30.0
    assert c.delay("stuck", now=100.1) == pytest.approx(lc.MAX_GAP_SECONDS - 0.1)


def test_a_pending_batch_keeps_only_the_newest_changes() -> None:
    c = lc.Coalescer(_nothing)
    for n in range(lc.MAX_BATCH + 5):
        c.add("tab", ("t", n), now=0.0)
    assert [n for _, n in c.changes["tab"]] == list(range(5, lc.MAX_BATCH + 5))
    c.forget(lambda key: key == "tab")
    assert "tab" not in c.changes
