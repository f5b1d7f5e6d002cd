"""`MembersState` CSV import: upload (streamed) -> check (background, with progress) ->
preview -> confirm (background) -> progress -> summary, as invites that say nothing about
accounts; files the browser or the server refuses; a full-size file; the manager select."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
import time
from typing import Any

import pytest
import reflex as rx
from reflex_base.event import Event

from app.models.user import Role
from app.services.core.tenancy import OrgContext, tenant_session
from app.services.people import invites, member_csv, member_import, members
from app.state.members import MembersState
from tests import factories as f
from tests.state.harness import Reply, StateHarness

pytestmark = pytest.mark.usefixtures("backend")


def _csv(*rows: tuple[str, ...]) -> bytes:
    out = io.StringIO()
    out.write("email,full_name,role,manager_email\n")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def upload(
    tab: StateHarness, data: bytes | None, filename: str = "members.csv", *, chunk: int = 65536
) -> Reply:
    """What `rx.upload` + `rx.upload_files_chunk` send: the handler event with the file's
    chunks as the upload route streams them (`data=None`: the Check button with no file).

    The harness dispatches `EventSpec`s, which cannot carry an upload, so this builds the
    `Event` the upload route builds (same router data, same processor).
    """
    chunks = rx.UploadChunkIterator(maxsize=1 + len(data or b"") // chunk)

    async def go() -> None:
        if data is not None:
            for offset in range(0, max(1, len(data)), chunk):
                await chunks.push(
                    rx.UploadChunk(
                        filename=filename,
                        offset=offset,
                        content_type="text/csv",
                        data=data[offset : offset + chunk],
                    )
                )
        await chunks.finish()
        event = Event(
            name=f"{MembersState.get_full_name()}.upload_members_csv",
            router_data=tab.router_data(),
            payload={"chunks": chunks},
        )
        if not tab._started:
            await tab._processor.start()
            tab._started = True
        future = await tab._processor.enqueue(tab.token, event)
        await asyncio.wait_for(future.wait_all(), timeout=60)
        await tab._processor.join(timeout=60)

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


def _invited(ctx: OrgContext) -> set[str]:
    with tenant_session(ctx) as session:
        rows = invites.list_invites(session, ctx, limit=500)
    return {i.email for i in rows if i.status == "pending"}


def _series(reply: Reply, key: str) -> list[Any]:
    """The values a var took in the deltas sent to the browser, in order."""
    name = MembersState.get_full_name()
    return [d[name][key] for d in reply.deltas if key in d.get(name, {})]


def test_check_preview_confirm_progress_and_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(member_csv, "BATCH_ROWS", 2)  # several progress updates
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
        checked = upload(tab, data)
        assert _series(checked, "import_checked_rx_state_") == [0, 2, 4, 5], "checked in batches"
        assert _series(checked, "import_step_rx_state_") == ["checking", "preview"]
        state = tab.state(MembersState)
        assert state.import_step == "preview" and state.import_error == ""
        assert (state.import_total, state.import_ok, state.import_bad) == (5, 3, 2)
        assert [(r["line"], r["status"], r["message"]) for r in state.import_preview] == [
            ("2", "ok", "will be invited"),
            ("3", "error", state.import_preview[1]["message"]),
            ("4", "ok", "will be invited"),
            ("5", "ok", "will be invited"),
            ("6", "error", "duplicate in file (see line 2)"),
        ]
        assert state.import_preview[1]["message"].startswith("bad email")
        assert not set(good) & _invited(admin.ctx), "the preview wrote nothing"

        reply = tab.dispatch(MembersState.confirm_import())
        state = tab.state(MembersState)
        progress = _series(reply, "import_percent_rx_state_")
        steps = [p for i, p in enumerate(progress) if i == 0 or p != progress[i - 1]]
        assert steps == [0, 40, 80, 100], progress  # streamed while batches are invited
        assert state.import_step == "done" and state.import_percent == 100
        assert (state.import_invited, state.import_failed) == (3, 2)
        assert state.import_report_url == f"/api/imports/{state.import_id}/errors.csv"
        assert reply.toast("success", "Import finished: 3 invited, 2 failed.")
        assert {i["email"] for i in state.invites} >= set(good)  # the list was reloaded
        assert not set(good) & {r["email"] for r in state.rows}, "nobody joined yet"

        # a second Confirm (double click, replay) imports nothing more
        again = tab.dispatch(MembersState.confirm_import())
        assert not again.toasts("success")
    assert set(good) <= _invited(admin.ctx)
    assert not set(good) & set(_emails(admin.ctx))


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\xff\xfe bad bytes", "not UTF-8"),
        (b"mail,name\nx,y\n", "header"),
        (b"email,full_name\n" + b"a@example.com,A\n" * 140_000, "This file is 2.2 MB; the limit"),
        (b"email,full_name\n" + b"a@example.com,A\n" * 190_000, "This file is 2.9 MB; the limit"),
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


def test_a_file_the_browser_refused_is_explained_not_called_missing() -> None:
    """`rx.upload(max_size=2 MB)` drops a 2.85 MB file before it is sent: the reason stays
    beside the upload, also when Check is pressed with nothing to send."""
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, None)
        assert tab.state(MembersState).import_error == "Choose a CSV file first."
        tab.dispatch(MembersState.upload_rejected(2_988_442, "file-too-large"))
        says = "This file is 2.9 MB; the limit is 2 MB. Split it into smaller files."
        assert tab.state(MembersState).import_error == says
        upload(tab, None)
        assert tab.state(MembersState).import_error == says
        tab.dispatch(MembersState.upload_rejected("junk", "file-invalid-type"))
        assert "not a CSV file" in tab.state(MembersState).import_error
        upload(tab, _csv((f.unique_email("fine"), "Fine", "", "")))
        state = tab.state(MembersState)
        assert state.import_step == "preview" and state.import_error == ""


def test_staff_cannot_upload_or_confirm() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept_member(admin.ctx, Role.staff)
    email = f.unique_email("sneak")
    with StateHarness(cookie=staff.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        reply = upload(tab, _csv((email, "Sneak", "", "")))
        assert reply.toast("error", "not allowed")
        assert tab.state(MembersState).import_step == ""
    assert email not in _emails(admin.ctx) and email not in _invited(admin.ctx)


def test_admin_demoted_between_preview_and_confirm_imports_nothing() -> None:
    admin = f.new_admin()
    second = f.invite_and_accept_member(admin.ctx, Role.org_admin)
    email = f.unique_email("late")
    with StateHarness(cookie=second.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, _csv((email, "Late", "", "")))
        with tenant_session(admin.ctx) as session:
            members.do_change_role(
                session, admin.ctx, _emails(admin.ctx)[second.email].membership_id, Role.staff
            )
        reply = tab.dispatch(MembersState.confirm_import())
        assert reply.toast("error") and not reply.toasts("success")
    assert email not in _invited(admin.ctx)


def test_admin_demoted_during_the_import_stops_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session and role are checked again after each batch: a demotion mid-import stops
    it after the batch in flight."""
    monkeypatch.setattr(member_csv, "BATCH_ROWS", 1)
    admin = f.new_admin()
    second = f.invite_and_accept_member(admin.ctx, Role.org_admin)
    emails = [f.unique_email("mid") for _ in range(3)]
    real = member_import._import_batch

    def demote_after_first(*args: Any, **kw: Any) -> Any:
        done = real(*args, **kw)
        with tenant_session(admin.ctx) as session:
            members.do_change_role(
                session, admin.ctx, _emails(admin.ctx)[second.email].membership_id, Role.staff
            )
        return done

    with StateHarness(cookie=second.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, _csv(*[(e, "Mid Way", "", "") for e in emails]))
        monkeypatch.setattr(member_import, "_import_batch", demote_after_first)
        reply = tab.dispatch(MembersState.confirm_import())
        state = tab.state(MembersState)
        assert reply.toast("error") and not reply.toasts("success")
        assert "The import stopped after 1 of 3 rows" in state.import_error
    assert [e in _invited(admin.ctx) for e in emails] == [True, False, False]


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
        assert tab2.dispatch(MembersState.confirm_import()).toast("success", "1 invited")
    now = _invited(admin.ctx)
    assert second in now and first not in now


