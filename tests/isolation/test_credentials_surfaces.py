"""Isolation rows for certificates, compliance and notifications: services, the PDF and CSV
routes and the pages' handlers.

Same attackers as `test_surfaces.py` (imported from there): the admin of an unrelated org B
and the admin of C, a child org of A. A's learner holds a certificate, A has a mandatory
rule (so a compliance report row) and the learner has a notification. Neither attacker may
read, download, revoke, delete or mark any of it; A's own people can (the owner controls).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from starlette.testclient import TestClient

from app.api.routes import build_api
from app.models.user import Role
from app.services.comms import notifications
from app.services.core.errors import NotFound, ServiceError, ValidationFailed
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.credentials import (
    certificate_downloads,
    certificate_lists,
    certificate_revocation,
    certificate_verify,
    compliance_export,
    compliance_report,
    compliance_rules,
)
from app.settings import get_settings
from app.state.credentials import CertificatesState
from app.state.credentials_compliance import ComplianceState
from app.state.notification_centre import NotificationsState
from tests import factories as f
from tests import learning_factories as lf
from tests.isolation.test_surfaces import (  # the fixtures are used by name
    Scenario,
    Victim,
    child_admin,  # noqa: F401
    other_tenant,  # noqa: F401
    scenario,  # noqa: F401
)
from tests.services.credentials.test_certificates import issued
from tests.state.harness import StateHarness


@pytest.fixture(autouse=True)
def _files(tmp_path: Path, settings_env: Any) -> None:
    settings_env(storage_dir=str(tmp_path / "files"))


@dataclass(frozen=True)
class Things:
    """A's certificate, rule and notification, and the strings only A's rows hold."""

    victim: Victim
    course_id: uuid.UUID
    certificate_id: uuid.UUID
    serial: str
    rule_id: uuid.UUID
    notification_id: uuid.UUID
    learner_name: str

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.serial, self.learner_name, self.victim.learner.email, str(self.course_id))


def _things(v: Victim) -> Things:
    course = lf.published_course(v.admin.ctx)
    cert = issued(v.learner.ctx, course)
    with tenant_session(v.admin.ctx) as session:
        rule = compliance_rules.do_set_rule(
            session, v.admin.ctx, course_id=course.course_id, role="", days_to_complete=30
        ).rule
        note = notifications.notify(
            session,
            org_id=v.org_id,
            user_id=v.learner.user_id,
            kind="test",
            title="A's secret note",
        )
        session.commit()
    assert note is not None
    return Things(
        victim=v,
        course_id=course.course_id,
        certificate_id=cert.id,
        serial=cert.serial,
        rule_id=rule.id,
        notification_id=note.id,
        learner_name=cert.learner_name,
    )


def _a_state(t: Things) -> tuple[Any, ...]:
    """What an attack could change, read as A's own people."""
    found = certificate_verify.verify(t.serial)
    assert found is not None
    with tenant_session(t.victim.admin.ctx) as session:
        rules = [
            (r.id, r.days_to_complete)
            for r in compliance_rules.list_rules(session, t.victim.admin.ctx)
        ]
    with tenant_session(t.victim.learner.ctx) as session:
        unread = notifications.unread_count(session, t.victim.learner.ctx)
    return (found.status, rules, unread)


def _leaks(t: Things, anything: object) -> list[str]:
    text = repr(anything)
    return [s for s in t.secrets if s in text]


# --------------------------------------------------------------------------- services


@dataclass(frozen=True)
class Surface:
    """A service call with the attacker's context and A's ids; `refused_with=None` for
    reads that must simply show nothing of A's."""

    name: str
    attempt: Callable[[Session, OrgContext, Things], object]
    refused_with: type[ServiceError] | None = NotFound


SURFACES: list[Surface] = [
    Surface(
        "certificate_downloads.pdf_for(A's)",
        lambda s, me, t: certificate_downloads.pdf_for(s, me, t.certificate_id),
    ),
    Surface(
        "certificate_revocation.do_revoke_certificate(A's)",
        lambda s, me, t: certificate_revocation.do_revoke_certificate(
            s, me, certificate_id=t.certificate_id, reason="Attack"
        ),
    ),
    Surface("certificate_lists.list_org", lambda s, me, t: certificate_lists.list_org(s, me), None),
    Surface(
        "certificate_lists.list_org(search=A's serial)",
        lambda s, me, t: certificate_lists.list_org(s, me, search=t.serial),
        None,
    ),
    Surface(
        "certificate_lists.list_mine", lambda s, me, t: certificate_lists.list_mine(s, me), None
    ),
    Surface(
        "compliance.set_rule(A's unshared course)",
        lambda s, me, t: compliance_rules.do_set_rule(
            s, me, course_id=t.course_id, role="", days_to_complete=3
        ),
        ValidationFailed,
    ),
    Surface(
        "compliance.delete_rule(A's)",
        lambda s, me, t: compliance_rules.do_delete_rule(s, me, t.rule_id),
    ),
    Surface("compliance.list_rules", lambda s, me, t: compliance_rules.list_rules(s, me), None),
    Surface(
        "compliance.compliance_report",
        lambda s, me, t: compliance_report.compliance_report(s, me, search=t.victim.learner.email),
        None,
    ),
    Surface(
        "compliance.compliance_csv", lambda s, me, t: compliance_export.compliance_csv(s, me), None
    ),
    Surface(
        "notifications.do_mark_read(A's learner's)",
        lambda s, me, t: notifications.do_mark_read(s, me, t.notification_id),
    ),
    Surface(
        "notifications.list_for_user",
        lambda s, me, t: notifications.list_for_user(s, me),
        None,
    ),
]


