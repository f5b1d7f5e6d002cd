"""Course media: files and videos of lessons, and course cover images.

Uploads are judged by their CONTENT, never by their name: the first bytes (and, for zip-based
Office and OpenDocument files, the archive's own table of contents) say what a file is.

- file lessons: PDF, Word/Excel/PowerPoint (docx, xlsx, pptx), OpenDocument (odt, ods, odp),
  plain text and CSV (UTF-8 text without NUL bytes, named .txt or .csv);
- video lessons: MP4 (an `ftyp` box at offset 4) and WebM (EBML magic `1A 45 DF A3`);
- covers: PNG, JPEG or WebP (`storage.sniff_image`).

Sizes: `max_file_mb` and `max_video_mb` (settings). `UploadSink` takes a streamed upload chunk
by chunk into a temporary file, counts the bytes as they arrive and refuses the moment the
limit is passed (the temporary file is removed), so the browser's `max_size` is only a hint.

Where things live: lesson media under the private key
`org/{org}/courses/{course}/lessons/{lesson}/{uuid}-{name}` (served by `/files/...` only to
sessions in the org's scope); covers under a public key with a random name (the catalog of
child orgs shows them). Replacing media deletes the old object after the new row commits.

Videos are checked whole before they are stored (`check_video`, called by `finish`): the
container's structure is walked from its headers (MP4 boxes, WebM/Matroska elements) without
reading the media data, so a truncated or damaged file is refused in milliseconds whatever
its size, and a video whose length reads as nothing is refused too; the message says why and
asks for the file again. See docs/decisions.md ("Uploads stream; videos are checked whole").

Memory: the upload goes to a temporary file chunk by chunk, and from there to storage with
`Storage.put_file` (chunks, or an S3 multipart upload), so a large video never sits in memory.

Playback is decided in one place, `playback(lesson)`: today a progressive download of the
stored MP4/WebM; the HLS pipeline will return its playlist here behind the same lesson kind.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from sqlmodel import Session

from app.models.base import utcnow
from app.models.course import Course, Lesson, LessonKind
from app.services.authoring import course_read
from app.services.authoring.video_check import Probe, check_video, ffmpeg_exe, probe, probe_duration
from app.services.config import gates
from app.services.core.authz import Permission, require
from app.services.core.errors import NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext
from app.services.infra import storage
from app.settings import get_settings

log = logging.getLogger(__name__)

MB = 1024 * 1024
MAX_COVER_BYTES = 5 * MB
HEAD_BYTES = 4096
READ_CHUNK = 1024 * 1024

PDF = "application/pdf"
MP4 = "video/mp4"
WEBM = "video/webm"
OFFICE: dict[str, tuple[str, str]] = {
    # extension: (content type, the folder its zip must hold)
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "word/"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xl/"),
    ".pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "ppt/"),
}
ODF: frozenset[str] = frozenset(
    {
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    }
)
TEXT: dict[str, str] = {".txt": "text/plain", ".csv": "text/csv"}

FILE_TYPES_HELP = "PDF, Word, Excel, PowerPoint, OpenDocument, plain text or CSV"
VIDEO_TYPES_HELP = "MP4 or WebM"

# What the upload widgets hint to the browser (content is still checked here).
ACCEPT: dict[str, dict[str, list[str]]] = {
    LessonKind.file: {
        PDF: [".pdf"],
        **{ct: [ext] for ext, (ct, _folder) in OFFICE.items()},
        "application/vnd.oasis.opendocument.text": [".odt"],
        "application/vnd.oasis.opendocument.spreadsheet": [".ods"],
        "application/vnd.oasis.opendocument.presentation": [".odp"],
        "text/plain": [".txt"],
        "text/csv": [".csv"],
    },
    LessonKind.video: {MP4: [".mp4", ".m4v"], WEBM: [".webm"]},
}

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


# --------------------------------------------------------------------------- sniffing


def sniff_video(head: bytes) -> str | None:
    """MP4 (an ISO base media `ftyp` box first) or WebM (EBML), by magic bytes; else None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return MP4
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM
    return None


