"""Certificates of completion: issued by a job when an enrollment completes, rendered to a
branded PDF, verifiable by anyone at `/verify/<serial>`, revocable by admins.

Flow: `lesson_completion` completes an enrollment and enqueues `enrollment.completed`; its handler
here (`issue_for_enrollment`) writes the certificate row once per enrollment, with what it
shows copied in (learner, course, issuer), and enqueues `certificate.issued`, whose handler
renders and stores the PDF and mails the learner once.

The serial is 80 random bits (`secrets`), shown as `GH-XXXX-XXXX-XXXX-XXXX` in base32: it
cannot be guessed or enumerated, and the public page reads exactly the one row it names
(a session scoped to that serial; row-level security enforces it on PostgreSQL).
"""

from __future__ import annotations

import base64
import io
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app.db import Scope, open_session
from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.models.course import Course
from app.models.enrollment import Enrollment, EnrollmentStatus
from app.models.org import Organization
from app.models.outbox import OutboxJob
from app.models.user import User
from app.services.comms import notifications
from app.services.config import gates, orgs
from app.services.config.schema import Branding
from app.services.core import audit
from app.services.core.authz import Permission, has, require
from app.services.core.errors import NotFound, ServiceError, ValidationFailed
from app.services.core.tenancy import (
    OrgContext,
    access,
    count_rows,
    mark_scoped,
    scoped,
    scoped_with_ancestors,
)
from app.services.infra import outbox, storage
from app.settings import get_settings

log = logging.getLogger(__name__)

ENROLLMENT_COMPLETED = "enrollment.completed"
CERTIFICATE_ISSUED = "certificate.issued"
SERIAL_PREFIX = "GH-"
MAX_SERIAL_LENGTH = 40
_SERIAL_INPUT = re.compile(r"^[A-Za-z0-9-]{4,40}$")
MAX_REASON = 500
MIN_REASON = 3

# Radix accent colours (the org's `branding.primary_color`) as print colours (step 9).
ACCENT_HEX: dict[str, str] = {
    "tomato": "#E54D2E",
    "red": "#E5484D",
    "ruby": "#E54666",
    "crimson": "#E93D82",
    "pink": "#D6409F",
    "plum": "#AB4ABA",
    "purple": "#8E4EC6",
    "violet": "#6E56CF",
    "iris": "#5B5BD6",
    "indigo": "#3E63DD",
    "blue": "#0090FF",
    "cyan": "#00A2C7",
    "teal": "#12A594",
    "jade": "#29A383",
    "green": "#30A46C",
    "grass": "#46A758",
    "brown": "#AD7F58",
    "orange": "#F76B15",
    "sky": "#7CE2FE",
    "mint": "#86EAD4",
    "lime": "#BDEE63",
    "yellow": "#FFE629",
    "amber": "#FFC53D",
    "gold": "#978365",
    "bronze": "#A18072",
    "gray": "#8D8D8D",
}
# Light accents are unreadable as text on white: print these darker (their step 11).
_TEXT_HEX: dict[str, str] = {
    "sky": "#00749E",
    "mint": "#027864",
    "lime": "#5C7C2F",
    "yellow": "#9E6C00",
    "amber": "#AB6400",
}
DEFAULT_ACCENT = "#3E63DD"


# --------------------------------------------------------------------------- serials


def new_serial() -> str:
    """A fresh unguessable serial: `GH-` and 16 base32 characters (80 random bits) in groups
    of four, e.g. `GH-7KQ2-M4XD-PA9Z-3TRB` (no 0/1/8/9: base32 avoids look-alikes)."""
    raw = base64.b32encode(secrets.token_bytes(10)).decode("ascii")  # 16 chars, no padding
    return SERIAL_PREFIX + "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def normalize_serial(raw: str) -> str | None:
    """A serial as typed or pasted (spaces trimmed, any case), or None when it cannot be
    one (too long, odd characters): such input is 'not found' without a query."""
    value = (raw or "").strip()
    if not _SERIAL_INPUT.match(value):
        return None
    return value.upper() if value.upper().startswith(SERIAL_PREFIX) else value


def verification_url(serial: str) -> str:
    """The public page that says whether the certificate is valid."""
    return f"{get_settings().base_url.rstrip('/')}/verify/{serial}"


