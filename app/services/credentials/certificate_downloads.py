"""Downloading a certificate's PDF: who may, the stored file or a fresh rendering, and the
name to save it under."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlmodel import Session

from app.models.certificate import Certificate
from app.services.config import gates
from app.services.config.schema import Branding
from app.services.core.authz import Permission, has, require
from app.services.core.errors import NotFound, ServiceError
from app.services.core.tenancy import OrgContext, access
from app.services.credentials.certificate_pdf import logo_bytes, render_pdf
from app.services.credentials.certificates import issuer_org_id
from app.services.infra import storage


def _owned_or_managed(
    session: Session, ctx: OrgContext, certificate_id: uuid.UUID | str
) -> Certificate:
    """The certificate if it is the caller's own or they manage certificates in its org;
    anything else is `NotFound`, like an id that does not exist."""
    cert = access(session, ctx, Certificate, certificate_id)
    if cert.user_id != ctx.user_id and not has(ctx, Permission.certificates_manage):
        raise NotFound()
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
    issuer = issuer_org_id(session, cert)
    readable = ctx.org_ids | ctx.ancestor_ids
    return gates.branding(session, issuer if issuer in readable else cert.org_id)
