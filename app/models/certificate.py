"""Certificates of completion, verifiable by their serial on a public page."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, ts_field


class Certificate(SQLModel, table=True):
    """Issued once per completion of an enrollment (a recertification completes it again:
    one more certificate). What it shows is copied in at issue time, so the verification
    page needs nothing else (and reveals nothing else)."""

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "issued_at", name="uq_certificates_enrollment_issued"),
    )

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    serial: str = Field(max_length=40, unique=True, index=True)
    learner_name: str = Field(max_length=120)
    course_title: str = Field(max_length=200)
    issuer_name: str = Field(max_length=200)
    issued_at: datetime = created_field()  # the completion's moment (one per completion)
    expires_at: datetime | None = ts_field()
    revoked_at: datetime | None = ts_field()
    revoked_reason: str = Field(default="", max_length=500)
    pdf_key: str = Field(default="", max_length=1024)  # set by the certificate.issued job
    created: datetime = created_field()
