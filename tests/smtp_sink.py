"""A real SMTP server for tests (aiosmtpd on loopback) that keeps what it receives."""

from __future__ import annotations

import asyncio
import re
import socket
import threading
import time
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Inbox:
    """The messages the server accepted, oldest first (aiosmtpd's handler interface)."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        with self._lock:
            self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, email: str) -> list[Message]:
        """Messages addressed to `email` (case-insensitive)."""
        with self._lock:
            return [m for m in self.messages if str(m["To"]).lower() == email.lower()]

    def wait_message(self, email: str, subject: str, *, timeout: float = 20.0) -> Message:
        """The newest message to `email` whose subject contains `subject`, waiting for it."""
        deadline = time.monotonic() + timeout
        while True:
            for message in reversed(self.to(email)):
                if subject in str(message["Subject"]):
                    return message
            if time.monotonic() > deadline:
                raise AssertionError(f"no mail about {subject!r} reached {email}")
            time.sleep(0.2)

    def wait_link(self, email: str, path: str, *, timeout: float = 20.0) -> str:
        """The newest link under `path` (e.g. "/invite/") mailed to `email`, waiting for the
        job worker to send it."""
        deadline = time.monotonic() + timeout
        pattern = re.compile(rf"https?://\S+{re.escape(path)}[A-Za-z0-9_-]+")
        while True:
            for message in reversed(self.to(email)):
                found = pattern.search(str(message.get_payload(decode=True) or b"", "utf-8"))
                if found:
                    return found.group(0)
            if time.monotonic() > deadline:
                raise AssertionError(f"no {path} link was mailed to {email} in {timeout:.0f} s")
            time.sleep(0.2)


class SmtpSink:
    """`Inbox` (or the `inbox` given, e.g. a `SlowInbox`) behind a running aiosmtpd server;
    `stop()` when done."""

    def __init__(self, inbox: Inbox | None = None) -> None:
        self.inbox = inbox or Inbox()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=free_port())
        self._controller.start()
        self.port = int(self._controller.port)

    def stop(self) -> None:
        """Shut the server down."""
        self._controller.stop()


class SlowInbox(Inbox):
    """An inbox whose server is slow, at one step, with the conversations that send mail to
    `recipient` (other mail goes through at once).

    `stall="rcpt"`: the server sits on its answer to RCPT TO, before it has the message
    (a client killed then has delivered nothing). `stall="data"`: the server has the whole
    message (it is in `messages` already) but sits on its "250 OK" to the end of DATA, like
    a server that scans or queues slowly (a client killed then cannot know it was
    delivered). `stalled` is set while the server holds an answer; it holds it until
    `release()`, or `max_stall` seconds. Once released it never stalls again.
    """

    def __init__(self, *, stall: str, recipient: str, max_stall: float = 60.0) -> None:
        super().__init__()
        if stall not in ("rcpt", "data"):
            raise ValueError("stall is 'rcpt' or 'data'")
        self.stall, self.recipient, self.max_stall = stall, recipient.lower(), max_stall
        self.stalled = threading.Event()
        self._released = threading.Event()

    def release(self) -> None:
        """Let the held answer (and every later one) go."""
        self._released.set()

    async def handle_RCPT(
        self, server: object, session: object, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.stall == "rcpt" and address.lower() == self.recipient:
            await self._hold()
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if self.stall == "data" and self.recipient in [a.lower() for a in envelope.rcpt_tos]:
            await self._hold()
        return reply

    async def _hold(self) -> None:
        if self._released.is_set():
            return
        self.stalled.set()
        deadline = time.monotonic() + self.max_stall
        while not self._released.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)


class SlowSmtpSink(SmtpSink):
    """`SlowInbox` behind a running aiosmtpd server (see `SlowInbox`); `stop()` when done."""

    def __init__(self, *, stall: str, recipient: str, max_stall: float = 60.0) -> None:
        self.slow = SlowInbox(stall=stall, recipient=recipient, max_stall=max_stall)
        super().__init__(self.slow)

    def stop(self) -> None:
        """Let anything held go, then shut the server down."""
        self.slow.release()
        super().stop()
