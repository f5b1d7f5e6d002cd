"""The outbox: work caused by a change, written in the same transaction as the change."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, ts_field


class OutboxJob(SQLModel, table=True):
    """One job. Workers claim `pending` jobs whose `run_after` has come (or `running` jobs
    whose lease ran out: their worker died), run the handler for `kind`, and mark them
    `done`, retry them later, or move them to `dead` after `max_attempts`."""

    __tablename__ = "outbox_jobs"
    __table_args__ = (
        Index("ix_outbox_jobs_org_created", "org_id", "created"),
        Index("ix_outbox_jobs_status_run_after", "status", "run_after"),
    )

    id: uuid.UUID = id_field()
    org_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id")
    kind: str = Field(max_length=60)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Enqueueing the same logical job twice (a retried request) is a no-op.
    dedupe_key: str | None = Field(default=None, max_length=200, unique=True)
    status: str = Field(default="pending", max_length=20)
    attempts: int = 0
    max_attempts: int = 5
    run_after: datetime = created_field()
    locked_by: str = Field(default="", max_length=100)
    locked_until: datetime | None = ts_field()
    last_error: str = Field(default="", max_length=2000)
    finished_at: datetime | None = ts_field()
    created: datetime = created_field()
