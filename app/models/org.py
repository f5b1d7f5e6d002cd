"""Organizations (the tenants) and their stored configuration."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, modified_field


class OrgKind(enum.StrEnum):
    """What an organization is; kinds nest national > regional > local > group."""

    national = "national"
    regional = "regional"
    local = "local"
    group = "group"
    provider = "provider"
    employer = "employer"
    board = "board"


class Organization(SQLModel, table=True):
    """A tenant. `parent_id` builds the hierarchy; `sibling_key` keeps names unique per parent."""

    __tablename__ = "organizations"

    id: uuid.UUID = id_field()
    name: str = Field(max_length=120)
    kind: str = Field(default=OrgKind.provider.value, max_length=20)
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="organizations.id", index=True)
    # "<parent id or root>:<casefolded name>", unique: a name is taken once per parent, even
    # where row-level security hides the sibling that holds it.
    sibling_key: str = Field(max_length=200, unique=True)
    is_active: bool = True
    created: datetime = created_field()
    modified: datetime = modified_field()


class OrgSettings(SQLModel, table=True):
    """The org's own config overrides, as JSON validated by `OrgConfig` in the services."""

    __tablename__ = "org_settings"

    org_id: uuid.UUID = Field(foreign_key="organizations.id", primary_key=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = 1
    modified: datetime = modified_field()
