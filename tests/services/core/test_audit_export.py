"""Audit log CSV export (`reports.audit_csv`, what the download route calls): the viewer's
scope and filters, safe cells, a row limit, audited."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from app.models.user import Role
from app.services.core import audit
from app.services.core.errors import PermissionDenied
from app.services.core.tenancy import OrgContext, public_session, tenant_session
from app.services.reports import exports as reports
from tests import factories as f
from tests.conftest import Backend

pytestmark = pytest.mark.usefixtures("backend")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _record(ctx: OrgContext, action: str, **values: object) -> None:
    with tenant_session(ctx) as session:
        audit.record(session, action=action, org_id=ctx.org_id, ctx=ctx, **values)  # type: ignore[arg-type]
        session.commit()


def _export(ctx: OrgContext, **filters: object) -> str:
    with tenant_session(ctx) as session:
        return reports.audit_csv(session, ctx, **filters).csv  # type: ignore[arg-type]


def test_columns_and_content(backend: Backend) -> None:
    a = f.new_admin()
    _record(a.ctx, "test.thing", target="lesson 1", detail={"b": 2, "a": "é"})
    rows = _rows(_export(a.ctx))
    assert list(rows[0]) == ["when", "org", "org_id", "actor", "action", "target", "detail", "ip"]
    (row,) = [r for r in rows if r["action"] == "test.thing"]
    assert row["org"] == a.ctx.org_name
    assert row["org_id"] == str(a.org_id)
    assert row["actor"] == a.email
    assert row["target"] == "lesson 1"
    assert json.loads(row["detail"]) == {"a": "é", "b": 2}
    assert row["ip"] == f.IP
    assert datetime.strptime(row["when"], "%Y-%m-%dT%H:%M:%SZ")
    # Newest first, like the viewer; the sign-up is among the older rows.
    actions = [r["action"] for r in rows]
    assert actions.index("test.thing") < actions.index("user.signed_up")


def test_filters_match_the_viewer(backend: Backend) -> None:
    a = f.new_admin()
    _record(a.ctx, "course.published", target="c1")
    _record(a.ctx, "course.archived", target="c2")
    assert {r["target"] for r in _rows(_export(a.ctx, action="course."))} == {"c1", "c2"}
    assert [r["target"] for r in _rows(_export(a.ctx, action="course.pub"))] == ["c1"]
    assert _rows(_export(a.ctx, actor="nobody-like-this")) == []
    by_a = _rows(_export(a.ctx, actor=a.email.upper()))  # the actor filter ignores case
    assert by_a and all(r["actor"] == a.email for r in by_a)
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert _rows(_export(a.ctx, since=tomorrow)) == []
    assert _rows(_export(a.ctx, until=tomorrow, action="course.pub"))[0]["target"] == "c1"
    yesterday = datetime.now(UTC) - timedelta(days=1)
    assert _rows(_export(a.ctx, until=yesterday)) == []
    # The viewer agrees with the export.
    with tenant_session(a.ctx) as session:
        page = audit.list_events(session, a.ctx, action="course.", page_size=100)
    assert {r.target for r in page.rows} == {"c1", "c2"}


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://evil")', "+1+1", "-2+3", "@SUM(A1)"])
def test_formula_cells_are_defused(backend: Backend, payload: str) -> None:
    a = f.new_admin()
    _record(a.ctx, "test.formula", target=payload)
    (row,) = [r for r in _rows(_export(a.ctx)) if r["action"] == "test.formula"]
    assert row["target"] == "'" + payload


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("plain", "plain"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_csv_cell(cell: str, safe: str) -> None:
    assert audit.csv_cell(cell) == safe


def test_row_limit_truncates_and_says_so(backend: Backend) -> None:
    a = f.new_admin()
    for i in range(5):
        _record(a.ctx, "test.bulk", target=f"t{i}")
    with tenant_session(a.ctx) as session:
        export = audit.build_export(session, a.ctx, action="test.bulk", max_rows=3)
    assert (export.rows, export.truncated) == (3, True)
    assert len(_rows(export.csv)) == 3
    with tenant_session(a.ctx) as session:
        export = audit.build_export(session, a.ctx, action="test.bulk", max_rows=5)
    assert (export.rows, export.truncated) == (5, False)


def test_export_is_audited(backend: Backend) -> None:
    a = f.new_admin()
    _export(a.ctx, action="auth.")
    with tenant_session(a.ctx) as session:
        page = audit.list_events(session, a.ctx, action="audit.exported")
    (event,) = page.rows
    assert event.actor_email == a.email
    assert event.detail["filters"]["action"] == "auth."
    assert event.detail["truncated"] is False


@pytest.mark.parametrize("role", [Role.learner, Role.staff, Role.instructor, Role.manager])
def test_roles_without_audit_view_are_refused(backend: Backend, role: str) -> None:
    a = f.new_admin()
    someone = f.invite_and_accept(a.ctx, role)
    with tenant_session(someone) as session, pytest.raises(PermissionDenied):
        reports.audit_csv(session, someone)


def test_auditor_may_export(backend: Backend) -> None:
    a = f.new_admin()
    auditor = f.invite_and_accept(a.ctx, Role.auditor)
    assert any(r["actor"] == a.email for r in _rows(_export(auditor)))


def test_export_holds_only_the_viewers_scope(backend: Backend) -> None:
    t = f.two_tenants()
    _record(t.a.ctx, "test.secret", target="A's secret target")
    text = _export(t.b.ctx)
    assert "A's secret target" not in text
    assert t.a.email not in text
    assert str(t.a.org_id) not in text
    assert {r["org_id"] for r in _rows(text)} <= {str(o) for o in t.b.ctx.org_ids}
    assert t.b.email in text


def test_parent_sees_child_rows_child_not_parent(backend: Backend) -> None:
    a = f.new_admin()
    child = f.child_org(a.ctx)
    a = f.refresh(a)
    child_admin = f.invite_and_accept_member(a.ctx, Role.org_admin, org_id=child.id)
    _record(child_admin.ctx, "test.child", target="child row")
    _record(a.ctx, "test.parent", target="parent row")
    parent_view = _export(a.ctx)
    assert "child row" in parent_view and "parent row" in parent_view
    child_view = _export(child_admin.ctx)
    assert "child row" in child_view
    assert "parent row" not in child_view
    assert str(a.org_id) not in {r["org_id"] for r in _rows(child_view)}


def test_platform_events_without_org_never_appear(backend: Backend) -> None:
    a = f.new_admin()
    with public_session() as session:
        audit.record(session, action="test.platform", org_id=None, target="platform row")
        session.commit()
    assert "platform row" not in _export(a.ctx)
