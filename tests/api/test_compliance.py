"""`GET /api/reports/compliance.csv` (`app/api/compliance.py`): the session decides who gets
what; everyone else gets the JSON error shape."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.api.routes import build_api
from app.models.user import Role
from app.services.config import cache, writes
from app.services.core.tenancy import tenant_session
from app.services.credentials import compliance_rules
from app.settings import get_settings
from tests import factories as f
from tests import learning_factories as lf

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, settings_env: Any) -> None:
    settings_env(storage_dir=str(tmp_path / "files"))


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False) as c:
        yield c


def _as(client: TestClient, who: f.SignedIn | None) -> TestClient:
    client.cookies.clear()
    if who is not None:
        client.cookies.set(get_settings().session_cookie_name, who.token)
    return client


def test_compliance_csv_route(client: TestClient) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Lena Learner")
    course = lf.published_course(admin.ctx)
    with tenant_session(admin.ctx) as session:
        compliance_rules.set_rule(
            session, admin.ctx, course_id=course.course_id, role=Role.learner, days_to_complete=5
        )
    url = "/api/reports/compliance.csv"
    response = _as(client, admin).get(url, params={"status": "not_started"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="compliance-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["learner"], r["email"], r["status"]) for r in rows] == [
        ("Lena Learner", learner.email, "Not started")
    ]
    assert _as(client, admin).get(url, params={"status": "overdue"}).headers["x-export-rows"] == "0"

    refused = _as(client, learner).get(url)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert _as(client, None).get(url).status_code == 401
    stranger = f.new_admin()
    theirs = _as(client, stranger).get(url)
    assert theirs.status_code == 200 and learner.email not in theirs.text

    with tenant_session(admin.ctx) as session:
        writes.set_overrides(session, admin.org_id, {"reporting": {"exports": False}})
        session.commit()
    cache.invalidate()
    assert _as(client, admin).get(url).status_code == 403
