"""Certificates: the learner's own, the org's (admins revoke them), and the public
verification page. Compliance and notifications live in `credentials_*.py` beside this."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import reflex as rx

from app.services.core.authz import Permission, has
from app.services.core.errors import ServiceError, ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.credentials import certificate_lists, certificate_revocation, certificate_verify
from app.state.account import FormState
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState, handle_errors

STATUS_LABELS = {"valid": "Valid", "revoked": "Revoked", "expired": "Expired"}
CERT_FILTERS = ("", "valid", "expired", "revoked")


def _day(value: Any) -> str:
    return value.strftime("%Y-%m-%d") if value else ""


def cert_row(r: certificate_lists.CertificateRow) -> dict[str, str]:
    """A certificate as the tables show it (strings only)."""
    return {
        "id": r.id,
        "serial": r.serial,
        "learner": r.learner_name,
        "course": r.course_title,
        "issuer": r.issuer_name,
        "issued": _day(r.issued_at),
        "expires": _day(r.expires_at) or "Never",
        "revoked": _day(r.revoked_at),
        "reason": r.revoked_reason,
        "status": r.status,
        "status_label": STATUS_LABELS.get(r.status, r.status),
        "pdf_url": f"/api/certificates/{r.id}.pdf",
        "verify_url": f"/verify/{r.serial}",
    }


class CertificatesState(FormState, PagedState, SessionState):
    """`/certificates`: my certificates; with `certificates.manage`, the org's too."""

    mine: list[dict[str, str]] = []
    tab: str = "mine"
    can_manage: bool = False
    org_rows: list[dict[str, str]] = []
    search: str = ""
    status_filter: str = ""
    revoke_open: bool = False
    revoke_id: str = ""
    revoke_label: str = ""
    loading: bool = True

    @rx.var
    def reason_error(self) -> str:
        return self.errors.get("reason", "")

    def _load_mine(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            self.mine = [cert_row(r) for r in certificate_lists.list_mine(session, ctx)]

    def _load_org(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            found = certificate_lists.list_org(
                session,
                ctx,
                page=self.page,
                search=self.search,
                status=self.status_filter,
                page_size=PAGE_SIZE,
            )
        self.total = found.total
        self.org_rows = [cert_row(r) for r in found.rows]

    def _reload(self) -> rx.event.EventSpec | None:
        try:
            self._load_org(self._require(Permission.certificates_manage))
        except ServiceError as exc:
            return handle_errors(exc)
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect("/signin?next=/certificates")
        self.mine, self.org_rows, self.page, self.total = [], [], 1, 0
        self.search, self.status_filter, self.revoke_open = "", "", False
        self.can_manage = has(ctx, Permission.certificates_manage)
        self.tab = "mine"
        try:
            if has(ctx, Permission.learning_view):
                self._load_mine(ctx)
            if self.can_manage:
                self._load_org(ctx)
        except ServiceError as exc:
            self.loading = False
            return handle_errors(exc)
        self.loading = False
        return None

    @rx.event
    def show_tab(self, value: str | list[str]) -> None:
        chosen = value if isinstance(value, str) else (value[0] if value else "mine")
        self.tab = chosen if chosen in ("mine", "org") else "mine"

    @rx.event
    def filter_org(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self.search = str(form.get("search", ""))[:100]
        status = str(form.get("status", ""))
        self.status_filter = status if status in CERT_FILTERS else ""
        self.page = 1
        return self._reload()

    @rx.event
    def open_revoke(self, certificate_id: str, label: str) -> None:
        self.revoke_id, self.revoke_label = certificate_id, label
        self.errors, self.form_error, self.busy = {}, "", False
        self.revoke_open = True

    @rx.event
    def set_revoke_open(self, open_: bool) -> None:
        self.revoke_open = open_
        if not open_:
            self.revoke_id, self.errors, self.form_error = "", {}, ""

    def _load_lists(self, ctx: OrgContext) -> None:
        self._load_org(ctx)
        self._load_mine(ctx)

    @rx.event
    def confirm_revoke(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self._start()
        done = self._call(
            lambda s, ctx: certificate_revocation.do_revoke_certificate(
                s, ctx, certificate_id=self.revoke_id, reason=str(form.get("reason", ""))
            ),
            permission=Permission.certificates_manage,
            then=self._load_lists,
        )
        if not done.ok:
            self._fail(done.error)
            return None if isinstance(done.error, ValidationFailed) else done.reply
        self.busy, self.revoke_open, self.revoke_id = False, False, ""
        return rx.toast.success(f"Certificate {done.value.serial} is revoked.")


class VerifyState(rx.State):
    """`/verify/<serial>`: public, no sign-in; shows only what the certificate shows."""

    checked: bool = False
    found: bool = False
    shown_serial: str = ""
    status: str = ""
    status_label: str = ""
    learner: str = ""
    course: str = ""
    issuer: str = ""
    issued: str = ""
    expires: str = ""
    revoked: str = ""

    @rx.event
    def load(self) -> None:
        raw = unquote(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])[:200]
        found = certificate_verify.verify(raw)
        self.checked, self.found = True, found is not None
        self.shown_serial = found.serial if found else raw[:40]
        if found is None:
            self.status = self.status_label = self.learner = self.course = ""
            self.issuer = self.issued = self.expires = self.revoked = ""
            return
        self.status = found.status
        self.status_label = STATUS_LABELS[found.status]
        self.learner, self.course, self.issuer = (
            found.learner_name,
            found.course_title,
            found.issuer_name,
        )
        self.issued = _day(found.issued_on)
        self.expires = _day(found.expires_on)
        self.revoked = _day(found.revoked_on)
