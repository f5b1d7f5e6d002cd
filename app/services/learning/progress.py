"""The lesson player and progress: what a learner may open, completing lessons, video time
actually watched, and "My learning".

Gating: a lesson opens only to a learner with an active (or completed) enrollment, once the
course's prerequisite courses are completed; with `course.sequential`, a module's lessons
wait until every *required* lesson of the modules before it is completed. Preview mode is for
authors of the course's org: drafts included, nothing locked, nothing recorded.

Completion has one path (`record_completion`), used by "Mark complete", by a video watched
to 90 %, and by a passed quiz (`app.services.learning.quizzes`). It is idempotent (one
`lesson_progress` row per enrollment and lesson), recomputes the enrollment's percentage
(required lessons completed / required lessons), enqueues `lesson.completed` and, when the
last required lesson is done, completes the enrollment and enqueues `enrollment.completed`
(whose handler, in `credentials.certificates`, issues the certificate). After commit the
change is published on `org:{org}:course:{course}:progress` for live class views.

Recertification (`credentials.recertification`) may reopen a completed enrollment: it is
then active again with its progress reset, and works like any open enrollment. Each pass
through the course is a *cycle* (1 + the certificates the enrollment holds); the events of
cycle 2 and later carry the cycle in their dedupe keys, so completing the course again
issues a new certificate instead of being taken for the first completion.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.models.course import Course, Lesson, LessonKind
from app.models.enrollment import Enrollment, EnrollmentStatus, LessonProgress, ProgressStatus
from app.models.outbox import OutboxJob
from app.models.user import User
from app.services.authoring import course_read
from app.services.authoring.course_read import ModuleOutline
from app.services.comms import notifications
from app.services.config import org_config
from app.services.core.authz import Permission, require
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, count_rows, scoped, scoped_with_ancestors
from app.services.infra import broker, outbox, storage
from app.services.learning import enrollments

LESSON_COMPLETED = "lesson.completed"
ENROLLMENT_COMPLETED = "enrollment.completed"
ENROLL_FIRST = "Enroll in this course first."
WATCHED_TO_COMPLETE = 0.9
MAX_DURATION = 24 * 3600.0
MAX_RANGES = 500
OPEN_STATUSES = frozenset({EnrollmentStatus.active, EnrollmentStatus.completed})


def progress_topic(org_id: uuid.UUID | str, course_id: uuid.UUID | str) -> str:
    """The broker topic live class views of a course follow."""
    return f"org:{org_id}:course:{course_id}:progress"


VIDEO_PUBLISH_STEP = 5.0  # seconds of newly watched video that make a live update worth it


def publish_progress(
    session: Session,
    enrollment: Enrollment,
    *,
    lesson_id: uuid.UUID,
    kind: str,
    **extra: Any,
) -> None:
    """Tell live class views, after commit, that `enrollment` moved (`kind`:
    lesson_completed, quiz_attempt or video), on the topic of the enrollment's org."""
    broker.publish_after_commit(
        session,
        progress_topic(enrollment.org_id, enrollment.course_id),
        {
            "user_id": str(enrollment.user_id),
            "enrollment_id": str(enrollment.id),
            "lesson_id": str(lesson_id),
            "kind": kind,
            "percent": enrollment.progress_percent,
            **extra,
        },
    )


# --------------------------------------------------------------------------- views


@dataclass(frozen=True)
class OutlineItem:
    """A lesson in the player's side outline."""

    id: str
    title: str
    kind: str
    required: bool
    status: str  # done | current | locked | open


@dataclass(frozen=True)
class OutlinePart:
    """A module in the side outline."""

    id: str
    title: str
    lessons: list[OutlineItem]


@dataclass(frozen=True)
class LessonContent:
    """What the player shows of one lesson (empty content while locked)."""

    id: str
    title: str
    kind: str
    required: bool
    body: str  # Markdown
    media_url: str
    media_type: str
    media_name: str
    is_pdf: bool
    duration_seconds: float