def status_of(cert: Certificate, *, now: datetime | None = None) -> str:
    """`revoked`, `expired` or `valid`."""
    now = now or utcnow()
    if cert.revoked_at is not None:
        return "revoked"
    if cert.expires_at is not None and as_utc(cert.expires_at) <= now:
        return "expired"
    return "valid"


# --------------------------------------------------------------------------- issuing (jobs)


def _job_context(session: Session, org_id: uuid.UUID, user_id: uuid.UUID) -> OrgContext:
    """A context for a job of `org_id` that may also read what its ancestors share (a
    course of a parent org); widens the job's session to those ancestors."""
    org = session.exec(mark_scoped(select(Organization).where(Organization.id == org_id))).first()
    if org is None:
        raise NotFound()
    parents = {o.id for o in orgs.ancestors(session, org)}
    return OrgContext(
        user_id=user_id,
        email="",
        full_name="",
        org_id=org_id,
        org_name=org.name,
        org_ids=frozenset({org_id}),
        ancestor_ids=frozenset(parents),
    )


def _issuer_name(session: Session, org_id: uuid.UUID) -> str:
    """The name a certificate of `org_id` is issued under: its site name, else its name."""
    name = gates.branding(session, org_id).site_name
    if name:
        return name
    org = session.exec(mark_scoped(select(Organization).where(Organization.id == org_id))).first()
    return org.name if org else "Guildhall"


def issue_for_enrollment(session: Session, *, enrollment_id: uuid.UUID | str) -> Certificate | None:
    """Issue the certificate of a completed enrollment's current completion, once (no commit).

    The session must be scoped to the enrollment's org (the job's). The certificate is dated
    at the completion (`issued_at` = `completed_at`): a second call for the same completion
    returns the existing certificate and enqueues nothing (the unique key on enrollment and
    `issued_at` refuses a concurrent twin), while a later completion (a recertification
    reopened the enrollment) gets a new one. An enrollment that is missing or not completed
    gets none (None). Enqueues `certificate.issued`.
    """
    try:
        key = enrollment_id if isinstance(enrollment_id, uuid.UUID) else uuid.UUID(enrollment_id)
    except ValueError:
        return None
    enrollment = session.exec(mark_scoped(select(Enrollment).where(Enrollment.id == key))).first()
    if enrollment is None or enrollment.status != EnrollmentStatus.completed:
        return None
    issued = as_utc(enrollment.completed_at) if enrollment.completed_at else utcnow()
    existing = session.exec(
        mark_scoped(
            select(Certificate)
            .where(Certificate.enrollment_id == key, col(Certificate.issued_at) >= issued)
            .order_by(col(Certificate.issued_at).desc())
        )
    ).first()
    if existing is not None:
        return existing
    ctx = _job_context(session, enrollment.org_id, enrollment.user_id)
    course = session.exec(
        scoped_with_ancestors(ctx, Course).where(Course.id == enrollment.course_id)
    ).first()
    if course is None:
        return None
    user = session.get(User, enrollment.user_id)
    cert = Certificate(
        org_id=enrollment.org_id,
        enrollment_id=enrollment.id,
        user_id=enrollment.user_id,
        course_id=course.id,
        serial=new_serial(),
        learner_name=(user.full_name if user else "")[:120],
        course_title=course.title[:200],
        issuer_name=_issuer_name(session, course.org_id)[:200],
        issued_at=issued,
        expires_at=(
            issued + timedelta(days=course.certificate_valid_days)
            if course.certificate_valid_days
            else None
        ),
    )
    session.add(cert)
    session.flush()  # a concurrent run fails here on the unique completion (and retries)
    outbox.enqueue(
        session,
        kind=CERTIFICATE_ISSUED,
        payload={"certificate_id": str(cert.id)},
        org_id=cert.org_id,
        dedupe_key=f"{CERTIFICATE_ISSUED}:{cert.id}",
    )
    return cert


@outbox.handler(ENROLLMENT_COMPLETED)
def _on_enrollment_completed(session: Session, job: OutboxJob) -> None:
    issue_for_enrollment(session, enrollment_id=str(job.payload.get("enrollment_id", "")))


def logo_bytes(branding: Branding) -> bytes | None:
    """The org's uploaded logo (a public stored file), or None. Logos given as outside
    https:// addresses are not fetched (the server makes no outbound requests for them)."""
    url = branding.logo_url
    if not url.startswith("/files/"):
        return None
    key = url[len("/files/") :]
    scope = storage.key_scope(key)
    if scope is None or scope.visibility != "public":
        return None
    try:
        data, _type = storage.get_storage().get(key)
    except (ServiceError, OSError):
        return None
    return data if storage.sniff_image(data) else None


