"""Taking quizzes: questions without their answers, graded attempts, the attempt limit.

Questions reach learners without answers. With `lesson.shuffle` questions and options are
shuffled deterministically per enrollment and attempt number (a reload shows the same order);
answers always name *original* option indexes, so grading never depends on the order shown.
An attempt is numbered previous + 1 under the unique (enrollment, lesson, number) key: a
double submit fails cleanly ("already submitted"). Passing completes the lesson through the
same path as "Mark complete" (`lesson_completion.record_completion`).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.models.course import Lesson, LessonKind, QuestionKind, QuizQuestion
from app.models.enrollment import Enrollment, QuizAttempt
from app.services.core.errors import Conflict, ValidationFailed
from app.services.core.tenancy import OrgContext, scoped, scoped_with_ancestors
from app.services.learning import gating, lesson_completion, progress_live

MAX_SHORT_ANSWER = 500
ANOTHER_QUIZ = "These answers are for another quiz."


@dataclass(frozen=True)
class OptionView:
    """An option as shown: its original index (what is submitted) and its text."""

    index: int
    text: str


@dataclass(frozen=True)
class QuestionView:
    """A question without its answer."""

    id: str
    kind: str
    prompt: str
    points: int
    options: list[OptionView]


@dataclass(frozen=True)
class QuestionFeedback:
    """How one question went, shown after submitting."""

    question_id: str
    prompt: str
    correct: bool
    earned: int
    points: int
    explanation: str
    # the right option(s) or accepted answer, as text; "" while the learner may still try
    # again without having passed (showing it would hand them the next attempt)
    right_answer: str
    given: str


@dataclass(frozen=True)
class AttemptResult:
    """A graded attempt."""

    number: int
    score: int
    max_score: int
    percent: int
    passed: bool
    feedback: list[QuestionFeedback]
    attempts_left: int | None  # None: unlimited
    lesson_completed: bool
    enrollment_completed: bool


@dataclass(frozen=True)
class QuizView:
    """A quiz as the learner takes it."""

    lesson_id: str
    title: str
    intro: str  # Markdown
    passing_score: int
    max_attempts: int  # 0: unlimited
    attempts_used: int
    attempts_left: int | None  # None: unlimited
    can_attempt: bool
    best_percent: int | None
    passed: bool
    questions: list[QuestionView]
    last: AttemptResult | None
    locked: bool
    lock_reason: str


# --------------------------------------------------------------------------- helpers


def _questions(session: Session, ctx: OrgContext, lesson: Lesson) -> list[QuizQuestion]:
    return list(
        session.exec(
            scoped_with_ancestors(ctx, QuizQuestion)
            .where(QuizQuestion.lesson_id == lesson.id, QuizQuestion.org_id == lesson.org_id)
            .order_by(col(QuizQuestion.position), col(QuizQuestion.created))
        ).all()
    )


def _attempts(
    session: Session, ctx: OrgContext, enrollment: Enrollment, lesson: Lesson
) -> list[QuizAttempt]:
    return list(
        session.exec(
            scoped(ctx, QuizAttempt, org_ids=[enrollment.org_id])
            .where(QuizAttempt.enrollment_id == enrollment.id, QuizAttempt.lesson_id == lesson.id)
            .order_by(col(QuizAttempt.number))
        ).all()
    )


def _left(lesson: Lesson, used: int) -> int | None:
    return None if lesson.max_attempts <= 0 else max(lesson.max_attempts - used, 0)


def _revealed(
    feedback: list[QuestionFeedback], *, passed: bool, left: int | None
) -> list[QuestionFeedback]:
    """Feedback with the right answers, and the explanations of what was missed (which often
    give the answer away), only once they cannot help: the quiz is passed or no attempt is
    left. Before that the learner sees what was right or wrong, and why for what was right."""
    if passed or left == 0:
        return feedback
    return [
        replace(fb, right_answer="", explanation=fb.explanation if fb.correct else "")
        for fb in feedback
    ]


def shuffled(questions: list[QuizQuestion], *, seed: str, shuffle: bool) -> list[QuestionView]:
    """Questions as shown: in order, or shuffled (questions and options) by `seed`."""
    rng = random.Random(seed)
    ordered = list(questions)
    if shuffle:
        rng.shuffle(ordered)
    views: list[QuestionView] = []
    for q in ordered:
        options = [OptionView(i, str(text)) for i, text in enumerate(q.options or [])]
        if shuffle and q.kind != QuestionKind.short:
            rng.shuffle(options)
        views.append(
            QuestionView(
                id=str(q.id),
                kind=q.kind,
                prompt=q.prompt,
                points=q.points,
                options=options if q.kind != QuestionKind.short else [],
            )
        )
    return views


def _norm(text: str) -> str:
    return " ".join(str(text).lower().split())


def _indexes(value: Any, count: int) -> list[int]:
    """Option indexes from an answer (a list of ints, or one int); invalid ones refused."""
    items = value if isinstance(value, list) else [value]
    out: list[int] = []
    for item in items:
        if isinstance(item, bool):
            raise ValidationFailed("An answer names an option that does not exist.")
        try:
            index = int(item)
        except (TypeError, ValueError, OverflowError) as exc:  # None, "x", inf
            raise ValidationFailed("An answer names an option that does not exist.") from exc
        if not 0 <= index < count:
            raise ValidationFailed("An answer names an option that does not exist.")
        if index not in out:
            out.append(index)
    return sorted(out)


def _right_text(q: QuizQuestion) -> str:
    if q.kind == QuestionKind.short:
        return " / ".join(str(a) for a in q.answer) if q.answer else ""
    names = []
    for raw in q.answer:
        try:
            names.append(str(q.options[int(raw)]))
        except (IndexError, TypeError, ValueError):
            continue
    return ", ".join(names)


def grade(
    questions: list[QuizQuestion], answers: dict[str, Any]
) -> tuple[int, int, list[QuestionFeedback], dict[str, Any]]:
    """(score, max score, feedback, the answers as stored). Unanswered questions score 0.

    single: exactly the right option; multiple: exactly the right set; short: any accepted
    answer, ignoring case and spacing.
    """
    score = total = 0
    feedback: list[QuestionFeedback] = []
    stored: dict[str, Any] = {}
    for q in questions:
        key = str(q.id)
        raw = answers.get(key)
        total += q.points
        if q.kind == QuestionKind.short:
            given_text = "" if raw is None else str(raw)
            if len(given_text) > MAX_SHORT_ANSWER:
                raise ValidationFailed(f"Keep answers under {MAX_SHORT_ANSWER} characters.")
            stored[key] = given_text
            correct = bool(given_text.strip()) and _norm(given_text) in {_norm(a) for a in q.answer}
            given = given_text
        else:
            chosen = [] if raw in (None, "", []) else _indexes(raw, len(q.options or []))
            if q.kind == QuestionKind.single and len(chosen) > 1:
                raise ValidationFailed("Choose one option for a single-choice question.")
            stored[key] = chosen
            right = sorted({int(a) for a in q.answer})
            correct = bool(chosen) and chosen == right
            given = ", ".join(str(q.options[i]) for i in chosen)
        earned = q.points if correct else 0
        score += earned
        feedback.append(
            QuestionFeedback(
                question_id=key,
                prompt=q.prompt,
                correct=correct,
                earned=earned,
                points=q.points,
                explanation=q.explanation,
                right_answer=_right_text(q),
                given=given,
            )
        )
    return score, total, feedback, stored


def _result(
    attempt: QuizAttempt,
    questions: list[QuizQuestion],
    lesson: Lesson,
    used: int,
    *,
    lesson_completed: bool = False,
    enrollment_completed: bool = False,
) -> AttemptResult:
    """A stored attempt as shown (feedback re-derived from its stored answers)."""
    _score, _total, feedback, _stored = grade(questions, attempt.answers or {})
    left = _left(lesson, used)
    return AttemptResult(
        number=attempt.number,
        score=attempt.score,
        max_score=attempt.max_score,
        percent=attempt.percent,
        passed=attempt.passed,
        feedback=_revealed(feedback, passed=attempt.passed, left=left),
        attempts_left=left,
        lesson_completed=lesson_completed,
        enrollment_completed=enrollment_completed,
    )


# --------------------------------------------------------------------------- learners


def quiz_for_learner(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    preview: bool = False,
) -> QuizView:
    """A quiz lesson's questions without answers, the attempts used and left, the best score
    and the last attempt's feedback. A locked quiz comes without questions."""
    place = gating.locate(session, ctx, course_id=course_id, lesson_id=lesson_id, preview=preview)
    lesson = place.lesson
    if lesson.kind != LessonKind.quiz:
        raise ValidationFailed("This lesson is not a quiz.")
    reason = "" if preview else place.lock()
    attempts: list[QuizAttempt] = []
    if place.enrollment is not None and not preview:
        attempts = _attempts(session, ctx, place.enrollment, lesson)
    questions = _questions(session, ctx, lesson)
    used = len(attempts)
    left = _left(lesson, used)
    seed = f"{place.enrollment.id if place.enrollment else 'preview'}:{lesson.id}:{used + 1}"
    last = _result(attempts[-1], questions, lesson, used) if attempts else None
    return QuizView(
        lesson_id=str(lesson.id),
        title=lesson.title,
        intro="" if reason else lesson.body,
        passing_score=lesson.passing_score,
        max_attempts=lesson.max_attempts,
        attempts_used=used,
        attempts_left=left,
        # A passed quiz is done: it is not offered again (its result stays on the page).
        can_attempt=not reason
        and not preview
        and (left is None or left > 0)
        and not any(a.passed for a in attempts),
        best_percent=max((a.percent for a in attempts), default=None),
        passed=any(a.passed for a in attempts),
        questions=[] if reason else shuffled(questions, seed=seed, shuffle=lesson.shuffle),
        last=last,
        locked=bool(reason),
        lock_reason=reason,
    )