@dataclass(frozen=True)
class PlayerView:
    """One lesson in the player, and where the learner is in the course."""

    course_id: str
    course_title: str
    lesson: LessonContent
    outline: list[OutlinePart]
    previous_id: str
    next_id: str
    locked: bool
    lock_reason: str
    preview: bool
    enrollment_id: str
    enrollment_status: str  # "" when not enrolled
    progress_percent: int
    completed: bool  # this lesson
    position_seconds: float  # where a video resumes
    watched_seconds: float


@dataclass(frozen=True)
class Completion:
    """What completing a lesson changed."""

    lesson_id: str
    newly_completed: bool
    progress_percent: int
    enrollment_completed: bool


@dataclass(frozen=True)
class VideoProgress:
    """A saved video position and what counts as watched."""

    position_seconds: float
    watched_seconds: float
    duration_seconds: float
    completed: bool
    progress_percent: int


@dataclass(frozen=True)
class LearningCard:
    """One enrollment on "My learning"."""

    enrollment_id: str
    course_id: str
    title: str
    summary: str
    cover_url: str
    status: str
    progress_percent: int
    due_at: datetime | None
    overdue: bool
    mandatory: bool
    next_lesson_id: str
    certificate_id: str
    decision_reason: str
    completed_at: datetime | None
    recertify_by: datetime | None = None  # reopened to recertify: due by then
    certificate_expired: bool = False  # the newest certificate has expired


# --------------------------------------------------------------------------- gating


def _checks(session: Session, ctx: OrgContext) -> uuid.UUID:
    require(ctx, Permission.learning_view)
    if ctx.org_id is None:
        raise NotFound()
    org_config.require_feature(session, ctx.org_id, "lms")
    return ctx.org_id


def completed_lessons(session: Session, ctx: OrgContext, enrollment: Enrollment) -> set[uuid.UUID]:
    """Ids of the lessons this enrollment has completed."""
    rows = session.exec(
        scoped(ctx, LessonProgress, org_ids=[enrollment.org_id]).where(
            LessonProgress.enrollment_id == enrollment.id,
            LessonProgress.status == ProgressStatus.completed,
        )
    ).all()
    return {r.lesson_id for r in rows}


def lock_reasons(
    course: Course,
    parts: list[ModuleOutline],
    done: set[uuid.UUID],
    *,
    missing_prerequisites: list[str],
) -> dict[uuid.UUID, str]:
    """Why each lesson is locked ("" when open), from completion and the course's rules."""
    reasons: dict[uuid.UUID, str] = {}
    if missing_prerequisites:
        why = f"Complete these courses first: {', '.join(missing_prerequisites)}."
        return {lesson.id: why for part in parts for lesson in part.lessons}
    blocker = ""
    for part in parts:
        for lesson in part.lessons:
            reasons[lesson.id] = blocker
        pending = any(lesson.required and lesson.id not in done for lesson in part.lessons)
        if course.sequential and not blocker and pending:
            blocker = f"Finish the required lessons of “{part.module.title}” first."
    return reasons


def _first_open(
    parts: list[ModuleOutline], done: set[uuid.UUID], locks: dict[uuid.UUID, str]
) -> str:
    lessons = [lesson for part in parts for lesson in part.lessons]
    for lesson in lessons:
        if lesson.id not in done and not locks.get(lesson.id):
            return str(lesson.id)
    return str(lessons[0].id) if lessons else ""


def next_lesson_id(
    session: Session,
    ctx: OrgContext,
    course: Course,
    *,
    enrollment: Enrollment | None = None,
    outline: list[ModuleOutline] | None = None,
) -> str:
    """The lesson "Start"/"Continue" opens: the first open lesson not yet completed (the
    first lesson when all are done; "" when the course has none)."""
    parts = outline if outline is not None else course_read.outline(session, ctx, course)
    done = completed_lessons(session, ctx, enrollment) if enrollment is not None else set()
    locks = lock_reasons(course, parts, done, missing_prerequisites=[])
    return _first_open(parts, done, locks)


