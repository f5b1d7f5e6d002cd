"""The org config engine: `OrgConfig` sections with defaults, inherited down the hierarchy.

Each org stores only its overrides (`org_settings.data`, section -> field -> value). The
effective config of an org is the defaults, overlaid by each ancestor's overrides from the
root down, then by its own. That overlay happens in one place, `_resolve`; everything else
(`effective_config`, `effective_with_sources`, the cached helpers) goes through it.

Writes: `update_section` and `reset_override` (the admin console, audited and published on
`org:{org}:config`), and `set_overrides` (the low-level writer billing and tests use).

Reads the app asks on every page: `feature_enabled`, `within_limit` / `check_limit`,
`license_allows`, `branding`. They are cached per org in this process; an entry is dropped
when its org or any ancestor changes (after the writing transaction commits, and when a
config message for that org arrives on the broker from another process), and a read that
raced a write is never stored (a generation counter). See docs/config.md.
"""

from __future__ import annotations

import copy
import enum
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from sqlalchemy import event
from sqlmodel import Session, select

from app.db import Scope
from app.models.course import CourseStatus, Program
from app.models.org import Organization, OrgSettings
from app.services.config import orgs
from app.services.core import audit
from app.services.core.authz import Permission, require
from app.services.core.errors import LimitReached, NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, count_rows, mark_scoped
from app.services.infra import broker

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- vocabularies

STANDARD_FUNDING_SOURCES: dict[str, str] = {
    "wioa": "WIOA",
    "wrg": "WRG",
    "jri": "JRI",
    "employer_paid": "Employer paid",
    "self_pay": "Self pay",
}
DELIVERY_MODES: dict[str, str] = {
    "online": "Online",
    "in_person": "In person",
    "hybrid": "Hybrid",
}
# Radix Themes accent colours (the `accent_color` of `rx.theme`).
ACCENT_COLORS: tuple[str, ...] = (
    "tomato", "red", "ruby", "crimson", "pink", "plum", "purple", "violet", "iris", "indigo",
    "blue", "cyan", "teal", "jade", "green", "grass", "brown", "orange", "sky", "mint", "lime",
    "yellow", "amber", "gold", "bronze", "gray",
)  # fmt: skip
LICENSE_PLANS: tuple[str, ...] = ("community", "standard", "enterprise")
LICENSE_STATES: tuple[str, ...] = ("active", "grace", "restricted", "inactive")

SLUG_RE = re.compile(r"^[a-z0-9_]{2,40}$")
MAX_SITE_NAME = 80
MAX_CUSTOM_SOURCES = 30
MAX_LOGO_URL = 500


# --------------------------------------------------------------------------- the model


