"""The live contract: every broker topic's name and the one payload shape it carries.

A topic is a template (`org:{org}:course:{course}:progress`) and a pydantic payload class.
Publishers build names with `Topic.name(...)` and hand `broker.publish_after_commit` a
payload instance (it refuses one of the wrong class); subscribers register with the
`Topic` and receive the payload parsed back (`Topic.parse`), or None on a resync or a
message that does not fit. A push only says "something changed": views reload from the
database, so a payload carries hints (which learners, which message), never the truth.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

log = logging.getLogger(__name__)

MAX_PUSHED_USERS = 50  # a progress push names at most this many learners


class Payload(BaseModel):
    """A message on a topic: small, flat, JSON-safe; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def as_message(self) -> dict[str, Any]:
        """The JSON-safe dict the broker sends."""
        return self.model_dump(mode="json")


class CatalogChanged(Payload):
    """A published course changed (its card or its place in the catalog)."""

    course_id: str
    status: str


class ConfigChanged(Payload):
    """An org's settings changed; `section` is the one that did, or `*` for all."""

    org_id: str
    section: str


ChannelChange = Literal["new", "edit", "delete", "members", "channel"]


class ChannelChanged(Payload):
    """A chat channel changed: a message (`new`, `edit`, `delete`, with its id), its
    members (`members`), or the channel itself (`channel`: renamed, archived)."""

    kind: ChannelChange
    message_id: str = ""


class ChatListChanged(Payload):
    """The list of channels one person sees changed (a new DM, a cohort move, a removal)."""

    kind: Literal["channels"] = "channels"


class InboxChanged(Payload):
    """Someone's notifications changed: a new one (its kind, title and id) or `read`."""

    kind: str
    title: str = ""
    id: str = ""


ProgressKind = Literal[
    "lesson_completed", "quiz_attempt", "video", "recertification", "cohort", "enrollment"
]


class ProgressMoved(Payload):
    """Learners of a course moved: a lesson, a quiz attempt, watched video, a
    recertification back to 0 %, a cohort placement, or their enrollment itself (enrolled,
    applied, approved, rejected, withdrawn)."""

    kind: ProgressKind
    user_ids: list[str] = Field(min_length=1, max_length=MAX_PUSHED_USERS)
    enrollment_id: str = ""
    lesson_id: str = ""
    percent: int | None = None
    score: float | None = None


P = TypeVar("P", bound=Payload)
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Topic(Generic[P]):
    """One topic family: a name template with `{slot}`s, and the payload class it carries."""

    template: str
    payload: type[P]
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = _SLOT.split(self.template)
        # split() alternates literal text and slot names: literal, slot, literal, ...
        regex = "".join(
            re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^:]+)" for i, part in enumerate(parts)
        )
        object.__setattr__(self, "_regex", re.compile(regex))

    @property
    def slots(self) -> tuple[str, ...]:
        """The template's slot names, in order."""
        return tuple(_SLOT.findall(self.template))

    def name(self, **ids: uuid.UUID | str) -> str:
        """The concrete topic for these ids (every slot, nothing else, none with a colon)."""
        if set(ids) != set(self.slots):
            raise ValueError(f"{self.template} needs {self.slots}, got {sorted(ids)}")
        values = {k: str(v) for k, v in ids.items()}
        if any(not v or ":" in v for v in values.values()):
            raise ValueError(f"{self.template}: an id is empty or holds ':'")
        return self.template.format(**values)

    def ids(self, topic: str) -> dict[str, str] | None:
        """The slot values of `topic`, or None when it is not one of this family."""
        found = self._regex.fullmatch(topic)
        return None if found is None else found.groupdict()

    def matches(self, topic: str) -> bool:
        """Whether `topic` belongs to this family."""
        return self._regex.fullmatch(topic) is not None

    def parse(self, message: dict[str, Any] | None) -> P | None:
        """The payload of a received message, or None when it does not fit (logged)."""
        if not message:
            return None
        try:
            return self.payload.model_validate(message)
        except ValidationError:
            log.warning("dropped a %s payload that does not fit: %.200r", self.template, message)
            return None


CATALOG = Topic("org:{org}:catalog", CatalogChanged)
CONFIG = Topic("org:{org}:config", ConfigChanged)
CHANNEL = Topic("org:{org}:channel:{channel}", ChannelChanged)
CHAT_LIST = Topic("org:{org}:user:{user}:chat", ChatListChanged)
INBOX = Topic("user:{user}:inbox", InboxChanged)
PROGRESS = Topic("org:{org}:course:{course}:progress", ProgressMoved)

ALL: tuple[Topic[Any], ...] = (CATALOG, CONFIG, CHANNEL, CHAT_LIST, INBOX, PROGRESS)


def topic_of(name: str) -> Topic[Any] | None:
    """The family `name` belongs to, or None."""
    return next((t for t in ALL if t.matches(name)), None)


def check(name: str, payload: Payload) -> dict[str, Any]:
    """The message to send for `payload` on `name`; ValueError when `name` is no known
    topic or `payload` is not its payload class (a publisher bug, caught by tests)."""
    family = topic_of(name)
    if family is None:
        raise ValueError(f"unknown topic {name!r}")
    if type(payload) is not family.payload:
        raise ValueError(
            f"{name!r} carries {family.payload.__name__}, not {type(payload).__name__}"
        )
    return payload.as_message()