@dataclass
class _Place:
    course: Course
    parts: list[ModuleOutline]
    lesson: Lesson
    enrollment: Enrollment | None
    done: set[uuid.UUID]
    locks: dict[uuid.UUID, str]

    @property
    def lessons(self) -> list[Lesson]:
        return [lesson for part in self.parts for lesson in part.lessons]

    def lock(self) -> str:
        if self.enrollment is None or self.enrollment.status not in OPEN_STATUSES:
            if self.enrollment is not None and self.enrollment.status == EnrollmentStatus.pending:
                return "Your application is waiting for approval."
            return ENROLL_FIRST
        return self.locks.get(self.lesson.id, "")


def locate(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    preview: bool = False,
) -> _Place:
    """Load a lesson of a course the caller may see, with the caller's enrollment and what
    is locked (internal to the learning services)."""
    _checks(session, ctx)
    course = course_read.access_course(session, ctx, course_id, author=preview)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    parts = course_read.outline(session, ctx, course)
    if preview:
        return _Place(course, parts, lesson, None, set(), {})
    mine = enrollments.own_enrollment(session, ctx, course.id)
    done = completed_lessons(session, ctx, mine) if mine is not None else set()
    missing = [p.title for p in enrollments.prerequisites(session, ctx, course) if not p.met]
    if mine is not None and mine.status == EnrollmentStatus.completed:
        missing = []  # a finished course stays open for review
    locks = lock_reasons(course, parts, done, missing_prerequisites=missing)
    return _Place(course, parts, lesson, mine, done, locks)


def open_enrollment(place: _Place) -> Enrollment:
    """The caller's enrollment when it lets them record progress, else a refusal."""
    if place.enrollment is None or place.enrollment.status not in OPEN_STATUSES:
        raise ValidationFailed(ENROLL_FIRST)
    reason = place.locks.get(place.lesson.id, "")
    if reason:
        raise ValidationFailed(reason)
    return place.enrollment


# --------------------------------------------------------------------------- the player


def _progress_row(
    session: Session, ctx: OrgContext, enrollment: Enrollment, lesson_id: uuid.UUID
) -> LessonProgress | None:
    return session.exec(
        scoped(ctx, LessonProgress, org_ids=[enrollment.org_id]).where(
            LessonProgress.enrollment_id == enrollment.id, LessonProgress.lesson_id == lesson_id
        )
    ).first()


def media_url(lesson: Lesson) -> str:
    """The URL a lesson's file or video is served from ("" without a usable key)."""
    if lesson.media_key and storage.is_valid_key(lesson.media_key):
        return storage.public_url(lesson.media_key)
    return ""


