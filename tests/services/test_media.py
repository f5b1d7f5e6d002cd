"""Course media (`app.services.media`): types by content, size limits while streaming, storage
keys, replacement, video duration, covers."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.models.course import LessonKind
from app.services import courses, media, storage
from app.services.errors import ValidationFailed
from app.services.tenancy import OrgContext, tenant_session
from tests import factories as f
from tests.fixtures import media_samples as samples

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture(autouse=True)
def _files(settings_env: Callable[..., None], tmp_path: Path) -> None:
    settings_env(storage_dir=tmp_path / "files")


def run(ctx: OrgContext, fn: Callable[..., Any], **kwargs: Any) -> Any:
    with tenant_session(ctx) as session:
        return fn(session, ctx, **kwargs)


def lessons(ctx: OrgContext) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A draft course with one lesson of each kind."""
    course = run(ctx, courses.create_course, data={"title": "Media course"})
    module = run(ctx, courses.add_module, course_id=course.id, title="M")
    ids = {
        kind: run(
            ctx, courses.add_lesson, course_id=course.id, module_id=module.id, kind=kind, title=kind
        ).id
        for kind in ("text", "file", "video", "quiz")
    }
    return course.id, ids


def attach(
    ctx: OrgContext, course_id: uuid.UUID, lesson_id: uuid.UUID, source: Any, name: str
) -> Any:
    return run(
        ctx,
        media.attach_media,
        course_id=course_id,
        lesson_id=lesson_id,
        source=source,
        filename=name,
    )


@pytest.mark.parametrize(
    ("make", "name", "content_type"),
    [
        (samples.pdf, "Handbook (v2).pdf", "application/pdf"),
        (samples.docx, "notes.docx", media.OFFICE[".docx"][0]),
        (samples.pptx, "slides.pptx", media.OFFICE[".pptx"][0]),
        (samples.odt, "notes.odt", "application/vnd.oasis.opendocument.text"),
        (lambda: b"name,score\nAda,10\n", "scores.csv", "text/csv"),
        (lambda: "Café notes\n".encode(), "notes.txt", "text/plain"),
    ],
)
def test_file_lessons_take_documents_by_content(
    make: Callable[[], bytes], name: str, content_type: str
) -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    data = make()
    lesson = attach(admin.ctx, course_id, ids["file"], data, name)
    assert lesson.media_type == content_type and lesson.media_size == len(data)
    assert lesson.media_name == name
    prefix = f"org/{admin.org_id}/courses/{course_id}/lessons/{ids['file']}/"
    assert lesson.media_key.startswith(prefix) and storage.is_valid_key(lesson.media_key)
    assert storage.get_storage().get(lesson.media_key) == (data, content_type)
    view = run(admin.ctx, courses.course_detail_for_editor, course_id=course_id)
    (file_view,) = [lsn for lsn in view.modules[0].lessons if lsn.kind == LessonKind.file]
    assert file_view.media_url == f"/files/{lesson.media_key}"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (samples.fake_docx(), "report.docx"),  # a zip, but not a Word document
        (samples.docx(), "report.zip"),  # Word content, but no Office name to tell which
        (b"<html><script>alert(1)</script></html>", "handout.pdf"),
        (b"MZ\x90\x00\x03" + b"\x00" * 100, "handout.pdf"),
        (b"\x00\x01binary\xff\xfe", "notes.txt"),
        (samples.png(), "picture.pdf"),
        (samples.webm_header(), "clip.pdf"),
    ],
)
def test_file_lessons_refuse_other_content_whatever_the_name(data: bytes, name: str) -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    with pytest.raises(ValidationFailed) as err:
        attach(admin.ctx, course_id, ids["file"], data, name)
    assert err.value.field == "file" and "not a type this lesson takes" in err.value.message
    view = run(admin.ctx, courses.course_detail_for_editor, course_id=course_id)
    assert all(not lsn.media_url for lsn in view.modules[0].lessons)


def test_video_lessons_take_mp4_and_webm_and_read_the_duration(tmp_path: Path) -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    webm = samples.real_video(tmp_path, "webm", seconds=2)
    lesson = attach(admin.ctx, course_id, ids["video"], str(webm), "clip.webm")
    assert lesson.media_type == "video/webm" and lesson.duration_seconds == pytest.approx(
        2.0, abs=0.2
    )
    first_key = lesson.media_key
    mp4 = samples.real_video(tmp_path, "mp4", seconds=3)
    lesson = attach(admin.ctx, course_id, ids["video"], mp4.read_bytes(), "clip.mp4")
    assert lesson.media_type == "video/mp4" and lesson.duration_seconds == pytest.approx(
        3.0, abs=0.2
    )
    # Replacing deletes the old object.
    assert not storage.get_storage().exists(first_key)
    assert storage.get_storage().exists(lesson.media_key)
    playing = media.playback(lesson)
    assert (
        playing is not None and playing.mode == "progressive" and playing.url.endswith("clip.mp4")
    )


