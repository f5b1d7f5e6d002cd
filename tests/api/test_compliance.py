"""`GET /api/reports/compliance.csv` (`app/api/compliance.py`): the session decides who gets
what; everyone else gets the JSON error shape."""

from __future__ import annotations

import csv
import io

import pytest
from starlette.testclient import TestClient

from app.models.user import Role
from app.services.config import cache, writes
from app.services.core.tenancy import tenant_session
from app.services.credentials import compliance_rules
from tests import factories as f
from tests import learning_factories as lf
from tests.api.helpers import as_user

pytestmark = pytest.mark.usefixtures("backend", "local_files")


def test_compliance_csv_route(client: TestClient) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner, full_name="Lena Learner")
    course = lf.published_course(admin.ctx)
    with tenant_session(admin.ctx) as session:
        compliance_rules.do_set_rule(
            session, admin.ctx, course_id=course.course_id, role=Role.learner, days_to_complete=5
        )
    url = "/api/reports/compliance.csv"
    response = as_user(client, admin).get(url, params={"status": "not_started"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="compliance-')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["learner"], r["email"], r["status"]) for r in rows] == [
        ("Lena Learner", learner.email, "Not started")
    ]
    assert (
        as_user(client, admin).get(url, params={"status": "overdue"}).headers["x-export-rows"]
        == "0"
    )

    refused = as_user(client, learner).get(url)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert as_user(client, None).get(url).status_code == 401
    stranger = f.new_admin()
    theirs = as_user(client, stranger).get(url)
    assert theirs.status_code == 200 and learner.email not in theirs.text

    with tenant_session(admin.ctx) as session:
        writes.set_overrides(session, admin.org_id, {"reporting": {"exports": False}})
        session.commit()
    cache.invalidate()
    assert as_user(client, admin).get(url).status_code == 403
