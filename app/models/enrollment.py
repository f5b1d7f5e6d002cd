"""A learner's place in a course: the enrollment, progress per lesson, quiz attempts, and the
rules that make a course mandatory.

Rows belong to the learner's org (`org_id`), which may be below the course's org when the
course is shared down the hierarchy; `course_org_id` keeps the course's side.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, modified_field, ts_field


class EnrollmentStatus(enum.StrEnum):
    """Where an enrollment is."""

    pending = "pending"  # applied; waits for staff approval
    rejected = "rejected"
    active = "active"
    completed = "completed"
    withdrawn = "withdrawn"


class ProgressStatus(enum.StrEnum):
    """Where a learner is in one lesson."""

    in_progress = "in_progress"
    completed = "completed"


class Cohort(SQLModel, table=True):
    """A group of one course's learners who go through it together (a class intake, a
    site's crew), with its own dates and seats; belongs to the learners' org."""

    __tablename__ = "cohorts"
    __table_args__ = (
        UniqueConstraint("org_id", "course_id", "name", name="uq_cohorts_course_name"),
    )

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    name: str = Field(max_length=80)
    starts_on: datetime | None = ts_field()
    ends_on: datetime | None = ts_field()
    capacity: int | None = None  # None: no seat limit
    is_archived: bool = False
    created_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created: datetime = created_field()
    modified: datetime = modified_field()


class Enrollment(SQLModel, table=True):
    """One per learner and course (a re-enrollment reuses the row)."""

    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("user_id", "course_id", name="uq_enrollments_user_course"),
        Index("ix_enrollments_org_course", "org_id", "course_id"),
    )

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    course_org_id: uuid.UUID = Field(foreign_key="organizations.id")
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    status: str = Field(default=EnrollmentStatus.active, max_length=20)
    funding_source: str = Field(default="", max_length=40)
    # self | approval | mandatory | staff
    source: str = Field(default="self", max_length=20)
    mandatory: bool = False
    due_at: datetime | None = ts_field()
    progress_percent: int = 0
    application_note: str = Field(default="", max_length=1000)
    decided_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    decision_reason: str = Field(default="", max_length=1000)
    decided_at: datetime | None = ts_field()
    last_lesson_id: uuid.UUID | None = Field(default=None, foreign_key="lessons.id")
    cohort_id: uuid.UUID | None = Field(default=None, foreign_key="cohorts.id", index=True)
    completed_at: datetime | None = ts_field()
    created: datetime = created_field()
    modified: datetime = modified_field()


class LessonProgress(SQLModel, table=True):
    """A learner's progress in one lesson of one enrollment."""

    __tablename__ = "lesson_progress"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "lesson_id", name="uq_lesson_progress_enrollment"),
    )

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", index=True)
    lesson_id: uuid.UUID = Field(foreign_key="lessons.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    status: str = Field(default=ProgressStatus.in_progress, max_length=20)
    # video: where to resume, and the merged [start, end] ranges actually played
    position_seconds: float = 0.0
    watched_seconds: float = 0.0
    watched_ranges: list[list[float]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    completed_at: datetime | None = ts_field()
    created: datetime = created_field()
    modified: datetime = modified_field()


class QuizAttempt(SQLModel, table=True):
    """One submitted attempt at a quiz, graded on submit (number is 1, 2, ... per quiz)."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (
        UniqueConstraint(
            "enrollment_id", "lesson_id", "number", name="uq_quiz_attempts_enrollment_number"
        ),
    )

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", index=True)
    lesson_id: uuid.UUID = Field(foreign_key="lessons.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    number: int = 1
    # {question_id: [option indexes] | "text"}
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    score: int = 0
    max_score: int = 0
    percent: int = 0
    passed: bool = False
    # [{"question_id", "correct", "points", "explanation"}, ...]
    feedback: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created: datetime = created_field()


class MandatoryRule(SQLModel, table=True):
    """A course everyone in the org (or everyone with a role) must complete within N days."""

    __tablename__ = "mandatory_rules"
    __table_args__ = (
        UniqueConstraint("org_id", "course_id", "role", name="uq_mandatory_rules_course_role"),
    )

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    role: str = Field(default="", max_length=30)  # "" means every member
    days_to_complete: int = 30
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created: datetime = created_field()
    modified: datetime = modified_field()
