"""The lesson half of the course editor: the selected lesson's form (Markdown with a live
preview), its media upload with a progress bar, and its quiz questions. Ids are listed in
`app.pages.teach_editor`."""

from __future__ import annotations

import reflex as rx

from app.components.ui import safe_markdown
from app.services.authoring import media
from app.services.authoring.questions import QUESTION_KINDS
from app.settings import get_settings
from app.state.teach_editor import TeachEditorState
from app.state.teach_lesson import FILE_UPLOAD_ID, VIDEO_UPLOAD_ID

S = TeachEditorState


def field_error(error: rx.Var[str], input_id: str) -> rx.Component:
    """An error message for `input_id` (announced to screen readers)."""
    return rx.cond(
        error != "",
        rx.text(error, id=f"{input_id}-error", color_scheme="red", size="2", role="alert"),
    )


def labelled(
    label: str | rx.Var[str],
    control: rx.Component,
    input_id: str | rx.Var[str],
    error: rx.Var[str] | None = None,
) -> rx.Component:
    """A label above `control` (whose id is `input_id`), and its error below."""
    return rx.box(
        rx.el.label(label, html_for=input_id, class_name="gh-label"),
        control,
        field_error(error, input_id) if error is not None else rx.fragment(),
        width="100%",
    )


def check(label: str, name: str, checked: rx.Var[bool], input_id: str) -> rx.Component:
    """A native checkbox that posts "on" with its form."""
    return rx.el.label(
        rx.el.input(type="checkbox", name=name, id=input_id, default_checked=checked),
        rx.text(label, as_="span", size="2"),
        style={"display": "flex", "gap": "0.5em", "align_items": "center"},
    )


# --------------------------------------------------------------------------- header


def icon_button(
    icon: str, label: str, on_click: object, button_id: object, **props: object
) -> rx.Component:
    return rx.icon_button(
        rx.icon(icon, size=14),
        size="1",
        variant="ghost",
        aria_label=label,
        title=label,
        on_click=on_click,
        id=button_id,
        **props,
    )


def _upload_button(upload_id: str) -> rx.Component:
    chunked = rx.upload_files_chunk(upload_id=upload_id, on_upload_progress=S.set_upload_progress)
    return rx.button(
        rx.icon("upload"),
        "Upload",
        on_click=S.upload_media(chunked),
        loading=S.uploading,
        id="upload-media",
    )


def _media_panel() -> rx.Component:
    lesson = S.lesson
    is_video = lesson["kind"] == "video"

    def dropzone(
        upload_id: str, accept: dict[str, list[str]], hint: str, limit_mb: int
    ) -> rx.Component:
        return rx.upload(
            rx.vstack(
                rx.icon("file_up", size=24),
                rx.text(hint, size="2"),
                rx.foreach(rx.selected_files(upload_id), lambda n: rx.badge(n)),
                align="center",
            ),
            id=upload_id,
            custom_attrs={"data-file-label": "Lesson file or video"},
            accept=accept,
            max_files=1,
            multiple=False,
            max_size=limit_mb * media.MB,  # a hint: the server counts bytes itself
            border="1px dashed var(--gray-7)",
            padding="1em",
            width="100%",
            aria_label="Lesson file",
        )

    settings = get_settings()
    return rx.vstack(
        rx.heading(rx.cond(is_video, "Video", "File"), size="3"),
        rx.cond(
            lesson["media_name"] != "",
            rx.flex(
                rx.icon(rx.cond(is_video, "film", "file_text"), size=16),
                rx.link(lesson["media_name"], href=lesson["media_url"], is_external=True),
                rx.text(
                    lesson["media_size"], " · ", lesson["media_type"], size="1", color_scheme="gray"
                ),
                rx.cond(lesson["duration"] != "", rx.badge(lesson["duration"])),
                rx.button(
                    "Remove",
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    on_click=S.remove_media,
                    id="remove-media",
                ),
                gap="2",
                align="center",
                wrap="wrap",
                id="current-media",
            ),
            rx.text("Nothing uploaded yet.", size="2", color_scheme="gray"),
        ),
        rx.cond(
            is_video,
            rx.vstack(
                dropzone(
                    VIDEO_UPLOAD_ID,
                    media.ACCEPT["video"],
                    f"Drop an MP4 or WebM video (at most {settings.max_video_mb} MB), "
                    "or click to choose.",
                    settings.max_video_mb,
                ),
                _upload_button(VIDEO_UPLOAD_ID),
                width="100%",
            ),
            rx.vstack(
                dropzone(
                    FILE_UPLOAD_ID,
                    media.ACCEPT["file"],
                    "Drop a PDF, Word, Excel, PowerPoint, OpenDocument, text or CSV file "
                    f"(at most {settings.max_file_mb} MB), or click to choose.",
                    settings.max_file_mb,
                ),
                _upload_button(FILE_UPLOAD_ID),
                width="100%",
            ),
        ),
        rx.cond(
            S.uploading | (S.upload_progress > 0),
            rx.progress(
                value=S.upload_progress,
                max=100,
                width="100%",
                id="upload-progress",
                aria_label="Upload progress",
            ),
        ),
        rx.text(S.upload_note, size="2", id="upload-note", aria_live="polite"),
        field_error(S.field_errors["file"], "upload-media"),
        width="100%",
    )


