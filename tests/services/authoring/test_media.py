"""Course media (`authoring.media`): types by content, size limits while streaming, storage
keys, replacement, video duration and integrity (truncated or damaged videos are refused with
the reason), big uploads in constant memory, covers."""

from __future__ import annotations

import struct
import subprocess
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.models.course import LessonKind
from app.services.authoring import (
    course_lessons,
    course_outline,
    course_status,
    course_views,
    courses,
    media,
    video_check,
)
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.infra import storage
from tests import factories as f
from tests.fixtures import media_samples as samples
from tests.services.infra.test_storage import new_s3_storage, s3_test_url

DAMAGED = "This video file is incomplete or damaged ("
AGAIN = "); upload it again."

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture(autouse=True)
def _files(settings_env: Callable[..., None], tmp_path: Path) -> None:
    settings_env(storage_dir=tmp_path / "files")


def run(ctx: OrgContext, fn: Callable[..., Any], **kwargs: Any) -> Any:
    with tenant_session(ctx) as session:
        return fn(session, ctx, **kwargs)


def lessons(ctx: OrgContext) -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    """A draft course with one lesson of each kind."""
    course = run(ctx, courses.do_create_course, data={"title": "Media course"})
    module = run(ctx, course_outline.do_add_module, course_id=course.id, title="M")
    ids = {
        kind: run(
            ctx,
            course_lessons.do_add_lesson,
            course_id=course.id,
            module_id=module.id,
            kind=kind,
            title=kind,
        ).id
        for kind in ("text", "file", "video", "quiz")
    }
    return course.id, ids


# --------------------------------------------------------------------------- sample videos


def _ffmpeg(*args: str) -> bytes:
    exe = media.ffmpeg_exe()
    assert exe, "imageio-ffmpeg is a dependency"
    done = subprocess.run(
        [exe, "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True,
        timeout=60,
        capture_output=True,
    )
    return done.stdout


def faststart_mp4(directory: Path, seconds: int = 2) -> Path:
    """An MP4 with its index (`moov`) first, as web videos are usually made."""
    plain = samples.real_video(directory, "mp4", seconds)
    out = directory / "faststart.mp4"
    _ffmpeg("-i", str(plain), "-c", "copy", "-movflags", "+faststart", str(out))
    return out


def live_webm(seconds: int = 3) -> bytes:
    """A WebM written to a pipe, as a browser's MediaRecorder writes one: no Duration in its
    header, Clusters of unknown size."""
    return _ffmpeg(
        "-f", "lavfi", "-i", f"color=c=red:s=32x32:d={seconds}:r=10",
        "-c:v", "libvpx", "-b:v", "50k", "-f", "webm", "pipe:1",
    )  # fmt: skip


def padded_mp4(directory: Path, size: int) -> Path:
    """A playable MP4 of exactly `size` bytes: a real clip and then a `free` box (allowed
    anywhere at the top level), written sparse, so a big one costs no memory or disk."""
    clip = samples.real_video(directory, "mp4", 2).read_bytes()
    pad = size - len(clip)
    assert pad >= 16
    out = directory / f"padded-{size}.mp4"
    with out.open("wb") as fh:
        fh.write(clip)
        fh.write(struct.pack(">I4s", pad, b"free"))
        fh.truncate(size)
    return out


def _top_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, offset, size) of an MP4's top-level boxes (32-bit sizes only: test clips)."""
    boxes, pos = [], 0
    while pos < len(data):
        size, kind = struct.unpack_from(">I4s", data, pos)
        boxes.append((kind, pos, size))
        pos += size
    return boxes


