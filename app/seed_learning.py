"""The demo tenant's learning content: two published courses, learners part-way through them,
a completed course with its certificate, and one mandatory course with an overdue learner.

Everything goes through the same services the UI calls (an instructor builds and publishes,
learners enroll and complete, staff make a course mandatory), so the demo shows real data.
Idempotent: when the first demo course exists, nothing is done.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlmodel import col, select

from app.models.base import utcnow
from app.models.course import Course, LessonKind
from app.models.enrollment import Enrollment
from app.models.user import Membership, Role, User
from app.seed_media import demo_pdf, demo_video
from app.services.authoring import (
    course_lessons,
    course_outline,
    course_status,
    courses,
    media,
    questions,
)
from app.services.comms import chat_channels, chat_courses, chat_messages
from app.services.core.tenancy import (
    OrgContext,
    mark_scoped,
    public_session,
    scoped,
    tenant_session,
)
from app.services.credentials import compliance_rules
from app.services.learning import (
    cohort_lifecycle,
    cohort_placement,
    enrollments,
    lesson_completion,
    quizzes,
)
from app.services.people import auth, members

SAFETY = "Workplace Safety Essentials"
SERVICE = "Customer Service Foundations"
EXTRA_LEARNERS = [
    ("priya@riverside.example.com", "Priya Patel"),
    ("jordan@riverside.example.com", "Jordan Reyes"),
]


@dataclass
class BuiltCourse:
    """A seeded course and its lessons by title, and its quiz answers."""

    course_id: uuid.UUID
    lessons: dict[str, uuid.UUID]
    quiz_answers: dict[str, Any]


def _context(email: str, org_id: uuid.UUID) -> OrgContext:
    with public_session() as session:
        user = auth.find_user_by_email(session, email)
        assert user is not None, f"demo account {email} is missing"
        return auth.build_context(session, user, org_id)


def _build(
    ctx: OrgContext, details: dict[str, Any], modules: list[tuple[str, list[dict[str, Any]]]]
) -> BuiltCourse:
    """Create, fill and publish one course as `ctx` (an instructor)."""
    with tenant_session(ctx) as session:
        course = courses.do_create_course(session, ctx, data=details)
    lessons: dict[str, uuid.UUID] = {}
    answers: dict[str, Any] = {}
    for module_title, items in modules:
        with tenant_session(ctx) as session:
            module = course_outline.do_add_module(
                session, ctx, course_id=course.id, title=module_title
            )
        for item in items:
            with tenant_session(ctx) as session:
                lesson = course_lessons.do_add_lesson(
                    session,
                    ctx,
                    course_id=course.id,
                    module_id=module.id,
                    kind=item["kind"],
                    title=item["title"],
                )
                lessons[item["title"]] = lesson.id
                course_lessons.do_update_lesson(
                    session,
                    ctx,
                    course_id=course.id,
                    lesson_id=lesson.id,
                    body=item.get("body", ""),
                    passing_score=item.get("passing_score"),
                    max_attempts=item.get("max_attempts"),
                )
                if "media" in item:
                    filename, data = item["media"]
                    media.do_attach_media(
                        session,
                        ctx,
                        course_id=course.id,
                        lesson_id=lesson.id,
                        source=data,
                        filename=filename,
                    )
                for question in item.get("questions", []):
                    row = questions.do_add_question(
                        session, ctx, course_id=course.id, lesson_id=lesson.id, **question
                    )
                    if question["kind"] == "short":
                        answers[str(row.id)] = question["answer"][0]
                    else:
                        answers[str(row.id)] = question["answer"]
    with tenant_session(ctx) as session:
        course_status.do_publish_course(session, ctx, course_id=course.id)
    return BuiltCourse(course_id=course.id, lessons=lessons, quiz_answers=answers)


def _safety_course(ctx: OrgContext, video: bytes) -> BuiltCourse:
    return _build(
        ctx,
        {
            "title": SAFETY,
            "summary": "The safety basics everyone on site needs, in under an hour.",
            "description": (
                "What to do **before**, **during** and **after** a shift so that everyone "
                "goes home safe.\n\n- Spotting hazards\n- Lifting and carrying\n- Reporting"
            ),
            "category": "Health and safety",
            "level": "beginner",
            "delivery_mode": "online",
            "certificate_valid_days": 365,
        },
        [
            (
                "Getting started",
                [
                    {
                        "kind": LessonKind.text,
                        "title": "Why safety comes first",
                        "body": (
                            "# Why safety comes first\n\nMost accidents at work are "
                            "preventable. This course shows you how.\n\n> Stop, think, then "
                            "act."
                        ),
                    },
                    {
                        "kind": LessonKind.file,
                        "title": "Site safety handbook",
                        "body": "Read the handbook and keep a copy at hand.",
                        "media": (
                            "site-safety-handbook.pdf",
                            demo_pdf(
                                "Site safety handbook",
                                [
                                    "1. Wear the protective equipment your task needs.",
                                    "2. Keep walkways clear.",
                                    "3. Report every near miss the same day.",
                                ],
                            ),
                        ),
                    },
                ],
            ),
            (
                "On the floor",
                [
                    {
                        "kind": LessonKind.video,
                        "title": "Lifting safely",
                        "body": "Watch how to lift with your legs, not your back.",
                        "media": ("lifting-safely.webm", video),
                    },
                    {
                        "kind": LessonKind.quiz,
                        "title": "Safety check",
                        "passing_score": 70,
                        "max_attempts": 3,
                        "questions": [
                            {
                                "kind": "single",
                                "prompt": "You see a spill in a walkway. What first?",
                                "options": [
                                    "Walk around it",
                                    "Make the area safe and report it",
                                    "Wait for the cleaners",
                                ],
                                "answer": [1],
                                "explanation": "Make it safe, then report it.",
                            },
                            {
                                "kind": "multiple",
                                "prompt": "Which of these protect your back when lifting?",
                                "options": [
                                    "Bending your knees",
                                    "Twisting while lifting",
                                    "Keeping the load close",
                                ],
                                "answer": [0, 2],
                            },
                        ],
                    },
                ],
            ),
        ],
    )


def _service_course(ctx: OrgContext, video: bytes) -> BuiltCourse:
    return _build(
        ctx,
        {
            "title": SERVICE,
            "summary": "Listening, first calls and difficult conversations.",
            "description": "A practical course for anyone who talks to customers.",
            "category": "Customer service",
            "level": "intermediate",
            "delivery_mode": "hybrid",
            "shared_with_children": True,
        },
        [
            (
                "Listening",
                [
                    {
                        "kind": LessonKind.text,
                        "title": "Listening well",
                        "body": "## Listening well\n\nLet the customer finish. Repeat back "
                        "what you heard. Then answer.",
                    },
                    {
                        "kind": LessonKind.video,
                        "title": "A good first call",
                        "media": ("first-call.webm", video),
                    },
                ],
            ),
            (
                "Practice",
                [
                    {
                        "kind": LessonKind.quiz,
                        "title": "Scenarios",
                        "passing_score": 50,
                        "max_attempts": 0,
                        "questions": [
                            {
                                "kind": "single",
                                "prompt": "A customer is angry. What do you do first?",
                                "options": ["Interrupt", "Listen to the end", "Transfer"],
                                "answer": [1],
                            },
                            {
                                "kind": "short",
                                "prompt": "One word: what do you do with what you heard?",
                                "answer": ["repeat", "summarise", "summarize"],
                            },
                        ],
                    },
                ],
            ),
        ],
    )


def _ensure_learners(org_id: uuid.UUID) -> None:
    from app.db import widen_scope
    from app.seed import DEMO_PASSWORD
    from app.services.core.security import hash_password

    with public_session() as session:
        widen_scope(session, org_ids={org_id})
        for email, name in EXTRA_LEARNERS:
            user = auth.find_user_by_email(session, email)
            if user is None:
                user = User(email=email, full_name=name, password_hash=hash_password(DEMO_PASSWORD))
                session.add(user)
                session.flush()
            member = session.exec(
                mark_scoped(
                    select(Membership).where(
                        Membership.org_id == org_id, Membership.user_id == user.id
                    )
                )
            ).first()
            if member is None:
                session.add(Membership(org_id=org_id, user_id=user.id, role=Role.learner))
        session.commit()


def _enroll(ctx: OrgContext, course: BuiltCourse) -> None:
    with tenant_session(ctx) as session:
        enrollments.do_enroll(session, ctx, course_id=course.course_id, funding_source="self_pay")


def _complete(ctx: OrgContext, course: BuiltCourse, *titles: str) -> None:
    for title in titles:
        with tenant_session(ctx) as session:
            lesson_completion.do_complete_lesson(
                session, ctx, course_id=course.course_id, lesson_id=course.lessons[title]
            )


def _pass_quiz(ctx: OrgContext, course: BuiltCourse, title: str) -> None:
    with tenant_session(ctx) as session:
        quizzes.do_submit_attempt(
            session,
            ctx,
            course_id=course.course_id,
            lesson_id=course.lessons[title],
            answers=course.quiz_answers,
        )


def _team(admin: OrgContext, manager_email: str, learner_emails: list[str]) -> None:
    """Put the learners in the manager's team (their compliance view shows them)."""
    with tenant_session(admin) as session:
        rows = members.list_members(session, admin, page_size=200).rows
        by_email = {r.email: r for r in rows}
        manager = by_email[manager_email]
        for email in learner_emails:
            members.do_assign_manager(
                session, admin, by_email[email].membership_id, manager.user_id
            )


