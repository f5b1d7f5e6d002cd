"""Stored files of the real key families, for tests of `GET /files/...`.

The file route decides by what a key belongs to, so a test needs a file that belongs to
something: a lesson's media (stored where `media.do_attach_media` stores it and set on the
lesson) or a certificate's PDF (issued by the real jobs, see
`tests/services/credentials/test_certificates.py`).

    url = ff.lesson_file(admin.ctx, course)                 # the file lesson's handout
    cert = ff.certificate(learner.ctx, course)              # its PDF stored at `cert.pdf_key`
"""

from __future__ import annotations

import uuid

from sqlalchemy import update
from sqlmodel import col

from app.models.certificate import Certificate
from app.models.course import Lesson, LessonKind
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.infra import storage
from tests import learning_factories as lf

HANDOUT = b"%PDF-1.7 the lesson's handout"


def lesson_file(
    ctx: OrgContext,
    course: lf.CourseWorld,
    *,
    kind: str = LessonKind.file,
    data: bytes = HANDOUT,
    content_type: str = "application/pdf",
    name: str = "handout.pdf",
) -> str:
    """Store `data` as the media of `course`'s lesson of `kind` (under the key layout
    `attach_media` uses) and set it on the lesson; the URL it is served from.

    `ctx` must be able to write the course's rows (a member of the course's org)."""
    lesson_id = course.by_kind[kind]
    key = storage.private_key(
        course.org_id,
        "courses",
        str(course.course_id),
        "lessons",
        str(lesson_id),
        f"{uuid.uuid4().hex}-{name}",
    )
    storage.get_storage().put(key, data, content_type)
    with tenant_session(ctx) as session:
        session.execute(
            update(Lesson)
            .where(col(Lesson.id) == lesson_id)
            .values(media_key=key, media_type=content_type, media_name=name)
        )
        session.commit()
    return storage.public_url(key)


def factory_lesson_file(
    course: lf.CourseWorld, *, kind: str = LessonKind.video, data: bytes = b"\x1a\x45\xdf\xa3"
) -> str:
    """Store `data` at the media key `lf.published_course` already gave the lesson of
    `kind` (the older `org/{org}/courses/{course}/{name}` layout the e2e journeys use)."""
    names: dict[str, tuple[str, str]] = {
        LessonKind.file: ("handbook.pdf", "application/pdf"),
        LessonKind.video: ("demo.webm", "video/webm"),
    }
    name, content_type = names[kind]
    key = f"org/{course.org_id}/courses/{course.course_id}/{name}"
    storage.get_storage().put(key, data, content_type)
    return storage.public_url(key)


def certificate(ctx: OrgContext, course: lf.CourseWorld) -> Certificate:
    """The context's user completes `course` and the jobs run: the issued certificate, its
    PDF stored at `pdf_key` (`org/{learner's org}/certificates/{serial}.pdf`)."""
    from tests.services.credentials.test_certificates import issued  # the real issuing flow

    cert = issued(ctx, course)
    assert cert.pdf_key, "the certificate.issued job stored no PDF"
    return cert