def _zip_type(path: Path, filename: str) -> str | None:
    """An Office Open XML or OpenDocument type from the archive's contents."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                declared = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                return declared if declared in ODF else None
            if "[Content_Types].xml" not in names:
                return None
            ext = Path(filename).suffix.lower()
            if ext in OFFICE:
                content_type, folder = OFFICE[ext]
                if any(n.startswith(folder) for n in names):
                    return content_type
            return None
    except (zipfile.BadZipFile, OSError, KeyError):
        return None


def _text_type(head: bytes, filename: str) -> str | None:
    ext = Path(filename).suffix.lower()
    if ext not in TEXT or b"\x00" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the head's end is still UTF-8.
        if exc.start < len(head) - 3:
            return None
    return TEXT[ext]


def sniff_document(head: bytes, filename: str, path: Path | None = None) -> str | None:
    """The content type of a document for a file lesson, else None. Zip-based formats need
    `path` (the whole file) to read the archive's table of contents."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"PK\x03\x04"):
        return _zip_type(path, filename) if path is not None else None
    return _text_type(head, filename)


def limit_bytes(kind: str) -> int:
    """The size limit of an upload for a lesson of `kind` (from the settings)."""
    s = get_settings()
    if kind == LessonKind.video:
        return int(s.max_video_mb) * MB
    if kind == LessonKind.file:
        return int(s.max_file_mb) * MB
    if kind == "cover":
        return MAX_COVER_BYTES
    raise ValidationFailed("Only file and video lessons take an upload.", field="file")


def _label(kind: str) -> str:
    return {"video": "video", "file": "file", "cover": "image"}.get(kind, "file")


def safe_name(filename: str) -> str:
    """A file name fit for a storage key segment (the original's letters where safe)."""
    base = Path(str(filename).replace("\\", "/")).name
    stem, ext = os.path.splitext(base)
    stem = _SAFE_NAME.sub("-", stem).strip(".-_")[:80] or "upload"
    ext = _SAFE_NAME.sub("", ext)[:10].lower()
    name = f"{stem}{ext}".replace("..", ".")
    return name


# --------------------------------------------------------------------------- upload sink


class UploadSink:
    """A streamed upload on its way in: chunks to a temporary file, bytes counted.

        sink = UploadSink("video")          # limit from settings, or UploadSink("video", n)
        for chunk in chunks:
            sink.write(chunk)               # ValidationFailed the moment it is too large
        content_type = sink.finish("clip.webm")   # ValidationFailed for a wrong type, or
                                                  # for a truncated or damaged video

    On any refusal the temporary file is removed; `discard()` (or leaving a `with` block)
    removes it too. `do_attach_media` accepts a finished sink.
    """

    def __init__(self, kind: str, limit: int | None = None, *, filename: str = "") -> None:
        if kind not in (LessonKind.file, LessonKind.video, "cover"):
            raise ValidationFailed("Only file and video lessons take an upload.", field="file")
        self.kind = kind
        self.limit = limit if limit is not None else limit_bytes(kind)
        self.filename = filename
        self.size = 0
        self.content_type = ""
        self.duration_seconds: float | None = None  # set by `finish` for a video
        self._head = bytearray()
        fd, name = tempfile.mkstemp(prefix="gh-upload-", suffix=".part")
        self.path = Path(name)
        self._fh: BinaryIO | None = os.fdopen(fd, "wb")
        self._finished = False
        self._discarded = False

    def _file(self) -> BinaryIO:
        if self._fh is None or self._discarded:
            raise ValidationFailed("This upload was already closed.", field="file")
        return self._fh

    def write(self, data: bytes) -> None:
        """Add a chunk; refuse (and clean up) once the total passes the limit."""
        fh = self._file()
        self.size += len(data)
        if self.size > self.limit:
            self.discard()
            raise ValidationFailed(
                f"The {_label(self.kind)} is larger than {self.limit // MB or 1} MB.",
                field="file",
            )
        if len(self._head) < HEAD_BYTES:
            self._head += data[: HEAD_BYTES - len(self._head)]
        fh.write(data)

    def finish(self, filename: str | None = None) -> str:
        """Close the file and say what it is by its content; refuse empty files and types
        the lesson kind does not take."""
        if filename:
            self.filename = filename
        fh = self._file()
        if not self._finished:
            fh.close()
            self._finished = True
        if self.size == 0:
            self.discard()
            raise ValidationFailed("The file is empty.", field="file")
        head = bytes(self._head)
        if self.kind == LessonKind.video:
            found = sniff_video(head)
            help_text = VIDEO_TYPES_HELP
        elif self.kind == "cover":
            found = storage.sniff_image(head)
            help_text = "PNG, JPEG or WebP"
        else:
            found = sniff_document(head, self.filename, self.path)
            help_text = FILE_TYPES_HELP
        if found is None:
            self.discard()
            raise ValidationFailed(
                f"That {_label(self.kind)} is not a type this lesson takes ({help_text}).",
                field="file",
            )
        if self.kind == LessonKind.video:
            try:
                self.duration_seconds = check_video(self.path, found)
            except ValidationFailed:
                self.discard()
                raise
        self.content_type = found
        return found

    def read_bytes(self) -> bytes:
        """The whole finished upload in memory: for small files only (lesson media goes to
        storage from `path` with `Storage.put_file`)."""
        if not self._finished or self._discarded:
            raise ValidationFailed("This upload is not finished.", field="file")
        return self.path.read_bytes()

    def discard(self) -> None:
        """Close and remove the temporary file (safe to call twice)."""
        if self._fh is not None and not self._finished:
            with contextlib.suppress(OSError):
                self._fh.close()
        self._finished = True
        self._discarded = True
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> UploadSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.discard()


