"""`MembersState` CSV import: upload -> preview -> confirm (background) -> progress -> summary,
and the manager select."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest
import reflex as rx
from reflex_base.event import Event

from app.models.user import Role
from app.services import members
from app.services.tenancy import OrgContext, tenant_session
from app.state import members as members_state
from app.state.members import MembersState
from tests import factories as f
from tests.state.harness import Reply, StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _csv(*rows: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    out.write("email,full_name,role,manager_email\n")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def upload(tab: StateHarness, data: bytes, filename: str = "members.csv") -> Reply:
    """What `rx.upload` + `rx.upload_files` send: the handler event with the files.

    The harness dispatches `EventSpec`s, which cannot carry files, so this builds the
    `Event` the upload route builds (same router data, same processor).
    """
    files = [rx.UploadFile(file=io.BytesIO(data), path=Path(filename), size=len(data))]
    event = Event(
        name=f"{MembersState.get_full_name()}.upload_members_csv",
        router_data=tab.router_data(),
        payload={"files": files},
    )

    async def go() -> None:
        if not tab._started:
            await tab._processor.start()
            tab._started = True
        future = await tab._processor.enqueue(tab.token, event)
        await asyncio.wait_for(future.wait_all(), timeout=30)
        await tab._processor.join(timeout=30)

    tab._reply, tab._errors = Reply(), []
    try:
        tab._runner.run(go())
    finally:
        reply, tab._reply = tab._reply, None
    if tab._errors:
        raise tab._errors[0]
    assert reply is not None
    return reply


def _emails(ctx: OrgContext) -> dict[str, members.MemberRow]:
    with tenant_session(ctx) as session:
        return {r.email: r for r in members.list_members(session, ctx, page_size=500).rows}


def test_preview_confirm_progress_and_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(members_state, "IMPORT_CHUNK", 2)  # several progress updates
    admin = f.new_admin()
    good = [f.unique_email("ok") for _ in range(3)]
    data = _csv(
        (good[0], "Good One", "", ""),
        ("nope", "Bad Email", "", ""),
        (good[1], "Good Two", "instructor", ""),
        (good[2], "Good Three", "learner", ""),
        (good[0], "Twice", "", ""),
    )
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, data)
        state = tab.state(MembersState)
        assert state.import_step == "preview" and state.import_error == ""
        assert (state.import_total, state.import_ok, state.import_bad) == (5, 3, 2)
        assert [(r["line"], r["status"]) for r in state.import_preview] == [
            ("2", "ok"),
            ("3", "error"),
            ("4", "ok"),
            ("5", "ok"),
            ("6", "error"),
        ]
        assert state.import_preview[4]["message"] == "duplicate in file (see line 2)"
        assert good[0] not in _emails(admin.ctx), "the preview wrote nothing"

        reply = tab.dispatch(MembersState.confirm_import())
        state = tab.state(MembersState)
        key = "import_percent_rx_state_"
        progress = [
            d[MembersState.get_full_name()][key]
            for d in reply.deltas
            if key in d.get(MembersState.get_full_name(), {})
        ]
        assert progress == [0, 40, 80, 100], progress  # streamed while rows are imported
        assert state.import_step == "done" and state.import_percent == 100
        assert (state.import_created, state.import_added, state.import_failed) == (3, 0, 2)
        assert state.import_report_url == f"/api/imports/{state.import_id}/errors.csv"
        assert reply.toast("success", "3 created")
        assert {r["email"] for r in state.rows} >= set(good)  # the list was reloaded

        # a second Confirm (double click, replay) imports nothing more
        again = tab.dispatch(MembersState.confirm_import())
        assert not again.toasts("success")
    assert set(good) <= set(_emails(admin.ctx))


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\xff\xfe bad bytes", "not UTF-8"),
        (b"mail,name\nx,y\n", "header"),
        (b"email,full_name\n" + b"a@example.com,A\n" * 140_000, "larger than 2 MB"),
    ],
)
def test_bad_files_are_explained_beside_the_upload(data: bytes, says: str) -> None:
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, data)
        state = tab.state(MembersState)
        assert says in state.import_error and state.import_step == ""
        assert not tab.dispatch(MembersState.confirm_import()).toasts("success")


def test_staff_cannot_upload_or_confirm() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    email = f.unique_email("sneak")
    with StateHarness(cookie=staff.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        reply = upload(tab, _csv((email, "Sneak", "", "")))
        assert reply.toast("error", "not allowed")
        assert tab.state(MembersState).import_step == ""
    assert email not in _emails(admin.ctx)


def test_admin_demoted_between_preview_and_confirm_imports_nothing() -> None:
    admin = f.new_admin()
    second = f.invite_and_accept_member(admin.ctx, Role.org_admin)
    email = f.unique_email("late")
    with StateHarness(cookie=second.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, _csv((email, "Late", "", "")))
        with tenant_session(admin.ctx) as session:
            members.change_role(
                session, admin.ctx, _emails(admin.ctx)[second.email].membership_id, Role.staff
            )
        reply = tab.dispatch(MembersState.confirm_import())
        assert reply.toast("error") and not reply.toasts("success")
    assert email not in _emails(admin.ctx)


def test_manager_select_assigns_and_clears() -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager, full_name="Mia Manager")
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        state = tab.state(MembersState)
        assert {"value": str(boss.user_id), "label": "Mia Manager"} in state.manager_options
        row: dict[str, Any] = next(r for r in state.rows if r["email"] == learner.email)
        reply = tab.dispatch(MembersState.assign_manager(row["id"], str(boss.user_id)))
        assert reply.toast("success", "Manager updated")
        row = next(r for r in tab.state(MembersState).rows if r["email"] == learner.email)
        assert (row["manager_id"], row["manager_name"]) == (str(boss.user_id), "Mia Manager")
        reply = tab.dispatch(MembersState.assign_manager(row["id"], str(learner.user_id)))
        assert reply.toast("error", "cannot manage learners")
        reply = tab.dispatch(MembersState.assign_manager(row["id"], ""))
        assert reply.toast("success", "Manager removed")
    assert _emails(admin.ctx)[learner.email].manager_user_id == ""


def test_manager_select_refused_for_non_admins() -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    learner = f.invite_and_accept_member(admin.ctx, Role.learner)
    membership_id = _emails(admin.ctx)[learner.email].membership_id
    with StateHarness(cookie=boss.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        assert tab.state(MembersState).manager_options == []
        reply = tab.dispatch(MembersState.assign_manager(membership_id, str(boss.user_id)))
        assert reply.toast("error", "not allowed")
    assert _emails(admin.ctx)[learner.email].manager_user_id == ""


def test_a_preview_in_another_tab_retires_this_tabs_preview() -> None:
    admin = f.new_admin()
    first, second = f.unique_email("tab1"), f.unique_email("tab2")
    with (
        StateHarness(cookie=admin.token, path="/admin/members") as tab1,
        StateHarness(cookie=admin.token, path="/admin/members") as tab2,
    ):
        for tab, email in ((tab1, first), (tab2, second)):
            tab.dispatch(MembersState.load())
            upload(tab, _csv((email, "Tabbed", "", "")))
        reply = tab1.dispatch(MembersState.confirm_import())
        assert (
            reply.toast("error") and "no longer available" in tab1.state(MembersState).import_error
        )
        assert tab2.dispatch(MembersState.confirm_import()).toast("success", "1 created")
    now = _emails(admin.ctx)
    assert second in now and first not in now