def _question_card(q: rx.Var) -> rx.Component:
    base = "question-" + q["id"]
    short = q["kind"] == "short"
    return rx.card(
        rx.form(
            rx.vstack(
                rx.flex(
                    rx.badge(q["kind_label"]),
                    rx.spacer(),
                    icon_button(
                        "arrow_up",
                        "Move question up",
                        S.move_question(q["id"], "up"),
                        base + "-up",
                        type="button",
                    ),
                    icon_button(
                        "arrow_down",
                        "Move question down",
                        S.move_question(q["id"], "down"),
                        base + "-down",
                        type="button",
                    ),
                    icon_button(
                        "trash_2",
                        "Delete question",
                        S.delete_question(q["id"]),
                        base + "-delete",
                        color_scheme="red",
                        type="button",
                    ),
                    width="100%",
                    gap="2",
                ),
                rx.el.input(type="hidden", name="question_id", value=q["id"]),
                rx.el.input(type="hidden", name="kind", value=q["kind"]),
                labelled(
                    "Question",
                    rx.text_area(
                        name="prompt", default_value=q["prompt"], id=base + "-prompt", rows="2"
                    ),
                    base + "-prompt",
                ),
                rx.cond(
                    short,
                    labelled(
                        "Accepted answers (one per line; any case)",
                        rx.text_area(
                            name="answers",
                            default_value=q["answers"],
                            id=base + "-answers",
                            rows="3",
                        ),
                        base + "-answers",
                    ),
                    labelled(
                        "Options (one per line; start right answers with *)",
                        rx.text_area(
                            name="options",
                            default_value=q["options"],
                            id=base + "-options",
                            rows="4",
                        ),
                        base + "-options",
                    ),
                ),
                rx.flex(
                    labelled(
                        "Points",
                        rx.input(
                            name="points",
                            default_value=q["points"],
                            id=base + "-points",
                            input_mode="numeric",
                            width="6em",
                        ),
                        base + "-points",
                    ),
                    labelled(
                        "Explanation shown after submitting",
                        rx.input(
                            name="explanation",
                            default_value=q["explanation"],
                            id=base + "-explanation",
                        ),
                        base + "-explanation",
                    ),
                    gap="2",
                    width="100%",
                ),
                rx.button("Save question", size="1", type="submit", id=base + "-save"),
                spacing="2",
                width="100%",
            ),
            on_submit=S.save_question,
            key=q["key"],
        ),
        width="100%",
        id=base,
    )


def _new_question() -> rx.Component:
    e = S.field_errors
    short = S.new_question_kind == "short"
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("New question", size="3"),
                labelled(
                    "Kind",
                    rx.el.select(
                        *[rx.el.option(label, value=k) for k, label in QUESTION_KINDS.items()],
                        name="kind",
                        id="new-question-kind",
                        value=S.new_question_kind,
                        on_change=S.set_new_question_kind,
                        class_name="gh-select",
                    ),
                    "new-question-kind",
                    e["kind"],
                ),
                labelled(
                    "Question",
                    rx.text_area(name="prompt", id="new-question-prompt", rows="2"),
                    "new-question-prompt",
                    e["prompt"],
                ),
                rx.cond(
                    short,
                    labelled(
                        "Accepted answers (one per line; any case)",
                        rx.text_area(name="answers", id="new-question-answers", rows="3"),
                        "new-question-answers",
                        e["answer"],
                    ),
                    rx.vstack(
                        labelled(
                            "Options (one per line; start right answers with *)",
                            rx.text_area(
                                name="options",
                                id="new-question-options",
                                rows="4",
                                placeholder="Green\n* Blue\nRed",
                            ),
                            "new-question-options",
                            e["options"],
                        ),
                        field_error(e["answer"], "new-question-answer"),
                        width="100%",
                    ),
                ),
                rx.flex(
                    labelled(
                        "Points",
                        rx.input(
                            name="points",
                            id="new-question-points",
                            default_value="1",
                            input_mode="numeric",
                            width="6em",
                        ),
                        "new-question-points",
                        e["points"],
                    ),
                    labelled(
                        "Explanation shown after submitting",
                        rx.input(name="explanation", id="new-question-explanation"),
                        "new-question-explanation",
                        e["explanation"],
                    ),
                    gap="2",
                    width="100%",
                ),
                rx.button(rx.icon("plus"), "Add question", type="submit", id="add-question"),
                spacing="2",
                width="100%",
            ),
            on_submit=S.add_question,
            reset_on_submit=True,
        ),
        width="100%",
    )