def _sink_from(
    kind: str, source: bytes | str | os.PathLike[str] | UploadSink, filename: str
) -> tuple[UploadSink, bool]:
    """A finished sink for `source`; the flag says whether we made it (and must discard it)."""
    if isinstance(source, UploadSink):
        if source.kind != kind:
            raise ValidationFailed(
                f"That upload was checked for a {source.kind} lesson, not a {kind} lesson.",
                field="file",
            )
        if not source.content_type:
            source.finish(filename or source.filename)
        return source, False
    sink = UploadSink(kind, filename=filename)
    try:
        if isinstance(source, bytes | bytearray | memoryview):
            data = bytes(source)
            for start in range(0, max(len(data), 1), READ_CHUNK):
                sink.write(data[start : start + READ_CHUNK])
        else:
            with open(source, "rb") as fh:
                while chunk := fh.read(READ_CHUNK):
                    sink.write(chunk)
        sink.finish(filename)
    except BaseException:
        sink.discard()
        raise
    return sink, True


# --------------------------------------------------------------------------- video


@dataclass(frozen=True)
class Playback:
    """How a player gets a lesson's media: `progressive` (one MP4/WebM file) today; the HLS
    pipeline will answer `hls` with a playlist URL here, behind the same lesson kind."""

    mode: str
    url: str
    content_type: str
    duration_seconds: float


def playback(lesson: Lesson) -> Playback | None:
    """Where the player loads a video or file lesson's media from (None: nothing uploaded).
    The URL goes through `/files/...`, which authorizes every request."""
    if not lesson.media_key:
        return None
    return Playback(
        mode="progressive",
        url=storage.public_url(lesson.media_key),
        content_type=lesson.media_type,
        duration_seconds=lesson.duration_seconds,
    )


# --------------------------------------------------------------------------- service calls


def _course(session: Session, ctx: OrgContext, course_id: uuid.UUID | str) -> Course:
    require(ctx, Permission.courses_author)
    if ctx.org_id is None:
        raise NotFound()
    gates.require_feature(session, ctx.org_id, "lms")
    return course_read.access_course(session, ctx, course_id, author=True)


def _delete_quietly(key: str) -> None:
    try:
        storage.get_storage().delete(key)
    except Exception:  # an orphan object is harmless; the row moved on
        log.warning("could not delete stored object %s", key, exc_info=True)