def player_view(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    preview: bool = False,
) -> PlayerView:
    """One lesson in the player. A locked lesson comes without its content, with the reason.

    `preview=True` (authors of the course's org only): drafts too, nothing locked, nothing
    recorded.
    """
    place = locate(session, ctx, course_id=course_id, lesson_id=lesson_id, preview=preview)
    lesson = place.lesson
    reason = "" if preview else place.lock()
    locked = bool(reason)
    row = None
    if place.enrollment is not None and not preview:
        row = _progress_row(session, ctx, place.enrollment, lesson.id)
    ordered = place.lessons
    index = next(i for i, item in enumerate(ordered) if item.id == lesson.id)
    not_enrolled = not preview and (
        place.enrollment is None or place.enrollment.status not in OPEN_STATUSES
    )

    def status(item: Lesson) -> str:
        if item.id == lesson.id:
            return "current"
        if item.id in place.done:
            return "done"
        if not preview and (not_enrolled or place.locks.get(item.id)):
            return "locked"
        return "open"

    content = LessonContent(
        id=str(lesson.id),
        title=lesson.title,
        kind=lesson.kind,
        required=lesson.required,
        body="" if locked else lesson.body,
        media_url="" if locked else media_url(lesson),
        media_type=lesson.media_type,
        media_name=lesson.media_name,
        is_pdf=lesson.media_type == "application/pdf" or lesson.media_name.lower().endswith(".pdf"),
        duration_seconds=lesson.duration_seconds,
    )
    return PlayerView(
        course_id=str(place.course.id),
        course_title=place.course.title,
        lesson=content,
        outline=[
            OutlinePart(
                id=str(part.module.id),
                title=part.module.title,
                lessons=[
                    OutlineItem(
                        id=str(item.id),
                        title=item.title,
                        kind=item.kind,
                        required=item.required,
                        status=status(item),
                    )
                    for item in part.lessons
                ],
            )
            for part in place.parts
        ],
        previous_id=str(ordered[index - 1].id) if index > 0 else "",
        next_id=str(ordered[index + 1].id) if index + 1 < len(ordered) else "",
        locked=locked,
        lock_reason=reason,
        preview=preview,
        enrollment_id=str(place.enrollment.id) if place.enrollment else "",
        enrollment_status=place.enrollment.status if place.enrollment else "",
        progress_percent=place.enrollment.progress_percent if place.enrollment else 0,
        completed=lesson.id in place.done,
        position_seconds=row.position_seconds if row else 0.0,
        watched_seconds=row.watched_seconds if row else 0.0,
    )


def resume_lesson_id(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, preview: bool = False
) -> str:
    """Where `/learn/{course}` (or `/preview/{course}`) sends the learner."""
    _checks(session, ctx)
    course = course_read.access_course(session, ctx, course_id, author=preview)
    mine = None if preview else enrollments.own_enrollment(session, ctx, course.id)
    return next_lesson_id(session, ctx, course, enrollment=mine)


# --------------------------------------------------------------------------- completion


def _percent(lessons: list[Lesson], done: set[uuid.UUID]) -> int:
    required = [lesson.id for lesson in lessons if lesson.required]
    if not required:
        return 100 if lessons and all(lesson.id in done for lesson in lessons) else 0
    return math.floor(100 * len([i for i in required if i in done]) / len(required))


def _all_required_done(lessons: list[Lesson], done: set[uuid.UUID]) -> bool:
    required = [lesson.id for lesson in lessons if lesson.required] or [
        lesson.id for lesson in lessons
    ]
    return bool(required) and all(i in done for i in required)


def completion_cycle(session: Session, ctx: OrgContext, enrollment: Enrollment) -> int:
    """Which pass through the course the enrollment is in: 1, then one more for every
    certificate it holds (each recertification reopens it after one was issued)."""
    held = count_rows(
        session,
        scoped(ctx, Certificate, org_ids=[enrollment.org_id]).where(
            Certificate.enrollment_id == enrollment.id
        ),
    )
    return held + 1


def _cycle_key(key: str, cycle: int) -> str:
    """A dedupe key for this cycle (the first cycle keeps the plain key)."""
    return key if cycle <= 1 else f"{key}:{cycle}"


