"""Video progress: the player's heartbeat, counting only the time of a video actually watched."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.models.base import utcnow
from app.models.course import Lesson, LessonKind
from app.models.enrollment import Enrollment, LessonProgress, ProgressStatus
from app.services.core.errors import Conflict, ValidationFailed
from app.services.core.tenancy import OrgContext
from app.services.learning.gating import locate, open_enrollment, progress_row
from app.services.learning.lesson_completion import record_completion
from app.services.learning.progress_live import publish_progress

WATCHED_TO_COMPLETE = 0.9
MAX_DURATION = 24 * 3600.0
MAX_RANGES = 500
VIDEO_PUBLISH_STEP = 5.0  # seconds of newly watched video that make a live update worth it


@dataclass(frozen=True)
class VideoProgress:
    """A saved video position and what counts as watched."""

    position_seconds: float
    watched_seconds: float
    duration_seconds: float
    completed: bool
    progress_percent: int


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


def _video_length(session: Session, ctx: OrgContext, lesson: Lesson, duration: float) -> float:
    """The lesson's own duration; while it has none, the player's (stored on the lesson when
    the lesson is the caller's org's)."""
    length = lesson.duration_seconds
    if length > 0:
        return length
    reported = _number(duration) or 0.0
    if not 0 < reported <= MAX_DURATION:
        raise ValidationFailed("The video's length is unknown.", field="duration")
    if lesson.org_id in ctx.org_ids:
        lesson.duration_seconds, lesson.modified = reported, utcnow()
        session.add(lesson)
    return reported


def _store_position(
    session: Session,
    ctx: OrgContext,
    enrollment: Enrollment,
    lesson: Lesson,
    *,
    position: float,
    played_ranges: Any,
    length: float,
) -> tuple[LessonProgress, float]:
    """Merge the played ranges into the enrollment's progress row and move its position;
    the row, and the seconds it counted as watched before."""
    row = progress_row(session, ctx, enrollment, lesson.id)
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
    return row, watched_before


def do_save_video_position(
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
    length = _video_length(session, ctx, lesson, duration)
    row, watched_before = _store_position(
        session,
        ctx,
        enrollment,
        lesson,
        position=position,
        played_ranges=played_ranges,
        length=length,
    )
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


__all__ = ["VideoProgress", "clean_ranges", "do_save_video_position", "merge_ranges"]
