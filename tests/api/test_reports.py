"""`GET /api/reports/audit.csv`: the session decides who may download and what they get."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import quote_plus

import pytest
from starlette.testclient import TestClient

from app.models.user import Role
from app.services.config import gates, writes
from app.services.core import audit
from app.services.core.tenancy import tenant_session
from app.services.reports import exports as reports
from app.settings import get_settings
from app.state.logs import AuditState
from tests import factories as f
from tests.api.helpers import as_user
from tests.conftest import Backend
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")
URL = "/api/reports/audit.csv"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_without_a_session_401(backend: Backend, client: TestClient) -> None:
    response = as_user(client, None).get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    client.cookies.set(get_settings().session_cookie_name, "not-a-session")
    assert client.get(URL).status_code == 401


def test_learner_gets_403(backend: Backend, client: TestClient) -> None:
    a = f.new_admin()
    learner = f.invite_and_accept_member(a.ctx, Role.learner)
    response = as_user(client, learner).get(URL)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert a.email not in response.text


def test_admin_downloads_csv(backend: Backend, client: TestClient) -> None:
    a = f.new_admin()
    response = as_user(client, a).get(URL)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="audit-') and disposition.endswith('.csv"')
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-export-truncated"] == "false"
    rows = _rows(response.text)
    assert int(response.headers["x-export-rows"]) == len(rows)
    assert {"user.signed_up", "auth.signed_in"} <= {r["action"] for r in rows}
    assert all(r["org_id"] == str(a.org_id) for r in rows)


def test_filters_from_the_query(backend: Backend, client: TestClient) -> None:
    a = f.new_admin()
    with tenant_session(a.ctx) as session:
        audit.record(session, action="course.published", org_id=a.org_id, ctx=a.ctx, target="c1")
        session.commit()
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    rows = _rows(
        as_user(client, a)
        .get(URL, params={"action": "course.", "actor": a.email, "since": today, "until": today})
        .text
    )
    assert [r["target"] for r in rows] == ["c1"]
    assert _rows(client.get(URL, params={"since": "2999-01-01"}).text) == []
    assert _rows(client.get(URL, params={"until": "2000-01-01"}).text) == []


@pytest.mark.parametrize("field", ["since", "until"])
def test_bad_dates_are_400(backend: Backend, client: TestClient, field: str) -> None:
    a = f.new_admin()
    response = as_user(client, a).get(URL, params={field: "31/01/2026"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid",
        "message": "Dates look like 2026-01-31.",
        "field": field,
    }


def test_b_admin_gets_only_b_rows(backend: Backend, client: TestClient) -> None:
    t = f.two_tenants()
    response = as_user(client, t.b).get(URL)
    assert response.status_code == 200
    assert t.a.email not in response.text
    assert str(t.a.org_id) not in response.text
    assert {r["org_id"] for r in _rows(response.text)} == {str(t.b.org_id)}
    # Even when asking for A's admin by name.
    filtered = client.get(URL, params={"actor": t.a.email})
    assert _rows(filtered.text) == []


def test_audit_page_export_link_carries_the_filters(backend: Backend, client: TestClient) -> None:
    a = f.new_admin()
    with StateHarness(cookie=a.token, path="/admin/audit") as tab:
        tab.dispatch(AuditState.load())
        assert tab.state(AuditState).export_href == URL
        form = {"action": "auth.", "actor": a.email, "since": "2026-01-01", "until": ""}
        tab.dispatch(AuditState.apply_filters(form))
        href = tab.state(AuditState).export_href
    assert href == f"{URL}?action=auth.&actor={quote_plus(a.email)}&since=2026-01-01"
    rows = _rows(as_user(client, a).get(href).text)
    assert rows and all(r["action"].startswith("auth.") for r in rows)


def test_exports_turned_off_in_the_settings_are_refused(
    backend: Backend, client: TestClient
) -> None:
    a = f.new_admin()
    with tenant_session(a.ctx) as session:
        writes.do_update_section(
            session, a.ctx, org_id=a.ctx.org_id, section="reporting", values={"exports": False}
        )
    response = as_user(client, a).get(URL)
    assert response.status_code == 403
    assert "turned off" in response.json()["error"]["message"]
    # A child org inherits the switch.
    child = f.child_org(a.ctx)
    with tenant_session(f.refresh(a).ctx) as session:
        assert not reports.exports_allowed(session, f.refresh(a).ctx)
        assert not gates.reporting_enabled(session, child.id, "exports")
