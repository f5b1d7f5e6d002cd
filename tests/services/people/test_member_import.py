"""Bulk CSV import of members: preview checks, the import as invites (never a membership
without the person's consent), staging and confirming once, acceptance, the error report, a
full-size file. (Reading the file itself: `test_member_csv.py`.)"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from app.models.user import Role
from app.services.comms import mail
from app.services.config import writes
from app.services.core import audit
from app.services.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.services.core.tenancy import OrgContext, public_session, tenant_session
from app.services.people import auth, invites, member_csv, member_import, members
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")

Peek = Callable[..., list[Any]]


def _csv(*rows: tuple[str, ...], header: str = "email,full_name,role,manager_email") -> bytes:
    out = io.StringIO()
    out.write(header + "\n")
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


def _set_limits(ctx: OrgContext, **limits: int) -> None:
    assert ctx.org_id is not None
    with tenant_session(ctx) as session:
        writes.set_overrides(session, ctx.org_id, {"limits": limits})
        session.commit()


def _preview(ctx: OrgContext, data: bytes, org_id: Any = None) -> member_csv.Preview:
    with tenant_session(ctx) as session:
        _rows, shown = member_csv.preview(session, ctx, org_id=org_id, data=data)
    return shown


def _import(ctx: OrgContext, data: bytes, org_id: Any = None) -> member_import.ImportSummary:
    """What the members page does: stage the file (Check), then confirm it (Confirm)."""
    with tenant_session(ctx) as session:
        staged = member_import.do_stage_import(
            session, ctx, org_id=org_id, data=data, filename="m.csv"
        )
        return member_import.do_confirm_import(session, ctx, staged.import_id)


def _members(ctx: OrgContext, org_id: Any = None) -> dict[str, members.MemberRow]:
    with tenant_session(ctx) as session:
        page = members.list_members(session, ctx, org_id=org_id, page_size=500)
    return {r.email: r for r in page.rows}


def _users(peek: Peek, email: str) -> int:
    return int(peek("SELECT count(*) FROM users WHERE email = :e", e=email)[0][0])


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Invite tokens by invited email, recorded as invites are made (whatever the mail
    does with the link)."""
    made: list[str] = []
    real = invites.new_token

    def record() -> str:
        made.append(real())
        return made[-1]

    monkeypatch.setattr(invites, "new_token", record)

    class ByEmail(dict[str, str]):
        def __missing__(self, email: str) -> str:
            for token in reversed(made):  # the newest invite of that address
                if invites.preview(token).email == email:
                    return token
            raise KeyError(email)

    return ByEmail()


def _orgs_of(user_id: Any) -> dict[str, str]:
    with public_session() as session:
        return {c.id: c.role for c in auth.user_orgs(session, user_id)}


def _pending(ctx: OrgContext, email: str) -> list[Any]:
    with tenant_session(ctx) as session:
        rows = invites.list_invites(session, ctx, limit=500)
    return [r for r in rows if r.email == email and r.status == "pending"]


# --------------------------------------------------------------------------- preview + import


