"""A real SMTP server for tests (aiosmtpd on loopback) that keeps what it receives."""

from __future__ import annotations

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
    """`Inbox` behind a running aiosmtpd server; `stop()` when done."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=free_port())
        self._controller.start()
        self.port = int(self._controller.port)

    def stop(self) -> None:
        """Shut the server down."""
        self._controller.stop()
