"""`/compliance`: mandatory-training status (managers: their team), and the rules that make
courses mandatory (staff and admins)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import reflex as rx

from app.services.core.authz import ROLE_LABELS, Permission, has
from app.services.core.errors import ServiceError
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.credentials import compliance_report, compliance_rules
from app.state.account import FormState
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState, handle_errors

REPORT_FILTERS = ("", *compliance_report.STATUSES, "due_soon")
# the chart's bars, in order (the page colours them in this order)
CHART_KEYS = ("completed", "in_progress", "not_started", "overdue", "recertify", "expired")
ROLE_CHOICES: list[dict[str, str]] = [{"value": "", "label": "Everyone"}] + [
    {"value": k, "label": v} for k, v in ROLE_LABELS.items()
]


class ComplianceState(FormState, PagedState, SessionState):
    """The report (summary, chart, paginated rows) and, for managers of compliance, rules."""

    rows: list[dict[str, str]] = []
    status_filter: str = ""
    search: str = ""
    team_only: bool = False
    summary: dict[str, int] = {}
    counts: dict[str, str] = {}
    can_manage: bool = False
    course_options: list[dict[str, str]] = []
    rules: list[dict[str, str]] = []
    loading: bool = True

    @rx.var
    def chart_data(self) -> list[dict[str, Any]]:
        return [
            {"name": compliance_report.STATUS_LABELS[key], "value": self.summary.get(key, 0)}
            for key in CHART_KEYS
        ]

    @rx.var
    def csv_url(self) -> str:
        query = {k: v for k, v in (("status", self.status_filter), ("search", self.search)) if v}
        return "/api/reports/compliance.csv" + (f"?{urlencode(query)}" if query else "")

    @rx.var
    def role_choices(self) -> list[dict[str, str]]:
        return ROLE_CHOICES

    @rx.var
    def course_error(self) -> str:
        return self.errors.get("course_id", "")

    @rx.var
    def role_error(self) -> str:
        return self.errors.get("role", "")

    @rx.var
    def days_error(self) -> str:
        return self.errors.get("days", "")

    def _load_report(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            report = compliance_report.compliance_report(
                session,
                ctx,
                status=self.status_filter,
                search=self.search,
                page=self.page,
                page_size=PAGE_SIZE,
            )
        s = report.summary
        self.summary = {
            "total": s.total,
            "completed": s.completed,
            "in_progress": s.in_progress,
            "not_started": s.not_started,
            "overdue": s.overdue,
            "due_soon": s.due_soon,
            "recertify": s.recertify,
            "expired": s.expired,
            "compliant": s.compliant,
            "compliant_percent": s.compliant_percent,
        }
        self.counts = {k: str(v) for k, v in self.summary.items()}
        self.total, self.team_only = report.total, report.team_only
        self.rows = [
            {
                "id": r.enrollment_id,
                "learner": r.learner_name,
                "email": r.email,
                "course": r.course_title,
                "due": r.due_at.strftime("%Y-%m-%d") if r.due_at else "",
                "status": r.status,
                "status_label": r.status_label or compliance_report.STATUS_LABELS[r.status],
                "progress": str(r.progress),
            }
            for r in report.rows
        ]

    def _load_rules(self, ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            self.rules = [
                {
                    "id": r.id,
                    "course": r.course_title,
                    "role": r.role_label,
                    "days": str(r.days_to_complete),
                }
                for r in compliance_rules.list_rules(session, ctx)
            ]
            self.course_options = (
                [
                    {"value": cid, "label": title}
                    for cid, title in compliance_rules.course_choices(session, ctx)
                ]
                if self.can_manage
                else []
            )

    def _reload(self) -> rx.event.EventSpec | None:
        try:
            self._load_report(self._require(Permission.compliance_view))
        except ServiceError as exc:
            return handle_errors(exc)
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect("/signin?next=/compliance")
        self.page, self.status_filter, self.search = 1, "", ""
        self.rows, self.rules, self.summary, self.counts = [], [], {}, {}
        self.errors, self.form_error = {}, ""
        self.can_manage = has(ctx, Permission.compliance_manage)
        if not has(ctx, Permission.compliance_view):
            self.loading = False
            return None
        try:
            self._load_report(ctx)
            self._load_rules(ctx)
        except ServiceError as exc:
            self.loading = False
            return handle_errors(exc)
        self.loading = False
        return None

    @rx.var
    def status_choice(self) -> str:
        """The segment shown as chosen: "all" when no status filters the report."""
        return self.status_filter or "all"

    @rx.event
    def show_status(self, value: str | list[str]) -> rx.event.EventSpec | None:
        chosen = value if isinstance(value, str) else (value[0] if value else "")
        self.status_filter = chosen if chosen in REPORT_FILTERS else ""
        self.page = 1
        return self._reload()

    @rx.event
    def search_people(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self.search = str(form.get("search", ""))[:100]
        self.page = 1
        return self._reload()

    def _load_rules_and_report(self, ctx: OrgContext) -> None:
        self._load_rules(ctx)
        self._load_report(ctx)

    @rx.event
    def add_rule(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self._start()
        done = self._call(
            lambda s, ctx: compliance_rules.do_set_rule(
                s,
                ctx,
                course_id=str(form.get("course_id", "")),
                role=str(form.get("role", "")),
                days_to_complete=str(form.get("days", "")),
            ),
            permission=Permission.compliance_manage,
            then=self._load_rules_and_report,
        )
        if not done.ok:
            self._fail(done.error)
            return None if done.error.field else done.reply
        self.busy = False
        if done.value.queued:
            return rx.toast.success("The course is mandatory; members are being enrolled.")
        return rx.toast.success(f"The course is mandatory: {done.value.enrolled} enrolled.")

    @rx.event
    def delete_rule(self, rule_id: str) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: compliance_rules.do_delete_rule(s, ctx, rule_id),
            permission=Permission.compliance_manage,
            then=self._load_rules,
        )
        return done.reply_or(rx.toast.success("Rule removed. Enrollments it made stay."))
