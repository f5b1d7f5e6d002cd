"""Shared column helpers: UUID keys and UTC timestamps on every row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime
from sqlmodel import Field


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def id_field() -> uuid.UUID:
    """A random UUID primary key: ids are not guessable or enumerable across tenants."""
    return Field(default_factory=uuid.uuid4, primary_key=True)  # type: ignore[no-any-return]


def created_field() -> datetime:
    """A `created` column set once on insert."""
    return Field(  # type: ignore[no-any-return]
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )


def modified_field() -> datetime:
    """A `modified` column the services bump on update."""
    return Field(  # type: ignore[no-any-return]
        default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False
    )


def ts_field(*, nullable: bool = True) -> datetime | None:
    """An optional timezone-aware timestamp column."""
    return Field(  # type: ignore[no-any-return]
        default=None, sa_type=DateTime(timezone=True), nullable=nullable
    )


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; treat them as the UTC they were stored as."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
