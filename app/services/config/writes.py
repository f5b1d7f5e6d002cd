"""Writing an org's overrides: validate, store, audit, publish on the config topic, commit."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from app.models.org import Organization, OrgSettings
from app.services.config import orgs
from app.services.config.cache import mark_written
from app.services.config.field_errors import validation_failed
from app.services.config.gates import Capability, require_license
from app.services.config.inheritance import (
    Layers,
    load_layers,
    merge_overrides,
    resolve,
    settings_row,
)
from app.services.config.schema import EDITABLE_SECTIONS, SECTIONS, OrgConfig
from app.services.core import audit, topics
from app.services.core.authz import Permission, require
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext
from app.services.infra import broker


def _write(session: Session, org_id: uuid.UUID, data: dict[str, Any]) -> OrgSettings:
    """Store an org's overrides (no validation, no commit); bumps the version."""
    row = settings_row(session, org_id)
    if row is None:
        row = OrgSettings(org_id=org_id, data=data)
    else:
        row.data = data
        row.version += 1
    session.add(row)
    mark_written(session, org_id)
    return row


def _publish(session: Session, org_id: uuid.UUID, section: str) -> None:
    broker.publish_after_commit(
        session,
        topics.CONFIG.name(org=org_id),
        topics.ConfigChanged(org_id=str(org_id), section=section),
    )


def set_overrides(session: Session, org_id: uuid.UUID, data: dict[str, Any]) -> OrgSettings:
    """Replace an org's stored overrides after validating them (no commit; no permission
    check: for billing, seeding and tests). Published and uncached once committed."""
    try:
        OrgConfig.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from exc
    row = _write(session, org_id, copy.deepcopy(data))
    _publish(session, org_id, "*")
    return row


def _check_section(section: str) -> type[BaseModel]:
    if section == "license":
        raise ValidationFailed(
            "The license (plan, state, grace days) is read-only here: billing sets it.",
            field="license",
        )
    if section not in EDITABLE_SECTIONS:
        raise ValidationFailed(f"There is no settings section “{section}”.", field=section)
    return SECTIONS[section]


def editable_org(session: Session, ctx: OrgContext, org_id: uuid.UUID | str) -> Organization:
    """An org in the admin's subtree the admin may edit (`config_edit`, license not locked)."""
    require(ctx, Permission.config_edit)
    org = orgs.require_in_subtree(session, ctx, org_id)
    if ctx.org_id is not None:
        require_license(session, ctx.org_id, Capability.admin)
    return org


def _descendants_still_valid(
    session: Session, org: Organization, section: str, new_own: dict[str, Any]
) -> None:
    """A parent's change must not break a child that overrides the same section."""
    for child in orgs.descendants(session, org.id):
        layers = load_layers(session, child.id)
        stored = [new_own if o.id == org.id else data for o, data in layers]
        if not any(section in data for o, data in layers if o.id != org.id):
            continue
        try:
            SECTIONS[section].model_validate(merge_overrides(stored).get(section, {}))
        except ValidationError as exc:
            failed = validation_failed(exc, section)
            raise ValidationFailed(
                f"“{child.name}” overrides this section and would break: {failed.message} "
                "Change it there first.",
                field=failed.field,
            ) from exc


def _own(layers: Layers, org: Organization) -> dict[str, Any]:
    """The org's own stored overrides: the last layer of its chain."""
    return layers[-1][1] if layers and layers[-1][0].id == org.id else {}


def _store(
    session: Session,
    ctx: OrgContext,
    org: Organization,
    section: str,
    new_own: dict[str, Any],
    *,
    action: str,
    target: str,
    detail: dict[str, Any],
) -> None:
    """Write the org's new overrides, audit the change, publish it, and commit."""
    _write(session, org.id, new_own)
    audit.record(session, action=action, org_id=org.id, ctx=ctx, target=target, detail=detail)
    _publish(session, org.id, section)
    session.commit()


def do_update_section(
    session: Session,
    ctx: OrgContext,
    *,
    org_id: uuid.UUID | str,
    section: str,
    values: dict[str, Any],
) -> OrgConfig:
    """Set fields of one section for an org in the admin's subtree, validated as a whole.

    Only values that differ from what the org would inherit are stored (so a value equal to
    the parent's keeps following the parent). Nothing is written when any value is invalid.
    Audited (`config.changed`, before and after), published on the org's config topic, and
    committed. Returns the org's new effective config.
    """
    model = _check_section(section)
    org = editable_org(session, ctx, org_id)
    for name in values:
        if name not in model.model_fields:
            raise ValidationFailed("There is no such setting.", field=f"{section}.{name}")
    layers = load_layers(session, org.id)
    own = _own(layers, org)
    inherited = resolve([data for o, data in layers if o.id != org.id])
    inherited_section: dict[str, Any] = getattr(inherited, section).model_dump(mode="json")
    own_section: dict[str, Any] = dict(own.get(section) or {})
    before = getattr(resolve([data for _, data in layers]), section).model_dump(mode="json")
    try:
        checked = model.model_validate({**inherited_section, **own_section, **values})
    except ValidationError as exc:
        raise validation_failed(exc, section) from exc
    normalized = checked.model_dump(mode="json")
    new_section = dict(own_section)
    for name in values:
        if normalized[name] == inherited_section[name]:
            new_section.pop(name, None)
        else:
            new_section[name] = normalized[name]
    if new_section == own_section:
        return resolve([data for _, data in layers])
    new_own = {k: v for k, v in own.items() if k != section}
    if new_section:
        new_own[section] = new_section
    if section == "funding":
        _descendants_still_valid(session, org, section, new_own)
    after = getattr(resolve([*[d for o, d in layers if o.id != org.id], new_own]), section)
    after_values = after.model_dump(mode="json")
    changed = sorted(
        n for n in model.model_fields if own_section.get(n, ...) != new_section.get(n, ...)
    )
    _store(
        session,
        ctx,
        org,
        section,
        new_own,
        action="config.changed",
        target=f"{org.name}: {section}",
        detail={
            "section": section,
            "before": {n: before[n] for n in changed},
            "after": {n: after_values[n] for n in changed},
        },
    )
    return resolve([*[d for o, d in layers if o.id != org.id], new_own])


def do_reset_override(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str, section: str, field: str
) -> OrgConfig:
    """Remove the org's own value of one field, so it inherits again. Audited
    (`config.reset`), published, committed; a field that is not overridden is a no-op."""
    model = _check_section(section)
    if field not in model.model_fields:
        raise ValidationFailed("There is no such setting.", field=f"{section}.{field}")
    org = editable_org(session, ctx, org_id)
    layers = load_layers(session, org.id)
    own = _own(layers, org)
    own_section = dict(own.get(section) or {})
    if field not in own_section:
        return resolve([data for _, data in layers])
    before = getattr(resolve([data for _, data in layers]), section).model_dump(mode="json")
    own_section.pop(field)
    new_own = {k: v for k, v in own.items() if k != section}
    if own_section:
        new_own[section] = own_section
    if section == "funding":
        _descendants_still_valid(session, org, section, new_own)
    new_layers = [*[d for o, d in layers if o.id != org.id], new_own]
    after = getattr(resolve(new_layers), section).model_dump(mode="json")
    _store(
        session,
        ctx,
        org,
        section,
        new_own,
        action="config.reset",
        target=f"{org.name}: {section}.{field}",
        detail={
            "section": section,
            "before": {field: before[field]},
            "after": {field: after[field]},
        },
    )
    return resolve(new_layers)
