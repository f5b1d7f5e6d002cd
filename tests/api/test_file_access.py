"""`GET /files/org/...`: private files are read by what they belong to, not only by org.

- a certificate PDF (`org/{org}/certificates/{serial}.pdf`): whoever may download that
  certificate at `/api/certificates/{id}.pdf` (its learner, who manages certificates);
- a lesson's media (`org/{org}/courses/{course}/...`): whoever may open the lesson in the
  player (an open enrollment and the lesson not locked) or preview it (its authors);
- anything else under `org/`: nobody.

Every refusal is the 404 of a missing file, signed in or not.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col
from starlette.testclient import TestClient

from app.models.course import Course, LessonKind
from app.models.user import Role
from app.services.core.tenancy import tenant_session
from app.services.credentials import certificate_revocation
from app.services.infra import storage
from app.services.learning import lesson_completion
from tests import factories as f
from tests import file_factories as ff
from tests import learning_factories as lf
from tests.api.helpers import as_user

pytestmark = pytest.mark.usefixtures("backend", "local_files")


def _missing(client: TestClient, who: f.SignedIn | None, url: str) -> httpx.Response:
    """What a file that does not exist looks like to `who` (the same family, a new name)."""
    head, _, name = url.rpartition("/")
    response: httpx.Response = as_user(client, who).get(f"{head}/no-such-{name}")
    assert response.status_code == 404
    return response


def _assert_refused(client: TestClient, who: f.SignedIn | None, url: str) -> None:
    """`who` gets exactly what a missing file gives them: nothing to tell the two apart."""
    missing = _missing(client, who, url)
    response = as_user(client, who).get(url)
    label = who.email if who else "anonymous"
    assert response.status_code == 404, (label, response.status_code)
    assert missing.json()["error"]["code"] == "not_found"
    assert response.json() == missing.json() and response.content == missing.content, label
    assert response.headers.get("cache-control") == "no-store"
    assert "location" not in response.headers and "content-disposition" not in response.headers
    assert sorted(response.headers.keys()) == sorted(missing.headers.keys()), label


def _assert_served(
    client: TestClient, who: f.SignedIn, url: str, data: bytes | None = None
) -> bytes:
    response = as_user(client, who).get(url)
    assert response.status_code == 200, (who.email, response.text)
    assert response.headers["cache-control"] == "private, no-store"
    if data is not None:
        assert response.content == data
    content: bytes = response.content
    return content


# --------------------------------------------------------------------------- certificates


def test_a_certificate_pdf_by_serial_reaches_its_learner_and_certificate_managers_only(
    client: TestClient,
) -> None:
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    manager = f.invite_and_accept_member(admin.ctx, Role.manager)
    auditor = f.invite_and_accept_member(admin.ctx, Role.auditor)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    classmate = f.invite_and_accept_member(admin.ctx, Role.learner)
    stranger = f.new_admin()
    course = lf.published_course(instructor.ctx)  # the instructor teaches it
    lf.enrollment(classmate.ctx, course)
    cert = ff.certificate(learner.ctx, course)
    url = storage.public_url(cert.pdf_key)
    assert url == f"/files/org/{learner.org_id}/certificates/{cert.serial}.pdf"
    api = f"/api/certificates/{cert.id}.pdf"

    for who in (learner, admin):
        pdf = _assert_served(client, who, url)
        assert pdf.startswith(b"%PDF") and cert.serial.encode() in pdf
    # Same people as the API route: the serial is printed on the page and in its QR code,
    # so knowing it must not be enough.
    refused: tuple[f.SignedIn | None, ...] = (
        classmate,
        instructor,
        staff,
        manager,
        auditor,
        stranger,
        None,
    )
    for anyone in refused:
        _assert_refused(client, anyone, url)
    for anyone in (learner, admin, *refused):
        assert (
            as_user(client, anyone).get(api).status_code
            == as_user(client, anyone).get(url).status_code
        )


def test_a_revoked_certificate_s_stored_pdf_is_never_served_unstamped(client: TestClient) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    cert = ff.certificate(learner.ctx, lf.published_course(admin.ctx))
    url = storage.public_url(cert.pdf_key)
    with tenant_session(admin.ctx) as session:
        certificate_revocation.do_revoke_certificate(
            session, admin.ctx, certificate_id=cert.id, reason="Issued in error"
        )

    # `pdf_for` renders a revoked certificate afresh, stamped REVOKED; the stored file is the
    # clean original, so the file route refuses it to everyone.
    stamped = as_user(client, learner).get(f"/api/certificates/{cert.id}.pdf")
    assert stamped.status_code == 200 and b"REVOKED" in stamped.content
    for who in (learner, admin, None):
        _assert_refused(client, who, url)


def test_a_certificate_pdf_only_under_its_own_key(client: TestClient) -> None:
    """The serial alone decides nothing: the key must be the certificate's own `pdf_key`."""
    parent = f.new_admin()
    child = f.child_org(parent.ctx)
    parent = f.refresh(parent)
    learner = f.invite_and_accept_member(parent.ctx, Role.learner, org_id=child.id)
    cert = ff.certificate(learner.ctx, lf.published_course(parent.ctx, shared=True))
    # The parent's admin manages certificates across its subtree (as `pdf_for` allows) ...
    _assert_served(client, parent, storage.public_url(cert.pdf_key))
    # ... but the same serial under the parent's own prefix is no certificate's file.
    copy = storage.private_key(parent.org_id, "certificates", f"{cert.serial}.pdf")
    storage.get_storage().put(copy, b"%PDF-1.7 copy", "application/pdf")
    for who in (parent, learner):
        _assert_refused(client, who, storage.public_url(copy))


