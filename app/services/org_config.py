"""The org config engine: `OrgConfig` sections with defaults, inherited down the hierarchy.

Each org stores only its overrides (`org_settings.data`, section -> field -> value). The
effective config of an org is the defaults, overlaid by each ancestor's overrides from the
root down, then by its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from app.models.org import Organization, OrgSettings
from app.services.tenancy import mark_scoped


class Features(BaseModel):
    """Which parts of the product are on for the org."""

    lms: bool = True
    micro_courses: bool = False
    apprenticeships: bool = False
    employer_portal: bool = False
    workforce_reporting: bool = False
    chat: bool = True
    events: bool = True


class Funding(BaseModel):
    """Funding sources learners may enroll under."""

    sources: list[str] = Field(default_factory=lambda: ["self_pay", "employer_paid"])


class Delivery(BaseModel):
    """Delivery modes courses may use."""

    modes: list[str] = Field(default_factory=lambda: ["online", "in_person", "hybrid"])


class Reporting(BaseModel):
    """What the org reports on."""

    attendance: bool = True
    outcomes: bool = True
    credentials: bool = True
    exports: bool = True


class Branding(BaseModel):
    """How the org looks to its people."""

    site_name: str = ""
    logo_url: str = ""
    primary_color: str = "indigo"
    hide_platform_branding: bool = False


class Limits(BaseModel):
    """Seat and content limits; `None` means unlimited."""

    max_programs: int | None = Field(default=None, ge=0)
    max_students: int | None = Field(default=None, ge=0)
    max_staff: int | None = Field(default=None, ge=0)


class License(BaseModel):
    """The license panel; billing makes it live later."""

    plan: str = "community"
    state: str = "active"
    grace_days: int = Field(default=14, ge=0)


class OrgConfig(BaseModel):
    """The whole effective configuration of an org."""

    features: Features = Field(default_factory=Features)
    funding: Funding = Field(default_factory=Funding)
    delivery: Delivery = Field(default_factory=Delivery)
    reporting: Reporting = Field(default_factory=Reporting)
    branding: Branding = Field(default_factory=Branding)
    limits: Limits = Field(default_factory=Limits)
    license: License = Field(default_factory=License)


def _ancestry(session: Session, org_id: uuid.UUID) -> list[Organization]:
    """The org and its ancestors, root first, as far as the session's scope can see."""
    chain: list[Organization] = []
    current: uuid.UUID | None = org_id
    seen: set[uuid.UUID] = set()
    while current is not None and current not in seen:
        seen.add(current)
        org = session.exec(
            mark_scoped(select(Organization).where(Organization.id == current))
        ).first()
        if org is None:
            break
        chain.append(org)
        current = org.parent_id
    return list(reversed(chain))


def _overrides(session: Session, org_id: uuid.UUID) -> dict[str, Any]:
    row = session.exec(mark_scoped(select(OrgSettings).where(OrgSettings.org_id == org_id))).first()
    return dict(row.data) if row else {}


def effective_config(session: Session, org_id: uuid.UUID) -> OrgConfig:
    """Defaults overlaid by ancestors' and then the org's own overrides.

    Ancestors' org rows and settings (and nothing else of theirs) are readable through the
    scope's `ancestor_ids`.
    """
    merged: dict[str, dict[str, Any]] = {}
    for org in _ancestry(session, org_id):
        for section, values in _overrides(session, org.id).items():
            if isinstance(values, dict):
                merged.setdefault(section, {}).update(values)
    return OrgConfig.model_validate(merged)


def set_overrides(session: Session, org_id: uuid.UUID, data: dict[str, Any]) -> OrgSettings:
    """Replace an org's stored overrides after validating the result (no commit)."""
    OrgConfig.model_validate(data)
    row = session.exec(mark_scoped(select(OrgSettings).where(OrgSettings.org_id == org_id))).first()
    if row is None:
        row = OrgSettings(org_id=org_id, data=data)
    else:
        row.data = data
        row.version += 1
    session.add(row)
    return row