def test_two_bad_rows_invite_the_rest_and_are_reported(peek: Peek) -> None:
    admin = f.new_admin()
    existing = f.new_admin()  # an account that exists elsewhere: invited like anyone
    good = [f.unique_email("new") for _ in range(2)]
    data = _csv(
        (good[0], "New One", "", ""),
        ("not-an-email", "Broken", "learner", ""),
        (existing.email, "Whoever", "instructor", ""),
        (good[1], "New Two", "wizard", ""),
    )
    shown = _preview(admin.ctx, data)
    assert (shown.total, shown.ok, shown.errors) == (4, 2, 2)
    statuses = [(c.status, c.action, c.message.split(":")[0]) for c in shown.rows]
    assert statuses == [
        ("ok", "invite", ""),
        ("error", "", "bad email"),
        ("ok", "invite", ""),
        ("error", "", "unknown role 'wizard'"),
    ]

    summary = _import(admin.ctx, data)
    assert (summary.total, summary.invited, summary.failed) == (4, 2, 2)
    assert [r["line"] for r in summary.failures] == [3, 5]
    assert {good[0], existing.email}.isdisjoint(_members(admin.ctx)), "nobody joins yet"
    assert _users(peek, good[0]) == 0 and _users(peek, good[1]) == 0
    (first,) = _pending(admin.ctx, good[0])
    (second,) = _pending(admin.ctx, existing.email)
    assert (first.role, second.role) == (Role.learner, Role.instructor)
    assert not _pending(admin.ctx, good[1])

    with tenant_session(admin.ctx) as session:
        sent, _ = mail.list_mail(session, admin.ctx, page_size=100)
        events = audit.list_events(session, admin.ctx, page_size=100).rows
        report = member_import.error_report_csv(session, admin.ctx, summary.import_id)
    assert {m.kind for m in sent if m.to_email in (good[0], existing.email)} == {"invite"}
    assert not [m for m in sent if m.to_email == good[1]]
    invited = [e for e in events if e.action == "invite.sent"]
    assert {e.target for e in invited} == {good[0], existing.email}
    assert {e.detail["import_id"] for e in invited} == {summary.import_id}
    (finished,) = [e for e in events if e.action == "member.import_finished"]
    assert finished.detail["invited"] == 2 and finished.detail["failed"] == 2
    lines = list(csv.DictReader(io.StringIO(report)))
    assert [(r["line"], r["email"]) for r in lines] == [("3", "not-an-email"), ("5", good[1])]
    assert lines[1]["message"] == "unknown role 'wizard'"


def test_the_invite_link_lets_a_new_person_join_with_the_suggested_name(
    tokens: dict[str, str],
) -> None:
    admin = f.new_admin()
    email = f.unique_email("welcome")
    _import(admin.ctx, _csv((email, "Wel Come", "", "")))
    shown = invites.preview(tokens[email])
    assert (shown.full_name, shown.role, shown.status) == ("Wel Come", Role.learner, "pending")
    invites.do_accept_invite(tokens[email], full_name="Wel Come", password=f.PASSWORD, ip=f.IP)
    assert f.signed_in(email).ctx.org_id == admin.org_id
    assert _members(admin.ctx)[email].full_name == "Wel Come"


def test_seat_limit_counts_rows_earlier_in_the_file_and_pending_invites() -> None:
    admin = f.new_admin()
    f.invite_and_accept(admin.ctx, Role.learner)
    _set_limits(admin.ctx, max_students=3)
    emails = [f.unique_email("seat") for _ in range(4)]
    data = _csv(
        *[(e, "Seat Taker", "learner", "") for e in emails], (f.unique_email(), "S", "staff", "")
    )
    shown = _preview(admin.ctx, data)
    assert [c.message for c in shown.rows] == [
        "",
        "",
        "seat limit reached (learner seats)",
        "seat limit reached (learner seats)",
        "",
    ]
    summary = _import(admin.ctx, data)
    assert (summary.invited, summary.failed) == (3, 2)
    assert [r["message"] for r in summary.failures] == ["seat limit reached (learner seats)"] * 2
    # The two pending invites hold their seats: one more learner does not fit.
    more = _preview(admin.ctx, _csv((f.unique_email(), "One More", "", "")))
    assert more.rows[0].message == "seat limit reached (learner seats)"


def test_duplicate_rows_and_reimport_send_nothing_twice(peek: Peek) -> None:
    admin = f.new_admin()
    a, b = f.unique_email("dup"), f.unique_email("dup")
    data = _csv((a, "Aa", "", ""), (b, "Bb", "", ""), (a.upper(), "Aa again", "", ""))
    shown = _preview(admin.ctx, data)
    assert shown.rows[2].message == "duplicate in file (see line 2)"
    first = _import(admin.ctx, data)
    assert (first.invited, first.failed) == (2, 1)
    assert first.failures[0]["message"] == "duplicate in file (see line 2)"

    again = _import(admin.ctx, data)
    assert (again.invited, again.failed) == (0, 3)
    assert [r["message"] for r in again.failures][:2] == ["already has a pending invite"] * 2
    for email in (a, b):
        assert len(_pending(admin.ctx, email)) == 1
        assert peek("SELECT count(*) FROM outbound_emails WHERE to_email = :e", e=email)[0][0] == 1
        assert _users(peek, email) == 0


