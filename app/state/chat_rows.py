"""What the chat page shows, built from service rows: messages (text split into links),
members, the muted notice; the page's constants and its error toast."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import reflex as rx

from app.models.base import utcnow
from app.services.comms import chat_history
from app.services.comms import chat_members as cm
from app.services.core import links
from app.services.core.authz import ROLE_LABELS
from app.services.core.errors import ServiceError, Unauthenticated

MAX_SHOWN = 300  # messages kept in a tab's state; older ones reload with "Load earlier"
MUTE_MINUTES = ("10", "60", "1440", "10080")
KIND_ICONS = {
    "org": "building_2",
    "course": "graduation_cap",
    "cohort": "users",
    "interest": "hash",
    "event": "calendar",
    "direct": "user",
}


@dataclasses.dataclass
class MsgPart:
    """A piece of a message: text, or a link (http/https only) shown as its own text."""

    text: str = ""
    href: str = ""


@dataclasses.dataclass
class ChatMsg:
    """A message as the page shows it."""

    id: str = ""
    user_id: str = ""
    author: str = ""
    when: str = ""
    created: str = ""  # ISO timestamp (ordering and the history cursor)
    changed: str = ""  # ISO timestamp of the latest change (catch-up reads)
    body: str = ""
    parts: list[MsgPart] = dataclasses.field(default_factory=list)
    edited: bool = False
    deleted: bool = False
    mine: bool = False
    mentions_me: bool = False


def to_msg(row: chat_history.MessageRow) -> ChatMsg:
    """A service row as the page's message (text split into plain parts and links)."""
    return ChatMsg(
        id=row.id,
        user_id=row.user_id,
        author=row.author,
        when=row.created.strftime("%Y-%m-%d %H:%M"),
        created=row.created.isoformat(),
        changed=row.changed.isoformat(),
        body=row.body,
        parts=[MsgPart(text=t, href=h) for t, h in links.split_links(row.body)],
        edited=row.edited,
        deleted=row.deleted,
        mine=row.mine,
        mentions_me=row.mentions_me,
    )


def muted_text(until: datetime, now: datetime | None = None) -> str:
    """The muted notice, e.g. "You are muted in this channel until 14:05 UTC" (with the
    date too when the mute ends on another day)."""
    now = now or utcnow()
    when = f"{until:%H:%M} UTC" if until.date() == now.date() else f"{until:%Y-%m-%d %H:%M} UTC"
    return f"You are muted in this channel until {when}"


def member_dict(row: cm.MemberRow) -> dict[str, str]:
    return {
        "id": row.user_id,
        "name": row.name,
        "role": ROLE_LABELS.get(row.role, row.role),
        "muted_until": row.muted_until.strftime("%Y-%m-%d %H:%M UTC") if row.muted_until else "",
        "me": "1" if row.is_me else "",
        "can_mute": "1" if row.can_mute else "",
        "can_remove": "1" if row.can_remove else "",
    }


def fail(exc: ServiceError) -> rx.event.EventSpec:
    if isinstance(exc, Unauthenticated):
        return rx.redirect("/signin?next=/chat")
    return rx.toast.error(exc.message)
