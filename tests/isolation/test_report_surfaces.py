"""Isolation rows for report downloads and stored files (the audit CSV export, `/files/`).

Same attackers, victim and checks as `test_surfaces.py` (imported from there): the admin of
an unrelated org B and the admin of C, a child org of A, each try to reach A's audit rows and
A's private files. Nothing of A's may come back and A must be unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from app.api.routes import build_api
from app.models.user import Role
from app.services.core import audit
from app.services.infra import storage
from app.services.reports import exports as reports
from app.settings import get_settings
from tests import factories as f
from tests import file_factories as ff
from tests import learning_factories as lf
from tests.isolation.test_surfaces import (  # the fixtures are used by name
    HttpSurface,
    Scenario,
    Surface,
    Victim,
    _a_view,
    _leaks,
    _run_attack,
    child_admin,  # noqa: F401
    other_tenant,  # noqa: F401
    scenario,  # noqa: F401
)

# --------------------------------------------------------------------------- services

REPORT_SURFACES: list[Surface] = [
    Surface(
        "reports.audit_csv holds none of A's events",
        lambda s, me, a: reports.audit_csv(s, me).csv,
        refused_with=None,
    ),
    Surface(
        "reports.audit_csv filtered to A's learner holds nothing",
        lambda s, me, a: reports.audit_csv(s, me, actor=a.learner.email).csv,
        refused_with=None,
    ),
    Surface(
        "audit.build_export filtered to A's invite holds nothing",
        lambda s, me, a: audit.build_export(s, me, action="invite."),
        refused_with=None,
    ),
]


@pytest.mark.parametrize("surface", REPORT_SURFACES, ids=lambda s: s.name)
def test_other_tenant_cannot_export_a(other_tenant: Scenario, surface: Surface) -> None:  # noqa: F811
    _run_attack(other_tenant, surface)


@pytest.mark.parametrize("surface", REPORT_SURFACES, ids=lambda s: s.name)
def test_child_admin_cannot_export_the_parent(child_admin: Scenario, surface: Surface) -> None:  # noqa: F811
    _run_attack(child_admin, surface)


@pytest.mark.parametrize("surface", REPORT_SURFACES, ids=lambda s: s.name)
def test_owner_control(other_tenant: Scenario, surface: Surface) -> None:  # noqa: F811
    """A's own admin does see A's rows through every row above."""
    from app.services.core.tenancy import tenant_session

    victim = other_tenant.victim
    with tenant_session(victim.admin.ctx) as session:
        result = surface.attempt(session, victim.admin.ctx, victim)
    assert _leaks(victim, result), f"{surface.name}: A's own admin sees none of A's rows"


# --------------------------------------------------------------------------- HTTP routes


def _a_private_file(v: Victim, *, org_id: uuid.UUID | None = None) -> str:
    """A private file of A's (or A's child's) holding A's secrets; return its URL. Files are
    read by what they belong to, so it is a certificate's stored PDF: of A's learner, or of
    a learner of the child in a course A shares down (A's admin manages both)."""
    learner = v.learner
    if org_id is not None:
        learner = f.invite_and_accept_member(v.admin.ctx, Role.learner, org_id=org_id)
    cert = ff.certificate(learner.ctx, lf.published_course(v.admin.ctx, shared=True))
    storage.get_storage().put(
        cert.pdf_key, f"{v.learner.email},{v.org_name}".encode(), "application/pdf"
    )
    return storage.public_url(cert.pdf_key)


def _not_found(_me: f.SignedIn, r: object) -> bool:
    return r.json()["error"]["code"] == "not_found"  # type: ignore[attr-defined,no-any-return]


REPORT_HTTP_SURFACES: list[HttpSurface] = [
    HttpSurface(
        "GET /api/reports/audit.csv holds only my rows",
        lambda c, v, _: c.get("/api/reports/audit.csv"),
        statuses=frozenset({200}),
        check=lambda me, r: r.text.startswith("when,org,") and me.email in r.text,
    ),
    HttpSurface(
        "GET /api/reports/audit.csv?actor=<A's learner>",
        lambda c, v, _: c.get("/api/reports/audit.csv", params={"actor": v.learner.email}),
        statuses=frozenset({200}),
        check=lambda me, r: r.text.strip() == "when,org,org_id,actor,action,target,detail,ip",
    ),
    HttpSurface(
        "GET /files/org/<A>/... (A's private file)",
        lambda c, v, url: c.get(url),
        statuses=frozenset({404}),
        check=_not_found,
        prepare=_a_private_file,
    ),
    HttpSurface(
        "GET /files/org/<A's child>/... (its private file)",
        lambda c, v, url: c.get(url),
        statuses=frozenset({404}),
        check=_not_found,
        prepare=lambda v: _a_private_file(v, org_id=v.child_id),
    ),
    HttpSurface(
        "GET /files/org/<mine>/../../org/<A>/... (traversal)",
        lambda c, v, url: c.get(
            f"/files/org/{_attacker_org(c)}/%2e%2e/%2e%2e/" + url.removeprefix("/files/")
        ),
        statuses=frozenset({404}),
        check=lambda me, r: True,
        prepare=_a_private_file,
    ),
]


def _attacker_org(client: TestClient) -> str:
    token = client.cookies.get(get_settings().session_cookie_name)
    return str(f.context(str(token)).org_id)


@pytest.fixture
def files_dir(scenario: Scenario, tmp_path: object, settings_env: Callable[..., None]) -> None:  # noqa: F811
    """Local storage in a fresh directory (after `scenario`, which resets the settings)."""
    settings_env(storage_dir=f"{tmp_path}/files")


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False) as c:
        yield c


@pytest.mark.usefixtures("files_dir")
@pytest.mark.parametrize("surface", REPORT_HTTP_SURFACES, ids=lambda s: s.name)
def test_report_route_gives_attacker_nothing(
    scenario: Scenario,  # noqa: F811
    client: TestClient,
    surface: HttpSurface,
) -> None:
    attacker, victim = scenario.attacker, scenario.victim
    prepared = surface.prepare(victim)
    before = _a_view(victim)
    client.cookies.set(get_settings().session_cookie_name, attacker.token)
    response = surface.call(client, victim, prepared)
    assert response.status_code in surface.statuses, (surface.name, response.status_code)
    assert "location" not in response.headers, surface.name
    assert not _leaks(victim, (response.text, dict(response.headers))), surface.name
    assert surface.check(attacker, response), f"{surface.name}: the route did not do its job"
    assert _a_view(victim) == before, f"{surface.name} changed org A"


@pytest.mark.usefixtures("files_dir")
def test_owner_reads_the_files_the_attackers_could_not(
    scenario: Scenario,  # noqa: F811
    client: TestClient,
) -> None:
    victim = scenario.victim
    client.cookies.set(get_settings().session_cookie_name, victim.admin.token)
    for url in (_a_private_file(victim), _a_private_file(victim, org_id=victim.child_id)):
        response = client.get(url)
        assert response.status_code == 200, url
        assert _leaks(victim, response.text)
    export = client.get("/api/reports/audit.csv", params={"actor": victim.learner.email})
    assert victim.learner.email in export.text