def _make_overdue(admin: OrgContext, email: str, course_id: uuid.UUID) -> None:
    """Move one mandatory enrollment's due date into the past (the demo's overdue learner)."""
    with public_session() as session:
        user = auth.find_user_by_email(session, email)
    assert user is not None
    with tenant_session(admin) as session:
        row = session.exec(
            scoped(admin, Enrollment).where(
                Enrollment.user_id == user.id, Enrollment.course_id == course_id
            )
        ).one()
        row.due_at = utcnow() - timedelta(days=3)
        session.add(row)
        session.commit()


def seed_learning(org_id: uuid.UUID) -> bool:
    """Build the demo courses in `org_id` unless they exist; True when it built them."""
    from app.seed import DEMO_PEOPLE

    emails = {role: email for email, _name, role in DEMO_PEOPLE}
    instructor = _context(emails[Role.instructor], org_id)
    with tenant_session(instructor) as session:
        existing = session.exec(
            scoped(instructor, Course, org_ids=[org_id]).where(Course.title == SAFETY)
        ).first()
    if existing is not None:
        return False
    _ensure_learners(org_id)
    video = demo_video(30)
    safety = _safety_course(instructor, video)
    service = _service_course(instructor, video)

    lee = _context(emails[Role.learner], org_id)
    priya = _context(EXTRA_LEARNERS[0][0], org_id)
    jordan = _context(EXTRA_LEARNERS[1][0], org_id)
    # Priya finished customer service (a certificate is issued by the worker).
    _enroll(priya, service)
    _complete(priya, service, "Listening well", "A good first call")
    _pass_quiz(priya, service, "Scenarios")
    # Lee is part-way through it.
    _enroll(lee, service)
    _complete(lee, service, "Listening well")

    # Safety is mandatory for everyone within 30 days; Jordan has started, Lee is overdue.
    admin = _context(emails[Role.org_admin], org_id)
    with tenant_session(admin) as session:
        compliance_rules.do_set_rule(
            session, admin, course_id=safety.course_id, role="", days_to_complete=30
        )
    _complete(jordan, safety, "Why safety comes first", "Site safety handbook")
    _make_overdue(admin, emails[Role.learner], safety.course_id)
    _team(admin, emails[Role.manager], [emails[Role.learner], EXTRA_LEARNERS[1][0]])
    _say(instructor, "Welcome to Riverside! Ask anything about the courses here.")
    _say(jordan, "Thanks! Is the safety handbook the same as the one on site?")
    _say(instructor, "Yes, it is the current edition: https://example.com/handbook")
    _cohort(instructor, safety, "Spring intake", [lee, jordan])
    return True


def _cohort(
    instructor: OrgContext, course: BuiltCourse, name: str, learners: list[OrgContext]
) -> None:
    """A cohort of the course with these (enrolled) learners, and a hello in its channel."""
    user_ids = [c.user_id for c in learners]
    with tenant_session(instructor) as session:
        made = cohort_lifecycle.do_create_cohort(
            session, instructor, course_id=course.course_id, name=name, capacity="20"
        )
        enrollment_ids = session.exec(
            scoped(instructor, Enrollment).where(
                Enrollment.course_id == course.course_id,
                col(Enrollment.user_id).in_(user_ids),
            )
        ).all()
        cohort_placement.do_assign(
            session, instructor, cohort_id=made.id, enrollment_ids=[e.id for e in enrollment_ids]
        )
        channel = chat_courses.cohort_channel(session, instructor, made.id)
        chat_messages.do_post_message(
            session,
            instructor,
            channel_id=channel.id,
            body=f"Hello {name}! This channel is just for this cohort.",
        )


def _say(ctx: OrgContext, text: str) -> None:
    """A message in the org's General channel."""
    with tenant_session(ctx) as session:
        channel = chat_channels.org_channel(session, ctx)
        chat_messages.do_post_message(session, ctx, channel_id=channel.id, body=text)
