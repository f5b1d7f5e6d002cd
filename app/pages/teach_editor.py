"""The course editor at `/teach/courses/[course_id]`: status and publishing, the details form
with the cover, the modules > lessons tree, and the editor of the selected lesson.

Stable ids for tests: `course-status`, `publish-course`, `archive-course`, `draft-course`,
`preview-course`, `publish-error`, `publish-problems`, `tab-content`, `tab-details`,
`details-form`, `save-details`, `upload-cover`; the tree: `new-module-title`, `add-module`,
`module-<n>` (n = 1, 2, ...), `module-<n>-title` (rename on blur), `module-<n>-up|down|delete`,
`lesson-<n>-<m>` (opens the lesson), `lesson-<n>-<m>-required|up|down|delete`,
`new-lesson-kind-<n>`, `new-lesson-title-<n>`, `add-lesson-<n>`; the lesson editor:
`lesson-editor`, `lesson-title`, `lesson-required`, `lesson-body`, `lesson-preview`,
`lesson-passing-score`, `lesson-max-attempts`, `lesson-shuffle`, `save-lesson`,
`lesson-move-to`, `lesson-file-upload` / `lesson-video-upload`, `upload-media`,
`upload-progress`, `upload-note`, `current-media`, `remove-media`; questions: `question-<k>`
with `question-<k>-prompt|options|answers|points|explanation|save|up|down|delete`, and the new
question form `new-question-kind|prompt|options|answers|points|explanation`, `add-question`;
the links `live-class-view` and `course-cohorts`.
"""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import not_found, select_field
from app.pages.teach_lesson import check, field_error, icon_button, labelled, lesson_editor
from app.services.authoring import media
from app.services.authoring.course_input import LEVELS
from app.services.authoring.course_lessons import LESSON_KINDS
from app.services.core.authz import Permission
from app.state.teach_editor import COVER_UPLOAD_ID, TeachEditorState

S = TeachEditorState


def _status_bar() -> rx.Component:
    status = S.course["status"]
    return rx.vstack(
        rx.flex(
            rx.link("← All courses", href="/teach", size="2"),
            rx.badge(status, color_scheme=S.course["status_color"], size="2", id="course-status"),
            rx.spacer(),
            rx.cond(
                status != "published",
                rx.button(rx.icon("rocket"), "Publish", on_click=S.publish, id="publish-course"),
            ),
            rx.cond(
                status != "draft",
                rx.button(
                    "Back to draft", variant="soft", on_click=S.back_to_draft, id="draft-course"
                ),
            ),
            rx.cond(
                status != "archived",
                rx.button(
                    "Archive",
                    variant="soft",
                    color_scheme="orange",
                    on_click=S.archive,
                    id="archive-course",
                ),
            ),
            rx.link(
                rx.button(rx.icon("eye"), "Preview as learner", variant="outline"),
                href=S.course["preview_href"],
                id="preview-course",
            ),
            rx.link(
                rx.button(rx.icon("activity"), "Live class view", variant="outline"),
                href="/teach/courses/" + S.cid + "/live",
                id="live-class-view",
            ),
            rx.link(
                rx.button(rx.icon("users"), "Cohorts", variant="outline"),
                href="/teach/courses/" + S.cid + "/cohorts",
                id="course-cohorts",
            ),
            gap="2",
            wrap="wrap",
            align="center",
            width="100%",
        ),
        rx.cond(
            S.publish_error != "",
            rx.callout(
                S.publish_error,
                icon="triangle_alert",
                color_scheme="red",
                role="alert",
                id="publish-error",
                width="100%",
            ),
        ),
        rx.cond(
            (S.problems.length() > 0) & (status == "draft"),
            rx.box(
                rx.text("Before this course can be published:", weight="medium", size="2"),
                rx.el.ul(
                    rx.foreach(S.problems, lambda p: rx.el.li(rx.text(p, size="2"))),
                    style={"margin": "0.25em 0 0 1.25em", "list_style": "disc"},
                ),
                id="publish-problems",
                padding="0.75em",
                border_radius="var(--radius-3)",
                background=rx.color("amber", 3),
                width="100%",
            ),
        ),
        rx.text("Last changed ", S.course["modified"], size="1", color_scheme="gray"),
        width="100%",
        spacing="2",
    )


# --------------------------------------------------------------------------- details