def record_completion(
    session: Session, ctx: OrgContext, place: _Place, enrollment: Enrollment
) -> Completion:
    """Complete `place.lesson` for `enrollment` inside the caller's transaction (no commit):
    the progress row, the percentage, the events, and the enrollment's completion when the
    last required lesson is done. A lesson already completed changes nothing."""
    lesson = place.lesson
    row = _progress_row(session, ctx, enrollment, lesson.id)
    if row is not None and row.status == ProgressStatus.completed:
        return Completion(str(lesson.id), False, enrollment.progress_percent, False)
    now = utcnow()
    if row is None:
        row = LessonProgress(
            org_id=enrollment.org_id,
            enrollment_id=enrollment.id,
            lesson_id=lesson.id,
            user_id=enrollment.user_id,
        )
    row.status, row.completed_at, row.modified = ProgressStatus.completed, now, now
    session.add(row)
    done = place.done | {lesson.id}
    place.done = done
    enrollment.progress_percent = _percent(place.lessons, done)
    enrollment.last_lesson_id = lesson.id
    enrollment.modified = now
    cycle = completion_cycle(session, ctx, enrollment)
    outbox.enqueue(
        session,
        kind=LESSON_COMPLETED,
        payload={
            "enrollment_id": str(enrollment.id),
            "user_id": str(enrollment.user_id),
            "course_id": str(enrollment.course_id),
            "lesson_id": str(lesson.id),
            "kind": lesson.kind,
            **({"cycle": cycle} if cycle > 1 else {}),
        },
        org_id=enrollment.org_id,
        dedupe_key=_cycle_key(f"{LESSON_COMPLETED}:{enrollment.id}:{lesson.id}", cycle),
    )
    finished = False
    if enrollment.status == EnrollmentStatus.active and _all_required_done(place.lessons, done):
        enrollment.status, enrollment.completed_at, finished = EnrollmentStatus.completed, now, True
        enrollment.progress_percent = 100
        outbox.enqueue(
            session,
            kind=ENROLLMENT_COMPLETED,
            payload={
                "enrollment_id": str(enrollment.id),
                "user_id": str(enrollment.user_id),
                "course_id": str(enrollment.course_id),
                **({"cycle": cycle} if cycle > 1 else {}),
            },
            org_id=enrollment.org_id,
            dedupe_key=_cycle_key(f"{ENROLLMENT_COMPLETED}:{enrollment.id}", cycle),
        )
    session.add(enrollment)
    publish_progress(session, enrollment, lesson_id=lesson.id, kind="lesson_completed")
    return Completion(str(lesson.id), True, enrollment.progress_percent, finished)


def _commit_completion(session: Session, result: Completion, enrollment: Enrollment) -> Completion:
    percent = enrollment.progress_percent
    try:
        session.commit()
    except IntegrityError:  # the same lesson completed by a concurrent request: no-op
        session.rollback()
        return Completion(result.lesson_id, False, percent, False)
    return result


def complete_lesson(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, lesson_id: uuid.UUID | str
) -> Completion:
    """ "Mark complete" for a text, file or video lesson. Needs the caller's own active
    enrollment in this course; refuses locked lessons and quizzes (passing completes those).
    Idempotent. Commits."""
    place = locate(session, ctx, course_id=course_id, lesson_id=lesson_id)
    enrollment = open_enrollment(place)
    if place.lesson.kind == LessonKind.quiz:
        raise ValidationFailed("A quiz is completed by passing it.")
    result = record_completion(session, ctx, place, enrollment)
    if not result.newly_completed:
        return result
    return _commit_completion(session, result, enrollment)


# --------------------------------------------------------------------------- video


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def clean_ranges(raw: Any, duration: float) -> list[list[float]]:
    """Played ranges from the browser as sorted, merged [start, end] pairs inside
    [0, duration]; anything malformed is dropped."""
    pairs: list[tuple[float, float]] = []
    if isinstance(raw, list):
        for item in raw[:MAX_RANGES]:
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                continue
            start, end = _number(item[0]), _number(item[1])
            if start is None or end is None:
                continue
            start, end = max(0.0, min(start, duration)), max(0.0, min(end, duration))
            if end > start:
                pairs.append((start, end))
    return merge_ranges(pairs)


def merge_ranges(pairs: list[tuple[float, float]] | list[list[float]]) -> list[list[float]]:
    """The union of intervals, sorted and non-overlapping."""
    merged: list[list[float]] = []
    for start, end in sorted((float(a), float(b)) for a, b in pairs):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def watched(ranges: list[list[float]]) -> float:
    """Seconds covered by merged ranges."""
    return round(sum(end - start for start, end in ranges), 3)


