"""Course-world factories that write rows directly (no business rules), for tests that need a
published course, an enrollment or a certificate without going through the authoring UI.

Tests of the rules themselves use the services; these build the ground they stand on. Every
row belongs to the org of the context given, like a service would write it.

    course = lf.published_course(admin.ctx)            # 2 modules: text, file, video, quiz
    enrollment = lf.enrollment(learner.ctx, course.course_id)
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from app.models import (
    Announcement,
    Certificate,
    ChatChannel,
    ChatMember,
    ChatMessage,
    Cohort,
    Course,
    CourseModule,
    CourseStatus,
    Enrollment,
    Lesson,
    LessonKind,
    LessonProgress,
    MandatoryRule,
    Notification,
    NotificationPreference,
    Program,
    QuestionKind,
    QuizAttempt,
    QuizQuestion,
)
from app.models.base import utcnow
from app.services.core.tenancy import OrgContext, tenant_session
from tests.factories import unique


@dataclass(frozen=True)
class CourseWorld:
    """A course and the ids of what is in it, in order."""

    course_id: uuid.UUID
    org_id: uuid.UUID
    module_ids: list[uuid.UUID]
    lesson_ids: list[uuid.UUID]  # in course order
    quiz_lesson_id: uuid.UUID
    question_ids: list[uuid.UUID]
    title: str
    by_kind: dict[str, uuid.UUID] = field(default_factory=dict)


def published_course(
    ctx: OrgContext,
    *,
    title: str | None = None,
    status: str = CourseStatus.published,
    shared: bool = False,
    requires_approval: bool = False,
    price_cents: int = 0,
    sequential: bool = False,
    category: str = "Safety",
    level: str = "beginner",
    delivery_mode: str = "online",
) -> CourseWorld:
    """A course in the context's org: module 1 (text, file), module 2 (video, quiz).

    The quiz has one single-choice question (right answer: option 1) and one short-answer
    question (accepted: "blue"), 1 point each, passing score 100, 2 attempts.
    """
    assert ctx.org_id is not None
    org_id = ctx.org_id
    title = title or unique("Course")
    with tenant_session(ctx) as session:
        course = Course(
            org_id=org_id,
            title=title,
            summary=f"About {title}",
            description="A course made by a test factory.",
            category=category,
            level=level,
            delivery_mode=delivery_mode,
            status=status,
            shared_with_children=shared,
            requires_approval=requires_approval,
            price_cents=price_cents,
            sequential=sequential,
            created_by=ctx.user_id,
            instructor_id=ctx.user_id,
            published_at=utcnow() if status == CourseStatus.published else None,
        )
        session.add(course)
        session.flush()
        m1 = CourseModule(org_id=org_id, course_id=course.id, title="Basics", position=0)
        m2 = CourseModule(org_id=org_id, course_id=course.id, title="Practice", position=1)
        session.add_all([m1, m2])
        session.flush()
        lessons = [
            Lesson(
                org_id=org_id,
                course_id=course.id,
                module_id=m1.id,
                title="Welcome",
                kind=LessonKind.text,
                position=0,
                body="# Welcome\n\nRead this first.",
            ),
            Lesson(
                org_id=org_id,
                course_id=course.id,
                module_id=m1.id,
                title="Handbook",
                kind=LessonKind.file,
                position=1,
                media_key=f"org/{org_id}/courses/{course.id}/handbook.pdf",
                media_name="handbook.pdf",
                media_type="application/pdf",
                media_size=1234,
            ),
            Lesson(
                org_id=org_id,
                course_id=course.id,
                module_id=m2.id,
                title="Demo video",
                kind=LessonKind.video,
                position=0,
                media_key=f"org/{org_id}/courses/{course.id}/demo.webm",
                media_name="demo.webm",
                media_type="video/webm",
                media_size=4321,
                duration_seconds=60.0,
            ),
            Lesson(
                org_id=org_id,
                course_id=course.id,
                module_id=m2.id,
                title="Check yourself",
                kind=LessonKind.quiz,
                position=1,
                passing_score=100,
                max_attempts=2,
            ),
        ]
        session.add_all(lessons)
        session.flush()
        quiz = lessons[-1]
        questions = [
            QuizQuestion(
                org_id=org_id,
                lesson_id=quiz.id,
                position=0,
                kind=QuestionKind.single,
                prompt="Which colour is the sky?",
                options=["Green", "Blue", "Red"],
                answer=[1],
                points=1,
                explanation="Look up.",
            ),
            QuizQuestion(
                org_id=org_id,
                lesson_id=quiz.id,
                position=1,
                kind=QuestionKind.short,
                prompt="Name the sky's colour in one word.",
                answer=["blue"],
                points=1,
            ),
        ]
        session.add_all(questions)
        session.commit()
        return CourseWorld(
            course_id=course.id,
            org_id=org_id,
            module_ids=[m1.id, m2.id],
            lesson_ids=[lesson.id for lesson in lessons],
            quiz_lesson_id=quiz.id,
            question_ids=[q.id for q in questions],
            title=title,
            by_kind={lesson.kind: lesson.id for lesson in lessons},
        )


def enrollment(
    ctx: OrgContext, course: CourseWorld, *, status: str = "active", progress: bool = False
) -> uuid.UUID:
    """Enroll the context's user in `course` (rows only); with `progress`, the first lesson is
    completed and the video half watched."""
    assert ctx.org_id is not None
    with tenant_session(ctx) as session:
        row = Enrollment(
            org_id=ctx.org_id,
            course_org_id=course.org_id,
            user_id=ctx.user_id,
            course_id=course.course_id,
            status=status,
            funding_source="self_pay",
        )
        session.add(row)
        session.flush()
        if progress:
            session.add(
                LessonProgress(
                    org_id=ctx.org_id,
                    enrollment_id=row.id,
                    lesson_id=course.lesson_ids[0],
                    user_id=ctx.user_id,
                    status="completed",
                    completed_at=utcnow(),
                )
            )
            session.add(
                LessonProgress(
                    org_id=ctx.org_id,
                    enrollment_id=row.id,
                    lesson_id=course.by_kind[LessonKind.video],
                    user_id=ctx.user_id,
                    position_seconds=30.0,
                    watched_seconds=30.0,
                    watched_ranges=[[0.0, 30.0]],
                )
            )
        session.commit()
        return row.id


def everything(ctx: OrgContext) -> dict[str, uuid.UUID]:
    """One row in every learning table for the context's org and user (the RLS world)."""
    assert ctx.org_id is not None
    course = published_course(ctx)
    enrollment_id = enrollment(ctx, course, progress=True)
    with tenant_session(ctx) as session:
        program = Program(org_id=ctx.org_id, title=unique("Program"), created_by=ctx.user_id)
        attempt = QuizAttempt(
            org_id=ctx.org_id,
            enrollment_id=enrollment_id,
            lesson_id=course.quiz_lesson_id,
            user_id=ctx.user_id,
            number=1,
            answers={},
            max_score=2,
        )
        rule = MandatoryRule(org_id=ctx.org_id, course_id=course.course_id, created_by=ctx.user_id)
        cert = Certificate(
            org_id=ctx.org_id,
            enrollment_id=enrollment_id,
            user_id=ctx.user_id,
            course_id=course.course_id,
            serial=secrets.token_hex(8),
            learner_name=ctx.full_name,
            course_title=course.title,
            issuer_name=ctx.org_name,
            expires_at=utcnow() + timedelta(days=365),
        )
        note = Notification(org_id=ctx.org_id, user_id=ctx.user_id, kind="test", title="Hello")
        prefs = NotificationPreference(
            org_id=ctx.org_id, user_id=ctx.user_id, email_kinds=["certificate.issued"]
        )
        news = Announcement(
            org_id=ctx.org_id, sender_id=ctx.user_id, audience="org", title="Welcome"
        )
        channel = ChatChannel(org_id=ctx.org_id, kind="org", name="General")
        cohort = Cohort(org_id=ctx.org_id, course_id=course.course_id, name=unique("Cohort"))
        session.add_all([program, attempt, rule, cert, note, prefs, news, channel, cohort])
        session.flush()
        member = ChatMember(org_id=ctx.org_id, channel_id=channel.id, user_id=ctx.user_id)
        message = ChatMessage(
            org_id=ctx.org_id, channel_id=channel.id, user_id=ctx.user_id, body="Hi"
        )
        session.add_all([member, message])
        session.commit()
        return {
            "course_id": course.course_id,
            "enrollment_id": enrollment_id,
            "certificate_id": cert.id,
            "program_id": program.id,
        }


def cohort(
    ctx: OrgContext,
    course: CourseWorld,
    name: str,
    members: list[uuid.UUID] | None = None,
) -> uuid.UUID:
    """A cohort of `course` in the context's org (rows only), with the enrollments whose ids
    are in `members` placed in it (moved out of any other cohort)."""
    from sqlalchemy import update
    from sqlmodel import col

    assert ctx.org_id is not None
    with tenant_session(ctx) as session:
        row = Cohort(
            org_id=ctx.org_id, course_id=course.course_id, name=name, created_by=ctx.user_id
        )
        session.add(row)
        session.flush()
        if members:
            session.execute(
                update(Enrollment)
                .where(col(Enrollment.id).in_(list(members)))
                .values(cohort_id=row.id)
            )
        session.commit()
        return row.id
