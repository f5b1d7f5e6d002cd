"""The cached questions asked on every request: features, reporting, limits, license, branding."""

from __future__ import annotations

import enum
import uuid

from sqlmodel import Session, select

from app.models.course import CourseStatus, Program
from app.services.config.cache import cached_config
from app.services.config.schema import LIMIT_NAMES, SECTIONS, Branding, field_title
from app.services.core.errors import LimitReached, PermissionDenied
from app.services.core.tenancy import count_rows, mark_scoped


def _switch_on(session: Session, org_id: uuid.UUID, section: str, name: str) -> bool:
    """Whether the on/off field `section.name` is on for the org."""
    if name not in SECTIONS[section].model_fields:
        raise ValueError(f"unknown {section} option {name!r}")
    return bool(getattr(getattr(cached_config(session, org_id), section), name))


def feature_enabled(session: Session, org_id: uuid.UUID, name: str) -> bool:
    """Whether feature `name` (a field of `Features`) is on for the org."""
    return _switch_on(session, org_id, "features", name)


def require_feature(session: Session, org_id: uuid.UUID, name: str) -> None:
    """Refuse with `PermissionDenied` when the feature is off (services call this)."""
    if not feature_enabled(session, org_id, name):
        raise PermissionDenied(
            f"{field_title('features', name)} is turned off for this organization."
        )


def reporting_enabled(session: Session, org_id: uuid.UUID, name: str) -> bool:
    """Whether reporting option `name` (a field of `Reporting`) is on for the org."""
    return _switch_on(session, org_id, "reporting", name)


def require_reporting(session: Session, org_id: uuid.UUID, name: str) -> None:
    """Refuse with `PermissionDenied` when the reporting option is off."""
    if not reporting_enabled(session, org_id, name):
        raise PermissionDenied(
            f"{field_title('reporting', name)} are turned off in this organization's settings."
        )


LIMIT_NOUNS: dict[str, str] = {
    "max_programs": "programs",
    "max_students": "learner seats",
    "max_staff": "staff seats",
}


def limit_value(session: Session, org_id: uuid.UUID, limit_name: str) -> int | None:
    """The effective limit (None: unlimited)."""
    if limit_name not in LIMIT_NAMES:
        raise ValueError(f"unknown limit {limit_name!r}")
    value: int | None = getattr(cached_config(session, org_id).limits, limit_name)
    return value


def within_limit(
    session: Session, org_id: uuid.UUID, limit_name: str, current_count: int, *, adding: int = 1
) -> bool:
    """Whether `adding` more fit beside `current_count` in use (`adding=0`: whether the
    current usage is within the limit)."""
    cap = limit_value(session, org_id, limit_name)
    return cap is None or current_count + adding <= cap


def check_limit(
    session: Session, org_id: uuid.UUID, limit_name: str, current_count: int, *, adding: int = 1
) -> None:
    """Refuse with `LimitReached` (and the reason) when `adding` more would not fit."""
    if within_limit(session, org_id, limit_name, current_count, adding=adding):
        return
    cap = limit_value(session, org_id, limit_name)
    noun = LIMIT_NOUNS[limit_name]
    raise LimitReached(
        f"This organization has used {current_count} of its {cap} {noun}. Free some up or "
        "raise the limit in the org settings.",
        field=limit_name,
    )


class Capability(enum.StrEnum):
    """What a license state may lock."""

    learning = "learning"  # taking courses, certificates: never blocked
    billing = "billing"  # paying to lift a restriction: never blocked
    admin = "admin"  # settings, members, invites, imports
    authoring = "authoring"  # building courses and programs
    reporting = "reporting"  # reports and exports


NEVER_LOCKED: frozenset[Capability] = frozenset({Capability.learning, Capability.billing})
LOCKING_STATES: frozenset[str] = frozenset({"restricted", "inactive"})


def license_allows(session: Session, org_id: uuid.UUID, capability: str) -> bool:
    """Whether the org's license state allows `capability` (learning always is)."""
    cap = Capability(capability)
    if cap in NEVER_LOCKED:
        return True
    return cached_config(session, org_id).license.state not in LOCKING_STATES


def require_license(session: Session, org_id: uuid.UUID, capability: str) -> None:
    """Refuse with `PermissionDenied` when the license locks `capability`."""
    if not license_allows(session, org_id, capability):
        raise PermissionDenied(
            "This organization's license is restricted: admin features are locked until "
            "billing is settled. Learning continues as normal."
        )


def branding(session: Session, org_id: uuid.UUID) -> Branding:
    """The org's effective branding (site name, logo, colour)."""
    return cached_config(session, org_id).branding.model_copy()


def programs_used(session: Session, org_id: uuid.UUID) -> int:
    """Programs of the org that count against `limits.max_programs` (archived ones do not)."""
    stmt = mark_scoped(
        select(Program).where(Program.org_id == org_id, Program.status != CourseStatus.archived)
    )
    return count_rows(session, stmt)
