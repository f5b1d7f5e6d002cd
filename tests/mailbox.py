"""Mail as its recipient gets it, in the embedded mode (no SMTP).

Messages that carry a secret link never reach the mail log; without SMTP their real body is
written to the `guildhall.mail` logger once the change commits. `Mailbox` listens there, so a
test reads a reset, invite or sign-up link the way a person running `make run` would: from
the delivered message, never from the log an admin can read.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

_LOGGER = "guildhall.mail"


@dataclass(frozen=True)
class Delivered:
    """One message as delivered."""

    to: str
    subject: str
    body: str


class Mailbox(logging.Handler):
    """Collects the messages the `guildhall.mail` logger delivers while attached."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[Delivered] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if isinstance(args, tuple) and len(args) == 3:
            to, subject, body = (str(a) for a in args)
            self.messages.append(Delivered(to=to, subject=subject, body=body))

    def to(self, email: str) -> list[Delivered]:
        """Messages delivered to `email` (case-insensitive), oldest first."""
        return [m for m in self.messages if m.to.lower() == email.lower()]

    def link(self, email: str, path: str) -> str:
        """The newest link under `path` (e.g. "/reset/") delivered to `email`."""
        for message in reversed(self.to(email)):
            found = re.search(rf"https?://\S+{re.escape(path)}[A-Za-z0-9_-]+", message.body)
            if found:
                return found.group(0)
        raise AssertionError(f"no {path} link was delivered to {email}")

    def token(self, email: str, path: str) -> str:
        """The token at the end of `link(email, path)`."""
        return self.link(email, path).rsplit("/", 1)[1]

    def attach(self) -> None:
        """Start collecting."""
        logger = logging.getLogger(_LOGGER)
        logger.addHandler(self)
        if logger.getEffectiveLevel() > logging.WARNING:
            logger.setLevel(logging.WARNING)

    def detach(self) -> None:
        """Stop collecting."""
        logging.getLogger(_LOGGER).removeHandler(self)
