"""`/compliance`: summary cards, a chart of statuses, the paginated report with overdue
badges and a CSV export; for staff and admins, the rules that make courses mandatory."""

from __future__ import annotations

import reflex as rx

from app.components.shell import app_shell
from app.components.ui import (
    document_link,
    empty_state,
    form_error,
    pager,
    percent_bar,
    select_field,
    skeleton_rows,
)
from app.services.core.authz import Permission
from app.state.credentials_compliance import ComplianceState
from app.state.session import SessionState

# completed, in progress, not started, overdue, recertification due, certificate expired
# (the chart's bar order: ComplianceState.chart_data)
CHART_COLORS = ("#30A46C", "#3E63DD", "#8D8D8D", "#E5484D", "#12A594", "#CE2C31")
FILTERS = (
    ("all", "All"),
    ("overdue", "Overdue"),
    ("expired", "Certificate expired"),
    ("recertify", "Recertification due"),
    ("due_soon", "Due soon"),
    ("not_started", "Not started"),
    ("in_progress", "In progress"),
    ("completed", "Completed"),
)


def _card(label: str, key: str, color: str) -> rx.Component:
    s = ComplianceState
    return rx.card(
        rx.vstack(
            rx.text(label, size="2", color_scheme="gray"),
            rx.heading(
                s.counts[key],
                size="7",
                color=rx.color(color, 11),
                id=f"summary-{key}",
            ),
            spacing="1",
        ),
        min_width="9em",
        flex="1",
    )


def _summary() -> rx.Component:
    s = ComplianceState
    return rx.vstack(
        rx.flex(
            _card("Compliant", "compliant", "green"),
            _card("Overdue", "overdue", "red"),
            _card("Certificate expired", "expired", "crimson"),
            _card("Due in 7 days", "due_soon", "amber"),
            _card("Mandatory enrollments", "total", "gray"),
            spacing="3",
            wrap="wrap",
            width="100%",
        ),
        rx.card(
            rx.vstack(
                rx.text(
                    "Compliant: ",
                    s.counts["compliant_percent"],
                    "%",
                    size="2",
                    weight="medium",
                ),
                rx.recharts.bar_chart(
                    rx.recharts.bar(
                        *[rx.recharts.cell(fill=c) for c in CHART_COLORS],
                        data_key="value",
                        name="People",
                    ),
                    rx.recharts.x_axis(data_key="name"),
                    rx.recharts.y_axis(allow_decimals=False),
                    rx.recharts.graphing_tooltip(),
                    data=s.chart_data,
                    width="100%",
                    height=220,
                ),
                width="100%",
                aria_label="Mandatory enrollments by status",
                id="compliance-chart",
            ),
            width="100%",
        ),
        spacing="3",
        width="100%",
    )


def _report() -> rx.Component:
    s = ComplianceState
    return rx.vstack(
        rx.hstack(
            rx.segmented_control.root(
                *[rx.segmented_control.item(label, value=value) for value, label in FILTERS],
                value=s.status_choice,
                on_change=s.show_status,
                aria_label="Filter by status",
                id="compliance-filter",
            ),
            rx.form(
                rx.hstack(
                    rx.input(
                        name="search",
                        placeholder="Name or email",
                        aria_label="Search people",
                        id="compliance-search",
                        default_value=s.search,
                    ),
                    rx.button("Search", type="submit", variant="soft"),
                    spacing="2",
                ),
                on_submit=s.search_people,
                reset_on_submit=False,
            ),
            rx.cond(
                SessionState.reporting.contains("exports"),
                document_link(
                    rx.hstack(rx.icon("download", size=14), rx.text("Export CSV", size="2")),
                    href=s.csv_url,
                    id="compliance-export",
                ),
            ),
            spacing="3",
            wrap="wrap",
            align="center",
            width="100%",
        ),
        rx.cond(
            s.team_only,
            rx.text("Showing the learners you manage.", size="2", color_scheme="gray"),
        ),
        rx.cond(
            s.rows.length() > 0,
            rx.box(
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[
                                rx.table.column_header_cell(h)
                                for h in ("Learner", "Course", "Due", "Progress", "Status")
                            ]
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            s.rows,
                            lambda r: rx.table.row(
                                rx.table.cell(
                                    rx.vstack(
                                        rx.text(r["learner"], weight="medium"),
                                        rx.text(r["email"], size="1", color_scheme="gray"),
                                        spacing="0",
                                    )
                                ),
                                rx.table.cell(r["course"]),
                                rx.table.cell(r["due"]),
                                rx.table.cell(
                                    rx.hstack(
                                        percent_bar(
                                            r["progress"], width="5em", aria_label="Progress"
                                        ),
                                        rx.text(r["progress"], "%", size="1"),
                                        align="center",
                                    )
                                ),
                                rx.table.cell(
                                    rx.badge(
                                        r["status_label"],
                                        color_scheme=rx.match(
                                            r["status"],
                                            ("completed", "green"),
                                            ("recertify", "teal"),
                                            ("overdue", "red"),
                                            ("expired", "red"),
                                            ("in_progress", "blue"),
                                            "gray",
                                        ),
                                        variant=rx.cond(
                                            (r["status"] == "overdue") | (r["status"] == "expired"),
                                            "solid",
                                            "soft",
                                        ),
                                        class_name="compliance-status",
                                    )
                                ),
                                id="compliance-row-" + r["id"],
                            ),
                        )
                    ),
                    width="100%",
                    id="compliance-table",
                ),
                overflow_x="auto",
                width="100%",
            ),
            empty_state(
                "Nobody here",
                "Make a course mandatory below, and the people it covers appear here.",
                "shield_check",
            ),
        ),
        pager(s.page, s.pages, s.prev_page, s.next_page),
        spacing="3",
        width="100%",
    )