def do_submit_attempt(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    answers: dict[str, Any],
    attempt_number: int | None = None,
) -> AttemptResult:
    """Grade and store one attempt. `answers` maps question ids to original option indexes
    (single/multiple) or text (short). Refused: without an active enrollment, on a locked
    quiz, after the attempt limit, with answers naming questions of another quiz, and a
    second submit of the same attempt ("already submitted"). `attempt_number` is the number
    the learner's page was showing (`attempts_used + 1`): when given, a submit arriving after
    that attempt was already stored (a double click, a second tab) is refused as a duplicate
    instead of silently using up another attempt. Passing completes the lesson. Commits."""
    place = gating.locate(session, ctx, course_id=course_id, lesson_id=lesson_id)
    enrollment = gating.open_enrollment(place)
    lesson = place.lesson
    questions = _answered_questions(session, ctx, lesson, answers)
    used, number = _next_attempt(session, ctx, enrollment, lesson, attempt_number)
    score, total, feedback, stored = grade(questions, {str(k): v for k, v in answers.items()})
    percent = (100 * score) // total if total else 0
    passed = percent >= lesson.passing_score
    attempt = QuizAttempt(
        org_id=enrollment.org_id,
        enrollment_id=enrollment.id,
        lesson_id=lesson.id,
        user_id=enrollment.user_id,
        number=number,
        answers=stored,
        score=score,
        max_score=total,
        percent=percent,
        passed=passed,
        feedback=[
            {
                "question_id": fb.question_id,
                "correct": fb.correct,
                "points": fb.earned,
                "explanation": fb.explanation,
            }
            for fb in feedback
        ],
    )
    session.add(attempt)
    try:
        session.flush()
        completion = None
        if passed:
            completion = lesson_completion.record_completion(session, ctx, place, enrollment)
        progress_live.publish_progress(
            session, enrollment, lesson_id=lesson.id, kind="quiz_attempt", score=percent
        )
        session.commit()
    except IntegrityError as exc:  # the same attempt number from a second click or tab
        session.rollback()
        raise Conflict("This attempt was already submitted.") from exc
    left = _left(lesson, used + 1)
    return AttemptResult(
        number=number,
        score=score,
        max_score=total,
        percent=percent,
        passed=passed,
        feedback=_revealed(feedback, passed=passed, left=left),
        attempts_left=left,
        lesson_completed=bool(completion and completion.newly_completed),
        enrollment_completed=bool(completion and completion.enrollment_completed),
    )


