"""Quiz questions: their rules, the marked-options text format, and editing them in order."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.course import Course, CourseStatus, Lesson, LessonKind, QuestionKind, QuizQuestion
from app.services.authoring import course_read
from app.services.authoring.course_access import access_question, editable_course, touch
from app.services.authoring.course_input import check_bounded
from app.services.authoring.course_outline import renumber, swap
from app.services.core.errors import Conflict, ValidationFailed
from app.services.core.tenancy import OrgContext, scoped

QUESTION_KINDS: dict[str, str] = {
    QuestionKind.single: "Single choice",
    QuestionKind.multiple: "Multiple choice",
    QuestionKind.short: "Short answer",
}
MAX_OPTIONS = 12


def parse_marked_options(text: str) -> tuple[list[str], list[int]]:
    """Options typed one per line, right ones starting with `*`: (options, right indexes)."""
    options: list[str] = []
    right: list[int] = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("*"):
            right.append(len(options))
            line = line.lstrip("*").strip()
        options.append(line)
    return options, right


def marked_options(options: list[str], right: list[int]) -> str:
    """The inverse of `parse_marked_options` (for editing)."""
    return "\n".join(("* " if i in right else "") + opt for i, opt in enumerate(options))


def _check_question(
    kind: str, prompt: str, options: list[str], answer: list[Any], points: Any, explanation: str
) -> tuple[str, str, list[str], list[Any], int, str]:
    if kind not in QUESTION_KINDS:
        raise ValidationFailed(
            "Choose a question kind: single choice, multiple choice or short answer.",
            field="kind",
        )
    prompt = (prompt or "").strip()
    if not prompt:
        raise ValidationFailed("Write the question.", field="prompt")
    if len(prompt) > 5000:
        raise ValidationFailed(
            "The question is too long (at most 5000 characters).", field="prompt"
        )
    points_n = check_bounded(
        points, low=1, high=100, field_name="points", message="Points run from 1 to 100."
    )
    explanation = (explanation or "").strip()
    if len(explanation) > 5000:
        raise ValidationFailed("The explanation is too long.", field="explanation")
    if kind == QuestionKind.short:
        accepted: list[str] = []
        for raw in answer:
            text = " ".join(str(raw).split())
            if text and text.lower() not in [a.lower() for a in accepted]:
                accepted.append(text[:200])
        if not accepted:
            raise ValidationFailed("Give at least one accepted answer.", field="answer")
        return kind, prompt, [], accepted, points_n, explanation
    clean = [" ".join(str(o).split())[:500] for o in options]
    if any(not o for o in clean):
        raise ValidationFailed("Options cannot be empty.", field="options")
    if len(clean) < 2:
        raise ValidationFailed("Give at least two options.", field="options")
    if len(clean) > MAX_OPTIONS:
        raise ValidationFailed(f"Give at most {MAX_OPTIONS} options.", field="options")
    if len({o.lower() for o in clean}) != len(clean):
        raise ValidationFailed("Two options say the same thing.", field="options")
    try:
        right = sorted({int(i) for i in answer})
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("Mark the right options.", field="answer") from exc
    if any(i < 0 or i >= len(clean) for i in right):
        raise ValidationFailed("A right answer points at no option.", field="answer")
    if kind == QuestionKind.single and len(right) != 1:
        raise ValidationFailed(
            "A single-choice question needs exactly one right option.", field="answer"
        )
    if kind == QuestionKind.multiple and not right:
        raise ValidationFailed(
            "A multiple-choice question needs at least one right option.", field="answer"
        )
    return kind, prompt, clean, right, points_n, explanation


def _quiz(session: Session, ctx: OrgContext, course: Course, lesson_id: uuid.UUID | str) -> Lesson:
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    if lesson.kind != LessonKind.quiz:
        raise ValidationFailed("Questions belong to quiz lessons.", field="lesson_id")
    return lesson


def _lesson_questions(
    session: Session, ctx: OrgContext, course: Course, lesson_id: uuid.UUID
) -> list[QuizQuestion]:
    return list(
        session.exec(
            scoped(ctx, QuizQuestion, org_ids=[course.org_id])
            .where(QuizQuestion.lesson_id == lesson_id)
            .order_by(col(QuizQuestion.position), col(QuizQuestion.created))
        ).all()
    )


def do_add_question(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    kind: str,
    prompt: str,
    options: list[str] | None = None,
    answer: list[Any] | None = None,
    points: int | str = 1,
    explanation: str = "",
) -> QuizQuestion:
    """A question at the end of a quiz. `single`: >= 2 options, exactly one right index in
    `answer`; `multiple`: >= 2 options, >= 1 right index; `short`: accepted answers in
    `answer` (matched ignoring case). Points 1-100."""
    course = editable_course(session, ctx, course_id)
    lesson = _quiz(session, ctx, course, lesson_id)
    kind, prompt, opts, ans, pts, expl = _check_question(
        kind, prompt, options or [], answer or [], points, explanation
    )
    existing = _lesson_questions(session, ctx, course, lesson.id)
    question = QuizQuestion(
        org_id=course.org_id,
        lesson_id=lesson.id,
        position=max((q.position for q in existing), default=-1) + 1,
        kind=kind,
        prompt=prompt,
        options=opts,
        answer=ans,
        points=pts,
        explanation=expl,
    )
    session.add(question)
    touch(course)
    session.add(course)
    session.commit()
    return question


def do_update_question(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    question_id: uuid.UUID | str,
    kind: str,
    prompt: str,
    options: list[str] | None = None,
    answer: list[Any] | None = None,
    points: int | str = 1,
    explanation: str = "",
) -> QuizQuestion:
    """Replace a question's content (same rules as `do_add_question`)."""
    course = editable_course(session, ctx, course_id)
    _lesson, question = access_question(session, ctx, course, question_id)
    kind, prompt, opts, ans, pts, expl = _check_question(
        kind, prompt, options or [], answer or [], points, explanation
    )
    question.kind, question.prompt, question.options = kind, prompt, opts
    question.answer, question.points, question.explanation = ans, pts, expl
    question.modified = utcnow()
    session.add(question)
    touch(course)
    session.add(course)
    session.commit()
    return question


def do_delete_question(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    question_id: uuid.UUID | str,
) -> None:
    """Remove a question from its quiz (a published quiz must keep at least one)."""
    course = editable_course(session, ctx, course_id)
    lesson, question = access_question(session, ctx, course, question_id)
    rest = [q for q in _lesson_questions(session, ctx, course, lesson.id) if q.id != question.id]
    if course.status == CourseStatus.published and not rest:
        raise Conflict("A published quiz needs at least one question.")
    session.delete(question)
    renumber(rest)
    touch(course)
    session.add_all([*rest, course])
    session.commit()


def do_move_question(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    question_id: uuid.UUID | str,
    direction: Literal["up", "down"] | str,
) -> bool:
    """Move a question one place up or down in its quiz; False at that end."""
    course = editable_course(session, ctx, course_id)
    lesson, question = access_question(session, ctx, course, question_id)
    rows = _lesson_questions(session, ctx, course, lesson.id)
    moved = swap(rows, question, direction)
    touch(course)
    session.add_all([*rows, course])
    session.commit()
    return moved


__all__ = [
    "QUESTION_KINDS",
    "do_add_question",
    "do_delete_question",
    "do_move_question",
    "do_update_question",
    "marked_options",
    "parse_marked_options",
]
