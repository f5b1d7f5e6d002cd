"""In-app notifications (the bell): one row per recipient."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, ts_field


class Notification(SQLModel, table=True):
    """Something a user should see. `org_id` is the org where it happened, which may be below
    the recipient's org (a learner of a child org enrolling in a shared course); the recipient
    reads their own rows by `user_id`."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_created", "user_id", "created"),)

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    kind: str = Field(max_length=60)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=1000)
    link: str = Field(default="", max_length=500)
    # one notification per cause (a retried job does not notify twice)
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    read_at: datetime | None = ts_field()
    created: datetime = created_field()


class NotificationPreference(SQLModel, table=True):
    """Which kinds of notification a member also wants by email, in one org."""

    __tablename__ = "notification_preferences"
    __table_args__ = (UniqueConstraint("org_id", "user_id", name="uq_notification_prefs_user"),)

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    email_kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    modified: datetime = created_field()


class Announcement(SQLModel, table=True):
    """A message from an admin or instructor to an org, a course's learners, or a role."""

    __tablename__ = "announcements"

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    sender_id: uuid.UUID = Field(foreign_key="users.id")
    audience: str = Field(max_length=20)  # org | course | role
    course_id: uuid.UUID | None = Field(default=None, foreign_key="courses.id")
    role: str = Field(default="", max_length=30)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=2000)
    recipients: int = 0
    created: datetime = created_field()