def _text(value: Any) -> str:
    """A text field's input: a string (None is empty); anything else is refused."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError("Enter text.")
    return value


class Features(BaseModel):
    """Which parts of the product are on for the org."""

    lms: bool = Field(True, title="Learning (courses and programs)")
    micro_courses: bool = Field(False, title="Micro courses")
    apprenticeships: bool = Field(False, title="Apprenticeships")
    employer_portal: bool = Field(False, title="Employer portal")
    workforce_reporting: bool = Field(False, title="Workforce reporting")
    chat: bool = Field(True, title="Chat")
    events: bool = Field(True, title="Events")


class CustomFundingSource(BaseModel):
    """A funding source an org defines beyond the standard ones."""

    slug: str
    label: str

    @field_validator("slug", mode="before")
    @classmethod
    def _slug(cls, value: Any) -> str:
        slug = _text(value).strip().lower()
        if not SLUG_RE.match(slug):
            raise ValueError(
                "A source code needs 2 to 40 characters: letters, digits or underscores."
            )
        return slug

    @field_validator("label", mode="before")
    @classmethod
    def _label(cls, value: Any) -> str:
        label = " ".join(_text(value).split())
        if not 2 <= len(label) <= 40:
            raise ValueError("A source name needs 2 to 40 characters.")
        return label


class Funding(BaseModel):
    """Funding sources learners may enroll under: standard slugs and the org's custom ones."""

    sources: list[str] = Field(
        default_factory=lambda: ["self_pay", "employer_paid"], title="Funding sources"
    )
    custom: list[CustomFundingSource] = Field(default_factory=list, title="Custom funding sources")

    @field_validator("custom")
    @classmethod
    def _custom(cls, value: list[CustomFundingSource]) -> list[CustomFundingSource]:
        if len(value) > MAX_CUSTOM_SOURCES:
            raise ValueError(f"At most {MAX_CUSTOM_SOURCES} custom sources.")
        seen: set[str] = set()
        for source in value:
            if source.slug in STANDARD_FUNDING_SOURCES:
                raise ValueError(f"“{source.slug}” is a standard source already.")
            if source.slug in seen:
                raise ValueError(f"“{source.slug}” is listed twice.")
            seen.add(source.slug)
        return value

    @model_validator(mode="after")
    def _sources(self) -> Funding:
        known = set(STANDARD_FUNDING_SOURCES) | {c.slug for c in self.custom}
        cleaned: list[str] = []
        for raw in self.sources:
            slug = str(raw).strip().lower()
            if slug not in known:
                raise ValueError(f"sources: “{slug}” is not a standard or custom source.")
            if slug not in cleaned:
                cleaned.append(slug)
        if not cleaned:
            raise ValueError("sources: Choose at least one funding source.")
        self.sources = cleaned
        return self

    def labels(self) -> dict[str, str]:
        """Every known source (standard first, then custom) by slug."""
        return {**STANDARD_FUNDING_SOURCES, **{c.slug: c.label for c in self.custom}}


class Delivery(BaseModel):
    """Delivery modes courses may use."""

    modes: list[str] = Field(
        default_factory=lambda: ["online", "in_person", "hybrid"], title="Delivery modes"
    )

    @field_validator("modes")
    @classmethod
    def _modes(cls, value: list[str]) -> list[str]:
        unknown = [m for m in value if m not in DELIVERY_MODES]
        if unknown:
            raise ValueError(
                f"“{unknown[0]}” is not a delivery mode (choose from {', '.join(DELIVERY_MODES)})."
            )
        chosen = [m for m in DELIVERY_MODES if m in value]  # canonical order, no duplicates
        if not chosen:
            raise ValueError("Choose at least one delivery mode.")
        return chosen


class Reporting(BaseModel):
    """What the org reports on."""

    attendance: bool = Field(True, title="Attendance")
    outcomes: bool = Field(True, title="Outcomes")
    credentials: bool = Field(True, title="Credentials")
    exports: bool = Field(True, title="Exports")


class Branding(BaseModel):
    """How the org looks to its people."""

    site_name: str = Field("", title="Site name")
    logo_url: str = Field("", title="Logo")
    primary_color: str = Field("indigo", title="Primary colour")
    hide_platform_branding: bool = Field(False, title="Hide Guildhall branding")

    @field_validator("site_name", mode="before")
    @classmethod
    def _site_name(cls, value: Any) -> str:
        name = " ".join(_text(value).split())
        if len(name) > MAX_SITE_NAME:
            raise ValueError(f"Use at most {MAX_SITE_NAME} characters.")
        return name

    @field_validator("primary_color", mode="before")
    @classmethod
    def _color(cls, value: Any) -> str:
        color = _text(value).strip().lower()
        if color not in ACCENT_COLORS:
            raise ValueError(f"Choose one of: {', '.join(ACCENT_COLORS)}.")
        return color

    @field_validator("logo_url", mode="before")
    @classmethod
    def _logo(cls, value: Any) -> str:
        url = _text(value).strip()
        # Only our own file route (uploads) or an https address; never javascript: or data:.
        if url and not (url.startswith("/files/") or url.startswith("https://")):
            raise ValueError("Upload a logo, or give an https:// address.")
        if len(url) > MAX_LOGO_URL or any(c in url for c in "\"'<> \\"):
            raise ValueError("That logo address is not valid.")
        return url


