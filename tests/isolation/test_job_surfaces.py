"""Isolation rows for background jobs (`/admin/jobs`, `outbox.list_jobs`, `outbox.retry`).

Same attackers as `test_surfaces.py` (imported from there): the admin of an unrelated org B
and the admin of C, a child org of A. A has a failed job; neither attacker may see it or
bring it back to life, through the service or the page's handlers.
"""

from __future__ import annotations

import pytest

from app.services.core.errors import NotFound
from app.services.core.tenancy import tenant_session
from app.services.infra import outbox
from app.state.jobs import JobsState
from tests import outbox_helpers as oh
from tests.isolation.test_surfaces import (  # the fixtures are used by name
    Scenario,
    child_admin,  # noqa: F401
    other_tenant,  # noqa: F401
    scenario,  # noqa: F401
)
from tests.state.harness import StateHarness


def test_service_gives_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    job_id = oh.dead_job(scenario.victim.admin.ctx)
    attacker = scenario.attacker.ctx
    with tenant_session(attacker) as session:
        for status in ("dead", "pending", "done"):
            rows, _total = outbox.list_jobs(session, attacker, status=status)
            assert str(job_id) not in [r.id for r in rows]
            assert not any("org A" in r.last_error for r in rows)
        with pytest.raises(NotFound):
            outbox.retry(session, attacker, job_id)
    assert oh.status(job_id) == "dead"


def test_handlers_give_attacker_nothing(scenario: Scenario) -> None:  # noqa: F811
    job_id = oh.dead_job(scenario.victim.admin.ctx)
    with StateHarness(cookie=scenario.attacker.token, path="/admin/jobs") as tab:
        tab.dispatch(JobsState.load())
        assert str(job_id) not in [j["id"] for j in tab.state(JobsState).jobs]
        reply = tab.dispatch(JobsState.retry(str(job_id)))
        assert reply.toast("error")
        assert "org A" not in str(tab.state(JobsState).jobs)
    assert oh.status(job_id) == "dead"


def test_owner_control(other_tenant: Scenario) -> None:  # noqa: F811
    """A's own admin gets through the same calls, so the rows above can fail."""
    admin = other_tenant.victim.admin
    job_id = oh.dead_job(admin.ctx)
    with StateHarness(cookie=admin.token, path="/admin/jobs") as tab:
        tab.dispatch(JobsState.load())
        assert str(job_id) in [j["id"] for j in tab.state(JobsState).jobs]
        assert tab.dispatch(JobsState.retry(str(job_id))).toast("success")
    assert oh.status(job_id) == "pending"