def pdf_key(cert: Certificate) -> str:
    """Where a certificate's PDF is stored (private to the learner's org)."""
    return storage.private_key(cert.org_id, "certificates", f"{cert.serial}.pdf")


def _issuer_org_id(session: Session, cert: Certificate) -> uuid.UUID:
    enrollment = session.exec(
        mark_scoped(select(Enrollment).where(Enrollment.id == cert.enrollment_id))
    ).first()
    return enrollment.course_org_id if enrollment else cert.org_id


def _branding_for(session: Session, cert: Certificate) -> Branding:
    """The issuing (course) org's branding; the learner's org's if that is not readable."""
    ctx = _job_context(session, cert.org_id, cert.user_id)
    issuer = _issuer_org_id(session, cert)
    if issuer in ctx.org_ids or issuer in ctx.ancestor_ids:
        return gates.branding(session, issuer)
    return gates.branding(session, cert.org_id)


def deliver(session: Session, *, certificate_id: uuid.UUID | str) -> Certificate | None:
    """Render and store the certificate's PDF and mail the learner its link (no commit).

    Runs once per certificate in effect: when the PDF is already stored (a job that ran
    before), nothing happens, so the learner gets one email.
    """
    try:
        key = certificate_id if isinstance(certificate_id, uuid.UUID) else uuid.UUID(certificate_id)
    except ValueError:
        return None
    cert = session.exec(mark_scoped(select(Certificate).where(Certificate.id == key))).first()
    if cert is None or cert.pdf_key:
        return cert
    branding = _branding_for(session, cert)
    data = render_pdf(cert, branding, logo=logo_bytes(branding))
    stored = pdf_key(cert)
    storage.get_storage().put(stored, data, "application/pdf")
    cert.pdf_key = stored
    session.add(cert)
    link = verification_url(cert.serial)
    # One notification; its email goes out when the learner's preferences want it (they do
    # by default), so nobody gets the news twice and the choice is honoured.
    notifications.notify(
        session,
        org_id=cert.org_id,
        user_id=cert.user_id,
        kind=CERTIFICATE_ISSUED,
        title=f"Certificate ready: {cert.course_title}",
        body=f"Serial {cert.serial}",
        link="/certificates",
        dedupe_key=f"{CERTIFICATE_ISSUED}:{cert.id}",
        email_subject=f"Your certificate: {cert.course_title}",
        email_body=(
            f"Hello {cert.learner_name},\n\n"
            f"Congratulations on completing {cert.course_title}. Your certificate "
            f"({cert.serial}) is ready: download it from your certificates page at "
            f"{get_settings().base_url.rstrip('/')}/certificates.\n\n"
            f"Anyone can check that it is genuine at {link}\n"
        ),
    )
    return cert


@outbox.handler(CERTIFICATE_ISSUED)
def _on_certificate_issued(session: Session, job: OutboxJob) -> None:
    deliver(session, certificate_id=str(job.payload.get("certificate_id", "")))


# --------------------------------------------------------------------------- the PDF


def _hex(branding: Branding, *, text: bool = False) -> str:
    name = branding.primary_color
    if text and name in _TEXT_HEX:
        return _TEXT_HEX[name]
    return ACCENT_HEX.get(name, DEFAULT_ACCENT)


def _fonts(*texts: str) -> tuple[str, str]:
    """(regular, bold) font names: the PDF standard fonts, or DejaVu when a name needs
    characters they lack and the font is installed."""
    try:
        for t in texts:
            t.encode("cp1252")
        return "Helvetica", "Helvetica-Bold"
    except UnicodeEncodeError:
        pass
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    base = "/usr/share/fonts/truetype/dejavu/"
    try:
        if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("DejaVuSans", base + "DejaVuSans.ttf"))
            pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", base + "DejaVuSans-Bold.ttf"))
        return "DejaVuSans", "DejaVuSans-Bold"
    except Exception:  # font not installed: fall back (some glyphs may be missing)
        return "Helvetica", "Helvetica-Bold"


