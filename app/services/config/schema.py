"""The org settings schema: the config sections as pydantic models, their defaults and rules."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

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
