"""Revoking a certificate: the reason it needs, the audit record and the learner's
notification."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from app.models.base import utcnow
from app.models.certificate import Certificate
from app.services.comms import notifications
from app.services.core import audit
from app.services.core.authz import Permission
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, access
from app.services.credentials.certificate_lists import require_lms

MAX_REASON = 500
MIN_REASON = 3


def check_reason(reason: str) -> str:
    """A revocation reason: required, at most 500 characters."""
    text = " ".join((reason or "").split())
    if len(text) < MIN_REASON:
        raise ValidationFailed("Say why the certificate is revoked.", field="reason")
    if len(text) > MAX_REASON:
        raise ValidationFailed(f"Use at most {MAX_REASON} characters.", field="reason")
    return text


def do_revoke_certificate(
    session: Session, ctx: OrgContext, *, certificate_id: uuid.UUID | str, reason: str
) -> Certificate:
    """Revoke a certificate with a reason (audited; the learner is notified). Revoking an
    already revoked certificate changes nothing: the first revocation stands."""
    require_lms(session, ctx, Permission.certificates_manage)
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