def test_an_active_member_is_already_a_member() -> None:
    admin = f.new_admin()
    member = f.invite_and_accept_member(admin.ctx, Role.learner)
    shown = _preview(admin.ctx, _csv((member.email, "", "instructor", "")))
    assert shown.rows[0].message == "already a member"
    assert _import(admin.ctx, _csv((member.email, "", "instructor", ""))).failed == 1
    assert _members(admin.ctx)[member.email].role == Role.learner


def test_a_failed_row_leaves_nothing_behind(peek: Peek, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = f.new_admin()
    doomed, fine = f.unique_email("doomed"), f.unique_email("fine")
    real_queue = mail.queue

    def queue(session: Any, **kw: Any) -> Any:
        if kw["to"] == doomed:  # fails after the invite was added
            raise ValidationFailed("mail server says no")
        return real_queue(session, **kw)

    monkeypatch.setattr(mail, "queue", queue)
    summary = _import(admin.ctx, _csv((doomed, "Doomed", "", ""), (fine, "Fine", "", "")))
    assert (summary.invited, summary.failed) == (1, 1)
    assert summary.failures[0]["message"] == "mail server says no"
    assert peek("SELECT count(*) FROM invites WHERE email = :e", e=doomed)[0][0] == 0
    assert peek("SELECT count(*) FROM audit_events WHERE target = :e", e=doomed)[0][0] == 0
    assert peek("SELECT count(*) FROM outbound_emails WHERE to_email = :e", e=doomed)[0][0] == 0
    assert len(_pending(admin.ctx, fine)) == 1


def test_managers_must_already_manage_in_the_org(tokens: dict[str, str]) -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    teacher = f.invite_and_accept_member(admin.ctx, Role.instructor)
    elsewhere = f.new_admin()  # manages their own org, not this one
    new_boss, l1, l2, l3, l4, l5 = (f.unique_email(p) for p in ("nb", "l1", "l2", "l3", "l4", "l5"))
    data = _csv(
        (l1, "Learner One", "", boss.email),
        (new_boss, "New Boss", "manager", ""),
        (l2, "Learner Two", "learner", new_boss),
        (l3, "Learner Three", "", teacher.email),
        (l4, "Learner Four", "", f.unique_email("ghost")),
        (l5, "Learner Five", "", elsewhere.email),
        (f.unique_email("s"), "Staff", "staff", boss.email),
    )
    shown = _preview(admin.ctx, data)
    assert [c.message for c in shown.rows] == [
        "",
        "",
        "the manager is only invited in this file: assign them once they joined",
        member_csv.MANAGER_NOT_FOUND,
        member_csv.MANAGER_NOT_FOUND,
        member_csv.MANAGER_NOT_FOUND,  # an account elsewhere reads like no account at all
        "only learners have a manager",
    ]
    summary = _import(admin.ctx, data)
    assert (summary.invited, summary.failed) == (2, 5)
    assert len(_pending(admin.ctx, l1)) == 1
    invites.do_accept_invite(tokens[l1], full_name="Learner One", password=f.PASSWORD, ip=f.IP)
    assert _members(admin.ctx)[l1].manager_user_id == str(boss.user_id)
    with tenant_session(admin.ctx) as session:
        team = members.team_of(session, admin.ctx, boss.user_id)
    assert [r.email for r in team] == [l1]


def test_only_admins_import_and_only_into_their_subtree() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept(admin.ctx, Role.staff)
    other = f.new_admin()
    data = _csv((f.unique_email(), "X", "", ""))
    with tenant_session(staff) as session, pytest.raises(PermissionDenied):
        member_csv.preview(session, staff, org_id=None, data=data)
    with tenant_session(staff) as session, pytest.raises(PermissionDenied):
        member_import.do_stage_import(session, staff, org_id=None, data=data)
    with tenant_session(other.ctx) as session, pytest.raises(NotFound):
        member_csv.preview(session, other.ctx, org_id=admin.org_id, data=data)
    with tenant_session(other.ctx) as session, pytest.raises(NotFound):
        member_import.do_stage_import(session, other.ctx, org_id=admin.org_id, data=data)


def test_import_into_a_child_org_of_the_subtree() -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    email = f.unique_email("kid")
    summary = _import(admin.ctx, _csv((email, "Kid", "", "")), org_id=child.id)
    assert summary.invited == 1 and summary.org_id == str(child.id)
    with tenant_session(admin.ctx) as session:
        in_child = invites.list_invites(session, admin.ctx, org_id=child.id)
    assert [i.email for i in in_child] == [email]
    assert not _pending(admin.ctx, email)


def test_report_cells_cannot_smuggle_spreadsheet_formulas() -> None:
    admin = f.new_admin()
    summary = _import(admin.ctx, _csv(("=HYPERLINK(1)", "@SUM(A1)", "", "")))
    with tenant_session(admin.ctx) as session:
        report = member_import.error_report_csv(session, admin.ctx, summary.import_id)
    (row,) = list(csv.DictReader(io.StringIO(report)))
    assert row["email"] == "'=HYPERLINK(1)" and row["full_name"] == "'@SUM(A1)"


def test_a_staged_preview_is_confirmed_once_and_only_by_its_admin() -> None:
    admin = f.new_admin()
    other_admin = f.invite_and_accept(admin.ctx, Role.org_admin)
    email = f.unique_email("staged")
    data = _csv((email, "Staged", "", ""))
    with tenant_session(admin.ctx) as session:
        staged = member_import.do_stage_import(session, admin.ctx, org_id=None, data=data)
    assert (staged.preview.total, staged.preview.ok) == (1, 1) and staged.org_name
    assert not _pending(admin.ctx, email)
    with tenant_session(other_admin) as session, pytest.raises(NotFound):
        member_import.claim_import(session, other_admin, staged.import_id)
    with tenant_session(other_admin) as session, pytest.raises(NotFound):
        member_import.do_confirm_import(session, other_admin, staged.import_id)
    with tenant_session(admin.ctx) as session:
        org_id, claimed = member_import.claim_import(session, admin.ctx, staged.import_id)
    assert org_id == admin.org_id and claimed == member_csv.parse_csv(data)
    with tenant_session(admin.ctx) as session, pytest.raises(Conflict):
        member_import.claim_import(session, admin.ctx, staged.import_id)
    assert not _pending(admin.ctx, email)


def test_a_confirmed_import_runs_once(peek: Peek) -> None:
    """A double click on Confirm: the second claim is refused, and an import that ran
    cannot be run again."""
    admin = f.new_admin()
    email = f.unique_email("once")
    data = _csv((email, "Once", "", ""))
    with tenant_session(admin.ctx) as session:
        staged_id = member_import.do_stage_import(
            session, admin.ctx, org_id=None, data=data
        ).import_id
        _org, claimed = member_import.claim_import(session, admin.ctx, staged_id)
        with pytest.raises(Conflict):
            member_import.claim_import(session, admin.ctx, staged_id)
        summary = member_import.invite_rows(session, admin.ctx, import_id=staged_id, rows=claimed)
        assert summary.invited == 1
        with pytest.raises(Conflict):
            member_import.invite_rows(session, admin.ctx, import_id=staged_id, rows=claimed)
        with pytest.raises(Conflict):
            member_import.do_confirm_import(session, admin.ctx, staged_id)
    assert peek("SELECT count(*) FROM invites WHERE email = :e", e=email)[0][0] == 1


def test_confirm_tells_when_it_claimed_and_after_each_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`confirm_import` says when the import is claimed (a refused claim never says so)
    and reports progress after each batch, each batch invited before it is reported."""
    monkeypatch.setattr(member_csv, "BATCH_ROWS", 2)
    admin = f.new_admin()
    emails = [f.unique_email("step") for _ in range(5)]
    heard: list[Any] = []

    def progress(done: int, total: int) -> None:
        heard.append((done, total, len([e for e in emails if _pending(admin.ctx, e)])))

    with tenant_session(admin.ctx) as session:
        staged = member_import.do_stage_import(
            session, admin.ctx, org_id=None, data=_csv(*[(e, "Step", "", "") for e in emails])
        )
        summary = member_import.do_confirm_import(
            session,
            admin.ctx,
            staged.import_id,
            on_claimed=lambda: heard.append("claimed"),
            on_progress=progress,
        )
        assert heard == ["claimed", (2, 5, 2), (4, 5, 4), (5, 5, 5)]
        assert (summary.total, summary.invited, summary.failed) == (5, 5, 0)
        heard.clear()
        with pytest.raises(Conflict):
            member_import.do_confirm_import(
                session, admin.ctx, staged.import_id, on_claimed=lambda: heard.append("claimed")
            )
    assert heard == []


def test_a_new_preview_replaces_the_admins_unconfirmed_one(peek: Peek) -> None:
    admin = f.new_admin()
    data, name = _csv((f.unique_email(), "One", "", "")), f.unique("staged") + ".csv"
    with tenant_session(admin.ctx) as session:
        first = member_import.do_stage_import(
            session, admin.ctx, org_id=None, data=data, filename=name
        )
        second = member_import.do_stage_import(
            session, admin.ctx, org_id=None, data=data, filename=name
        )
    with tenant_session(admin.ctx) as session, pytest.raises(NotFound):
        member_import.claim_import(session, admin.ctx, first.import_id)
    kept = peek("SELECT id, status FROM member_imports WHERE filename = :n", n=name)
    assert [(str(uuid.UUID(str(r[0]))), r[1]) for r in kept] == [(second.import_id, "preview")]


# --------------------------------------------------------------------------- consent


def test_an_account_of_another_org_is_invited_never_added(peek: Peek) -> None:
    admin, other = f.new_admin(), f.new_admin()
    before = _orgs_of(other.user_id)
    summary = _import(admin.ctx, _csv((other.email, "Typed By The Importer", "instructor", "")))
    assert summary.failed == 0
    assert other.email not in _members(admin.ctx)
    assert _orgs_of(other.user_id) == before
    (invite,) = _pending(admin.ctx, other.email)
    assert invite.role == Role.instructor
    with tenant_session(admin.ctx) as session:
        sent, _ = mail.list_mail(session, admin.ctx, page_size=100)
    (msg,) = [m for m in sent if m.to_email == other.email]
    assert msg.kind == "invite"


def _verdict(check: member_csv.RowCheck) -> tuple[str, str, str, str]:
    return (check.status, check.action, check.message, check.role)


def test_the_preview_says_the_same_whether_or_not_an_address_has_an_account() -> None:
    admin, known = f.new_admin(), f.new_admin()
    unknown = f.unique_email("nobody")
    shown = _preview(
        admin.ctx, _csv((known.email, "Kay Known", "", ""), (unknown, "Una Unknown", "", ""))
    )
    assert (shown.ok, shown.errors) == (2, 0)
    assert _verdict(shown.rows[0]) == _verdict(shown.rows[1])


def test_the_outcome_report_mail_and_audit_are_the_same_for_known_and_unknown(
    peek: Peek,
) -> None:
    admin, known = f.new_admin(), f.new_admin()
    unknown = f.unique_email("nobody")
    summary = _import(
        admin.ctx, _csv((known.email, "Kay Known", "", ""), (unknown, "Una Unknown", "", ""))
    )
    with tenant_session(admin.ctx) as session:
        record = member_import.get_import(session, admin.ctx, summary.import_id)
        sent, _ = mail.list_mail(session, admin.ctx, page_size=100)
        events = audit.list_events(session, admin.ctx, page_size=100).rows
    by_email = {r["email"]: r for r in record.report}
    assert (by_email[known.email]["status"], by_email[known.email]["message"]) == (
        by_email[unknown]["status"],
        by_email[unknown]["message"],
    )
    mails = {m.to_email: (m.kind, m.subject) for m in sent}
    assert mails[known.email] == mails[unknown]
    actions = {e.target: e.action for e in events if e.target in (known.email, unknown)}
    assert actions[known.email] == actions[unknown]
    assert _users(peek, unknown) == 0, "no account is made for a new address"


def test_accepting_the_invite_gives_the_files_role_and_manager(tokens: dict[str, str]) -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    existing, new = f.new_admin(), f.unique_email("newbie")
    _import(
        admin.ctx,
        _csv(
            (existing.email, "Ex Isting", "learner", boss.email),
            (new, "Nina Newbie", "", boss.email),
        ),
    )
    assert invites.preview(tokens[new]).full_name == "Nina Newbie"
    invites.do_accept_invite(tokens[existing.email], signed_in_user_id=existing.user_id)
    invites.do_accept_invite(tokens[new], full_name="Nina Newbie", password=f.PASSWORD, ip=f.IP)
    now = _members(admin.ctx)
    for email in (existing.email, new):
        assert now[email].role == Role.learner and now[email].is_active
        assert now[email].manager_user_id == str(boss.user_id)
    assert now[new].full_name == "Nina Newbie"
    with tenant_session(admin.ctx) as session:
        team = members.team_of(session, admin.ctx, boss.user_id)
    assert {r.email for r in team} == {existing.email, new}


def test_a_manager_gone_by_acceptance_leaves_the_member_without_one(
    tokens: dict[str, str],
) -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    email = f.unique_email("late")
    _import(admin.ctx, _csv((email, "Late Joiner", "learner", boss.email)))
    with tenant_session(admin.ctx) as session:
        members.do_change_role(
            session, admin.ctx, _members(admin.ctx)[boss.email].membership_id, Role.learner
        )
    invites.do_accept_invite(tokens[email], full_name="Late Joiner", password=f.PASSWORD, ip=f.IP)
    joined = _members(admin.ctx)[email]
    assert joined.is_active and joined.role == Role.learner and joined.manager_user_id == ""


def test_an_inactive_member_is_invited_again_and_acceptance_reactivates(
    tokens: dict[str, str],
) -> None:
    admin = f.new_admin()
    old = f.invite_and_accept_member(admin.ctx, Role.learner)
    row = _members(admin.ctx)[old.email]
    with tenant_session(admin.ctx) as session:
        members.do_set_active(session, admin.ctx, row.membership_id, False)
    summary = _import(admin.ctx, _csv((old.email, "", "instructor", "")))
    assert summary.failed == 0
    assert not _members(admin.ctx)[old.email].is_active, "nothing changes before acceptance"
    assert [i.role for i in _pending(admin.ctx, old.email)] == [Role.instructor]
    invites.do_accept_invite(tokens[old.email], signed_in_user_id=old.user_id)
    now = _members(admin.ctx)[old.email]
    assert now.is_active and now.role == Role.instructor and now.membership_id == row.membership_id


# --------------------------------------------------------------------------- a full file


def test_five_thousand_rows_with_a_manager_column_preview_and_import_completely(
    peek: Peek, backend: Any
) -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    tag = f.unique("bulk")
    data = _csv(
        *[
            (f"{tag}-{i}@example.com", f"Bulk Person {i}", "learner", boss.email)
            for i in range(member_csv.MAX_ROWS)
        ]
    )
    started = time.perf_counter()
    shown = _preview(admin.ctx, data)
    checked = time.perf_counter()
    assert (shown.total, shown.ok, shown.errors) == (5000, 5000, 0)
    summary = _import(admin.ctx, data)
    done = time.perf_counter()
    assert (summary.total, summary.invited, summary.failed) == (5000, 5000, 0)
    ((count, managers),) = peek(
        "SELECT count(*), count(DISTINCT manager_id) FROM invites"
        " WHERE email LIKE :p AND accepted_at IS NULL",
        p=f"{tag}-%",
    )
    ((manager_id,),) = peek(
        "SELECT DISTINCT manager_id FROM invites WHERE email LIKE :p", p=f"{tag}-%"
    )
    assert (count, managers) == (5000, 1)
    assert uuid.UUID(str(manager_id)) == boss.user_id
    assert peek("SELECT count(*) FROM users WHERE email LIKE :p", p=f"{tag}-%")[0][0] == 0
    print(
        f"\n5000 rows with managers on {backend.name}: preview {checked - started:.2f} s,"
        f" import {done - checked:.2f} s"
    )
    assert checked - started < 15, "the preview of a full file takes seconds, not minutes"
    assert done - checked < 90
