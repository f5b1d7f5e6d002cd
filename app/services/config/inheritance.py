"""Effective config: the defaults overlaid by each org's stored overrides, root first."""

from __future__ import annotations

import copy
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, select

from app.models.org import Organization, OrgSettings
from app.services.config import orgs
from app.services.config.schema import SECTIONS, OrgConfig
from app.services.core.authz import Permission, require
from app.services.core.tenancy import OrgContext, mark_scoped

log = logging.getLogger(__name__)

Layers = list[tuple[Organization, dict[str, Any]]]


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


def settings_row(session: Session, org_id: uuid.UUID) -> OrgSettings | None:
    return session.exec(
        mark_scoped(select(OrgSettings).where(OrgSettings.org_id == org_id))
    ).first()


def _overrides(session: Session, org_id: uuid.UUID) -> dict[str, Any]:
    row = settings_row(session, org_id)
    return copy.deepcopy(dict(row.data)) if row else {}


def load_layers(session: Session, org_id: uuid.UUID) -> Layers:
    """Each org of the chain (root first, the org last) with its own overrides."""
    return [(org, _overrides(session, org.id)) for org in _ancestry(session, org_id)]


def merge_overrides(overrides: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for data in overrides:
        for section, values in data.items():
            if section in SECTIONS and isinstance(values, dict):
                merged.setdefault(section, {}).update(values)
    return merged


def resolve(overrides: list[dict[str, Any]]) -> OrgConfig:
    """THE inheritance rule: defaults, then each layer's overrides in order, validated.

    A stored value that no longer validates (written before a rule existed, or an ancestor
    removed what it relied on) is dropped with a warning, so one bad value falls back to
    what it would inherit instead of breaking every page of the org.
    """
    merged = merge_overrides(overrides)
    for _ in range(50):
        try:
            return OrgConfig.model_validate(merged)
        except ValidationError as exc:
            loc = exc.errors()[0]["loc"]
            section = str(loc[0]) if loc else ""
            name = str(loc[1]) if len(loc) > 1 else ""
            log.warning("dropping invalid stored config value %s.%s", section, name)
            if name and name in merged.get(section, {}):
                merged[section].pop(name)
            else:
                merged.pop(section, None)
    return OrgConfig()


def effective_config(session: Session, org_id: uuid.UUID) -> OrgConfig:
    """Defaults overlaid by ancestors' and then the org's own overrides (uncached).

    Ancestors' org rows and settings (and nothing else of theirs) are readable through the
    scope's `ancestor_ids`.
    """
    return resolve([data for _, data in load_layers(session, org_id)])


@dataclass(frozen=True)
class FieldView:
    """One field as the settings page shows it."""

    value: Any  # the effective value (JSON-shaped)
    source: str  # "default", "own", or the name of the ancestor org that sets it
    overridden: bool  # the org itself stores a value (a reset is possible)
    source_org_id: str = ""  # the org that sets it ("" for the default)


SectionsView = dict[str, dict[str, FieldView]]


def _views(layers: Layers) -> SectionsView:
    config = resolve([data for _, data in layers]).model_dump(mode="json")
    own_id = layers[-1][0].id if layers else None
    out: SectionsView = {}
    for section, values in config.items():
        out[section] = {}
        for name, value in values.items():
            source, source_id = "default", ""
            for org, data in layers:
                stored = data.get(section)
                if isinstance(stored, dict) and name in stored:
                    source = "own" if org.id == own_id else org.name
                    source_id = str(org.id)
            own = layers[-1][1].get(section, {}) if layers else {}
            out[section][name] = FieldView(
                value=value,
                source=source,
                overridden=isinstance(own, dict) and name in own,
                source_org_id=source_id,
            )
    return out


def effective_with_sources(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str
) -> SectionsView:
    """Every section and field of an org in the admin's subtree: effective value and where it
    comes from. Other orgs (including the admin's own ancestors) are `NotFound`."""
    require(ctx, Permission.config_edit)
    org = orgs.require_in_subtree(session, ctx, org_id)
    return _views(load_layers(session, org.id))