def _rules() -> rx.Component:
    s = ComplianceState
    return rx.card(
        rx.vstack(
            rx.heading("Mandatory courses", size="4"),
            rx.text(
                "Everyone the rule covers is enrolled now, and people who join later (or get "
                "the role) are enrolled when they do, due the given number of days later.",
                size="2",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    form_error(s.form_error),
                    rx.flex(
                        rx.box(
                            select_field(
                                "Course",
                                "course_id",
                                s.course_options,
                                error=s.course_error,
                            ),
                            flex="2",
                            min_width="14em",
                        ),
                        rx.box(
                            select_field("For", "role", s.role_choices, error=s.role_error),
                            flex="1",
                            min_width="10em",
                        ),
                        rx.box(
                            rx.el.label(
                                "Days to complete", html_for="field-days", class_name="gh-label"
                            ),
                            rx.input(
                                id="field-days",
                                name="days",
                                type="number",
                                min=1,
                                max=730,
                                default_value="30",
                                aria_describedby="field-days-error",
                            ),
                            rx.cond(
                                s.days_error != "",
                                rx.text(
                                    s.days_error,
                                    id="field-days-error",
                                    color_scheme="red",
                                    size="2",
                                    role="alert",
                                ),
                            ),
                            flex="1",
                            min_width="8em",
                        ),
                        spacing="3",
                        wrap="wrap",
                        width="100%",
                        align="start",
                    ),
                    rx.button("Make mandatory", type="submit", loading=s.busy, id="add-rule"),
                    spacing="3",
                    width="100%",
                ),
                on_submit=s.add_rule,
                reset_on_submit=False,
            ),
            rx.cond(
                s.rules.length() > 0,
                rx.table.root(
                    rx.table.header(
                        rx.table.row(
                            *[rx.table.column_header_cell(h) for h in ("Course", "For", "Days", "")]
                        )
                    ),
                    rx.table.body(
                        rx.foreach(
                            s.rules,
                            lambda r: rx.table.row(
                                rx.table.cell(r["course"]),
                                rx.table.cell(r["role"]),
                                rx.table.cell(r["days"]),
                                rx.table.cell(
                                    rx.button(
                                        "Remove",
                                        size="1",
                                        variant="soft",
                                        color_scheme="red",
                                        on_click=s.delete_rule(r["id"]),
                                        id="delete-rule-" + r["id"],
                                    )
                                ),
                            ),
                        )
                    ),
                    width="100%",
                    id="rules-table",
                ),
                rx.text("No mandatory courses yet.", size="2", color_scheme="gray"),
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def compliance_page() -> rx.Component:
    """Compliance for the viewer's scope; rules for those who may set them."""
    s = ComplianceState
    return app_shell(
        rx.cond(
            s.loading,
            skeleton_rows(4),
            rx.vstack(
                _summary(),
                _report(),
                rx.cond(s.can_manage, _rules()),
                spacing="4",
                width="100%",
            ),
        ),
        title="Compliance",
        permission=Permission.compliance_view,
        feature="lms",
    )