def do_attach_media(
    session: Session,
    ctx: OrgContext,
    *,
    course_id: uuid.UUID | str,
    lesson_id: uuid.UUID | str,
    source: bytes | str | os.PathLike[str] | UploadSink,
    filename: str,
) -> Lesson:
    """Store an upload as the file or video of a lesson, replacing (and deleting) any
    previous one. `source`: the bytes, a path, or a finished `UploadSink`. Refused: lessons
    of other kinds, wrong types (by content), sizes over the setting's limit, and videos
    that are truncated, damaged or of no length (`check_video`), which gives the duration."""
    course = _course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    if lesson.kind not in (LessonKind.file, LessonKind.video):
        raise ValidationFailed("Only file and video lessons take an upload.", field="file")
    sink, owned = _sink_from(lesson.kind, source, filename)
    try:
        name = safe_name(filename or sink.filename)
        key = storage.private_key(
            course.org_id,
            "courses",
            str(course.id),
            "lessons",
            str(lesson.id),
            f"{uuid.uuid4().hex}-{name}",
        )
        duration = None
        if lesson.kind == LessonKind.video:
            duration = sink.duration_seconds or check_video(sink.path, sink.content_type)
        # From the temporary file in chunks (or an S3 multipart upload): never all in memory.
        storage.get_storage().put_file(key, sink.path, sink.content_type)
        size = sink.size
    finally:
        if owned:
            sink.discard()
    old = lesson.media_key
    lesson.media_key = key
    lesson.media_name = (Path(str(filename).replace("\\", "/")).name or name)[:200]
    lesson.media_type = sink.content_type
    lesson.media_size = size
    if lesson.kind == LessonKind.video:
        lesson.duration_seconds = float(duration or 0.0)
    lesson.modified = utcnow()
    course.modified = utcnow()
    session.add_all([lesson, course])
    try:
        session.commit()
    except BaseException:
        session.rollback()
        _delete_quietly(key)
        raise
    if old and old != key:
        _delete_quietly(old)
    return lesson


def do_remove_media(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, lesson_id: uuid.UUID | str
) -> Lesson:
    """Take the file or video off a lesson and delete the stored object."""
    course = _course(session, ctx, course_id)
    lesson = course_read.access_lesson(session, ctx, course, lesson_id)
    old = lesson.media_key
    lesson.media_key, lesson.media_name, lesson.media_type = "", "", ""
    lesson.media_size, lesson.duration_seconds = 0, 0.0
    lesson.modified = utcnow()
    session.add(lesson)
    session.commit()
    if old:
        _delete_quietly(old)
    return lesson


def do_set_cover(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID | str, data: bytes
) -> Course:
    """A course's cover image (PNG, JPEG or WebP by content, at most 5 MB), replacing the
    previous one. Covers are stored under a public key with a random name: the catalogs of
    child orgs show them."""
    course = _course(session, ctx, course_id)
    if len(data) > MAX_COVER_BYTES:
        raise ValidationFailed(
            f"The image is larger than {MAX_COVER_BYTES // MB} MB.", field="cover"
        )
    content_type = storage.sniff_image(data)
    if content_type is None:
        raise ValidationFailed("Upload a PNG, JPEG or WebP image.", field="cover")
    ext = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}[content_type]
    key = storage.public_key(course.org_id, f"courses/{course.id}/cover-{uuid.uuid4().hex}.{ext}")
    storage.get_storage().put(key, data, content_type)
    old = course.cover_key
    course.cover_key = key
    course.modified = utcnow()
    session.add(course)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        _delete_quietly(key)
        raise
    if old and old != key:
        _delete_quietly(old)
    return course


def media_url(lesson: Lesson) -> str:
    """The app URL of a lesson's stored media ('' when none)."""
    return storage.public_url(lesson.media_key) if lesson.media_key else ""


__all__ = [
    "ACCEPT",
    "MAX_COVER_BYTES",
    "Playback",
    "Probe",
    "UploadSink",
    "check_video",
    "do_attach_media",
    "do_remove_media",
    "do_set_cover",
    "ffmpeg_exe",
    "limit_bytes",
    "media_url",
    "playback",
    "probe",
    "probe_duration",
    "safe_name",
    "sniff_document",
    "sniff_video",
]
