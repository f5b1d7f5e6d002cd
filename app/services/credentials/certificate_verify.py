"""Certificate serials and status, and the public verification look-up (`/verify/<serial>`).

The serial is 80 random bits (`secrets`), shown as `GH-XXXX-XXXX-XXXX-XXXX` in base32: it
cannot be guessed or enumerated, and the public page reads exactly the one row it names
(a session scoped to that serial; row-level security enforces it on PostgreSQL).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import select

from app.db import Scope, open_session
from app.models.base import as_utc, utcnow
from app.models.certificate import Certificate
from app.services.core.tenancy import mark_scoped
from app.settings import get_settings

SERIAL_PREFIX = "GH-"
MAX_SERIAL_LENGTH = 40
_SERIAL_INPUT = re.compile(r"^[A-Za-z0-9-]{4,40}$")


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


# --------------------------------------------------------------------------- verification


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
