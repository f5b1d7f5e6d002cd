"""The lesson player's state (`/learn/...` and `/preview/...`): a lesson, its outline,
"Mark complete", video progress from `assets/player.js`, and quizzes.

The video element's script submits a hidden form (`save_video`) every few seconds while
playing and on pause/end; the service merges the played ranges, so a replayed or forged
position never counts unplayed time.
"""

from __future__ import annotations

import json
from typing import Any

import reflex as rx
from sqlmodel import Session

from app.services.core.authz import Permission
from app.services.core.errors import Conflict, NotFound
from app.services.core.tenancy import OrgContext
from app.services.learning import lesson_access, lesson_completion, player, quizzes, video_progress
from app.state.learn import path_ids
from app.state.session import SessionState


def _seconds(value: float) -> str:
    return f"{value:.1f}"


class PlayerState(SessionState):
    """One lesson in the player."""

    preview: bool = False
    found: bool = False
    loaded: bool = False
    busy: bool = False
    cid: str = ""  # the course and lesson on screen (not named like the route args)
    lid: str = ""
    course_title: str = ""
    lesson: dict[str, str] = {}
    is_pdf: bool = False
    outline: list[dict[str, str]] = []
    previous_id: str = ""
    next_id: str = ""
    locked: bool = False
    lock_reason: str = ""
    enrollment_status: str = ""
    progress_percent: int = 0
    completed: bool = False
    position: str = "0"
    watched: str = "0"
    # quiz
    questions: list[dict[str, str]] = []
    options: list[dict[str, str]] = []
    quiz_info: dict[str, str] = {}
    can_attempt: bool = False
    attempt_number: int = 1
    result: dict[str, str] = {}
    feedback: list[dict[str, str]] = []
    show_result: bool = False

    @rx.var
    def base(self) -> str:
        return "/preview" if self.preview else "/learn"

    @rx.var
    def can_mark(self) -> bool:
        return lesson_access.can_mark_complete(
            enrollment_status=self.enrollment_status,
            lesson_kind=self.lesson.get("kind", ""),
            locked=self.locked,
            completed=self.completed,
            preview=self.preview,
        )

    def _ids(self) -> tuple[bool, list[str]]:
        path = self.router.url.path
        preview = path.startswith("/preview")
        return preview, path_ids(path, "/preview" if preview else "/learn")

    def _views(
        self, session: Session, ctx: OrgContext
    ) -> tuple[player.PlayerView, quizzes.QuizView | None]:
        """The lesson on screen and, for a quiz lesson, its quiz (in one session)."""
        view = player.player_view(
            session, ctx, course_id=self.cid, lesson_id=self.lid, preview=self.preview
        )
        quiz = None
        if view.lesson.kind == "quiz":
            quiz = quizzes.quiz_for_learner(
                session, ctx, course_id=self.cid, lesson_id=self.lid, preview=self.preview
            )
        return view, quiz

    def _show(self) -> rx.event.EventSpec | None:
        """Load the lesson in `course_id`/`lesson_id` (and its quiz)."""
        done = self._call(self._views, permission=Permission.learning_view)
        if isinstance(done.error, NotFound):
            self.found, self.loaded = False, True
            return None
        if done.error is not None:
            self.loaded = True
            return done.reply
        view, quiz = done.value
        self.found = self.loaded = True
        self.course_title = view.course_title
        lesson = view.lesson
        self.lesson = {
            "id": lesson.id,
            "title": lesson.title,
            "kind": lesson.kind,
            "body": lesson.body,
            "media_url": lesson.media_url,
            "media_type": lesson.media_type,
            "media_name": lesson.media_name or "Download",
            "duration": _seconds(lesson.duration_seconds),
            "required": "" if lesson.required else "Optional",
        }
        self.is_pdf = lesson.is_pdf
        rows: list[dict[str, str]] = []
        for part in view.outline:
            rows.append({"type": "module", "id": part.id, "title": part.title, "status": ""})
            rows.extend(
                {
                    "type": "lesson",
                    "id": item.id,
                    "title": item.title,
                    "status": item.status,
                    "kind": item.kind,
                }
                for item in part.lessons
            )
        self.outline = rows
        self.previous_id, self.next_id = view.previous_id, view.next_id
        self.locked, self.lock_reason = view.locked, view.lock_reason
        self.enrollment_status = view.enrollment_status
        self.progress_percent = view.progress_percent
        self.completed = view.completed
        self.position, self.watched = (
            _seconds(view.position_seconds),
            _seconds(view.watched_seconds),
        )
        self._set_quiz(quiz)
        return None

    def _set_quiz(self, quiz: quizzes.QuizView | None) -> None:
        self.questions, self.options, self.quiz_info = [], [], {}
        self.can_attempt, self.show_result = False, False
        self.result, self.feedback = {}, []
        if quiz is None:
            return
        self.questions = [
            {
                "id": q.id,
                "kind": q.kind,
                "prompt": q.prompt,
                "points": str(q.points),
                "number": str(n),
            }
            for n, q in enumerate(quiz.questions, start=1)
        ]
        self.options = [
            {
                "qid": q.id,
                "index": str(o.index),
                "text": o.text,
                "input_id": f"q-{q.id}-{o.index}",
                "type": "radio" if q.kind == "single" else "checkbox",
                "name": q.id if q.kind == "single" else f"{q.id}::{o.index}",
            }
            for q in quiz.questions
            for o in q.options
        ]
        left = "unlimited" if quiz.attempts_left is None else str(quiz.attempts_left)
        self.quiz_info = {
            "intro": quiz.intro,
            "passing": str(quiz.passing_score),
            "used": str(quiz.attempts_used),
            "left": left,
            "best": "" if quiz.best_percent is None else str(quiz.best_percent),
            "passed": "yes" if quiz.passed else "",
        }
        self.can_attempt = quiz.can_attempt
        self.attempt_number = quiz.attempts_used + 1
        if quiz.last is not None:
            self._set_result(quiz.last)
            self.show_result = True

    def _set_result(self, result: quizzes.AttemptResult) -> None:
        self.result = {
            "number": str(result.number),
            "score": str(result.score),
            "max": str(result.max_score),
            "percent": str(result.percent),
            "passed": "yes" if result.passed else "",
            "left": "unlimited" if result.attempts_left is None else str(result.attempts_left),
        }
        self.feedback = [
            {
                "id": fb.question_id,
                "prompt": fb.prompt,
                "correct": "yes" if fb.correct else "",
                "given": fb.given or "(no answer)",
                "right": fb.right_answer,
                "explanation": fb.explanation,
                "earned": f"{fb.earned}/{fb.points}",
            }
            for fb in result.feedback
        ]

    def _enter(self) -> rx.event.EventSpec | None:
        if self._refresh() is None:
            return rx.redirect(f"/signin?next={self.router.url.path}")
        self.preview, ids = self._ids()
        self.found, self.loaded, self.busy = False, False, False
        if len(ids) < 2:
            self.loaded = True
            return None
        self.cid, self.lid = ids[0], ids[1]
        if Permission.learning_view.value not in self.permissions:
            return None
        return self._show()

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        """on_load of `/learn/[course_id]/[lesson_id]` and `/preview/...`."""
        return self._enter()

    @rx.event
    def resume(self) -> rx.event.EventSpec | None:
        """on_load of `/learn/[course_id]` and `/preview/[course_id]`: open the next lesson."""
        if self._refresh() is None:
            return rx.redirect(f"/signin?next={self.router.url.path}")
        preview, ids = self._ids()
        self.preview, self.found, self.loaded = preview, False, False
        if not ids:
            self.loaded = True
            return None
        done = self._call(
            lambda s, ctx: player.resume_lesson_id(s, ctx, course_id=ids[0], preview=preview),
            permission=Permission.learning_view,
        )
        if done.error is not None:
            self.loaded = True
            return None if isinstance(done.error, NotFound) else done.reply
        lesson_id = done.value
        if not lesson_id:
            self.loaded = True
            return rx.toast.info("This course has no lessons yet.")
        return rx.redirect(f"{'/preview' if preview else '/learn'}/{ids[0]}/{lesson_id}")

    @rx.event
    def mark_complete(self) -> rx.event.EventSpec | None:
        if self.busy or self.preview:
            return None
        self.busy = True
        done = self._call(
            lambda s, ctx: lesson_completion.do_complete_lesson(
                s, ctx, course_id=self.cid, lesson_id=self.lid
            ),
            permission=Permission.learning_view,
        )
        self.busy = False
        if done.error is not None:
            return done.reply
        self._show()
        if done.value.enrollment_completed:
            return rx.toast.success("Course complete! Your certificate is on its way.")
        return rx.toast.success("Lesson complete.")

    @rx.event
    def save_video(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        """From the player script: {position, ranges (JSON), duration}. Quiet unless the
        lesson completes (it runs every few seconds)."""
        if self.preview or not self.found:
            return None
        try:
            ranges = json.loads(str(form.get("ranges", "[]")) or "[]")
        except ValueError:
            ranges = []
        done = self._call(
            lambda s, ctx: video_progress.do_save_video_position(
                s,
                ctx,
                course_id=self.cid,
                lesson_id=self.lid,
                position=_float(form.get("position")),
                played_ranges=ranges,
                duration=_float(form.get("duration")),
            ),
            permission=Permission.learning_view,
        )
        if done.error is not None:
            if done.error.code in ("unauthenticated",):
                return done.reply
            return None  # a missed save is caught up by the next one
        saved = done.value
        self.position, self.watched = (
            _seconds(saved.position_seconds),
            _seconds(saved.watched_seconds),
        )
        self.progress_percent = saved.progress_percent
        if saved.completed and not self.completed:
            self._show()
            return rx.toast.success("Video watched: lesson complete.")
        return None

    @rx.event
    def submit_quiz(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        if self.busy or self.preview:
            return None
        answers: dict[str, Any] = {}
        for q in self.questions:
            qid = q["id"]
            if q["kind"] == "short":
                answers[qid] = str(form.get(qid, ""))
            elif q["kind"] == "single":
                raw = form.get(qid)
                if raw not in (None, ""):
                    answers[qid] = [_int(raw)]
            else:
                chosen = [
                    _int(o["index"])
                    for o in self.options
                    if o["qid"] == qid and form.get(o["name"]) not in (None, "", False)
                ]
                if chosen:
                    answers[qid] = chosen
        # The number the page showed when the learner clicked (not this state's, which the
        # first of two queued submits has already moved on).
        shown = _int(form.get("_attempt", self.attempt_number))
        self.busy = True
        done = self._call(
            lambda s, ctx: quizzes.do_submit_attempt(
                s,
                ctx,
                course_id=self.cid,
                lesson_id=self.lid,
                answers=answers,
                attempt_number=shown,
            ),
            permission=Permission.learning_view,
        )
        self.busy = False
        if isinstance(done.error, Conflict):
            return None  # a duplicate of the submit whose result is on screen
        if done.error is not None:
            return done.reply
        result = done.value
        self._show()
        self._set_result(result)
        self.show_result = True
        if result.enrollment_completed:
            return rx.toast.success("Passed, and the course is complete!")
        if result.passed:
            return rx.toast.success(f"Passed with {result.percent}%.")
        return rx.toast.warning(f"Not passed this time ({result.percent}%).")

    @rx.event
    def try_again(self) -> None:
        self.show_result = False


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return -1