def _details() -> rx.Component:
    e = S.field_errors
    c = S.course
    form = rx.form(
        rx.vstack(
            labelled(
                "Title",
                rx.input(id="field-title", name="title", default_value=c["title"], required=True),
                "field-title",
                e["title"],
            ),
            labelled(
                "Summary (one line for the catalog)",
                rx.input(id="field-summary", name="summary", default_value=c["summary"]),
                "field-summary",
                e["summary"],
            ),
            labelled(
                "Description (Markdown)",
                rx.text_area(
                    id="field-description",
                    name="description",
                    default_value=c["description"],
                    rows="6",
                ),
                "field-description",
                e["description"],
            ),
            rx.grid(
                labelled(
                    "Category",
                    rx.input(id="field-category", name="category", default_value=c["category"]),
                    "field-category",
                    e["category"],
                ),
                select_field(
                    "Level",
                    "level",
                    list(LEVELS.items()),
                    error=e["level"],
                    default_value=c["level"],
                ),
                select_field(
                    "Delivery mode",
                    "delivery_mode",
                    S.modes,
                    error=e["delivery_mode"],
                    default_value=c["delivery_mode"],
                ),
                select_field(
                    "Program",
                    "program_id",
                    S.programs,
                    error=e["program_id"],
                    default_value=c["program_id"],
                ),
                labelled(
                    "Price (leave empty for free)",
                    rx.input(
                        id="field-price",
                        name="price",
                        default_value=c["price"],
                        placeholder="0.00",
                        input_mode="decimal",
                    ),
                    "field-price",
                    e["price_cents"],
                ),
                labelled(
                    "Certificate valid for (days; empty: never expires)",
                    rx.input(
                        id="field-certificate_valid_days",
                        name="certificate_valid_days",
                        default_value=c["certificate_valid_days"],
                        input_mode="numeric",
                    ),
                    "field-certificate_valid_days",
                    e["certificate_valid_days"],
                ),
                columns=rx.breakpoints(initial="1", sm="2"),
                gap="3",
                width="100%",
            ),
            rx.vstack(
                check(
                    "Offer to the organizations below this one once published",
                    "shared_with_children",
                    c["shared_with_children"] == "1",
                    "field-shared_with_children",
                ),
                check(
                    "Learners apply and staff approve (instead of enrolling directly)",
                    "requires_approval",
                    c["requires_approval"] == "1",
                    "field-requires_approval",
                ),
                check(
                    "Sequential: each module opens when the previous one is done",
                    "sequential",
                    c["sequential"] == "1",
                    "field-sequential",
                ),
                spacing="2",
            ),
            rx.box(
                rx.text("Prerequisite courses", class_name="gh-label"),
                rx.cond(
                    S.prereqs.length() > 0,
                    rx.flex(
                        rx.foreach(
                            S.prereqs,
                            lambda p: check(
                                p["title"],
                                "prereq_" + p["id"],
                                p["checked"] == "1",
                                "prereq-" + p["id"],
                            ),
                        ),
                        direction="column",
                        gap="1",
                    ),
                    rx.text("No other courses yet.", size="2", color_scheme="gray"),
                ),
                field_error(e["prerequisite_ids"], "field-prerequisite_ids"),
                width="100%",
            ),
            rx.button("Save details", type="submit", id="save-details"),
            spacing="3",
            width="100%",
        ),
        on_submit=S.save_details,
        id="details-form",
        key=S.details_key,
        width="100%",
    )
    cover = rx.vstack(
        rx.heading("Cover image", size="3"),
        rx.cond(
            S.course["cover_url"] != "",
            rx.image(
                src=S.course["cover_url"], alt="Course cover", max_height="10em", id="cover-image"
            ),
            rx.text("No cover yet.", size="2", color_scheme="gray"),
        ),
        rx.upload(
            rx.vstack(
                rx.icon("image_up", size=24),
                rx.text("Drop a PNG, JPEG or WebP (at most 5 MB), or click to choose.", size="2"),
                rx.foreach(rx.selected_files(COVER_UPLOAD_ID), lambda n: rx.badge(n)),
                align="center",
            ),
            id=COVER_UPLOAD_ID,
            custom_attrs={"data-file-label": "Cover image"},
            accept={
                "image/png": [".png"],
                "image/jpeg": [".jpg", ".jpeg"],
                "image/webp": [".webp"],
            },
            max_files=1,
            multiple=False,
            max_size=media.MAX_COVER_BYTES,
            border="1px dashed var(--gray-7)",
            padding="1em",
            width="100%",
            aria_label="Cover image",
        ),
        field_error(S.field_errors["cover"], "upload-cover"),
        rx.button(
            "Upload cover",
            variant="soft",
            on_click=S.upload_cover(rx.upload_files(upload_id=COVER_UPLOAD_ID)),
            id="upload-cover",
        ),
        width="100%",
    )
    return rx.vstack(rx.card(form, width="100%"), rx.card(cover, width="100%"), width="100%")


# --------------------------------------------------------------------------- tree


def _module_row(row: rx.Var) -> rx.Component:
    base = "module-" + row["number"]
    return rx.flex(
        rx.text(row["number"], weight="bold", size="2"),
        rx.input(
            default_value=row["title"],
            on_blur=lambda v: S.rename_module(row["id"], v),
            id=base + "-title",
            aria_label="Module title",
            key=row["id"] + row["title"],
            size="2",
            flex="1",
            min_width="8em",
        ),
        rx.text(row["count"], size="1", color_scheme="gray"),
        icon_button(
            "arrow_up",
            "Move module up",
            S.move_module(row["id"], "up"),
            base + "-up",
            disabled=row["first"] == "1",
        ),
        icon_button(
            "arrow_down",
            "Move module down",
            S.move_module(row["id"], "down"),
            base + "-down",
            disabled=row["last"] == "1",
        ),
        icon_button(
            "trash_2",
            "Delete module",
            S.delete_module(row["id"]),
            base + "-delete",
            color_scheme="red",
        ),
        id=base,
        gap="2",
        align="center",
        padding_top="0.75em",
        border_top="1px solid var(--gray-5)",
        width="100%",
    )


