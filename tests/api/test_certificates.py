"""`GET /api/certificates/{id}.pdf` (`app/api/certificates.py`): the session decides who gets
what; everyone else gets the same 404. The compliance export: `tests/api/test_compliance.py`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from app.api.routes import build_api
from app.models.user import Role
from app.settings import get_settings
from tests import factories as f
from tests import learning_factories as lf
from tests.services.credentials.test_certificates import issued

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


def test_pdf_route_owner_admin_and_everyone_else(client: TestClient) -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    classmate = f.invite_and_accept_member(admin.ctx, Role.learner)
    stranger = f.new_admin()
    course = lf.published_course(admin.ctx, title="First Aid Basics")
    cert = issued(learner.ctx, course)
    url = f"/api/certificates/{cert.id}.pdf"

    response = _as(client, learner).get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF") and cert.serial.encode() in response.content
    assert response.headers["content-disposition"] == (
        f'attachment; filename="certificate-first-aid-basics-{cert.serial}.pdf"'
    )
    assert "no-store" in response.headers["cache-control"]
    assert _as(client, admin).get(url).status_code == 200

    missing = _as(client, learner).get("/api/certificates/00000000-0000-0000-0000-000000000000.pdf")
    assert missing.status_code == 404
    for who in (classmate, stranger, None):
        refused = _as(client, who).get(url)
        assert refused.status_code == 404, who
        assert refused.json() == missing.json()
        assert cert.serial not in refused.text
    assert _as(client, learner).get("/api/certificates/nonsense.pdf").status_code == 404