def _fit(text: str, font: str, size: float, width: float) -> float:
    """The largest size up to `size` at which `text` fits `width`."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    while size > 8 and stringWidth(text, font, size) > width:
        size -= 1
    return size


def render_pdf(cert: Certificate, branding: Branding, *, logo: bytes | None = None) -> bytes:
    """The certificate as a one-page landscape A4 PDF (pure: no database, no storage).

    Shows the issuer (name, logo, accent colour), "Certificate of completion", the learner,
    the course, the completion date, the expiry if any, the serial, the verification URL and
    a QR code of it. A revoked certificate is stamped REVOKED. Page streams are left
    uncompressed (the page is small, and its text stays searchable).
    """
    from reportlab.graphics import renderPDF
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing
    from reportlab.lib.colors import HexColor
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    width, height = landscape(A4)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(width, height), pageCompression=0)
    c.setTitle(f"Certificate of completion: {cert.course_title}")
    c.setAuthor(cert.issuer_name)
    c.setSubject(f"Serial {cert.serial}")
    accent = HexColor(_hex(branding))
    accent_text = HexColor(_hex(branding, text=True))
    dark = HexColor("#1C2024")
    muted = HexColor("#60646C")
    regular, bold = _fonts(cert.learner_name, cert.course_title, cert.issuer_name)

    # frame
    c.setStrokeColor(accent)
    c.setLineWidth(6)
    c.rect(24, 24, width - 48, height - 48)
    c.setLineWidth(1)
    c.rect(36, 36, width - 72, height - 72)
    c.setFillColor(accent)
    c.rect(36, height - 60, width - 72, 24, stroke=0, fill=1)

    # issuer: logo and name
    top = height - 110
    if logo:
        try:
            image = ImageReader(io.BytesIO(logo))
            iw, ih = image.getSize()
            h = 56.0
            w = min(180.0, iw * h / ih) if ih else h
            c.drawImage(image, (width - w) / 2, top - 40, w, h, mask="auto")
            top -= 70
        except Exception:  # an unreadable logo leaves the name alone
            log.warning("certificate %s: logo not drawn", cert.serial, exc_info=True)
    c.setFillColor(dark)
    c.setFont(bold, _fit(cert.issuer_name, bold, 20, width - 160))
    c.drawCentredString(width / 2, top, cert.issuer_name)

    # title, learner, course
    c.setFillColor(accent_text)
    c.setFont(bold, 34)
    c.drawCentredString(width / 2, top - 60, "Certificate of completion")
    c.setFillColor(muted)
    c.setFont(regular, 14)
    c.drawCentredString(width / 2, top - 95, "This certifies that")
    c.setFillColor(dark)
    c.setFont(bold, _fit(cert.learner_name, bold, 30, width - 160))
    c.drawCentredString(width / 2, top - 135, cert.learner_name)
    c.setFillColor(muted)
    c.setFont(regular, 14)
    c.drawCentredString(width / 2, top - 165, "has completed the course")
    c.setFillColor(dark)
    c.setFont(bold, _fit(cert.course_title, bold, 22, width - 160))
    c.drawCentredString(width / 2, top - 198, cert.course_title)

    issued = as_utc(cert.issued_at).strftime("%d %B %Y")
    c.setFont(regular, 12)
    c.setFillColor(dark)
    line = f"Completed on {issued}"
    if cert.expires_at is not None:
        line += f"  ·  Valid until {as_utc(cert.expires_at).strftime('%d %B %Y')}"
    c.drawCentredString(width / 2, top - 228, line)

    # serial, link, QR
    url = verification_url(cert.serial)
    c.setFont(regular, 10)
    c.setFillColor(muted)
    c.drawString(60, 84, f"Serial: {cert.serial}")
    c.drawString(60, 68, f"Verify at {url}")
    qr = QrCodeWidget(url)
    x0, y0, x1, y1 = qr.getBounds()
    size = 84.0
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(qr)
    renderPDF.draw(drawing, c, width - 60 - size, 52)

    if cert.revoked_at is not None:
        c.saveState()
        c.setFillColor(HexColor("#E5484D"))
        c.setFont(bold, 90)
        c.translate(width / 2, height / 2)
        c.rotate(20)
        c.drawCentredString(0, 0, "REVOKED")
        c.restoreState()

    c.showPage()
    c.save()
    return buf.getvalue()


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Verification:
    """What the public verification page shows: the certificate's face and its status.

    Never ids, emails or orgs; a revocation shows its date, not its (internal) reason.
    """

    status: str  # valid | revoked | expired
    serial: str
    learner_name: str
    course_title: str
    issuer_name: str
    issued_on: date
    expires_on: date | None
    revoked_on: date | None


def verify(serial: str) -> Verification | None:
    """Look a serial up for the public page; None for unknown or malformed serials.

    Reads in a session scoped to that one serial (row-level security lets exactly that row
    through on PostgreSQL), with the query filtered by it on every backend.
    """
    wanted = normalize_serial(serial)
    if wanted is None:
        return None
    with open_session(Scope(certificate_serial=wanted)) as session:
        cert = session.exec(
            mark_scoped(select(Certificate).where(Certificate.serial == wanted))
        ).first()
    if cert is None:
        return None
    return Verification(
        status=status_of(cert),
        serial=cert.serial,
        learner_name=cert.learner_name,
        course_title=cert.course_title,
        issuer_name=cert.issuer_name,
        issued_on=as_utc(cert.issued_at).date(),
        expires_on=as_utc(cert.expires_at).date() if cert.expires_at else None,
        revoked_on=as_utc(cert.revoked_at).date() if cert.revoked_at else None,
    )


@dataclass(frozen=True)
class CertificateRow:
    """A certificate as the certificates pages list it."""

    id: str
    serial: str
    learner_name: str
    course_title: str
    issuer_name: str
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_reason: str
    status: str
    is_mine: bool


def _row(cert: Certificate, ctx: OrgContext) -> CertificateRow:
    return CertificateRow(
        id=str(cert.id),
        serial=cert.serial,
        learner_name=cert.learner_name,
        course_title=cert.course_title,
        issuer_name=cert.issuer_name,
        issued_at=as_utc(cert.issued_at),
        expires_at=as_utc(cert.expires_at) if cert.expires_at else None,
        revoked_at=as_utc(cert.revoked_at) if cert.revoked_at else None,
        revoked_reason=cert.revoked_reason,
        status=status_of(cert),
        is_mine=cert.user_id == ctx.user_id,
    )


def _require_lms(session: Session, ctx: OrgContext, permission: Permission) -> None:
    require(ctx, permission)
    assert ctx.org_id is not None  # `require` refuses contexts without an active org
    gates.require_feature(session, ctx.org_id, "lms")


def list_mine(session: Session, ctx: OrgContext) -> list[CertificateRow]:
    """The signed-in learner's own certificates in the active org's scope, newest first."""
    _require_lms(session, ctx, Permission.learning_view)
    rows = session.exec(
        scoped(ctx, Certificate)
        .where(Certificate.user_id == ctx.user_id)
        .order_by(col(Certificate.issued_at).desc())
        .limit(500)
    ).all()
    return [_row(r, ctx) for r in rows]


@dataclass(frozen=True)
class CertificatePage:
    """A page of the org's certificates and how many match in all."""

    rows: list[CertificateRow]
    total: int
    page: int
    page_size: int