class Limits(BaseModel):
    """Seat and content limits; `None` (empty) means unlimited."""

    max_programs: int | None = Field(default=None, ge=0, title="Programs")
    max_students: int | None = Field(default=None, ge=0, title="Learner seats")
    max_staff: int | None = Field(default=None, ge=0, title="Staff seats")

    @field_validator("max_programs", "max_students", "max_staff", mode="before")
    @classmethod
    def _blank_is_unlimited(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("Enter a whole number, or leave it empty for no limit.")
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return value.strip() if isinstance(value, str) else value


class License(BaseModel):
    """The license panel; billing makes it live later. Read-only in the console."""

    plan: str = Field("community", title="Plan")
    state: Literal["active", "grace", "restricted", "inactive"] = Field("active", title="State")
    grace_days: int = Field(default=14, ge=0, title="Grace days")


class OrgConfig(BaseModel):
    """The whole effective configuration of an org."""

    features: Features = Field(default_factory=Features)
    funding: Funding = Field(default_factory=Funding)
    delivery: Delivery = Field(default_factory=Delivery)
    reporting: Reporting = Field(default_factory=Reporting)
    branding: Branding = Field(default_factory=Branding)
    limits: Limits = Field(default_factory=Limits)
    license: License = Field(default_factory=License)


SECTIONS: dict[str, type[BaseModel]] = {
    "features": Features,
    "funding": Funding,
    "delivery": Delivery,
    "reporting": Reporting,
    "branding": Branding,
    "limits": Limits,
    "license": License,
}
EDITABLE_SECTIONS: tuple[str, ...] = tuple(s for s in SECTIONS if s != "license")
LIMIT_NAMES: tuple[str, ...] = tuple(Limits.model_fields)
FEATURE_NAMES: tuple[str, ...] = tuple(Features.model_fields)


def field_title(section: str, name: str) -> str:
    """The human label of a config field."""
    info = SECTIONS[section].model_fields.get(name)
    if info is not None and info.title:
        return info.title
    return name.replace("_", " ").capitalize()


# --------------------------------------------------------------------------- resolution

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


def _settings_row(session: Session, org_id: uuid.UUID) -> OrgSettings | None:
    return session.exec(
        mark_scoped(select(OrgSettings).where(OrgSettings.org_id == org_id))
    ).first()


def _overrides(session: Session, org_id: uuid.UUID) -> dict[str, Any]:
    row = _settings_row(session, org_id)
    return copy.deepcopy(dict(row.data)) if row else {}


def _layers(session: Session, org_id: uuid.UUID) -> Layers:
    """Each org of the chain (root first, the org last) with its own overrides."""
    return [(org, _overrides(session, org.id)) for org in _ancestry(session, org_id)]


def _merge(overrides: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for data in overrides:
        for section, values in data.items():
            if section in SECTIONS and isinstance(values, dict):
                merged.setdefault(section, {}).update(values)
    return merged


def _resolve(overrides: list[dict[str, Any]]) -> OrgConfig:
    """THE inheritance rule: defaults, then each layer's overrides in order, validated.

    A stored value that no longer validates (written before a rule existed, or an ancestor
    removed what it relied on) is dropped with a warning, so one bad value falls back to
    what it would inherit instead of breaking every page of the org.
    """
    merged = _merge(overrides)
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
    return _resolve([data for _, data in _layers(session, org_id)])


@dataclass(frozen=True)
class FieldView:
    """One field as the settings page shows it."""

    value: Any  # the effective value (JSON-shaped)
    source: str  # "default", "own", or the name of the ancestor org that sets it
    overridden: bool  # the org itself stores a value (a reset is possible)
    source_org_id: str = ""  # the org that sets it ("" for the default)


SectionsView = dict[str, dict[str, FieldView]]


def _views(layers: Layers) -> SectionsView:
    config = _resolve([data for _, data in layers]).model_dump(mode="json")
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
    return _views(_layers(session, org.id))


# --------------------------------------------------------------------------- the cache

CACHE_TTL_SECONDS = 60.0  # a safety net for a lost broker message; invalidation is the rule


@dataclass(frozen=True)
class _Entry:
    config: OrgConfig
    chain: frozenset[uuid.UUID]
    stored_at: float


class ConfigCache:
    """Effective configs per org for this process.

    `invalidate(org)` drops every entry whose chain contains `org` (its descendants inherit
    from it) and bumps `generation`; a resolution that started before a bump is returned
    but not stored, so a read racing a write cannot put the old value back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[uuid.UUID, _Entry] = {}
        self.generation = 0
        self._listening_on: object = None

    def _ensure_listening(self) -> None:
        current = broker.get_broker()
        if current is self._listening_on:
            return
        with self._lock:
            if current is self._listening_on:
                return
            self._listening_on = current
        current.listen(self._on_message)

    def _on_message(self, topic: str, payload: dict[str, Any]) -> None:
        parts = topic.split(":")
        if len(parts) == 3 and parts[0] == "org" and parts[2] == "config":
            try:
                self.invalidate(uuid.UUID(parts[1]))
            except ValueError:
                return

    def get(self, session: Session, org_id: uuid.UUID) -> OrgConfig:
        self._ensure_listening()
        if not _config_written(session):
            with self._lock:
                entry = self._entries.get(org_id)
            if entry is not None and time.monotonic() - entry.stored_at < CACHE_TTL_SECONDS:
                return entry.config
        with self._lock:
            generation = self.generation
        layers = _layers(session, org_id)
        config = _resolve([data for _, data in layers])
        if layers and not _config_written(session):
            entry = _Entry(config, frozenset(o.id for o, _ in layers), time.monotonic())
            with self._lock:
                if self.generation == generation:
                    self._entries[org_id] = entry
        return config

    def invalidate(self, org_id: uuid.UUID | None = None) -> None:
        """Forget `org_id` and every org below it (everything when None)."""
        with self._lock:
            self.generation += 1
            if org_id is None:
                self._entries.clear()
            else:
                for key in [k for k, e in self._entries.items() if org_id in e.chain]:
                    del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)


_cache = ConfigCache()


def cache() -> ConfigCache:
    """The process's config cache (tests inspect it)."""
    return _cache


def invalidate(org_id: uuid.UUID | None = None) -> None:
    """Drop cached config for `org_id` and its descendants (all orgs when None)."""
    _cache.invalidate(org_id)


_WRITTEN_KEY = "org_config_written"


def _config_written(session: Session) -> bool:
    """Whether this session changed config in its open transaction (it must not cache)."""
    return bool(session.info.get(_WRITTEN_KEY))


def _after_commit(session: Session) -> None:
    for org_id in session.info.pop(_WRITTEN_KEY, set()):
        _cache.invalidate(org_id)


def _after_rollback(session: Session) -> None:
    session.info.pop(_WRITTEN_KEY, None)


def _mark_written(session: Session, org_id: uuid.UUID) -> None:
    written: set[uuid.UUID] | None = session.info.get(_WRITTEN_KEY)
    if written is None:
        written = session.info[_WRITTEN_KEY] = set()
    if not session.info.get("org_config_hooked"):
        session.info["org_config_hooked"] = True
        # First in line: the cache forgets the old value before the broker tells anyone.
        event.listen(session, "after_commit", _after_commit, insert=True)
        event.listen(session, "after_rollback", _after_rollback)
    written.add(org_id)


def _readable(session: Session, org_id: uuid.UUID) -> None:
    """The cached helpers answer only for orgs the session's scope covers (own subtree or
    ancestors), as an uncached read under row-level security would."""
    scope = session.info.get("scope")
    if isinstance(scope, Scope) and (
        scope.system or org_id in scope.org_ids or org_id in scope.ancestor_ids
    ):
        return
    raise NotFound()


def cached_config(session: Session, org_id: uuid.UUID) -> OrgConfig:
    """The effective config of an org in the session's scope, from the cache when fresh."""
    _readable(session, org_id)
    return _cache.get(session, org_id)


# --------------------------------------------------------------------------- the questions


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


# --------------------------------------------------------------------------- writing


def _write(session: Session, org_id: uuid.UUID, data: dict[str, Any]) -> OrgSettings:
    """Store an org's overrides (no validation, no commit); bumps the version."""
    row = _settings_row(session, org_id)
    if row is None:
        row = OrgSettings(org_id=org_id, data=data)
    else:
        row.data = data
        row.version += 1
    session.add(row)
    _mark_written(session, org_id)
    return row


def _publish(session: Session, org_id: uuid.UUID, section: str) -> None:
    broker.publish_after_commit(
        session, broker.config_topic(org_id), {"org_id": str(org_id), "section": section}
    )


def set_overrides(session: Session, org_id: uuid.UUID, data: dict[str, Any]) -> OrgSettings:
    """Replace an org's stored overrides after validating them (no commit; no permission
    check: for billing, seeding and tests). Published and uncached once committed."""
    try:
        OrgConfig.model_validate(data)
    except ValidationError as exc:
        raise _failed(exc) from exc
    row = _write(session, org_id, copy.deepcopy(data))
    _publish(session, org_id, "*")
    return row


def _human(err: ErrorDetails) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        message = str(ctx.get("error", err.get("msg", "")))
        return message.split(": ", 1)[1] if message.startswith("sources: ") else message
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return "Enter a whole number, or leave it empty for no limit."
    if kind == "greater_than_equal":
        return f"Enter {ctx.get('ge', 0)} or more."
    if kind in ("bool_parsing", "bool_type"):
        return "Choose on or off."
    if kind in ("list_type",):
        return "Choose from the list."
    if kind == "literal_error":
        return f"Choose one of: {ctx.get('expected', '')}."
    if kind in ("string_type",):
        return "Enter text."
    return str(err.get("msg", "This value is not valid."))


def _failed(exc: ValidationError, section: str | None = None) -> ValidationFailed:
    err = exc.errors()[0]
    loc = [str(p) for p in err["loc"] if not isinstance(p, int)]
    if section is not None:
        loc = [section, *loc]
    message = str((err.get("ctx") or {}).get("error", ""))
    if len(loc) == 1 and message.startswith("sources: "):
        loc.append("sources")  # the funding model's cross-field rule is about `sources`
    return ValidationFailed(_human(err), field=".".join(loc[:2]) or None)


def _check_section(section: str) -> type[BaseModel]:
    if section == "license":
        raise ValidationFailed(
            "The license (plan, state, grace days) is read-only here: billing sets it.",
            field="license",
        )
    if section not in EDITABLE_SECTIONS:
        raise ValidationFailed(f"There is no settings section “{section}”.", field=section)
    return SECTIONS[section]


def _editable_org(session: Session, ctx: OrgContext, org_id: uuid.UUID | str) -> Organization:
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
        layers = _layers(session, child.id)
        stored = [new_own if o.id == org.id else data for o, data in layers]
        if not any(section in data for o, data in layers if o.id != org.id):
            continue
        try:
            SECTIONS[section].model_validate(_merge(stored).get(section, {}))
        except ValidationError as exc:
            failed = _failed(exc, section)
            raise ValidationFailed(
                f"“{child.name}” overrides this section and would break: {failed.message} "
                "Change it there first.",
                field=failed.field,
            ) from exc


def update_section(
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
    org = _editable_org(session, ctx, org_id)
    for name in values:
        if name not in model.model_fields:
            raise ValidationFailed("There is no such setting.", field=f"{section}.{name}")
    layers = _layers(session, org.id)
    own = layers[-1][1] if layers and layers[-1][0].id == org.id else {}
    inherited = _resolve([data for o, data in layers if o.id != org.id])
    inherited_section: dict[str, Any] = getattr(inherited, section).model_dump(mode="json")
    own_section: dict[str, Any] = dict(own.get(section) or {})
    before = getattr(_resolve([data for _, data in layers]), section).model_dump(mode="json")
    try:
        checked = model.model_validate({**inherited_section, **own_section, **values})
    except ValidationError as exc:
        raise _failed(exc, section) from exc
    normalized = checked.model_dump(mode="json")
    new_section = dict(own_section)
    for name in values:
        if normalized[name] == inherited_section[name]:
            new_section.pop(name, None)
        else:
            new_section[name] = normalized[name]
    if new_section == own_section:
        return _resolve([data for _, data in layers])
    new_own = {k: v for k, v in own.items() if k != section}
    if new_section:
        new_own[section] = new_section
    if section == "funding":
        _descendants_still_valid(session, org, section, new_own)
    after = getattr(_resolve([*[d for o, d in layers if o.id != org.id], new_own]), section)
    after_values = after.model_dump(mode="json")
    changed = sorted(
        n for n in model.model_fields if own_section.get(n, ...) != new_section.get(n, ...)
    )
    _write(session, org.id, new_own)
    audit.record(
        session,
        action="config.changed",
        org_id=org.id,
        ctx=ctx,
        target=f"{org.name}: {section}",
        detail={
            "section": section,
            "before": {n: before[n] for n in changed},
            "after": {n: after_values[n] for n in changed},
        },
    )
    _publish(session, org.id, section)
    session.commit()
    return _resolve([*[d for o, d in layers if o.id != org.id], new_own])


def reset_override(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str, section: str, field: str
) -> OrgConfig:
    """Remove the org's own value of one field, so it inherits again. Audited
    (`config.reset`), published, committed; a field that is not overridden is a no-op."""
    model = _check_section(section)
    if field not in model.model_fields:
        raise ValidationFailed("There is no such setting.", field=f"{section}.{field}")
    org = _editable_org(session, ctx, org_id)
    layers = _layers(session, org.id)
    own = layers[-1][1] if layers and layers[-1][0].id == org.id else {}
    own_section = dict(own.get(section) or {})
    if field not in own_section:
        return _resolve([data for _, data in layers])
    before = getattr(_resolve([data for _, data in layers]), section).model_dump(mode="json")
    own_section.pop(field)
    new_own = {k: v for k, v in own.items() if k != section}
    if own_section:
        new_own[section] = own_section
    if section == "funding":
        _descendants_still_valid(session, org, section, new_own)
    new_layers = [*[d for o, d in layers if o.id != org.id], new_own]
    after = getattr(_resolve(new_layers), section).model_dump(mode="json")
    _write(session, org.id, new_own)
    audit.record(
        session,
        action="config.reset",
        org_id=org.id,
        ctx=ctx,
        target=f"{org.name}: {section}.{field}",
        detail={
            "section": section,
            "before": {field: before[field]},
            "after": {field: after[field]},
        },
    )
    _publish(session, org.id, section)
    session.commit()
    return _resolve(new_layers)


# --------------------------------------------------------------------------- usage


def programs_used(session: Session, org_id: uuid.UUID) -> int:
    """Programs of the org that count against `limits.max_programs` (archived ones do not)."""
    stmt = mark_scoped(
        select(Program).where(Program.org_id == org_id, Program.status != CourseStatus.archived)
    )
    return count_rows(session, stmt)


# --------------------------------------------------------------------------- the logo

LOGO_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}


def check_logo(data: bytes) -> str:
    """The content type of an acceptable logo (PNG, JPEG or WebP by its bytes, at most
    1 MB; never SVG), or `ValidationFailed` on `branding.logo_url`."""
    from app.services.infra import storage

    if len(data) > storage.MAX_LOGO_BYTES:
        raise ValidationFailed(
            f"The logo is too large: at most {storage.MAX_LOGO_BYTES // 1_000_000} MB.",
            field="branding.logo_url",
        )
    content_type = storage.sniff_image(data)
    if content_type is None:
        raise ValidationFailed(
            "Upload a PNG, JPEG or WebP image (SVG is not accepted).", field="branding.logo_url"
        )
    return content_type


def set_logo(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str, data: bytes
) -> OrgConfig:
    """Store an uploaded logo (public: it appears in emails and certificates) and make it
    the org's `branding.logo_url`; audited and published like any change."""
    from app.services.infra import storage

    org = _editable_org(session, ctx, org_id)
    content_type = check_logo(data)
    key = storage.public_key(org.id, f"logo-{uuid.uuid4().hex}.{LOGO_EXTENSIONS[content_type]}")
    storage.get_storage().put(key, data, content_type)
    return update_section(
        session,
        ctx,
        org_id=org.id,
        section="branding",
        values={"logo_url": storage.public_url(key)},
    )
