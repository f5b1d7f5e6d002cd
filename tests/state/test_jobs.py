"""`JobsState`: admins list failed jobs and retry them; nobody else can, nor across orgs."""

from __future__ import annotations

import pytest

from app.state.jobs import JobsState
from tests import factories as f
from tests import outbox_helpers as oh
from tests.state.harness import StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def test_admin_sees_the_failed_job_with_its_error_and_retries_it() -> None:
    admin = f.new_admin()
    job_id = oh.dead_job(admin.ctx)
    with StateHarness(cookie=admin.token, path="/admin/jobs") as tab:
        tab.dispatch(JobsState.load())
        (row,) = tab.state(JobsState).jobs
        assert row["id"] == str(job_id) and "printer on fire" in row["error"]
        reply = tab.dispatch(JobsState.retry(str(job_id)))
        assert reply.toast("success")
        assert tab.state(JobsState).jobs == []
    assert oh.status(job_id) == "pending"


def test_a_learner_is_refused_even_when_calling_the_handler() -> None:
    admin = f.new_admin()
    job_id = oh.dead_job(admin.ctx)
    learner = f.invite_and_accept_member(admin.ctx, "learner")
    with StateHarness(cookie=learner.token, path="/admin/jobs") as tab:
        tab.dispatch(JobsState.load())
        assert tab.state(JobsState).jobs == []
        reply = tab.dispatch(JobsState.retry(str(job_id)))
        assert reply.toast("error")
    assert oh.status(job_id) == "dead"


def test_another_orgs_admin_cannot_retry_my_job() -> None:
    pair = f.two_tenants()
    job_id = oh.dead_job(pair.a.ctx)
    with StateHarness(cookie=pair.b.token, path="/admin/jobs") as tab:
        tab.dispatch(JobsState.load())
        assert str(job_id) not in [j["id"] for j in tab.state(JobsState).jobs]
        reply = tab.dispatch(JobsState.retry(str(job_id)))
        assert reply.toast("error")
    assert oh.status(job_id) == "dead"
