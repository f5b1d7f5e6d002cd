"""Chat: channels (generic over what they belong to), their members, and messages.

A channel's `kind` says who may be in it: `org` (every member of the org), `course` (its
enrolled learners and its staff), `event` (its attendees, when events exist), `interest`
(members who join and leave) and `direct` (two members of the same org). `subject_type` and
`subject_id` name what the channel belongs to (a course, an event), so new kinds need no
schema change. Member rows hold read markers, explicit joins and leaves, and mutes.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, modified_field, ts_field


class ChannelKind(enum.StrEnum):
    """Who a channel is for."""

    org = "org"
    course = "course"
    cohort = "cohort"
    event = "event"
    interest = "interest"
    direct = "direct"


class ChatChannel(SQLModel, table=True):
    """A place to talk."""

    __tablename__ = "chat_channels"
    __table_args__ = (
        Index("ix_chat_channels_org_kind", "org_id", "kind"),
        Index("ix_chat_channels_subject", "subject_type", "subject_id"),
    )

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    kind: str = Field(max_length=20)
    subject_type: str = Field(default="", max_length=20)  # "course", "cohort", "event" or ""
    subject_id: uuid.UUID | None = None
    name: str = Field(max_length=80)
    description: str = Field(default="", max_length=300)
    # one channel per org (kind org), per subject, per pair of people (direct)
    unique_key: str | None = Field(default=None, max_length=200, unique=True)
    is_archived: bool = False
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    last_message_at: datetime | None = ts_field()
    created: datetime = created_field()
    modified: datetime = modified_field()


class ChatMember(SQLModel, table=True):
    """A person in a channel: joined or left, read up to where, muted until when."""

    __tablename__ = "chat_members"
    __table_args__ = (UniqueConstraint("channel_id", "user_id", name="uq_chat_members_channel"),)

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    channel_id: uuid.UUID = Field(foreign_key="chat_channels.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    left_at: datetime | None = ts_field()  # left an interest channel, or removed
    removed_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    last_read_at: datetime | None = ts_field()
    muted_until: datetime | None = ts_field()  # a moderator's mute
    muted_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created: datetime = created_field()
    modified: datetime = modified_field()


class ChatMessage(SQLModel, table=True):
    """One message. Deleting keeps the row (who deleted it, when) and drops the text."""

    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_channel_created", "channel_id", "created"),)

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    channel_id: uuid.UUID = Field(foreign_key="chat_channels.id")
    user_id: uuid.UUID = Field(foreign_key="users.id")
    body: str = Field(default="", sa_type=Text)  # plain text; escaped when shown
    mentions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # the sender's request id: a retried send returns the first message, never a second
    client_key: str | None = Field(default=None, max_length=64, unique=True)
    edited_at: datetime | None = ts_field()
    deleted_at: datetime | None = ts_field()
    deleted_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created: datetime = created_field()