def test_video_lessons_refuse_documents_and_unknown_durations_are_zero() -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    with pytest.raises(ValidationFailed, match="MP4 or WebM"):
        attach(admin.ctx, course_id, ids["video"], samples.pdf(), "clip.mp4")
    lesson = attach(admin.ctx, course_id, ids["video"], samples.webm_header(), "broken.webm")
    assert lesson.media_type == "video/webm" and lesson.duration_seconds == 0.0


def test_text_and_quiz_lessons_take_no_upload() -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    for kind in ("text", "quiz"):
        with pytest.raises(ValidationFailed, match="Only file and video lessons"):
            attach(admin.ctx, course_id, ids[kind], samples.pdf(), "a.pdf")


def test_size_limits_come_from_the_settings(settings_env: Callable[..., None]) -> None:
    settings_env(max_file_mb=1, max_video_mb=2)
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    big = samples.pdf() + b"\x00" * media.MB
    with pytest.raises(ValidationFailed) as err:
        attach(admin.ctx, course_id, ids["file"], big, "big.pdf")
    assert err.value.message == "The file is larger than 1 MB."
    with pytest.raises(ValidationFailed, match="larger than 2 MB"):
        attach(admin.ctx, course_id, ids["video"], samples.webm_header(2 * media.MB + 1), "v.webm")
    ok = attach(admin.ctx, course_id, ids["video"], samples.webm_header(2 * media.MB), "v.webm")
    assert ok.media_size == 2 * media.MB


def test_the_sink_refuses_the_moment_the_limit_passes_and_cleans_up() -> None:
    sink = media.UploadSink("file", 10, filename="a.pdf")
    sink.write(b"%PDF-1.4\n")
    assert sink.path.exists() and sink.size == 9
    with pytest.raises(ValidationFailed, match="larger than"):
        sink.write(b"tail")
    assert not sink.path.exists()
    with pytest.raises(ValidationFailed):
        sink.write(b"more")  # nothing more is taken after a refusal

    wrong = media.UploadSink("video", 1000)
    wrong.write(b"%PDF-1.4 not a video")
    with pytest.raises(ValidationFailed, match="MP4 or WebM"):
        wrong.finish("clip.mp4")
    assert not wrong.path.exists()

    empty = media.UploadSink("file", 1000)
    with pytest.raises(ValidationFailed, match="empty"):
        empty.finish("a.pdf")

    with media.UploadSink("video", 10_000) as good:
        for start in range(0, 2048, 100):
            good.write(samples.webm_header()[start : start + 100])
        assert good.finish("clip.webm") == "video/webm" and good.size == 2048
    assert not good.path.exists()


def test_a_finished_sink_is_attached(tmp_path: Path) -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    sink = media.UploadSink("file")
    sink.write(samples.pdf())
    sink.finish("guide.pdf")
    lesson = attach(admin.ctx, course_id, ids["file"], sink, "guide.pdf")
    sink.discard()
    assert lesson.media_type == "application/pdf"
    video_sink = media.UploadSink("video")
    video_sink.write(samples.webm_header())
    with pytest.raises(ValidationFailed, match="checked for a video lesson"):
        attach(admin.ctx, course_id, ids["file"], video_sink, "clip.webm")
    video_sink.discard()


def test_remove_media_deletes_the_object() -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    key = attach(admin.ctx, course_id, ids["file"], samples.pdf(), "a.pdf").media_key
    lesson = run(admin.ctx, media.remove_media, course_id=course_id, lesson_id=ids["file"])
    assert lesson.media_key == "" and not storage.get_storage().exists(key)
    problems = run(admin.ctx, courses.publish_problems, course_id=course_id)
    assert any("“file”" in p and "has no file" in p for p in problems)


def test_cover_images_by_content_and_replaced() -> None:
    admin = f.new_admin()
    course_id, _ids = lessons(admin.ctx)
    course = run(admin.ctx, media.set_cover, course_id=course_id, data=samples.png())
    first = course.cover_key
    assert first.startswith(f"public/org/{admin.org_id}/courses/{course_id}/cover-")
    assert storage.get_storage().get(first)[1] == "image/png"
    for bad in (b"<svg onload='alert(1)'/>", samples.pdf()):
        with pytest.raises(ValidationFailed) as err:
            run(admin.ctx, media.set_cover, course_id=course_id, data=bad)
        assert err.value.field == "cover"
    with pytest.raises(ValidationFailed, match="larger than 5 MB"):
        run(
            admin.ctx,
            media.set_cover,
            course_id=course_id,
            data=samples.png() + b"\x00" * 5 * media.MB,
        )
    course = run(admin.ctx, media.set_cover, course_id=course_id, data=samples.png())
    assert course.cover_key != first and not storage.get_storage().exists(first)
    view = run(admin.ctx, courses.course_detail_for_editor, course_id=course_id)
    assert view.cover_url == f"/files/{course.cover_key}"


def test_safe_names() -> None:
    assert media.safe_name("../../etc/passwd") == "passwd"
    assert media.safe_name("My Report (final).PDF") == "My-Report-final.pdf"
    assert media.safe_name("..") == "upload"
    assert storage.is_valid_key("org/x/" + media.safe_name("a..b c.pdf"))