# --------------------------------------------------------------------------- lesson media


def test_a_lesson_file_reaches_who_may_open_or_author_the_lesson(client: TestClient) -> None:
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    manager = f.invite_and_accept_member(admin.ctx, Role.manager)
    enrolled = f.invite_and_accept_member(admin.ctx, Role.learner)
    finished = f.invite_and_accept_member(admin.ctx, Role.learner)
    not_enrolled = f.invite_and_accept_member(admin.ctx, Role.learner)
    applicant = f.invite_and_accept_member(admin.ctx, Role.learner)
    withdrawn = f.invite_and_accept_member(admin.ctx, Role.learner)
    stranger = f.new_admin()
    course = lf.published_course(instructor.ctx)
    url = ff.lesson_file(instructor.ctx, course)
    lf.enrollment(enrolled.ctx, course)
    lf.enrollment(finished.ctx, course, status="completed")
    lf.enrollment(applicant.ctx, course, status="pending")
    lf.enrollment(withdrawn.ctx, course, status="withdrawn")

    # learners the player lets in, and the course's authors (the editor and preview)
    for who in (enrolled, finished, instructor, staff, admin):
        _assert_served(client, who, url, ff.HANDOUT)
    refused: tuple[f.SignedIn | None, ...] = (
        not_enrolled,
        applicant,
        withdrawn,
        manager,
        stranger,
        None,
    )
    for anyone in refused:
        _assert_refused(client, anyone, url)


def test_the_older_key_layout_of_a_lesson_s_media_follows_the_same_rule(
    client: TestClient,
) -> None:
    admin = f.new_admin()
    enrolled = f.invite_and_accept_member(admin.ctx, Role.learner)
    not_enrolled = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    url = ff.factory_lesson_file(course, data=b"\x1a\x45\xdf\xa3 video")
    lf.enrollment(enrolled.ctx, course)
    _assert_served(client, enrolled, url, b"\x1a\x45\xdf\xa3 video")
    _assert_served(client, admin, url)
    _assert_refused(client, not_enrolled, url)


def test_a_locked_lesson_s_media_waits_like_the_player(client: TestClient) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx, sequential=True)
    video = ff.lesson_file(
        admin.ctx,
        course,
        kind=LessonKind.video,
        data=b"\x1a\x45\xdf\xa3",
        name="v.webm",
        content_type="video/webm",
    )
    lf.enrollment(learner.ctx, course)
    _assert_refused(client, learner, video)  # module 2 waits for module 1's required lessons
    _assert_served(client, admin, video)  # authors preview: nothing is locked
    with tenant_session(learner.ctx) as session:
        for lesson_id in course.lesson_ids[:2]:
            lesson_completion.do_complete_lesson(
                session, learner.ctx, course_id=course.course_id, lesson_id=lesson_id
            )
    _assert_served(client, learner, video)


