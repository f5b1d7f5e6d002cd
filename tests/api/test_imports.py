"""`GET /api/imports/{id}/errors.csv`: the error report of a member import."""

from __future__ import annotations

import csv
import io
import uuid

import pytest
from starlette.testclient import TestClient

from app.models.user import Role
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.people import member_import
from app.settings import get_settings
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")


def _import_with_errors(ctx: OrgContext) -> str:
    data = (
        "email,full_name,role\n"
        f"{f.unique_email('ok')},Fine,learner\n"
        "broken,Broken,learner\n"
        f"{f.unique_email('bad')},Bad Role,pirate\n"
    ).encode()
    with tenant_session(ctx) as session:
        staged = member_import.do_stage_import(session, ctx, org_id=None, data=data)
        summary = member_import.do_confirm_import(session, ctx, staged.import_id)
    assert (summary.invited, summary.failed) == (1, 2)
    return summary.import_id


def _get(client: TestClient, import_id: str, token: str | None) -> object:
    headers = {"cookie": f"{get_settings().session_cookie_name}={token}"} if token else {}
    return client.get(f"/api/imports/{import_id}/errors.csv", headers=headers)


def test_admin_downloads_the_failed_rows(client: TestClient) -> None:
    admin = f.new_admin()
    import_id = _import_with_errors(admin.ctx)
    r = _get(client, import_id, admin.token)
    assert r.status_code == 200  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith("text/csv")  # type: ignore[attr-defined]
    assert "attachment" in r.headers["content-disposition"]  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(r.text)))  # type: ignore[attr-defined]
    assert [(x["line"], x["status"]) for x in rows] == [("3", "error"), ("4", "error")]
    assert rows[0]["message"].startswith("bad email")
    assert rows[1]["message"] == "unknown role 'pirate'"


def test_parent_admin_downloads_a_child_org_import(client: TestClient) -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    data = b"email,full_name\nbroken,Broken\n"
    with tenant_session(admin.ctx) as session:
        staged = member_import.do_stage_import(session, admin.ctx, org_id=child.id, data=data)
        summary = member_import.do_confirm_import(session, admin.ctx, staged.import_id)
    assert _get(client, summary.import_id, admin.token).status_code == 200  # type: ignore[attr-defined]


def test_another_orgs_admin_gets_404_in_the_error_shape(client: TestClient) -> None:
    a, b = f.new_admin(), f.new_admin()
    import_id = _import_with_errors(a.ctx)
    for attempt in (import_id, str(uuid.uuid4()), "not-a-uuid"):
        r = _get(client, attempt, b.token)
        assert r.status_code == 404, attempt  # type: ignore[attr-defined]
        assert r.json() == {  # type: ignore[attr-defined]
            "error": {"code": "not_found", "message": "Not found.", "field": None}
        }


def test_no_session_is_401_and_a_learner_is_403(client: TestClient) -> None:
    admin = f.new_admin()
    import_id = _import_with_errors(admin.ctx)
    r = _get(client, import_id, None)
    assert r.status_code == 401  # type: ignore[attr-defined]
    assert r.json()["error"]["code"] == "unauthenticated"  # type: ignore[attr-defined]
    assert _get(client, import_id, "forged-token").status_code == 401  # type: ignore[attr-defined]
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    r = _get(client, import_id, learner.token)
    assert r.status_code == 403  # type: ignore[attr-defined]
    assert "broken" not in r.text  # type: ignore[attr-defined]
