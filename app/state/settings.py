"""The settings console: one org's config (of the admin's subtree), section by section.

A thin adapter: it turns the HTML forms into values for `writes.do_update_section` and the
service's view (effective value and source per field) into rows the page lays out.
"""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.services.config import inheritance, logo, orgs, schema, writes
from app.services.config.schema import (
    ACCENT_COLORS,
    DELIVERY_MODES,
    STANDARD_FUNDING_SOURCES,
    field_title,
)
from app.services.core.authz import Permission
from app.services.core.errors import NotFound, ServiceError, ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.infra.storage import MAX_LOGO_BYTES
from app.services.people import seats
from app.state.account import FormState
from app.state.form_keys import form_key
from app.state.session import SessionState, handle_errors

SECTION_TITLES: dict[str, str] = {
    "features": "Features",
    "funding": "Funding sources",
    "delivery": "Delivery modes",
    "reporting": "Reporting",
    "branding": "Branding",
    "limits": "Limits",
}
LOGO_UPLOAD_ID = "logo-upload"


def _checked(form: dict[str, Any], name: str) -> bool:
    value = form.get(name)
    return value not in (None, "", "off", "false", False)


class SettingsState(FormState, SessionState):
    """The effective config of one org, with where each value comes from."""

    target_org: str = ""
    target_org_name: str = ""
    org_choices: list[dict[str, str]] = []
    missing: bool = False
    ready: bool = False
    # Per section: changes only when that section's stored values change, so a save (here
    # or in another tab) remounts its own form with the saved values and leaves what is
    # being typed in the other sections alone.
    form_keys: dict[str, str] = {}
    feature_rows: list[dict[str, Any]] = []
    reporting_rows: list[dict[str, Any]] = []
    source_rows: list[dict[str, Any]] = []
    custom_sources: list[dict[str, str]] = []
    mode_rows: list[dict[str, Any]] = []
    limit_rows: list[dict[str, Any]] = []
    meta: dict[str, dict[str, Any]] = {}
    site_name: str = ""
    logo_url: str = ""
    color: str = "indigo"
    hide_branding: bool = False
    license_info: dict[str, str] = {}
    _view: dict[str, dict[str, dict[str, Any]]] = {}
    _usage: dict[str, list[Any]] = {}

    @rx.var
    def color_options(self) -> list[str]:
        return list(ACCENT_COLORS)

    # ------------------------------------------------------------------ reading

    def _reload(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            picker = orgs.org_picker(session, ctx, self.target_org or None)
            org = picker.org
            view = inheritance.effective_with_sources(session, ctx, org_id=org.id)
            used = seats.usage(session, ctx, org_id=org.id)
        self.target_org, self.target_org_name = org.id, org.name
        self.org_choices = [{"value": v, "label": label} for v, label in picker.choices]
        self._view = {
            section: {
                name: {"value": v.value, "source": v.source, "overridden": v.overridden}
                for name, v in fields.items()
            }
            for section, fields in view.items()
        }
        self._usage = {name: [u, cap] for name, (u, cap) in used.items()}
        self.form_keys = {
            section: form_key(f"{self.target_org}-{section}", fields)
            for section, fields in self._view.items()
        }
        self.errors, self.form_error = {}, ""
        self._decorate()
        if self.target_org == str(ctx.org_id):
            self.accent = self.color  # this tab re-themes at once (others by live push)
        self.ready, self.missing = True, False

    def _field(self, section: str, name: str) -> dict[str, Any]:
        v = self._view[section][name]
        source = v["source"]
        if source == "default":
            badge, color = "default", "gray"
        elif source == "own":
            badge, color = "set here", "green"
        else:
            badge, color = f"inherited from {source}", "blue"
        return {
            "section": section,
            "name": name,
            "label": field_title(section, name),
            "value": v["value"],
            "badge": badge,
            "color": color,
            "overridden": bool(v["overridden"]),
            "error": self.errors.get(f"{section}.{name}", ""),
        }

    def _decorate(self) -> None:
        """Rows for the page from the service's view and the current field errors."""
        view = self._view
        if not view:
            return
        self.meta = {
            f"{section}.{name}": self._field(section, name)
            for section, fields in view.items()
            for name in fields
        }
        self.feature_rows = [self._field("features", n) for n in view["features"]]
        self.reporting_rows = [self._field("reporting", n) for n in view["reporting"]]
        funding = view["funding"]
        custom = [dict(c) for c in funding["custom"]["value"]]
        enabled = set(funding["sources"]["value"])
        labels = {**STANDARD_FUNDING_SOURCES, **{c["slug"]: c["label"] for c in custom}}
        self.source_rows = [
            {
                "slug": slug,
                "label": label,
                "checked": slug in enabled,
                "custom": slug not in STANDARD_FUNDING_SOURCES,
            }
            for slug, label in labels.items()
        ]
        self.custom_sources = [{"slug": c["slug"], "label": c["label"]} for c in custom]
        modes = set(view["delivery"]["modes"]["value"])
        self.mode_rows = [
            {"value": m, "label": label, "checked": m in modes}
            for m, label in DELIVERY_MODES.items()
        ]
        branding = view["branding"]
        self.site_name = str(branding["site_name"]["value"])
        self.logo_url = str(branding["logo_url"]["value"])
        self.color = str(branding["primary_color"]["value"])
        self.hide_branding = bool(branding["hide_platform_branding"]["value"])
        rows = []
        for name in view["limits"]:
            row = self._field("limits", name)
            used, cap = self._usage.get(name, [0, None])
            row["text"] = "" if row["value"] is None else str(row["value"])
            row["used"] = used
            row["cap"] = "unlimited" if cap is None else str(cap)
            row["percent"] = 0 if not cap else min(100, round(100 * used / cap))
            row["over"] = cap is not None and used > cap
            row["full"] = cap is not None and used >= cap
            rows.append(row)
        self.limit_rows = rows
        lic = view["license"]
        self.license_info = {k: str(lic[k]["value"]) for k in ("plan", "state", "grace_days")}

    def _safe_reload(self) -> rx.event.EventSpec | None:
        try:
            self._reload(self._require(Permission.config_edit))
        except ServiceError as exc:
            return handle_errors(exc)
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect("/signin?next=/admin/settings")
        self.ready = self.missing = False
        self.target_org = self.router.url.query_parameters.get("org", "")
        try:
            self._reload(self._require(Permission.config_edit))
        except NotFound:
            self._clear()
            self.missing = True
        except ServiceError:
            self._clear()
        return None

    def _clear(self) -> None:
        self.target_org_name = ""
        self.org_choices = self.feature_rows = self.reporting_rows = []
        self.source_rows = self.mode_rows = self.limit_rows = []
        self.custom_sources = []
        self.meta, self.license_info, self._view, self._usage = {}, {}, {}, {}
        self.site_name = self.logo_url = ""

    @rx.event
    def choose_org(self, org_id: str) -> rx.event.EventSpec | None:
        previous = self.target_org
        self.target_org = org_id
        refused = self._safe_reload()
        if refused is not None:
            self.target_org = previous  # the page still shows (and edits) the previous org
        return refused

    # ------------------------------------------------------------------ writing

    def _save(self, section: str, values: dict[str, Any]) -> rx.event.EventSpec | None:
        self._start()
        done = self._call(
            lambda s, ctx: writes.do_update_section(
                s, ctx, org_id=self.target_org, section=section, values=values
            ),
            permission=Permission.config_edit,
            then=self._reload,
        )
        if not done.ok:
            exc = done.error
            self._fail(exc)
            if isinstance(exc, ValidationFailed) and exc.field and "." in exc.field:
                self._decorate()  # the message goes beside its field
                return rx.toast.error(f"Not saved: {exc.message}")
            return done.reply
        self.busy = False
        return rx.toast.success(f"{SECTION_TITLES[section]} saved for {self.target_org_name}.")

    @rx.event
    def save_features(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        return self._save("features", {n: _checked(form, n) for n in schema.FEATURE_NAMES})

    @rx.event
    def save_reporting(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        names = list(schema.Reporting.model_fields)
        return self._save("reporting", {n: _checked(form, n) for n in names})

    @rx.event
    def save_funding(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        slugs = [r["slug"] for r in self.source_rows]
        return self._save("funding", {"sources": [s for s in slugs if _checked(form, s)]})

    @rx.event
    def add_custom_source(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        slug = str(form.get("slug", "")).strip()
        label = str(form.get("label", "")).strip()
        custom = [*self.custom_sources, {"slug": slug, "label": label}]
        enabled = [r["slug"] for r in self.source_rows if r["checked"]]
        return self._save("funding", {"custom": custom, "sources": [*enabled, slug.lower()]})

    @rx.event
    def remove_custom_source(self, slug: str) -> rx.event.EventSpec | None:
        custom = [c for c in self.custom_sources if c["slug"] != slug]
        enabled = [r["slug"] for r in self.source_rows if r["checked"] and r["slug"] != slug]
        return self._save("funding", {"custom": custom, "sources": enabled})

    @rx.event
    def save_delivery(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        return self._save("delivery", {"modes": [m for m in DELIVERY_MODES if _checked(form, m)]})

    @rx.event
    def set_color(self, color: str) -> None:
        """The colour select is controlled, so its swatch follows the choice before saving."""
        self.color = color if color in ACCENT_COLORS else self.color

    @rx.event
    def save_branding(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        return self._save(
            "branding",
            {
                "site_name": str(form.get("site_name", "")),
                "primary_color": str(form.get("primary_color", self.color)),
                "hide_platform_branding": _checked(form, "hide_platform_branding"),
            },
        )

    @rx.event
    def save_limits(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        names = schema.LIMIT_NAMES
        return self._save("limits", {n: str(form.get(n, "")).strip() for n in names})

    @rx.event
    def reset_field(self, section: str, name: str) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: writes.do_reset_override(
                s, ctx, org_id=self.target_org, section=section, field=name
            ),
            permission=Permission.config_edit,
            then=self._reload,
        )
        if not done.ok:
            return done.reply
        label = field_title(section, name) if section in schema.SECTIONS else name
        return rx.toast.success(f"{label} now follows the inherited value.")

    @rx.event
    async def upload_logo(self, files: list[rx.UploadFile]) -> rx.event.EventSpec | None:
        self._start()
        try:
            ctx = self._require(Permission.config_edit)
            if not files:
                raise ValidationFailed("Choose an image first.", field="branding.logo_url")
            # Never trust the browser's size check: read at most one byte past the limit.
            data = await files[0].read(MAX_LOGO_BYTES + 1)
            with tenant_session(ctx) as session:
                logo.set_logo(session, ctx, org_id=self.target_org, data=data)
            self._reload(ctx)
        except ServiceError as exc:
            self._fail(exc)
            self._decorate()
            return handle_errors(exc)
        self.busy = False
        return [rx.clear_selected_files(LOGO_UPLOAD_ID), rx.toast.success("Logo updated.")]

    @rx.event
    def remove_logo(self) -> rx.event.EventSpec | None:
        return self._save("branding", {"logo_url": ""})