def test_five_thousand_rows_with_managers_through_the_handlers(backend: Any) -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    tag = f.unique("tab5k")
    data = _csv(
        *[
            (f"{tag}-{i}@example.com", f"Person {i}", "learner", boss.email)
            for i in range(member_csv.MAX_ROWS)
        ]
    )
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        started = time.perf_counter()
        checked = upload(tab, data)
        previewed = time.perf_counter()
        state = tab.state(MembersState)
        assert (state.import_step, state.import_ok, state.import_bad) == ("preview", 5000, 0)
        assert len(state.import_preview) == member_csv.PREVIEW_ROWS
        assert _series(checked, "import_checked_rx_state_")[-1] == 5000
        reply = tab.dispatch(MembersState.confirm_import())
        done = time.perf_counter()
        state = tab.state(MembersState)
        assert reply.toast("success", "Import finished: 5000 invited, 0 failed.")
        assert (state.import_step, state.import_invited, state.import_failed) == ("done", 5000, 0)
        assert len(_series(reply, "import_done_rx_state_")) >= 5000 // member_csv.BATCH_ROWS
    print(
        f"\n5000 rows through MembersState on {backend.name}: check {previewed - started:.2f} s,"
        f" import {done - previewed:.2f} s"
    )
    assert previewed - started < 15 and done - previewed < 90