def save_video_position(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    position: float,
    played_ranges: Any,
    duration: float,
) -> VideoProgress:
    """Store where the learner is in a video and what they actually played.

    The played ranges (the browser's `video.played`) are merged with the stored ones, so
    skipping ahead counts nothing and replaying does not count twice. The lesson's own
    duration wins; the player's is used (and stored, when the lesson is the caller's org's)
    only while the lesson has none. Watching 90 % completes the lesson. Commits.
    """
    place = locate(session, ctx, course_id=course_id, lesson_id=lesson_id)
    enrollment = open_enrollment(place)
    lesson = place.lesson
    if lesson.kind != LessonKind.video:
        raise ValidationFailed("This lesson has no video.")
    length = lesson.duration_seconds
    if length <= 0:
        reported = _number(duration) or 0.0
        if not 0 < reported <= MAX_DURATION:
            raise ValidationFailed("The video's length is unknown.", field="duration")
        length = reported
        if lesson.org_id in ctx.org_ids:
            lesson.duration_seconds, lesson.modified = reported, utcnow()
            session.add(lesson)
    row = _progress_row(session, ctx, enrollment, lesson.id)
    if row is None:
        row = LessonProgress(
            org_id=enrollment.org_id,
            enrollment_id=enrollment.id,
            lesson_id=lesson.id,
            user_id=enrollment.user_id,
        )
    watched_before = row.watched_seconds or 0.0
    at = _number(position) or 0.0
    ranges = merge_ranges([*(row.watched_ranges or []), *clean_ranges(played_ranges, length)])
    row.watched_ranges = [[round(a, 3), round(b, 3)] for a, b in ranges]
    row.watched_seconds = min(watched(ranges), length)
    row.position_seconds = round(max(0.0, min(at, length)), 3)
    row.modified = utcnow()
    session.add(row)
    try:
        if (
            row.status != ProgressStatus.completed
            and row.watched_seconds >= WATCHED_TO_COMPLETE * length
        ):
            session.flush()
            record_completion(session, ctx, place, enrollment)  # publishes the completion
        elif row.watched_seconds - watched_before >= VIDEO_PUBLISH_STEP:
            publish_progress(session, enrollment, lesson_id=lesson.id, kind="video")
        result = VideoProgress(
            position_seconds=row.position_seconds,
            watched_seconds=row.watched_seconds,
            duration_seconds=length,
            completed=row.status == ProgressStatus.completed,
            progress_percent=enrollment.progress_percent,
        )
        session.commit()
    except IntegrityError as exc:  # another tab's first save created the row just now
        session.rollback()
        raise Conflict("Your place was saved from another tab; try again.") from exc
    return result


# --------------------------------------------------------------------------- my learning