def _lesson_row(row: rx.Var) -> rx.Component:
    base = "lesson-" + row["slug"]
    selected = S.sel == row["id"]
    return rx.flex(
        rx.button(
            rx.text(row["number"], size="1", color_scheme="gray"),
            rx.badge(row["kind_label"], variant="soft", size="1"),
            rx.text(row["title"], size="2"),
            variant=rx.cond(selected, "soft", "ghost"),
            on_click=S.select_lesson(row["id"]),
            id=base,
            flex="1",
            justify="start",
        ),
        rx.el.label(
            rx.switch(
                checked=row["required"] == "1",
                on_change=lambda v: S.set_required(row["id"], v),
                size="1",
                id=base + "-required",
            ),
            rx.text("Required", size="1"),
            style={"display": "flex", "gap": "0.3em", "align_items": "center"},
        ),
        icon_button(
            "arrow_up",
            "Move lesson up",
            S.move_lesson(row["id"], "up"),
            base + "-up",
            disabled=row["first"] == "1",
        ),
        icon_button(
            "arrow_down",
            "Move lesson down",
            S.move_lesson(row["id"], "down"),
            base + "-down",
            disabled=row["last"] == "1",
        ),
        icon_button(
            "trash_2",
            "Delete lesson",
            S.delete_lesson(row["id"]),
            base + "-delete",
            color_scheme="red",
        ),
        gap="2",
        align="center",
        padding_left="1.25em",
        width="100%",
    )


def _add_lesson_row(row: rx.Var) -> rx.Component:
    n = row["number"]
    return rx.form(
        rx.flex(
            rx.el.input(type="hidden", name="module_id", value=row["module_id"]),
            rx.el.select(
                *[rx.el.option(label, value=kind) for kind, label in LESSON_KINDS.items()],
                name="kind",
                id="new-lesson-kind-" + n,
                aria_label="Kind of the new lesson",
                class_name="gh-select",
                style={"width": "auto"},
            ),
            rx.input(
                name="lesson_title",
                placeholder="New lesson title",
                id="new-lesson-title-" + n,
                aria_label="New lesson title",
                required=True,
                flex="1",
                min_width="8em",
                size="1",
            ),
            rx.button("Add lesson", size="1", variant="soft", type="submit", id="add-lesson-" + n),
            gap="2",
            align="center",
            wrap="wrap",
            width="100%",
        ),
        on_submit=S.add_lesson,
        reset_on_submit=True,
        padding_left="1.25em",
        width="100%",
    )


def _tree() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Modules and lessons", size="4"),
            rx.cond(
                S.tree.length() == 0,
                rx.text("No modules yet: add the first one below.", size="2", color_scheme="gray"),
            ),
            rx.foreach(
                S.tree,
                lambda row: rx.match(
                    row["type"],
                    ("module", _module_row(row)),
                    ("lesson", _lesson_row(row)),
                    _add_lesson_row(row),
                ),
            ),
            rx.form(
                rx.flex(
                    rx.input(
                        name="module_title",
                        placeholder="New module title",
                        id="new-module-title",
                        aria_label="New module title",
                        required=True,
                        flex="1",
                    ),
                    rx.button(rx.icon("plus"), "Add module", type="submit", id="add-module"),
                    gap="2",
                    width="100%",
                ),
                on_submit=S.add_module,
                reset_on_submit=True,
                width="100%",
                padding_top="0.75em",
                border_top="1px solid var(--gray-5)",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


# --------------------------------------------------------------------------- lesson editor


def _content() -> rx.Component:
    return rx.grid(
        _tree(),
        rx.cond(
            S.sel != "",
            lesson_editor(),
            rx.card(
                rx.text("Choose a lesson on the left to edit it.", size="2", color_scheme="gray"),
                width="100%",
            ),
        ),
        columns=rx.breakpoints(initial="1", lg="2"),
        gap="4",
        width="100%",
    )


def course_editor_page() -> rx.Component:
    """The course editor."""
    return app_shell(
        rx.cond(
            S.found,
            rx.vstack(
                _status_bar(),
                rx.tabs.root(
                    rx.tabs.list(
                        rx.tabs.trigger("Content", value="content", id="tab-content"),
                        rx.tabs.trigger("Details", value="details", id="tab-details"),
                    ),
                    rx.tabs.content(_content(), value="content", padding_top="1em"),
                    rx.tabs.content(_details(), value="details", padding_top="1em"),
                    default_value="content",
                    width="100%",
                ),
                width="100%",
                spacing="3",
            ),
            rx.cond(S.loaded, not_found()),
        ),
        title=rx.cond(S.found, S.course["title"], "Course editor"),
        permission=Permission.courses_author,
        feature="lms",
    )