def attach(
    ctx: OrgContext, course_id: uuid.UUID, lesson_id: uuid.UUID, source: Any, name: str
) -> Any:
    return run(
        ctx,
        media.do_attach_media,
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
    view = run(admin.ctx, course_views.course_detail_for_editor, course_id=course_id)
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
    view = run(admin.ctx, course_views.course_detail_for_editor, course_id=course_id)
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


def test_video_lessons_refuse_documents_and_videos_of_no_readable_length() -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    with pytest.raises(ValidationFailed, match="MP4 or WebM"):
        attach(admin.ctx, course_id, ids["video"], samples.pdf(), "clip.mp4")
    # WebM by its first bytes, but nothing a player could play: refused, not stored with a
    # duration of 0.
    with pytest.raises(ValidationFailed) as err:
        attach(admin.ctx, course_id, ids["video"], samples.webm_header(), "broken.webm")
    assert err.value.field == "file"
    assert err.value.message.startswith(DAMAGED) and err.value.message.endswith(AGAIN)
    view = run(admin.ctx, course_views.course_detail_for_editor, course_id=course_id)
    assert all(not lsn.media_url for lsn in view.modules[0].lessons)


def _objects_under(prefix: str) -> list[Path]:
    store = storage.get_storage()
    assert isinstance(store, storage.LocalStorage)
    folder = store.root / "objects" / prefix
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


@pytest.mark.parametrize("kind", ["mp4", "faststart mp4", "webm"])
def test_a_truncated_video_is_refused_with_the_reason_and_the_whole_one_is_taken(
    tmp_path: Path, kind: str
) -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    if kind == "faststart mp4":
        whole = faststart_mp4(tmp_path, seconds=3).read_bytes()
    else:
        whole = samples.real_video(tmp_path, kind.split()[-1], seconds=3).read_bytes()
    name = "clip.webm" if kind == "webm" else "clip.mp4"
    half = whole[: len(whole) // 2]  # an upload that stopped halfway
    with pytest.raises(ValidationFailed) as err:
        attach(admin.ctx, course_id, ids["video"], half, name)
    assert err.value.field == "file"
    assert err.value.message.startswith(DAMAGED + "it ends at least "), err.value.message
    assert err.value.message.endswith(" too early" + AGAIN)
    prefix = f"org/{admin.org_id}/courses/{course_id}/lessons/{ids['video']}"
    assert _objects_under(prefix) == [], "a refused video was stored"

    lesson = attach(admin.ctx, course_id, ids["video"], whole, name)
    assert lesson.duration_seconds == pytest.approx(3.0, abs=0.2)
    assert storage.get_storage().get(lesson.media_key)[0] == whole


def test_the_sink_refuses_a_truncated_video_when_finished_and_cleans_up(tmp_path: Path) -> None:
    data = samples.real_video(tmp_path, "webm", seconds=2).read_bytes()
    sink = media.UploadSink("video", 10 * media.MB)
    sink.write(data[: len(data) * 3 // 4])
    with pytest.raises(ValidationFailed, match="incomplete or damaged"):
        sink.finish("clip.webm")
    assert not sink.path.exists()
    with media.UploadSink("video", 10 * media.MB) as good:
        good.write(data)
        assert good.finish("clip.webm") == "video/webm"
        assert good.duration_seconds == pytest.approx(2.0, abs=0.2)


def test_an_mp4_whose_index_points_past_its_end_is_refused(tmp_path: Path) -> None:
    """A recorder that writes its data box with size 0 ("to the end of the file") and its
    index first: cut short, the boxes still fit, and only the index shows what is missing."""
    data = bytearray(faststart_mp4(tmp_path).read_bytes())
    (mdat,) = [(offset, size) for kind, offset, size in _top_boxes(bytes(data)) if kind == b"mdat"]
    data[mdat[0] : mdat[0] + 4] = b"\x00\x00\x00\x00"
    path = tmp_path / "open-ended.mp4"
    path.write_bytes(bytes(data))
    assert media.check_video(path, media.MP4) == pytest.approx(2.0, abs=0.2)
    assert mdat[0] + mdat[1] == len(data) and mdat[1] > 200  # the frames come last
    path.write_bytes(bytes(data[:-100]))
    with pytest.raises(ValidationFailed) as err:
        media.check_video(path, media.MP4)
    assert err.value.message == f"{DAMAGED}it ends at least 100 bytes too early{AGAIN}"


def test_an_mp4_without_its_index_is_refused(tmp_path: Path) -> None:
    data = samples.real_video(tmp_path, "mp4", seconds=2).read_bytes()
    # Everything but the index: the bytes of a recording that was never finalized.
    kept = b"".join(
        data[offset : offset + size] for kind, offset, size in _top_boxes(data) if kind != b"moov"
    )
    path = tmp_path / "no-index.mp4"
    path.write_bytes(kept)
    with pytest.raises(ValidationFailed, match="“moov” box, is missing"):
        media.check_video(path, media.MP4)


def test_a_live_recording_gets_its_length_from_its_last_frame(tmp_path: Path) -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    data = live_webm(seconds=3)
    lesson = attach(admin.ctx, course_id, ids["video"], data, "recording.webm")
    assert lesson.duration_seconds == pytest.approx(3.0, abs=0.3)
    with pytest.raises(ValidationFailed, match="incomplete or damaged"):
        attach(admin.ctx, course_id, ids["video"], data[: len(data) * 2 // 3], "recording.webm")


def test_without_ffmpeg_the_container_still_gives_the_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(video_check, "ffmpeg_exe", lambda: None)
    assert video_check.probe(tmp_path) is None
    mp4 = samples.real_video(tmp_path, "mp4", seconds=3)
    assert media.check_video(mp4, media.MP4) == pytest.approx(3.0, abs=0.05)
    webm = samples.real_video(tmp_path, "webm", seconds=2)
    assert media.check_video(webm, media.WEBM) == pytest.approx(2.0, abs=0.05)
    webm.write_bytes(webm.read_bytes()[:-100])
    with pytest.raises(ValidationFailed, match="too early"):
        media.check_video(webm, media.WEBM)


def test_a_length_of_zero_or_a_file_ffmpeg_cannot_open_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = bytearray(samples.real_video(tmp_path, "mp4", seconds=2).read_bytes())
    mvhd = data.index(b"mvhd") + 4  # version 0: flags, two dates, timescale, duration
    data[mvhd + 16 : mvhd + 20] = b"\x00\x00\x00\x00"
    path = tmp_path / "zero.mp4"
    path.write_bytes(bytes(data))
    monkeypatch.setattr(video_check, "probe", lambda *_a, **_k: media.Probe(0.0, True, ""))
    with pytest.raises(ValidationFailed) as err:
        media.check_video(path, media.MP4)
    assert err.value.message == f"{DAMAGED}its length reads as 0 seconds{AGAIN}"
    monkeypatch.setattr(
        video_check, "probe", lambda *_a, **_k: media.Probe(None, False, "moov atom not found")
    )
    with pytest.raises(ValidationFailed, match=r"\(ffmpeg cannot read it: moov atom not found\)"):
        media.check_video(path, media.MP4)


@pytest.fixture(params=["local", "s3"])
def media_store(
    request: pytest.FixtureRequest, settings_env: Callable[..., None]
) -> storage.Storage:
    """The app's storage for this test: the local directory, or a fresh S3 bucket."""
    if request.param == "s3":
        url = s3_test_url()
        bucket = new_s3_storage(url).bucket
        settings_env(s3_bucket=bucket, s3_endpoint_url=url, s3_access_key="t", s3_secret_key="t")
    return storage.get_storage()


def test_a_big_video_is_stored_without_holding_it_in_memory(
    tmp_path: Path, media_store: storage.Storage
) -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    size = 64 * media.MB
    big = padded_mp4(tmp_path, size)
    tracemalloc.start()
    try:
        lesson = attach(admin.ctx, course_id, ids["video"], str(big), "lecture.mp4")
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Measured: 2 MB (local) and 7 MB (S3, 8 MB parts) for 64 MB; before, 64 MB and more.
    assert peak < size // 4, f"storing {size // media.MB} MB took {peak // media.MB} MB"
    assert lesson.media_size == size and lesson.duration_seconds == pytest.approx(2.0, abs=0.2)
    with media_store.stream(lesson.media_key) as stream:
        assert stream.size == size and stream.content_type == "video/mp4"


def test_text_and_quiz_lessons_take_no_upload() -> None:
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    for kind in ("text", "quiz"):
        with pytest.raises(ValidationFailed, match="Only file and video lessons"):
            attach(admin.ctx, course_id, ids[kind], samples.pdf(), "a.pdf")


def test_size_limits_come_from_the_settings(
    settings_env: Callable[..., None], tmp_path: Path
) -> None:
    settings_env(max_file_mb=1, max_video_mb=2)
    admin = f.new_admin()
    course_id, ids = lessons(admin.ctx)
    big = samples.pdf() + b"\x00" * media.MB
    with pytest.raises(ValidationFailed) as err:
        attach(admin.ctx, course_id, ids["file"], big, "big.pdf")
    assert err.value.message == "The file is larger than 1 MB."
    with pytest.raises(ValidationFailed, match="larger than 2 MB"):
        attach(admin.ctx, course_id, ids["video"], samples.webm_header(2 * media.MB + 1), "v.webm")
    exact = padded_mp4(tmp_path, 2 * media.MB)  # a playable video of exactly the limit
    ok = attach(admin.ctx, course_id, ids["video"], str(exact), "v.mp4")
    assert ok.media_size == 2 * media.MB


def test_the_sink_refuses_the_moment_the_limit_passes_and_cleans_up(tmp_path: Path) -> None:
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

    clip = samples.real_video(tmp_path, "webm", seconds=1).read_bytes()
    with media.UploadSink("video", 100_000) as good:
        for start in range(0, len(clip), 100):
            good.write(clip[start : start + 100])
        assert good.finish("clip.webm") == "video/webm" and good.size == len(clip)
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
    lesson = run(admin.ctx, media.do_remove_media, course_id=course_id, lesson_id=ids["file"])
    assert lesson.media_key == "" and not storage.get_storage().exists(key)
    problems = run(admin.ctx, course_status.publish_problems, course_id=course_id)
    assert any("“file”" in p and "has no file" in p for p in problems)


def test_cover_images_by_content_and_replaced() -> None:
    admin = f.new_admin()
    course_id, _ids = lessons(admin.ctx)
    course = run(admin.ctx, media.do_set_cover, course_id=course_id, data=samples.png())
    first = course.cover_key
    assert first.startswith(f"public/org/{admin.org_id}/courses/{course_id}/cover-")
    assert storage.get_storage().get(first)[1] == "image/png"
    for bad in (b"<svg onload='alert(1)'/>", samples.pdf()):
        with pytest.raises(ValidationFailed) as err:
            run(admin.ctx, media.do_set_cover, course_id=course_id, data=bad)
        assert err.value.field == "cover"
    with pytest.raises(ValidationFailed, match="larger than 5 MB"):
        run(
            admin.ctx,
            media.do_set_cover,
            course_id=course_id,
            data=samples.png() + b"\x00" * 5 * media.MB,
        )
    course = run(admin.ctx, media.do_set_cover, course_id=course_id, data=samples.png())
    assert course.cover_key != first and not storage.get_storage().exists(first)
    view = run(admin.ctx, course_views.course_detail_for_editor, course_id=course_id)
    assert view.cover_url == f"/files/{course.cover_key}"


def test_safe_names() -> None:
    assert media.safe_name("../../etc/passwd") == "passwd"
    assert media.safe_name("My Report (final).PDF") == "My-Report-final.pdf"
    assert media.safe_name("..") == "upload"
    assert storage.is_valid_key("org/x/" + media.safe_name("a..b c.pdf"))