def my_learning(session: Session, ctx: OrgContext) -> list[LearningCard]:
    """Every enrollment of the caller in the active org (pending, active, completed,
    rejected), newest first, with progress, due date, overdue flag, the next lesson to open
    and the newest certificate if one was issued (and not revoked). An enrollment reopened
    to recertify (active, holding a certificate) shows "recertify by" its due date, and is
    overdue like any open enrollment once that date has passed."""
    _checks(session, ctx)
    rows = [
        e
        for e in enrollments.own_enrollments(session, ctx)
        if e.status != EnrollmentStatus.withdrawn
    ]
    if not rows:
        return []
    courses = {
        c.id: c
        for c in session.exec(
            course_read.visible_courses(ctx, include_archived=True).where(
                col(Course.id).in_([e.course_id for e in rows])
            )
        ).all()
    }
    certificates: dict[uuid.UUID, Certificate] = {}
    for c in session.exec(
        scoped(ctx, Certificate, org_ids=[ctx.org_id] if ctx.org_id else [])
        .where(
            Certificate.user_id == ctx.user_id,
            col(Certificate.enrollment_id).in_([e.id for e in rows]),
            col(Certificate.revoked_at).is_(None),
        )
        .order_by(col(Certificate.issued_at))
    ).all():
        certificates[c.enrollment_id] = c  # the newest wins
    now = utcnow()
    cards: list[LearningCard] = []
    for e in rows:
        course = courses.get(e.course_id)
        if course is None:
            continue  # unpublished since: nothing to open
        due = as_utc(e.due_at) if e.due_at else None
        cert = certificates.get(e.id)
        expires = as_utc(cert.expires_at) if cert is not None and cert.expires_at else None
        recertifying = cert is not None and e.status == EnrollmentStatus.active
        next_id = ""
        if e.status in OPEN_STATUSES:
            next_id = next_lesson_id(session, ctx, course, enrollment=e)
        cards.append(
            LearningCard(
                enrollment_id=str(e.id),
                course_id=str(course.id),
                title=course.title,
                summary=course.summary,
                cover_url=storage.public_url(course.cover_key)
                if course.cover_key and storage.is_valid_key(course.cover_key)
                else "",
                status=e.status,
                progress_percent=e.progress_percent,
                due_at=due,
                overdue=due is not None and due < now and e.status != EnrollmentStatus.completed,
                mandatory=e.mandatory,
                next_lesson_id=next_id,
                certificate_id=str(cert.id) if cert is not None else "",
                decision_reason=e.decision_reason,
                completed_at=as_utc(e.completed_at) if e.completed_at else None,
                recertify_by=due if recertifying else None,
                certificate_expired=expires is not None and expires <= now,
            )
        )
    return cards


# --------------------------------------------------------------------------- jobs


def _payload_cycle(value: Any) -> int:
    try:
        return int(value or 1)
    except (TypeError, ValueError):
        return 1


@outbox.handler(LESSON_COMPLETED)
def _on_lesson_completed(session: Session, job: OutboxJob) -> None:
    """A passed quiz tells the instructor. Other lessons tell nobody: instructors follow
    ordinary progress live on the class view (a notification per page read would bury the
    ones that matter), and the course's completion has its own event and certificate."""
    if job.payload.get("kind") != LessonKind.quiz:
        return
    row = enrollments.job_enrollment(session, job)
    if row is None:
        return
    ctx = enrollments.job_context(session, job, row)
    course = enrollments.job_course(session, ctx, row.course_id)
    try:
        lesson_key = uuid.UUID(str(job.payload.get("lesson_id", "")))
    except ValueError:
        return
    lesson = session.exec(
        scoped_with_ancestors(ctx, Lesson).where(
            Lesson.id == lesson_key, Lesson.course_id == row.course_id
        )
    ).first()
    if course is None or lesson is None:
        return
    learner = session.exec(select(User).where(User.id == row.user_id)).first()
    who = learner.full_name if learner is not None else "A learner"
    notifications.notify(
        session,
        org_id=row.org_id,
        user_id=course.instructor_id or course.created_by,
        kind="quiz.passed",
        title=f"{who} passed “{lesson.title}” in {course.title}",
        link=f"/teach/courses/{course.id}",
        dedupe_key=_cycle_key(
            f"{LESSON_COMPLETED}:{row.id}:{lesson.id}:instructor",
            _payload_cycle(job.payload.get("cycle")),
        ),
    )


__all__ = [
    "ENROLLMENT_COMPLETED",
    "LESSON_COMPLETED",
    "Completion",
    "LearningCard",
    "PlayerView",
    "VideoProgress",
    "clean_ranges",
    "complete_lesson",
    "completion_cycle",
    "locate",
    "merge_ranges",
    "my_learning",
    "next_lesson_id",
    "player_view",
    "progress_topic",
    "publish_progress",
    "record_completion",
    "resume_lesson_id",
    "save_video_position",
]
