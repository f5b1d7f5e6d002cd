"""The lesson player (`/learn/...`) and the authors' preview (`/preview/...`).

Element ids: lesson-title, lesson-locked, lesson-body, lesson-video (a <video> with
data-gh-video and data-position, driven by assets/player.js through the hidden form
video-progress-form), lesson-file, lesson-pdf, mark-complete, lesson-done, previous-lesson,
next-lesson, player-progress, outline-<lesson id>, preview-banner; quizzes: quiz-form,
q-<question id>-<option index> (radio/checkbox), q-<question id> (short answer), quiz-submit,
quiz-result, quiz-score, quiz-try-again, quiz-attempts-left.
"""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import not_found, safe_markdown, skeleton_rows
from app.services.core.authz import Permission
from app.state.learn_player import PlayerState


def _outline() -> rx.Component:
    s = PlayerState
    return rx.vstack(
        rx.text(s.course_title, weight="bold"),
        # In a box: a bare progress bar in this stretched column grows into an oval.
        rx.box(
            rx.progress(
                value=s.progress_percent,
                width="100%",
                id="player-progress",
                aria_label="Course progress",
            ),
            width="100%",
        ),
        rx.text(s.progress_percent, "% complete", size="1", color_scheme="gray"),
        rx.foreach(
            s.outline,
            lambda r: rx.cond(
                r["type"] == "module",
                rx.text(r["title"], size="2", weight="bold", padding_top="0.5em"),
                rx.link(
                    rx.hstack(
                        rx.match(
                            r["status"],
                            ("done", rx.icon("circle_check", size=16, color=rx.color("green", 9))),
                            ("locked", rx.icon("lock", size=16, color=rx.color("gray", 9))),
                            (
                                "current",
                                rx.icon("circle_play", size=16, color=rx.color("accent", 9)),
                            ),
                            rx.icon("circle", size=16, color=rx.color("gray", 8)),
                        ),
                        rx.text(
                            r["title"],
                            size="2",
                            weight=rx.cond(r["status"] == "current", "bold", "regular"),
                        ),
                        align="center",
                    ),
                    href=s.base + "/" + s.cid + "/" + r["id"],
                    id="outline-" + r["id"],
                    underline="none",
                    color="inherit",
                    aria_current=rx.cond(r["status"] == "current", "page", "false"),
                ),
            ),
        ),
        align="start",
        spacing="1",
        min_width="15em",
        width=rx.breakpoints(initial="100%", md="16em"),
    )


def _video() -> rx.Component:
    s = PlayerState
    return rx.vstack(
        rx.el.video(
            src=s.lesson["media_url"],
            controls=True,
            preload="metadata",
            id="lesson-video",
            width="100%",
            custom_attrs={"data-gh-video": "1", "data-position": s.position},
            style={"maxHeight": "70vh", "background": "black"},
        ),
        rx.el.form(
            rx.el.input(type="hidden", name="position", id="video-position"),
            rx.el.input(type="hidden", name="ranges", id="video-ranges"),
            rx.el.input(type="hidden", name="duration", id="video-duration"),
            on_submit=PlayerState.save_video,
            reset_on_submit=False,
            id="video-progress-form",
            style={"display": "none"},
        ),
        rx.text("Watched ", s.watched, " s", size="1", color_scheme="gray", id="video-watched"),
        rx.script(src="/player.js"),
        width="100%",
    )


def _file() -> rx.Component:
    s = PlayerState
    return rx.vstack(
        rx.link(
            rx.button(rx.icon("download"), "Download ", s.lesson["media_name"], variant="soft"),
            href=s.lesson["media_url"],
            is_external=True,
            id="lesson-file",
        ),
        rx.cond(
            s.is_pdf,
            rx.el.iframe(
                src=s.lesson["media_url"],
                title=s.lesson["media_name"],
                id="lesson-pdf",
                width="100%",
                height="600px",
                style={"border": "1px solid var(--gray-6)"},
            ),
        ),
        width="100%",
    )


