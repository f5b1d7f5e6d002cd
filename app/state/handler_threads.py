"""Our synchronous event handlers run on worker threads, never on the event loop.

Reflex calls a plain (non-async) event handler straight on the worker's event loop. Most of
ours read or write the database, so one of them waiting on a hung PostgreSQL (up to the
pool-ping plus connect timeouts, or a statement's) froze everything else that worker does:
every other tab's events, its websocket pings, `/health`. `install()` makes Reflex run each
synchronous handler defined in `app.` on a thread of a pool of our own while the loop awaits
it; the handler still holds its tab's state lock, so nothing else touches that state
meanwhile, and a generator handler runs each step on a thread with the deltas it yields sent
from the loop as before.

Reflex's own handlers (hydrate, the generated setters) stay on the loop: they are quick and
some expect the loop's thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import inspect
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from reflex_base.event import EventHandler
from reflex_base.event.processor import base_state_processor

T = TypeVar("T")

# As many threads as one worker's database pool has connections (5 + 10 overflow, app/db.py),
# plus one: handlers waiting on a hung database use them up before the loop would wait.
THREADS = 16

_executor = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="guildhall-handler")
_loop_var: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "guildhall_handler_loop", default=None
)
_moved: dict[EventHandler, EventHandler] = {}
_MARK = "_guildhall_off_loop"


def event_loop() -> asyncio.AbstractEventLoop | None:
    """The worker's event loop: the running one, or, on a handler's thread, the loop that
    handed the handler over (None outside a running app, as in unit tests)."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return _loop_var.get()


async def run_off_loop(call: Callable[[], T]) -> T:
    """Run `call` on a handler thread with this context (Reflex's event context, the app's
    registration) and return its result.

    If the awaiting event is cancelled (superseded, or its tab went away), this still waits
    for the thread to finish before letting the cancellation through: the thread may be
    changing the tab's state, and leaving early would release the state lock under it.
    """
    loop = asyncio.get_running_loop()
    context = contextvars.copy_context()
    context.run(_loop_var.set, loop)
    future = loop.run_in_executor(_executor, context.run, call)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            try:
                await asyncio.wait({future})
            except asyncio.CancelledError:
                continue
        raise


def _step(generator: Any) -> tuple[bool, Any]:
    """One step of a generator handler: (finished, what it yielded or returned)."""
    try:
        return False, next(generator)
    except StopIteration as stop:
        return True, stop.value


def threaded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An async stand-in for the synchronous handler `fn` that runs it on a handler thread."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        async def steps(state: Any, **payload: Any) -> AsyncIterator[Any]:
            generator = fn(state, **payload)  # runs nothing yet
            while True:
                finished, value = await run_off_loop(functools.partial(_step, generator))
                if not finished or value is not None:
                    yield value  # a step's deltas, or what the handler returned at the end
                if finished:
                    return

        return steps

    @functools.wraps(fn)
    async def call(state: Any, **payload: Any) -> Any:
        return await run_off_loop(functools.partial(fn, state, **payload))

    return call


def _ours(handler: EventHandler) -> bool:
    fn = handler.fn
    return (
        inspect.isfunction(fn)
        and fn.__module__.startswith("app.")
        and not handler.is_background
        and not inspect.iscoroutinefunction(fn)
        and not inspect.isasyncgenfunction(fn)
    )


def off_loop(handler: EventHandler) -> EventHandler:
    """The handler Reflex should call for `handler`: ours when it is one of our synchronous
    handlers (made once per handler), else `handler` itself."""
    moved = _moved.get(handler)
    if moved is not None:
        return moved
    if not _ours(handler):
        return handler
    moved = dataclasses.replace(
        handler, fn=threaded(handler.fn), _type_hints=handler._get_type_hints()
    )
    _moved[handler] = moved
    return moved


def install() -> None:
    """Route Reflex's event processing through `off_loop` (once; safe to call again)."""
    original = base_state_processor.process_event
    if getattr(original, _MARK, False):
        return

    @functools.wraps(original)
    async def process_event(
        handler: EventHandler, payload: dict[str, Any], state: Any, root_state: Any
    ) -> None:
        return await original(off_loop(handler), payload, state, root_state)

    setattr(process_event, _MARK, True)
    base_state_processor.process_event = process_event