def _answered_questions(
    session: Session, ctx: OrgContext, lesson: Lesson, answers: object
) -> list[QuizQuestion]:
    """The quiz's questions, refusing a lesson that is not a quiz, an empty quiz, and
    answers that are not a mapping or that name questions of another quiz."""
    if lesson.kind != LessonKind.quiz:
        raise ValidationFailed("This lesson is not a quiz.")
    if not isinstance(answers, dict):
        raise ValidationFailed("Answers must name questions.")
    questions = _questions(session, ctx, lesson)
    if not questions:
        raise ValidationFailed("This quiz has no questions yet.")
    known = {str(q.id) for q in questions}
    if any(str(k) not in known for k in answers):
        raise ValidationFailed(ANOTHER_QUIZ)
    return questions


def _next_attempt(
    session: Session,
    ctx: OrgContext,
    enrollment: Enrollment,
    lesson: Lesson,
    attempt_number: int | None,
) -> tuple[int, int]:
    """(attempts used, this attempt's number); refuses a second submit of an attempt
    already stored, and an attempt past the quiz's limit."""
    attempts = _attempts(session, ctx, enrollment, lesson)
    used = len(attempts)
    number = max((a.number for a in attempts), default=0) + 1
    if attempt_number is not None and attempt_number < number:
        raise Conflict("This attempt was already submitted.")
    if lesson.max_attempts > 0 and used >= lesson.max_attempts:
        raise ValidationFailed(f"No attempts left: this quiz allows {lesson.max_attempts}.")
    return used, number
