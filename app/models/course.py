"""What instructors build: programs, courses, their modules, lessons and quiz questions.

A course belongs to one org. With `shared_with_children` and once published, it is also
offered to the orgs below that one (row-level security lets their sessions read it through
`app.ancestor_ids`). Lessons hold their content in the columns of their kind: Markdown for
`text`, a storage key for `file` and `video`, quiz settings for `quiz` (questions in their own
table).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from app.models.base import created_field, id_field, modified_field, ts_field


class CourseStatus(enum.StrEnum):
    """Where a course (or program) is in its life."""

    draft = "draft"
    published = "published"
    archived = "archived"


class LessonKind(enum.StrEnum):
    """What a lesson holds."""

    text = "text"
    file = "file"
    video = "video"
    quiz = "quiz"


class QuestionKind(enum.StrEnum):
    """How a quiz question is answered."""

    single = "single"  # one option is right
    multiple = "multiple"  # every right option and no wrong one
    short = "short"  # free text matched against accepted answers


class Program(SQLModel, table=True):
    """A named group of courses (a pathway or qualification)."""

    __tablename__ = "programs"

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_type=Text)
    status: str = Field(default=CourseStatus.draft, max_length=20)
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created: datetime = created_field()
    modified: datetime = modified_field()


class Course(SQLModel, table=True):
    """A course: what the catalog lists and learners enroll in."""

    __tablename__ = "courses"
    __table_args__ = (Index("ix_courses_org_status", "org_id", "status"),)

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    program_id: uuid.UUID | None = Field(default=None, foreign_key="programs.id", index=True)
    title: str = Field(max_length=200)
    summary: str = Field(default="", max_length=300)
    description: str = Field(default="", sa_type=Text)
    category: str = Field(default="", max_length=60)
    level: str = Field(default="beginner", max_length=20)
    delivery_mode: str = Field(default="online", max_length=20)
    cover_key: str = Field(default="", max_length=1024)
    status: str = Field(default=CourseStatus.draft, max_length=20)
    # Offered to the orgs below this one once published.
    shared_with_children: bool = False
    requires_approval: bool = False
    # Lessons open one module at a time: a module's lessons wait for the previous module.
    sequential: bool = False
    price_cents: int = 0
    currency: str = Field(default="usd", max_length=3)
    # Certificates expire this many days after issue (recertification); None: never.
    certificate_valid_days: int | None = None
    prerequisite_ids: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    instructor_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    created_by: uuid.UUID = Field(foreign_key="users.id")
    published_at: datetime | None = ts_field()
    created: datetime = created_field()
    modified: datetime = modified_field()


class CourseModule(SQLModel, table=True):
    """An ordered section of a course."""

    __tablename__ = "course_modules"

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    title: str = Field(max_length=200)
    position: int = 0
    created: datetime = created_field()
    modified: datetime = modified_field()


class Lesson(SQLModel, table=True):
    """One step of a module: text, a file, a video or a quiz."""

    __tablename__ = "lessons"

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    module_id: uuid.UUID = Field(foreign_key="course_modules.id", index=True)
    title: str = Field(max_length=200)
    kind: str = Field(default=LessonKind.text, max_length=20)
    position: int = 0
    required: bool = True
    body: str = Field(default="", sa_type=Text)  # Markdown (text lessons; intro for others)
    # file and video lessons: the stored object and what it is
    media_key: str = Field(default="", max_length=1024)
    media_name: str = Field(default="", max_length=200)
    media_type: str = Field(default="", max_length=100)
    media_size: int = 0
    duration_seconds: float = 0.0  # video length, reported by the player on first play
    # quiz lessons
    passing_score: int = 70  # percent of points
    max_attempts: int = 3  # 0: unlimited
    shuffle: bool = False
    created: datetime = created_field()
    modified: datetime = modified_field()


class QuizQuestion(SQLModel, table=True):
    """A question of a quiz lesson, with its right answers (never sent to learners)."""

    __tablename__ = "quiz_questions"

    id: uuid.UUID = id_field()
    org_id: uuid.UUID = Field(foreign_key="organizations.id", index=True)
    lesson_id: uuid.UUID = Field(foreign_key="lessons.id", index=True)
    position: int = 0
    kind: str = Field(default=QuestionKind.single, max_length=20)
    prompt: str = Field(sa_type=Text)
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # single/multiple: indexes of the right options; short: accepted answers (any case).
    answer: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    points: int = 1
    explanation: str = Field(default="", sa_type=Text)
    created: datetime = created_field()
    modified: datetime = modified_field()


__all__ = [
    "Course",
    "CourseModule",
    "CourseStatus",
    "Lesson",
    "LessonKind",
    "Program",
    "QuestionKind",
    "QuizQuestion",
]