def _question(q: rx.Var) -> rx.Component:
    s = PlayerState
    return rx.el.fieldset(
        rx.el.legend(q["number"], ". ", q["prompt"], class_name="gh-label"),
        rx.cond(
            q["kind"] == "short",
            rx.input(id="q-" + q["id"], name=q["id"], aria_label="Your answer", max_length=500),
            rx.vstack(
                rx.foreach(
                    s.options,
                    lambda o: rx.cond(
                        o["qid"] == q["id"],
                        rx.hstack(
                            rx.el.input(
                                type=o["type"], name=o["name"], value=o["index"], id=o["input_id"]
                            ),
                            rx.el.label(o["text"], html_for=o["input_id"]),
                            align="center",
                        ),
                    ),
                ),
                spacing="1",
            ),
        ),
        style={"border": "none", "padding": "0", "margin": "0 0 1em 0"},
    )


def _quiz() -> rx.Component:
    s = PlayerState
    info = s.quiz_info
    result = rx.vstack(
        rx.heading(
            rx.cond(s.result["passed"] != "", "Passed", "Not passed"),
            size="5",
            color_scheme=rx.cond(s.result["passed"] != "", "green", "red"),
        ),
        rx.text(
            "Score ",
            s.result["score"],
            "/",
            s.result["max"],
            " (",
            s.result["percent"],
            "%)",
            id="quiz-score",
        ),
        rx.foreach(
            s.feedback,
            lambda fb: rx.card(
                rx.vstack(
                    rx.hstack(
                        rx.cond(
                            fb["correct"] != "",
                            rx.icon("circle_check", color=rx.color("green", 9)),
                            rx.icon("circle_x", color=rx.color("red", 9)),
                        ),
                        rx.text(fb["prompt"], weight="bold"),
                    ),
                    rx.text("Your answer: ", fb["given"], size="2"),
                    rx.cond(
                        fb["right"] != "",
                        rx.text("Right answer: ", fb["right"], size="2"),
                        rx.cond(
                            fb["correct"] == "",
                            rx.text(
                                "The right answer and why show once you pass or have no "
                                "tries left.",
                                size="1",
                                color_scheme="gray",
                            ),
                        ),
                    ),
                    rx.cond(fb["explanation"] != "", rx.text(fb["explanation"], size="2")),
                    align="start",
                ),
                width="100%",
            ),
        ),
        rx.cond(
            s.can_attempt,
            rx.button("Try again", on_click=s.try_again, id="quiz-try-again"),
        ),
        id="quiz-result",
        align="start",
        width="100%",
    )
    form = rx.form(
        rx.vstack(
            rx.foreach(s.questions, _question),
            # The attempt this page shows, sent with the answers: a second click (or a submit
            # queued behind the first) names an attempt already stored, and is refused.
            rx.el.input(type="hidden", name="_attempt", value=s.attempt_number),
            rx.button("Submit answers", type="submit", id="quiz-submit", loading=s.busy, size="3"),
            align="start",
            width="100%",
        ),
        on_submit=s.submit_quiz,
        reset_on_submit=True,
        id="quiz-form",
        width="100%",
    )
    return rx.vstack(
        rx.cond(info["intro"] != "", safe_markdown(info["intro"])),
        rx.hstack(
            rx.text("Pass mark ", info["passing"], "%", size="2"),
            rx.text("Attempts left: ", info["left"], size="2", id="quiz-attempts-left"),
            rx.cond(info["best"] != "", rx.text("Best ", info["best"], "%", size="2")),
            spacing="4",
            wrap="wrap",
        ),
        rx.cond(
            s.show_result,
            result,
            rx.cond(
                s.can_attempt | s.preview,
                form,
                rx.text("No attempts left.", color_scheme="gray"),
            ),
        ),
        width="100%",
        align="start",
    )


