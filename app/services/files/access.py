"""Who may read a private stored file (`org/{org}/...`): decided by what the file belongs to.

The org in a key says where a file lives, not who may read it. Each family of private keys
is read under the rule of the thing it belongs to, through that thing's own service:

- `org/{org}/certificates/{serial}.pdf`, a certificate's stored PDF (`certificates.pdf_key`):
  whoever `certificate_downloads.pdf_for` gives that certificate to (its learner, who manages
  certificates in its org), and only while `pdf_for` would serve that stored file as it is
  (never for a revoked certificate: `pdf_for` renders those stamped REVOKED).
- `org/{org}/courses/{course}/...`, a lesson's media (`media.do_attach_media`; the key must be
  the lesson's current `media_key`): whoever may open that lesson in the player
  (`gating.locate`: an open enrollment, prerequisites met, not locked by sequential
  gating; a course an ancestor shares down keeps its media in the ancestor's space) or
  preview it (authors of the course's org, as the editor and `/preview` allow).
- Any other private key: nobody (nothing writes one).

Course covers and logos are public keys (`public/org/...`) and never come here.
"""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.models.certificate import Certificate
from app.models.course import Lesson
from app.services.core.errors import ServiceError
from app.services.core.tenancy import OrgContext, scoped, scoped_with_ancestors
from app.services.credentials import certificate_downloads, certificate_verify
from app.services.infra import storage
from app.services.learning import gating

CERTIFICATES = "certificates"
COURSES = "courses"


def may_read_file(session: Session, ctx: OrgContext, key: str) -> bool:
    """Whether the context may read the private file stored under `key`. False for public,
    malformed and unknown keys, and for anything the file's owner would refuse; the caller
    answers every False like a missing file."""
    scope = storage.key_scope(key)
    if scope is None or scope.visibility != "private":
        return False
    if scope.org_id not in ctx.org_ids | ctx.ancestor_ids:
        return False  # nothing of a foreign org is readable: no need to look
    parts = key.split("/")  # ["org", org, family, ...]
    try:
        if len(parts) == 4 and parts[2] == CERTIFICATES:
            return _certificate_pdf(session, ctx, org_id=scope.org_id, key=key)
        if len(parts) >= 5 and parts[2] == COURSES:
            return _lesson_media(session, ctx, org_id=scope.org_id, key=key)
    except ServiceError:
        return False
    return False


def _certificate_pdf(session: Session, ctx: OrgContext, *, org_id: uuid.UUID, key: str) -> bool:
    name = key.rsplit("/", 1)[-1]
    serial = name.removesuffix(".pdf")
    if serial == name or not serial or len(serial) > certificate_verify.MAX_SERIAL_LENGTH:
        return False
    cert = session.exec(
        scoped(ctx, Certificate, org_ids=[org_id]).where(Certificate.serial == serial)
    ).first()
    if cert is None:
        return False
    allowed = certificate_downloads.access_pdf(session, ctx, cert.id)  # raises for anyone else
    return certificate_downloads.served_pdf_key(allowed) == key


def _lesson_media(session: Session, ctx: OrgContext, *, org_id: uuid.UUID, key: str) -> bool:
    try:
        course_id = uuid.UUID(key.split("/")[3])
    except ValueError:
        return False
    # Only to find which lesson the file is; `gating.locate` then decides who sees it.
    lesson = session.exec(
        scoped_with_ancestors(ctx, Lesson).where(
            Lesson.org_id == org_id, Lesson.course_id == course_id, Lesson.media_key == key
        )
    ).first()
    if lesson is None:
        return False
    return may_open_lesson(session, ctx, course_id=course_id, lesson_id=lesson.id)


def may_open_lesson(
    session: Session, ctx: OrgContext, *, course_id: uuid.UUID, lesson_id: uuid.UUID
) -> bool:
    """Whether the player would show the lesson's content to the context: in preview (an
    author of the course's org: drafts too, nothing locked), or as a learner for whom it is
    not locked (`gating.locate` and the same lock `player_view` applies)."""
    try:
        gating.locate(session, ctx, course_id=course_id, lesson_id=lesson_id, preview=True)
        return True
    except ServiceError:
        pass
    try:
        place = gating.locate(session, ctx, course_id=course_id, lesson_id=lesson_id)
    except ServiceError:
        return False
    return not place.lock()
