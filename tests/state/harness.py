"""Drive the real Reflex State classes without a browser or a server.

Reflex 0.10.1 runs events through `BaseStateEventProcessor` against a state manager; this
harness wires one to an in-memory `StateManagerMemory` and records what would go to the
browser (state deltas and frontend events such as toasts, redirects and scripts). Each
`dispatch` is one websocket message from one tab: the event carries `router_data` built from
the harness's page, headers and IP, so handlers see exactly what they would in production
(`self.router.headers.cookie`, `self.router.session.client_ip`, `self.router.url`).

    tab = StateHarness(cookie=f.new_admin().token, path="/admin/members")
    reply = tab.dispatch(MembersState.invite({"email": "x@example.com", "role": "learner"}))
    assert reply.toast("success")
    assert tab.state(MembersState).invites

One harness is one browser tab (one client token, one state tree) and owns an event loop:
use it as a context manager (`with StateHarness(...) as tab:`) so it is closed. Several
harnesses are several tabs (or several people). Page `on_load` events are not replayed on a
tab's first event (`_rehydrate` is a no-op here, as in Reflex's own unit tests): dispatch the
page's load handler yourself, as a navigation would.

`tab.state(Cls)` is the live state after the events so far; `tab.bare_state(Cls)` applies
the current page's router data without running an event, for calling private helpers such
as `SessionState._require()` directly.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.state import BaseState
from reflex_base.event import Event, EventSpec
from reflex_base.event.context import EventContext
from reflex_base.event.processor import BaseStateEventProcessor

from app.settings import get_settings

S = TypeVar("S", bound=BaseState)

ORIGIN = "http://localhost:3000"
DEFAULT_IP = "203.0.113.7"


class _Processor(BaseStateEventProcessor):
    """The real processor, minus the hydrate/on_load replay on a tab's first event.

    That replay needs the compiled `rx.App` (its page table); tests call load handlers
    explicitly instead, which keeps each test's sequence of events visible.
    """

    async def _rehydrate(self, root_state: BaseState) -> None:
        return None


@dataclass
class Reply:
    """What one dispatched event (and any backend events it chained) sent to the browser."""

    events: list[Event] = field(default_factory=list)
    deltas: list[Mapping[str, Mapping[str, Any]]] = field(default_factory=list)

    @property
    def redirects(self) -> list[str]:
        """Paths of `rx.redirect(...)`."""
        return [str(e.payload.get("path")) for e in self.events if e.name == "_redirect"]

    @property
    def scripts(self) -> list[str]:
        """JavaScript of `rx.call_script(...)` / `rx.call_function(...)` / toasts, as text."""
        out = []
        for e in self.events:
            if e.name in ("_call_script", "_call_function"):
                code = e.payload.get("javascript_code", e.payload.get("function", ""))
                out.append(str(code))
        return out

    @property
    def locations(self) -> list[str]:
        """URLs passed to `window.location.assign(...)` (our `go(url)` helper)."""
        found = []
        for code in self.scripts:
            for m in re.finditer(r"window\.location\.assign\((\"(?:[^\"\\]|\\.)*\")\)", code):
                found.append(json.loads(m.group(1)))
        return found

    def toasts(self, level: str | None = None) -> list[str]:
        """The JS of every toast (optionally of one level: success, error, ...)."""
        pattern = "toast" if level is None else f'["{level}"]'
        return [c for c in self.scripts if "toast" in c and pattern in c]

    def toast(self, level: str, text: str = "") -> bool:
        """Whether a toast of `level` containing `text` was sent."""
        return any(text in c for c in self.toasts(level))


class StateHarness:
    """One browser tab: a client token, its page, headers and cookie, and its state tree."""

    def __init__(
        self,
        *,
        cookie: str | None = None,
        path: str = "/dashboard",
        ip: str = DEFAULT_IP,
        user_agent: str = "pytest-harness",
        raw_cookie: str | None = None,
    ) -> None:
        self.token = str(uuid.uuid4())
        self.ip = ip
        self.user_agent = user_agent
        self._raw_cookie = raw_cookie
        self.session_token = cookie
        self.path = path
        self._runner = asyncio.Runner()
        self._state_manager = StateManagerMemory()
        self._processor = _Processor(
            backend_exception_handler=self._on_error, graceful_shutdown_timeout=5
        )
        self._reply: Reply | None = None
        self._errors: list[BaseException] = []
        self._processor._root_context = EventContext(
            token="",
            state_manager=self._state_manager,
            enqueue_impl=self._processor.enqueue_many,
            emit_delta_impl=self._emit_delta,
            emit_event_impl=self._emit_event,
        )
        self._started = False

    # ------------------------------------------------------------------ page and cookie

    def sign_in(self, session_token: str | None) -> StateHarness:
        """Use this session token as the `gh_session` cookie (None: no cookie)."""
        self.session_token, self._raw_cookie = session_token, None
        return self

    def set_raw_cookie(self, header: str) -> StateHarness:
        """Send this exact `Cookie` header."""
        self._raw_cookie = header
        return self

    def navigate(self, path: str) -> StateHarness:
        """Make `path` (with any `?query`) the page the next events come from."""
        self.path = path
        return self

    @property
    def cookie_header(self) -> str:
        if self._raw_cookie is not None:
            return self._raw_cookie
        if self.session_token is None:
            return ""
        return f"{get_settings().session_cookie_name}={self.session_token}"

    def router_data(self) -> dict[str, Any]:
        """The router data the browser would send with an event from the current page."""
        parts = urlsplit(self.path)
        headers = {
            "host": "localhost:8000",
            "origin": ORIGIN,
            "user-agent": self.user_agent,
            "upgrade": "websocket",
        }
        if self.cookie_header:
            headers["cookie"] = self.cookie_header
        return {
            "pathname": parts.path,
            "asPath": self.path,
            "query": dict(parse_qsl(parts.query)),
            "token": self.token,
            "sid": f"sid-{self.token[:8]}",
            "headers": headers,
            "ip": self.ip,
        }

    # ------------------------------------------------------------------ events

    async def _emit_delta(self, _token: str, delta: Mapping[str, Mapping[str, Any]]) -> None:
        if self._reply is not None:
            self._reply.deltas.append(delta)

    async def _emit_event(self, _token: str, *events: Event) -> None:
        if self._reply is not None:
            self._reply.events.extend(events)

    def _on_error(self, exc: Exception) -> None:
        self._errors.append(exc)

    async def _dispatch(self, spec: EventSpec) -> None:
        if not self._started:
            await self._processor.start()
            self._started = True
        (event,) = Event.from_event_type(spec, router_data=self.router_data())
        future = await self._processor.enqueue(self.token, event)
        await asyncio.wait_for(future.wait_all(), timeout=30)
        await self._processor.join(timeout=30)

    def dispatch(self, spec: EventSpec) -> Reply:
        """Send one event (e.g. `MembersState.invite(form)`) and wait for its whole chain.

        A handler that raises re-raises here (unhandled errors are bugs, not refusals).
        """
        self._reply = Reply()
        self._errors = []
        try:
            self._runner.run(self._dispatch(spec))
        finally:
            reply, self._reply = self._reply, None
        if self._errors:
            raise self._errors[0]
        return reply

    # ------------------------------------------------------------------ reading state

    async def _get_state(self, cls: type[S]) -> S:
        root = await self._state_manager.get_state(BaseStateToken(ident=self.token, cls=cls))
        return await root.get_state(cls)

    def state(self, cls: type[S]) -> S:
        """The tab's live instance of `cls` (after the events so far)."""
        return self._runner.run(self._get_state(cls))

    def bare_state(self, cls: type[S]) -> S:
        """`cls` in this tab with the router data of the current page applied but no event
        run, for calling private helpers such as `_require` directly."""
        substate = self.state(cls)
        root = substate._get_root_state()
        root.router_data = root._update_router_vars(self.router_data(), root.router_data)
        return substate

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        """Stop the processor and the tab's event loop."""
        if self._started:
            self._runner.run(self._processor.stop())
            self._started = False
        self._runner.run(self._state_manager.close())
        self._runner.close()

    def __enter__(self) -> StateHarness:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