def test_preview_and_summary_say_nothing_about_accounts() -> None:
    admin, known = f.new_admin(), f.new_admin()
    unknown = f.unique_email("nobody")
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, _csv((known.email, "Kay Known", "", ""), (unknown, "Una Unknown", "", "")))
        first, second = tab.state(MembersState).import_preview
        assert (first["status"], first["message"]) == (second["status"], second["message"])
        assert first["message"] == "will be invited"
        reply = tab.dispatch(MembersState.confirm_import())
        state = tab.state(MembersState)
        assert reply.toast("success", "Import finished: 2 invited, 0 failed.")
        assert (state.import_invited, state.import_failed) == (2, 0)
        assert {i["email"] for i in state.invites if i["status"] == "pending"} >= {
            known.email,
            unknown,
        }
        assert {known.email, unknown}.isdisjoint(r["email"] for r in state.rows)
        assert known.ctx.full_name not in repr(tab.state(rx.State).dict())
    assert known.email not in _emails(admin.ctx)


def test_an_invite_toast_is_the_same_for_an_account_elsewhere_and_a_new_address() -> None:
    admin, known = f.new_admin(), f.new_admin()
    unknown = f.unique_email("nobody")
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        toasts = [
            tab.dispatch(MembersState.invite({"email": email, "role": "learner"})).toasts()
            for email in (known.email, unknown)
        ]
        assert [t.replace(known.email, "X") for t in toasts[0]] == [
            t.replace(unknown, "X") for t in toasts[1]
        ]
        assert known.ctx.full_name not in repr(tab.state(rx.State).dict())
    assert known.email not in _emails(admin.ctx)


def test_the_invite_page_offers_the_name_from_the_file(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.state.account import InviteState

    made: list[str] = []
    real = invites.new_token
    monkeypatch.setattr(invites, "new_token", lambda: made.append(real()) or made[-1])
    admin = f.new_admin()
    email = f.unique_email("named")
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, _csv((email, "Nora Named", "", "")))
        tab.dispatch(MembersState.confirm_import())
    (token,) = made
    with StateHarness(path=f"/invite/{token}") as guest:
        guest.dispatch(InviteState.load())
        state = guest.state(InviteState)
        assert (state.invite_email, state.invite_full_name, state.invalid) == (
            email,
            "Nora Named",
            "",
        )


def test_the_check_and_the_import_run_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database work runs in a worker thread (a slow file never blocks other tabs or
    /health); the event loop's thread only publishes progress."""
    threads: dict[str, bool] = {}

    def spy(name: str) -> None:
        real = getattr(member_import, name)

        def wrapped(*args: Any, **kw: Any) -> Any:
            threads[name] = threading.current_thread() is threading.main_thread()
            return real(*args, **kw)

        monkeypatch.setattr(member_import, name, wrapped)

    spy("do_stage_import")
    spy("do_confirm_import")
    admin = f.new_admin()
    with StateHarness(cookie=admin.token, path="/admin/members") as tab:
        tab.dispatch(MembersState.load())
        upload(tab, _csv((f.unique_email("thread"), "Thread", "", "")))
        assert tab.dispatch(MembersState.confirm_import()).toast("success", "1 invited")
    assert threads == {"do_stage_import": False, "do_confirm_import": False}