def test_a_lesson_s_media_waits_for_the_course_s_prerequisites(client: TestClient) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    first = lf.published_course(admin.ctx)
    course = lf.published_course(admin.ctx)
    with tenant_session(admin.ctx) as session:
        session.execute(
            update(Course)
            .where(col(Course.id) == course.course_id)
            .values(prerequisite_ids=[str(first.course_id)])
        )
        session.commit()
    url = ff.lesson_file(admin.ctx, course)
    lf.enrollment(learner.ctx, course)
    _assert_refused(client, learner, url)
    lf.enrollment(learner.ctx, first, status="completed")
    _assert_served(client, learner, url)


def test_a_draft_course_s_media_reaches_its_authors_only(client: TestClient) -> None:
    admin = f.new_admin()
    instructor = f.invite_and_accept_member(admin.ctx, Role.instructor)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx, status="draft")
    url = ff.lesson_file(admin.ctx, course)
    lf.enrollment(learner.ctx, course)  # an enrollment from before it went back to draft
    for who in (admin, instructor):
        _assert_served(client, who, url)
    _assert_refused(client, learner, url)


def test_a_child_org_learner_enrolled_in_a_shared_down_course_gets_its_media(
    client: TestClient,
) -> None:
    parent = f.new_admin()
    child = f.child_org(parent.ctx)
    parent = f.refresh(parent)
    enrolled = f.invite_and_accept_member(parent.ctx, Role.learner, org_id=child.id)
    not_enrolled = f.invite_and_accept_member(parent.ctx, Role.learner, org_id=child.id)
    child_admin = f.invite_and_accept_member(parent.ctx, Role.org_admin, org_id=child.id)
    stranger = f.new_admin()
    shared = lf.published_course(parent.ctx, shared=True)
    unshared = lf.published_course(parent.ctx, shared=False)
    shared_url = ff.lesson_file(parent.ctx, shared)
    unshared_url = ff.lesson_file(parent.ctx, unshared)
    lf.enrollment(enrolled.ctx, shared)
    lf.enrollment(enrolled.ctx, unshared)  # a row the course's org never shared down

    assert shared_url.startswith(f"/files/org/{parent.org_id}/courses/")
    _assert_served(client, enrolled, shared_url, ff.HANDOUT)
    _assert_refused(client, enrolled, unshared_url)
    for who in (not_enrolled, child_admin, stranger, None):
        _assert_refused(client, who, shared_url)
        _assert_refused(client, who, unshared_url)


# --------------------------------------------------------------------------- other keys


def test_private_keys_of_no_known_family_are_refused_even_inside_the_org(
    client: TestClient,
) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    course = lf.published_course(admin.ctx)
    lf.enrollment(learner.ctx, course)
    lesson = str(course.by_kind[LessonKind.file])
    course_id = str(course.course_id)
    ff.lesson_file(admin.ctx, course)  # the lesson's media is elsewhere
    keys = [
        storage.private_key(admin.org_id, "reports", "roster.csv"),
        storage.private_key(admin.org_id, "lessons", "handout.pdf"),
        storage.private_key(admin.org_id, "secret.txt"),
        storage.private_key(admin.org_id, "courses", course_id, "lessons", lesson, "stale.pdf"),
        storage.private_key(admin.org_id, "courses", course_id, "notes.txt"),
        storage.private_key(admin.org_id, "courses", "not-a-course", "lessons", "x.pdf"),
        storage.private_key(admin.org_id, "certificates", "GH-AAAA-BBBB-CCCC-DDDD.pdf"),
        storage.private_key(admin.org_id, "certificates", "nested", "x.pdf"),
    ]
    for key in keys:
        storage.get_storage().put(key, b"top secret", "text/plain")
        for who in (admin, learner, None):
            _assert_refused(client, who, storage.public_url(key))


def test_a_public_logo_is_still_served_to_anyone(client: TestClient) -> None:
    admin = f.new_admin()
    key = storage.public_key(admin.org_id, "logo.png")
    storage.get_storage().put(key, b"\x89PNG\r\n\x1a\n", "image/png")
    response = as_user(client, None).get(storage.public_url(key))
    assert response.status_code == 200 and response.headers["cache-control"].startswith("public")