def list_org(
    session: Session,
    ctx: OrgContext,
    *,
    page: int = 1,
    search: str = "",
    status: str = "",
    page_size: int = 25,
) -> CertificatePage:
    """Certificates issued in the orgs the admin may read, newest first; `search` matches
    the learner, the course or the serial; `status` is valid, expired or revoked."""
    _require_lms(session, ctx, Permission.certificates_manage)
    stmt = scoped(ctx, Certificate)
    term = search.strip().lower()[:100]
    if term:
        like = f"%{term}%"
        stmt = stmt.where(
            or_(
                func.lower(Certificate.learner_name).like(like),
                func.lower(Certificate.course_title).like(like),
                func.lower(Certificate.serial).like(like),
            )
        )
    now = utcnow()
    if status == "revoked":
        stmt = stmt.where(col(Certificate.revoked_at).is_not(None))
    elif status == "expired":
        stmt = stmt.where(col(Certificate.revoked_at).is_(None), col(Certificate.expires_at) <= now)
    elif status == "valid":
        stmt = stmt.where(
            col(Certificate.revoked_at).is_(None),
            or_(col(Certificate.expires_at).is_(None), col(Certificate.expires_at) > now),
        )
    total = count_rows(session, stmt)
    page = max(page, 1)
    rows = session.exec(
        stmt.order_by(col(Certificate.issued_at).desc(), col(Certificate.id))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return CertificatePage(
        rows=[_row(r, ctx) for r in rows], total=total, page=page, page_size=page_size
    )


def _owned_or_managed(
    session: Session, ctx: OrgContext, certificate_id: uuid.UUID | str
) -> Certificate:
    """The certificate if it is the caller's own or they manage certificates in its org;
    anything else is `NotFound`, like an id that does not exist."""
    cert = access(session, ctx, Certificate, certificate_id)
    if cert.user_id != ctx.user_id and not has(ctx, Permission.certificates_manage):
        raise NotFound()
    return cert


def check_reason(reason: str) -> str:
    """A revocation reason: required, at most 500 characters."""
    text = " ".join((reason or "").split())
    if len(text) < MIN_REASON:
        raise ValidationFailed("Say why the certificate is revoked.", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationFailed(f"Use at most {MAX_REASON} characters.", field="reason")
    return text


def revoke(
    session: Session, ctx: OrgContext, *, certificate_id: uuid.UUID | str, reason: str
) -> Certificate:
    """Revoke a certificate with a reason (audited; the learner is notified). Revoking an
    already revoked certificate changes nothing: the first revocation stands."""
    _require_lms(session, ctx, Permission.certificates_manage)
    cert = access(session, ctx, Certificate, certificate_id)
    text = check_reason(reason)
    if cert.revoked_at is not None:
        return cert
    cert.revoked_at, cert.revoked_reason = utcnow(), text
    session.add(cert)
    audit.record(
        session,
        action="certificate.revoked",
        org_id=cert.org_id,
        ctx=ctx,
        target=cert.serial,
        detail={"learner": cert.learner_name, "course": cert.course_title, "reason": text},
    )
    notifications.notify(
        session,
        org_id=cert.org_id,
        user_id=cert.user_id,
        kind="certificate.revoked",
        title=f"Certificate revoked: {cert.course_title}",
        body=text,
        link="/certificates",
        dedupe_key=f"certificate.revoked:{cert.id}",
    )
    session.commit()
    return cert


def _filename(cert: Certificate) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", cert.course_title.lower()).strip("-")[:60] or "course"
    return f"certificate-{slug}-{cert.serial}.pdf"


@dataclass(frozen=True)
class PdfFile:
    """A certificate's PDF and the name to save it under."""

    data: bytes
    filename: str


def access_pdf(session: Session, ctx: OrgContext, certificate_id: uuid.UUID | str) -> Certificate:
    """The certificate whose PDF the context may download: its learner's, or any in its org
    for who manages certificates there (`pdf_for`'s rule, also applied by the file route to
    the stored PDF). `NotFound` for anyone else, like an id that does not exist;
    `PermissionDenied` without learning or with the LMS turned off."""
    require(ctx, Permission.learning_view)
    cert = _owned_or_managed(session, ctx, certificate_id)
    assert ctx.org_id is not None
    gates.require_feature(session, ctx.org_id, "lms")
    return cert


def served_pdf_key(cert: Certificate) -> str:
    """The stored PDF `pdf_for` hands out as it is, or "" when it renders one instead (not
    stored yet, or revoked: the stored file is the unstamped original)."""
    return cert.pdf_key if cert.pdf_key and cert.revoked_at is None else ""


def pdf_for(session: Session, ctx: OrgContext, certificate_id: uuid.UUID | str) -> PdfFile:
    """The certificate's PDF for its learner, or for an admin who manages certificates in
    its org; `NotFound` for anyone else. Served from storage when the job stored it, else
    rendered now; a revoked certificate is always rendered (stamped REVOKED)."""
    cert = access_pdf(session, ctx, certificate_id)
    stored = served_pdf_key(cert)
    if stored:
        try:
            data, _type = storage.get_storage().get(stored)
            return PdfFile(data=data, filename=_filename(cert))
        except (ServiceError, OSError):
            pass  # missing from storage: render it again
    branding = _branding_for_reader(session, ctx, cert)
    return PdfFile(
        data=render_pdf(cert, branding, logo=logo_bytes(branding)), filename=_filename(cert)
    )


def _branding_for_reader(session: Session, ctx: OrgContext, cert: Certificate) -> Branding:
    issuer = _issuer_org_id(session, cert)
    readable = ctx.org_ids | ctx.ancestor_ids
    return gates.branding(session, issuer if issuer in readable else cert.org_id)
