"""`GET /api/certificates/{id}.pdf` (`app/api/certificates.py`): the session decides who gets
what; everyone else gets the same 404. The compliance export: `tests/api/test_compliance.py`."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from app.models.user import Role
from tests import factories as f
from tests import learning_factories as lf
from tests.api.helpers import as_user
from tests.services.credentials.test_certificates import issued

pytestmark = pytest.mark.usefixtures("backend", "local_files")


def test_pdf_route_owner_admin_and_everyone_else(client: TestClient) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    classmate = f.invite_and_accept_member(admin.ctx, Role.learner)
    stranger = f.new_admin()
    course = lf.published_course(admin.ctx, title="First Aid Basics")
    cert = issued(learner.ctx, course)
    url = f"/api/certificates/{cert.id}.pdf"

    response = as_user(client, learner).get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and cert.serial.encode() in response.content
    assert response.headers["content-disposition"] == (
        f'attachment; filename="certificate-first-aid-basics-{cert.serial}.pdf"'
    )
    assert "no-store" in response.headers["cache-control"]
    assert as_user(client, admin).get(url).status_code == 200

    missing = as_user(client, learner).get(
        "/api/certificates/00000000-0000-0000-0000-000000000000.pdf"
    )
    assert missing.status_code == 404
    for who in (classmate, stranger, None):
        refused = as_user(client, who).get(url)
        assert refused.status_code == 404, who
        assert refused.json() == missing.json()
        assert cert.serial not in refused.text
    assert as_user(client, learner).get("/api/certificates/nonsense.pdf").status_code == 404