def _content() -> rx.Component:
    s = PlayerState
    kind = s.lesson["kind"]
    return rx.vstack(
        rx.cond(
            s.preview,
            rx.callout(
                "Preview: nothing is recorded.",
                icon="eye",
                color_scheme="amber",
                id="preview-banner",
                width="100%",
            ),
        ),
        rx.hstack(
            rx.heading(s.lesson["title"], size="6", id="lesson-title"),
            rx.cond(s.lesson["required"] != "", rx.badge(s.lesson["required"])),
            rx.cond(s.completed, rx.badge("Done", color_scheme="green", id="lesson-done")),
            align="center",
            wrap="wrap",
        ),
        rx.cond(
            s.locked,
            rx.callout(
                s.lock_reason, icon="lock", color_scheme="gray", id="lesson-locked", width="100%"
            ),
            rx.vstack(
                rx.cond(
                    (kind != "quiz") & (s.lesson["body"] != ""),
                    rx.box(safe_markdown(s.lesson["body"]), id="lesson-body", width="100%"),
                ),
                rx.match(
                    kind,
                    ("video", _video()),
                    ("file", _file()),
                    ("quiz", _quiz()),
                    rx.fragment(),
                ),
                width="100%",
            ),
        ),
        rx.cond(
            s.locked & (s.enrollment_status == "") & ~s.preview,
            rx.link("See the course and enroll", href="/courses/" + s.cid),
        ),
        rx.hstack(
            rx.cond(
                s.previous_id != "",
                rx.link(
                    rx.button(rx.icon("arrow_left"), "Previous", variant="soft"),
                    href=s.base + "/" + s.cid + "/" + s.previous_id,
                    id="previous-lesson",
                ),
            ),
            rx.cond(
                s.can_mark,
                rx.button(
                    "Mark complete",
                    on_click=s.mark_complete,
                    id="mark-complete",
                    loading=s.busy,
                    disabled=s.busy,
                ),
            ),
            rx.cond(
                s.next_id != "",
                rx.link(
                    rx.button("Next", rx.icon("arrow_right")),
                    href=s.base + "/" + s.cid + "/" + s.next_id,
                    id="next-lesson",
                ),
            ),
            spacing="3",
            wrap="wrap",
            padding_top="1em",
        ),
        width="100%",
        align="start",
        spacing="3",
    )


def player_page() -> rx.Component:
    """One lesson with the course outline beside it."""
    s = PlayerState
    body = rx.flex(
        _outline(),
        rx.box(_content(), flex="1", width="100%"),
        direction=rx.breakpoints(initial="column-reverse", md="row"),
        gap="2em",
        width="100%",
    )
    return app_shell(
        rx.cond(~s.loaded, skeleton_rows(4), rx.cond(s.found, body, not_found())),
        title=rx.cond(s.found, s.course_title, "Lesson"),
        permission=Permission.learning_view,
        feature="lms",
    )


def resume_page() -> rx.Component:
    """`/learn/[course_id]`: redirects to the next lesson as it loads."""
    s = PlayerState
    return app_shell(
        rx.cond(~s.loaded, skeleton_rows(2), not_found()),
        title="Opening your course",
        permission=Permission.learning_view,
        feature="lms",
    )


def register(app: rx.App) -> None:
    """Add the player routes."""
    app.add_page(
        player_page,
        route="/learn/[course_id]/[lesson_id]",
        title="Lesson · Guildhall",
        on_load=PlayerState.load,
    )
    app.add_page(
        resume_page,
        route="/learn/[course_id]",
        title="Course · Guildhall",
        on_load=PlayerState.resume,
    )
    app.add_page(
        player_page,
        route="/preview/[course_id]/[lesson_id]",
        title="Preview · Guildhall",
        on_load=PlayerState.load,
    )
    app.add_page(
        resume_page,
        route="/preview/[course_id]",
        title="Preview · Guildhall",
        on_load=PlayerState.resume,
    )
