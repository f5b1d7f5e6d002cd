"""`SessionState._call`: the one place a handler's permission check, tenant session and
refusal reply come from. A refusal runs nothing and becomes the reply; a success is the value."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from reflex_base.event import Event, EventSpec
from sqlmodel import Session

from app.db import scope_of
from app.models.audit import AuditEvent
from app.models.user import Role
from app.services.core import audit
from app.services.core.authz import Permission
from app.services.core.errors import Conflict, PermissionDenied, Unauthenticated
from app.services.core.tenancy import OrgContext, scoped, tenant_session
from app.state.session import SessionState
from tests import factories as f
from tests.state.harness import Reply, StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _sent(spec: EventSpec | None) -> Reply:
    """What the browser would get for a handler's returned `spec`."""
    assert spec is not None
    return Reply(events=list(Event.from_event_type([spec])))


class _Service:
    """A stand-in service that records each run."""

    def __init__(self, result: Any = "done", *, raises: Exception | None = None) -> None:
        self.result, self.raises = result, raises
        self.runs: list[tuple[uuid.UUID | None, set[uuid.UUID]]] = []

    def __call__(self, session: Session, ctx: OrgContext) -> Any:
        self.runs.append((ctx.user_id, scope_of(session).org_ids))
        if self.raises is not None:
            raise self.raises
        return self.result


def test_a_refused_permission_runs_nothing_and_replies_with_an_error_toast() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    service = _Service()
    with StateHarness(cookie=learner.token, path="/admin/jobs") as tab:
        done = tab.bare_state(SessionState)._call(service, permission=Permission.config_edit)
    assert service.runs == []
    assert not done.ok and done.value is None
    assert isinstance(done.error, PermissionDenied)
    sent = _sent(done.reply)
    assert sent.toast("error", "You are not allowed to do that.")
    assert sent.redirects == []


def test_a_signed_out_call_runs_nothing_and_redirects_to_sign_in() -> None:
    service = _Service()
    with StateHarness(path="/admin/jobs") as tab:
        done = tab.bare_state(SessionState)._call(service)
    assert service.runs == []
    assert not done.ok and isinstance(done.error, Unauthenticated)
    assert _sent(done.reply).redirects == ["/signin"]


def test_a_success_runs_the_service_once_in_the_caller_s_tenant_session() -> None:
    admin = f.new_admin()
    result = {"id": "x"}
    service = _Service(result)
    with StateHarness(cookie=admin.token, path="/admin/jobs") as tab:
        done = tab.bare_state(SessionState)._call(service, permission=Permission.config_edit)
    assert done.ok and done.error is None and done.reply is None
    assert done.value is result
    assert service.runs == [(admin.user_id, {admin.org_id})]


def test_a_refusal_from_the_service_is_the_outcome_not_swallowed() -> None:
    admin = f.new_admin()
    refusal = Conflict("Someone changed this meanwhile.")
    service = _Service(raises=refusal)
    with StateHarness(cookie=admin.token, path="/admin/jobs") as tab:
        done = tab.bare_state(SessionState)._call(service, permission=Permission.config_edit)
    assert len(service.runs) == 1
    assert not done.ok and done.error is refusal and done.value is None
    assert _sent(done.reply).toast("error", "Someone changed this meanwhile.")


def test_anything_but_a_refusal_propagates() -> None:
    """A bug or an outage is not a refusal: it reaches Reflex's exception handler."""
    admin = f.new_admin()
    service = _Service(raises=KeyError("bug"))
    with StateHarness(cookie=admin.token, path="/admin/jobs") as tab:
        state = tab.bare_state(SessionState)
        with pytest.raises(KeyError):
            state._call(service, permission=Permission.config_edit)


def test_then_runs_after_the_service_with_the_caller_s_context_and_sees_its_write() -> None:
    """A handler's reload (`then`) runs after the service, as the caller, and sees its write."""
    admin = f.new_admin()
    seen: list[tuple[uuid.UUID | None, bool]] = []

    target = f.unique("then")

    def write(session: Session, ctx: OrgContext) -> None:
        audit.record(session, action="test.then", org_id=ctx.org_id, ctx=ctx, target=target)
        session.commit()

    def reload(ctx: OrgContext) -> None:
        with tenant_session(ctx) as session:
            row = session.exec(scoped(ctx, AuditEvent).where(AuditEvent.target == target)).first()
        seen.append((ctx.user_id, row is not None))

    with StateHarness(cookie=admin.token, path="/admin/jobs") as tab:
        done = tab.bare_state(SessionState)._call(write, then=reload)
    assert done.ok and done.ctx is not None and done.ctx.user_id == admin.user_id
    assert seen == [(admin.user_id, True)]
    assert done.reply_or("saved") == "saved"


def test_a_refusal_skips_then_and_reply_or_gives_the_refusal() -> None:
    admin = f.new_admin()
    reloads: list[OrgContext] = []
    service = _Service(raises=Conflict("Taken."))
    with StateHarness(cookie=admin.token, path="/admin/jobs") as tab:
        done = tab.bare_state(SessionState)._call(service, then=reloads.append)
    assert reloads == []
    assert done.ctx is not None and done.ctx.user_id == admin.user_id
    assert _sent(done.reply_or(None)).toast("error", "Taken.")


def test_a_refusal_from_then_is_the_outcome_too() -> None:
    """The reload after a write may find the row gone (deleted in another tab): a toast."""
    admin = f.new_admin()

    def gone(_ctx: OrgContext) -> None:
        raise Conflict("That course was deleted meanwhile.")

    with StateHarness(cookie=admin.token, path="/admin/jobs") as tab:
        done = tab.bare_state(SessionState)._call(_Service(), then=gone)
    assert not done.ok and done.value is None
    assert _sent(done.reply).toast("error", "That course was deleted meanwhile.")
