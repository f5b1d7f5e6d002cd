"""Bulk CSV import of members: parsing, preview checks, row-by-row import, error report."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest

from app.models.user import Role
from app.services import audit, auth, mail, member_import, members, org_config
from app.services.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from app.services.security import verify_password
from app.services.tenancy import OrgContext, public_session, tenant_session
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
        org_config.set_overrides(session, ctx.org_id, {"limits": limits})
        session.commit()


def _preview(ctx: OrgContext, data: bytes, org_id: Any = None) -> member_import.Preview:
    with tenant_session(ctx) as session:
        _rows, shown = member_import.preview(session, ctx, org_id=org_id, data=data)
    return shown


def _import(ctx: OrgContext, data: bytes, org_id: Any = None) -> member_import.ImportSummary:
    with tenant_session(ctx) as session:
        rows = member_import.parse_csv(data)
        return member_import.run_import(session, ctx, org_id=org_id, rows=rows, filename="m.csv")


def _members(ctx: OrgContext, org_id: Any = None) -> dict[str, members.MemberRow]:
    with tenant_session(ctx) as session:
        page = members.list_members(session, ctx, org_id=org_id, page_size=500)
    return {r.email: r for r in page.rows}


def _users(peek: Peek, email: str) -> int:
    return int(peek("SELECT count(*) FROM users WHERE email = :e", e=email)[0][0])


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"email,full_name\n", "no rows"),
        (b"name,mail\nx,y\n", "header"),
        ("email,full_name\nzoë@example.com,Zoë\n".encode("latin-1"), "UTF-8"),
        (b"email,full_name\n" + b"a@example.com,A\n" * 140_000, "larger than 2 MB"),
        (b"email,full_name\n" + b"a@example.com,A\n" * 5001, "more than 5000 rows"),
    ],
)
def test_unusable_files_are_refused_with_a_clear_message(data: bytes, says: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        member_import.parse_csv(data)
    assert says in err.value.message and err.value.field == "file"


def test_bom_columns_in_any_order_and_blank_lines_are_fine() -> None:
    data = "\ufeffFull Name,Email\n\nAda,ADA@example.com\n".encode()
    (row,) = member_import.parse_csv(data)
    assert (row.email, row.full_name, row.role, row.line) == ("ADA@example.com", "Ada", "", 3)


# --------------------------------------------------------------------------- preview + import


def test_two_bad_rows_import_the_rest_and_are_reported(peek: Peek) -> None:
    admin = f.new_admin()
    existing = f.new_admin()  # an account that exists elsewhere: gets added
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
        ("ok", "create", ""),
        ("error", "", "bad email"),
        ("ok", "add", ""),
        ("error", "", "unknown role 'wizard'"),
    ]
    assert _users(peek, good[0]) == 0, "the preview writes nothing"

    summary = _import(admin.ctx, data)
    assert (summary.created, summary.added, summary.failed) == (1, 1, 2)
    assert [r["line"] for r in summary.failures] == [3, 5]
    now = _members(admin.ctx)
    assert now[good[0]].role == Role.learner and now[good[0]].full_name == "New One"
    assert now[existing.email].role == Role.instructor
    assert good[1] not in now and _users(peek, good[1]) == 0

    # the new account has a random password nobody knows, and a welcome link by mail
    with public_session() as session:
        user = auth.find_user_by_email(session, good[0])
        assert user is not None and not verify_password(user.password_hash, "")
    with tenant_session(admin.ctx) as session:
        sent, _ = mail.list_mail(session, admin.ctx, page_size=100)
        events = audit.list_events(session, admin.ctx, page_size=100).rows
        report = member_import.error_report_csv(session, admin.ctx, summary.import_id)
    welcome = [m for m in sent if m.to_email == good[0]]
    assert len(welcome) == 1 and "choose your password" in welcome[0].subject
    assert [m for m in sent if m.to_email == existing.email]
    imported = [e for e in events if e.action == "member.imported"]
    assert {e.target for e in imported} == {good[0], existing.email}
    (finished,) = [e for e in events if e.action == "member.import_finished"]
    assert finished.detail["created"] == 1 and finished.detail["failed"] == 2
    lines = list(csv.DictReader(io.StringIO(report)))
    assert [(r["line"], r["email"]) for r in lines] == [("3", "not-an-email"), ("5", good[1])]
    assert lines[1]["message"] == "unknown role 'wizard'"


def test_welcome_link_lets_the_new_member_choose_a_password() -> None:
    admin = f.new_admin()
    email = f.unique_email("welcome")
    _import(admin.ctx, _csv((email, "Wel Come", "", "")))
    with tenant_session(admin.ctx) as session:
        sent, _ = mail.list_mail(session, admin.ctx, page_size=100)
    (msg,) = [m for m in sent if m.to_email == email]
    token = msg.body_text.split("/reset/", 1)[1].split()[0]
    with public_session() as session:
        auth.reset_password(session, token=token, password=f.PASSWORD)
    assert f.signed_in(email).ctx.org_id == admin.org_id


def test_seat_limit_counts_rows_earlier_in_the_file() -> None:
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
    assert (summary.created, summary.failed) == (3, 2)
    assert [r["message"] for r in summary.failures] == ["seat limit reached (learner seats)"] * 2


def test_duplicate_rows_and_reimport_change_nothing(peek: Peek) -> None:
    admin = f.new_admin()
    a, b = f.unique_email("dup"), f.unique_email("dup")
    data = _csv((a, "Aa", "", ""), (b, "Bb", "", ""), (a.upper(), "Aa again", "", ""))
    shown = _preview(admin.ctx, data)
    assert shown.rows[2].message == "duplicate in file (see line 2)"
    first = _import(admin.ctx, data)
    assert (first.created, first.added, first.failed) == (2, 0, 1)
    assert first.failures[0]["message"] == "duplicate in file (see line 2)"
    before = _members(admin.ctx)

    again = _import(admin.ctx, data)
    assert (again.created, again.added, again.failed) == (0, 0, 3)
    assert [r["message"] for r in again.failures][:2] == ["already a member"] * 2
    assert _members(admin.ctx) == before
    assert _users(peek, a) == 1 and _users(peek, b) == 1
    assert (
        int(
            peek(
                "SELECT count(*) FROM password_resets r JOIN users u ON u.id = r.user_id"
                " WHERE u.email = :e",
                e=a,
            )[0][0]
        )
        == 1
    )


def test_an_inactive_member_is_reactivated_with_the_file_role() -> None:
    admin = f.new_admin()
    old = f.invite_and_accept_member(admin.ctx, Role.learner)
    row = _members(admin.ctx)[old.email]
    with tenant_session(admin.ctx) as session:
        members.set_active(session, admin.ctx, row.membership_id, False)
    summary = _import(admin.ctx, _csv((old.email, "", "instructor", "")))
    assert (summary.added, summary.failed) == (1, 0)
    now = _members(admin.ctx)[old.email]
    assert now.is_active and now.role == Role.instructor and now.membership_id == row.membership_id


def test_a_failed_row_leaves_nothing_behind(peek: Peek, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = f.new_admin()
    doomed, fine = f.unique_email("doomed"), f.unique_email("fine")
    real_queue = mail.queue

    def queue(session: Any, **kw: Any) -> Any:
        if kw["to"] == doomed:  # fails after the user and membership were added
            raise ValidationFailed("mail server says no")
        return real_queue(session, **kw)

    monkeypatch.setattr(member_import.mail, "queue", queue)
    summary = _import(admin.ctx, _csv((doomed, "Doomed", "", ""), (fine, "Fine", "", "")))
    assert (summary.created, summary.failed) == (1, 1)
    assert summary.failures[0]["message"] == "mail server says no"
    assert _users(peek, doomed) == 0
    assert peek("SELECT count(*) FROM audit_events WHERE target = :e", e=doomed)[0][0] == 0
    assert peek("SELECT count(*) FROM outbound_emails WHERE to_email = :e", e=doomed)[0][0] == 0
    assert _users(peek, fine) == 1 and fine in _members(admin.ctx)


def test_managers_from_the_org_or_earlier_rows() -> None:
    admin = f.new_admin()
    boss = f.invite_and_accept_member(admin.ctx, Role.manager)
    teacher = f.invite_and_accept_member(admin.ctx, Role.instructor)
    new_boss, l1, l2, l3, l4 = (f.unique_email(p) for p in ("nb", "l1", "l2", "l3", "l4"))
    data = _csv(
        (l1, "Learner One", "", boss.email),
        (new_boss, "New Boss", "manager", ""),
        (l2, "Learner Two", "learner", new_boss),
        (l3, "Learner Three", "", teacher.email),
        (l4, "Learner Four", "", f.unique_email("ghost")),
        (f.unique_email("s"), "Staff", "staff", boss.email),
    )
    shown = _preview(admin.ctx, data)
    assert [c.message.split(" (")[0] for c in shown.rows] == [
        "",
        "",
        "",
        "manager not found",
        "manager not found",
        "only learners have a manager",
    ]
    summary = _import(admin.ctx, data)
    assert (summary.created, summary.failed) == (3, 3)
    now = _members(admin.ctx)
    assert now[l1].manager_user_id == str(boss.user_id)
    assert now[l2].manager_name == "New Boss"
    with tenant_session(admin.ctx) as session:
        team = members.team_of(session, admin.ctx, boss.user_id)
    assert [r.email for r in team] == [l1]


def test_only_admins_import_and_only_into_their_subtree() -> None:
    admin = f.new_admin()
    staff = f.invite_and_accept(admin.ctx, Role.staff)
    other = f.new_admin()
    data = _csv((f.unique_email(), "X", "", ""))
    with tenant_session(staff) as session, pytest.raises(PermissionDenied):
        member_import.preview(session, staff, org_id=None, data=data)
    with tenant_session(other.ctx) as session, pytest.raises(NotFound):
        member_import.preview(session, other.ctx, org_id=admin.org_id, data=data)
    with tenant_session(other.ctx) as session, pytest.raises(NotFound):
        member_import.start_import(session, other.ctx, org_id=admin.org_id, total=1)


def test_import_into_a_child_org_of_the_subtree() -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    email = f.unique_email("kid")
    summary = _import(admin.ctx, _csv((email, "Kid", "", "")), org_id=child.id)
    assert summary.created == 1 and summary.org_id == str(child.id)
    assert email in _members(admin.ctx, org_id=child.id)
    assert email not in _members(admin.ctx)


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
    rows = member_import.parse_csv(_csv((email, "Staged", "", "")))
    with tenant_session(admin.ctx) as session:
        staged = member_import.stage_import(session, admin.ctx, org_id=None, rows=rows)
    assert email not in _members(admin.ctx)
    with tenant_session(other_admin) as session, pytest.raises(NotFound):
        member_import.claim_import(session, other_admin, staged.id)
    with tenant_session(admin.ctx) as session:
        org_id, claimed = member_import.claim_import(session, admin.ctx, staged.id)
    assert org_id == admin.org_id and claimed == rows
    with tenant_session(admin.ctx) as session, pytest.raises(Conflict):
        member_import.claim_import(session, admin.ctx, staged.id)


def test_a_new_preview_replaces_the_admins_unconfirmed_one() -> None:
    admin = f.new_admin()
    rows = member_import.parse_csv(_csv((f.unique_email(), "One", "", "")))
    with tenant_session(admin.ctx) as session:
        first = member_import.stage_import(session, admin.ctx, org_id=None, rows=rows)
        member_import.stage_import(session, admin.ctx, org_id=None, rows=rows)
    with tenant_session(admin.ctx) as session, pytest.raises(NotFound):
        member_import.claim_import(session, admin.ctx, first.id)
    with tenant_session(admin.ctx) as session:
        assert member_import.recent_imports(session, admin.ctx, admin.org_id) == []