def lesson_editor() -> rx.Component:
    lesson = S.lesson
    e = S.field_errors
    kind = lesson["kind"]
    is_quiz = kind == "quiz"
    form = rx.form(
        rx.vstack(
            labelled(
                "Lesson title",
                rx.input(
                    name="lesson_title",
                    id="lesson-title",
                    default_value=lesson["title"],
                    required=True,
                ),
                "lesson-title",
                e["lesson_title"],
            ),
            check(
                "Required: counts towards completing the course",
                "required",
                lesson["required"] == "1",
                "lesson-required",
            ),
            rx.grid(
                labelled(
                    rx.cond(kind == "text", "Text (Markdown)", "Introduction (Markdown, optional)"),
                    rx.text_area(
                        name="body",
                        id="lesson-body",
                        default_value=lesson["body"],
                        on_change=S.set_preview,
                        rows=rx.cond(kind == "text", "14", "4"),
                        font_family="monospace",
                    ),
                    "lesson-body",
                    e["body"],
                ),
                rx.box(
                    rx.text("Preview", class_name="gh-label"),
                    rx.box(
                        safe_markdown(S.preview),
                        id="lesson-preview",
                        padding="0.75em",
                        border="1px solid var(--gray-5)",
                        border_radius="var(--radius-2)",
                        min_height="6em",
                        overflow_x="auto",
                    ),
                ),
                columns=rx.breakpoints(initial="1", lg="2"),
                gap="3",
                width="100%",
            ),
            rx.cond(
                is_quiz,
                rx.flex(
                    labelled(
                        "Passing score (%)",
                        rx.input(
                            name="passing_score",
                            id="lesson-passing-score",
                            default_value=lesson["passing_score"],
                            input_mode="numeric",
                        ),
                        "lesson-passing-score",
                        e["passing_score"],
                    ),
                    labelled(
                        "Attempts allowed (0: unlimited)",
                        rx.input(
                            name="max_attempts",
                            id="lesson-max-attempts",
                            default_value=lesson["max_attempts"],
                            input_mode="numeric",
                        ),
                        "lesson-max-attempts",
                        e["max_attempts"],
                    ),
                    rx.box(
                        check(
                            "Shuffle questions",
                            "shuffle",
                            lesson["shuffle"] == "1",
                            "lesson-shuffle",
                        ),
                        padding_top="1.5em",
                    ),
                    gap="3",
                    wrap="wrap",
                    width="100%",
                ),
            ),
            rx.button("Save lesson", type="submit", id="save-lesson"),
            spacing="3",
            width="100%",
        ),
        on_submit=S.save_lesson,
        key=S.lesson["key"],
        width="100%",
    )
    return rx.card(
        rx.vstack(
            rx.flex(
                rx.badge(lesson["kind_label"], size="2"),
                rx.heading(lesson["title"], size="4"),
                rx.spacer(),
                rx.el.select(
                    rx.el.option("Move to module…", value=""),
                    rx.foreach(
                        S.module_choices, lambda m: rx.el.option(m["label"], value=m["value"])
                    ),
                    id="lesson-move-to",
                    aria_label="Move lesson to module",
                    value="",
                    on_change=S.move_lesson_to,
                    class_name="gh-select",
                    style={"width": "auto"},
                ),
                rx.icon_button(
                    rx.icon("x"),
                    variant="ghost",
                    aria_label="Close lesson",
                    on_click=S.close_lesson,
                ),
                gap="2",
                align="center",
                wrap="wrap",
                width="100%",
            ),
            form,
            rx.cond((kind == "file") | (kind == "video"), _media_panel()),
            rx.cond(
                is_quiz,
                rx.vstack(
                    rx.heading("Questions", size="3"),
                    rx.cond(
                        S.questions.length() == 0,
                        rx.text(
                            "No questions yet: a quiz needs at least one to publish.",
                            size="2",
                            color_scheme="gray",
                        ),
                    ),
                    rx.foreach(S.questions, _question_card),
                    _new_question(),
                    width="100%",
                ),
            ),
            spacing="4",
            width="100%",
        ),
        id="lesson-editor",
        width="100%",
    )
