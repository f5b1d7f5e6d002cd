"""The certificates pages' lists: the learner's own certificates and the org's (search,
status filter, pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, col

from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.services.config import gates
from app.services.core.authz import Permission, require
from app.services.core.tenancy import OrgContext, count_rows, scoped
from app.services.credentials.certificate_verify import status_of


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


def require_lms(session: Session, ctx: OrgContext, permission: Permission) -> None:
    """Refuse without `permission`, or when the active org has the LMS turned off."""
    require(ctx, permission)
    assert ctx.org_id is not None  # `require` refuses contexts without an active org
    gates.require_feature(session, ctx.org_id, "lms")


def list_mine(session: Session, ctx: OrgContext) -> list[CertificateRow]:
    """The signed-in learner's own certificates in the active org's scope, newest first."""
    require_lms(session, ctx, Permission.learning_view)
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
    require_lms(session, ctx, Permission.certificates_manage)
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
