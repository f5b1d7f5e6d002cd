"""A finished (or running) CSV import of members, with its per-row report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, modified_field, ts_field


class MemberImport(SQLModel, table=True):
    """One CSV import into one org: counts and every row's outcome (for the error report)."""

    __tablename__ = "member_imports"

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    filename: str = Field(default="", max_length=200)
    # preview (checked, waiting for Confirm) | running | finished
    status: str = Field(default="running", max_length=20)
    total: int = 0
    created_count: int = 0  # new accounts made
    added_count: int = 0  # existing accounts added (or reactivated)
    failed_count: int = 0
    # [{"line": 2, "email": ..., "full_name": ..., "role": ..., "manager_email": ...,
    #   "status": "created" | "added" | "error", "message": ...}, ...]; while in preview,
    # the rows of the file waiting to be imported (status "pending").
    report: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created: datetime = created_field()
    modified: datetime = modified_field()
    finished_at: datetime | None = ts_field()
