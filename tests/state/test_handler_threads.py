"""Our synchronous event handlers run on threads: while one waits (on a hung database, say),
the worker's event loop goes on serving everything else."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from reflex.state import State
from reflex_base.event.processor import base_state_processor

from app.state import handler_threads
from app.state.chat import ChatState
from app.state.handler_threads import event_loop, install, off_loop, threaded
from app.state.session import SessionState


async def _ticks_while(task: asyncio.Future[Any], step: float = 0.01) -> int:
    """How many times the loop got to run a short sleep while `task` was pending."""
    ticks = 0
    while not task.done():
        await asyncio.sleep(step)
        ticks += 1
    return ticks


def test_the_loop_keeps_running_while_a_handler_waits() -> None:
    gate = threading.Event()
    seen: dict[str, Any] = {}

    def handler(state: dict[str, Any], value: int) -> str:
        seen["thread"] = threading.get_ident()
        seen["loop"] = event_loop()
        gate.wait(5)  # stands for a query on a hung database
        state["value"] = value
        return "done"

    async def main() -> tuple[int, str, float]:
        state: dict[str, Any] = {}
        task = asyncio.ensure_future(threaded(handler)(state, value=7))
        asyncio.get_running_loop().call_later(0.3, gate.set)
        started = time.monotonic()
        ticks = await _ticks_while(task)
        assert state == {"value": 7}
        seen["main"] = asyncio.get_running_loop()
        return ticks, task.result(), time.monotonic() - started

    ticks, result, took = asyncio.run(main())
    assert result == "done" and took >= 0.29
    # On the loop a 0.3 s wait would have let no tick run at all.
    assert ticks >= 10, ticks
    assert seen["thread"] != threading.get_ident()
    assert seen["loop"] is seen["main"]  # hub.watch on a handler thread still finds the loop


def test_a_generator_handler_yields_each_step_and_its_return_value_in_order() -> None:
    threads: list[int] = []

    def handler(state: list[str]) -> Any:
        threads.append(threading.get_ident())
        state.append("first")
        yield "one"
        threads.append(threading.get_ident())
        state.append("second")
        yield None  # a bare yield: Reflex sends the delta so far
        return "last"

    async def main() -> list[Any]:
        state: list[str] = []
        got = [item async for item in threaded(handler)(state)]
        assert state == ["first", "second"]
        return got

    assert asyncio.run(main()) == ["one", None, "last"]
    assert threading.get_ident() not in threads


def test_a_cancelled_event_waits_for_its_thread_before_letting_go() -> None:
    """Reflex cancels an event that is superseded or whose tab left; the state lock is freed
    when the cancellation comes through, so it must not come through while the thread still
    changes the state."""
    gate = threading.Event()
    finished = threading.Event()

    def handler(_state: object) -> None:
        gate.wait(5)
        finished.set()

    async def main() -> bool:
        task = asyncio.ensure_future(threaded(handler)(None))
        await asyncio.sleep(0.05)
        task.cancel()
        asyncio.get_running_loop().call_later(0.2, gate.set)
        with pytest.raises(asyncio.CancelledError):
            await task
        return finished.is_set()

    assert asyncio.run(main()) is True


def test_only_our_synchronous_handlers_are_moved() -> None:
    send = ChatState.event_handlers["send"]
    moved = off_loop(send)
    assert moved is not send and moved is off_loop(send)  # made once
    assert moved._is_coroutine_function and moved.fn.__wrapped__ is send.fn
    assert moved._get_type_hints() == send._get_type_hints()  # payloads convert as before
    load = SessionState.event_handlers["load_private"]
    assert off_loop(load) is not load
    # Reflex's own stay on the loop.
    hydrate = State.event_handlers["hydrate"]
    assert off_loop(hydrate) is hydrate


def test_install_routes_reflex_event_processing_through_off_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[Any] = []

    async def original(handler: Any, payload: Any, state: Any, root_state: Any) -> None:
        calls.append(handler)

    monkeypatch.setattr(base_state_processor, "process_event", original)
    install()
    install()  # a second call changes nothing
    patched = base_state_processor.process_event
    assert patched is not original
    send = ChatState.event_handlers["send"]
    asyncio.run(patched(send, {}, None, None))
    assert calls == [handler_threads.off_loop(send)]


def test_reflex_still_runs_every_event_through_the_patched_name() -> None:
    """The seam: Reflex's processor calls `process_event` by its module-level name, so the
    patched one is what runs. Fails if an upgrade calls it some other way."""
    processor = base_state_processor.BaseStateEventProcessor
    callers = [processor._execute_event, processor._rehydrate]
    assert all("process_event" in fn.__code__.co_names for fn in callers)