@pytest.mark.parametrize("surface", SURFACES, ids=[s.name for s in SURFACES])
def test_service_gives_attacker_nothing(scenario: Scenario, surface: Surface) -> None:  # noqa: F811
    t = _things(scenario.victim)
    before = _a_state(t)
    me = scenario.attacker.ctx
    with tenant_session(me) as session:
        if surface.refused_with is None:
            result = surface.attempt(session, me, t)
            assert _leaks(t, result) == [], surface.name
        else:
            with pytest.raises(surface.refused_with) as err:
                surface.attempt(session, me, t)
            assert _leaks(t, err.value.message) == []
            if surface.refused_with is ValidationFailed:
                assert err.value.field == "course_id"
    assert _a_state(t) == before


# --------------------------------------------------------------------------- HTTP


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_api(), base_url="http://localhost:3000", follow_redirects=False) as c:
        yield c


def test_routes_give_attacker_nothing(scenario: Scenario, client: TestClient) -> None:  # noqa: F811
    t = _things(scenario.victim)
    client.cookies.set(get_settings().session_cookie_name, scenario.attacker.token)
    pdf = client.get(f"/api/certificates/{t.certificate_id}.pdf")
    assert pdf.status_code == 404 and _leaks(t, pdf.text) == []
    report = client.get("/api/reports/compliance.csv")
    assert report.status_code == 200 and _leaks(t, report.text) == []


# --------------------------------------------------------------------------- handlers


def test_handlers_give_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    t = _things(scenario.victim)
    before = _a_state(t)
    token = scenario.attacker.token
    with StateHarness(cookie=token, path="/certificates") as tab:
        tab.dispatch(CertificatesState.load())
        assert _leaks(t, tab.state(CertificatesState).org_rows) == []
        tab.dispatch(CertificatesState.open_revoke(str(t.certificate_id), "x"))
        reply = tab.dispatch(CertificatesState.confirm_revoke({"reason": "Attack on A"}))
        assert reply.toast("error")
        assert _leaks(t, tab.state(CertificatesState).org_rows) == []
    with StateHarness(cookie=token, path="/compliance") as tab:
        tab.dispatch(ComplianceState.load())
        s = tab.state(ComplianceState)
        assert _leaks(t, (s.rows, s.rules, s.course_options)) == []
        assert tab.dispatch(ComplianceState.delete_rule(str(t.rule_id))).toast("error")
        reply = tab.dispatch(
            ComplianceState.add_rule({"course_id": str(t.course_id), "role": "", "days": "3"})
        )
        assert tab.state(ComplianceState).course_error and not reply.toast("success")
    with StateHarness(cookie=token, path="/notifications") as tab:
        tab.dispatch(NotificationsState.load())
        assert "A's secret note" not in repr(tab.state(NotificationsState).items)
        assert tab.dispatch(NotificationsState.mark_read(str(t.notification_id))).toast("error")
    assert _a_state(t) == before


# --------------------------------------------------------------------------- owner controls


def test_owner_control(other_tenant: Scenario, client: TestClient) -> None:  # noqa: F811
    """A's own people get through the same calls, so the rows above can fail."""
    t = _things(other_tenant.victim)
    admin, learner = t.victim.admin, t.victim.learner
    classmate = f.invite_and_accept_member(admin.ctx, Role.learner)
    client.cookies.set(get_settings().session_cookie_name, learner.token)
    assert client.get(f"/api/certificates/{t.certificate_id}.pdf").status_code == 200
    client.cookies.set(get_settings().session_cookie_name, classmate.token)
    assert client.get(f"/api/certificates/{t.certificate_id}.pdf").status_code == 404
    client.cookies.set(get_settings().session_cookie_name, admin.token)
    assert t.victim.learner.email in client.get("/api/reports/compliance.csv").text
    with tenant_session(admin.ctx) as session:
        assert t.serial in repr(certificate_lists.list_org(session, admin.ctx))
        assert t.victim.learner.email in repr(
            compliance_report.compliance_report(session, admin.ctx)
        )
    with StateHarness(cookie=learner.token, path="/notifications") as tab:
        tab.dispatch(NotificationsState.load())
        assert "A's secret note" in repr(tab.state(NotificationsState).items)
        assert not tab.dispatch(NotificationsState.mark_read(str(t.notification_id))).toasts()
    with StateHarness(cookie=admin.token, path="/compliance") as tab:
        tab.dispatch(ComplianceState.load())
        assert tab.dispatch(ComplianceState.delete_rule(str(t.rule_id))).toast("success")
    with StateHarness(cookie=admin.token, path="/certificates") as tab:
        tab.dispatch(CertificatesState.load())
        tab.dispatch(CertificatesState.open_revoke(str(t.certificate_id), t.serial))
        assert tab.dispatch(CertificatesState.confirm_revoke({"reason": "Owner"})).toast("success")
    assert _a_state(t)[:2] == ("revoked", [])
    with tenant_session(learner.ctx) as session:
        rows = notifications.list_for_user(session, learner.ctx).rows
    assert [r.read for r in rows if r.title == "A's secret note"] == [True]
