"""`python -m app.bootstrap`: the first org and admin of a fresh deployment, idempotently."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from app import bootstrap
from app.models.user import Role
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import public_session, tenant_session
from app.services.people import auth, members
from tests import factories as f
from tests.conftest import REPO_ROOT, Backend

NEW_PASSWORD = "Harbour-lights-77"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = bootstrap.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _link(out: str) -> str:
    (link,) = re.findall(r"https?://\S+/reset/\S+", out)
    return link


def _org_id(out: str) -> str:
    match = re.search(r"id: ([0-9a-f-]{36})", out)
    assert match, out
    return match.group(1)


def _set_password(link: str, password: str = NEW_PASSWORD) -> None:
    token = link.rsplit("/reset/", 1)[1]
    with public_session() as session:
        auth.do_reset_password(session, token=token, password=password)


def _count(peek: Callable[..., list[Any]], sql: str, **params: Any) -> int:
    return int(peek(sql, **params)[0][0])


def test_creates_org_and_admin_and_the_link_works(
    backend: Backend, capsys: pytest.CaptureFixture[str], settings_env: Callable[..., None]
) -> None:
    settings_env(base_url="https://learn.example.org")
    org, email = f.unique("Bootstrap Org"), f.unique_email("first-admin")
    code, out, err = _run(capsys, "--org", org, "--admin", email, "--name", "Fran First")
    assert code == 0, err
    link = _link(out)
    assert link.startswith("https://learn.example.org/reset/")
    assert "created" in out

    # The account has no usable password until the link is used.
    with pytest.raises(ValidationFailed), public_session() as session:
        auth.do_sign_in(session, email=email, password=NEW_PASSWORD)
    _set_password(link)
    admin = f.signed_in(email, NEW_PASSWORD)
    assert admin.ctx.role == Role.org_admin
    assert admin.ctx.org_name == org
    assert admin.ctx.full_name == "Fran First"
    assert str(admin.org_id) == _org_id(out)
    # The link is one-time.
    with pytest.raises(ValidationFailed):
        _set_password(link, "Another-strong-pass-1")


def test_running_twice_does_no_harm(
    backend: Backend, capsys: pytest.CaptureFixture[str], peek: Callable[..., list[Any]]
) -> None:
    org, email = f.unique("Twice Org"), f.unique_email("admin")
    code1, out1, _ = _run(capsys, "--org", org, "--admin", email, "--kind", "board")
    code2, out2, _ = _run(capsys, "--org", org, "--admin", email.upper())
    assert (code1, code2) == (0, 0)
    assert _org_id(out1) == _org_id(out2)
    assert "(exists" in out2 and "already org admin" in out2
    assert _link(out1) != _link(out2)
    assert _count(peek, "SELECT count(*) FROM organizations WHERE name = :n", n=org) == 1
    assert _count(peek, "SELECT count(*) FROM users WHERE email = :e", e=email) == 1
    for table in ("memberships", "org_settings"):
        sql = (
            f"SELECT count(*) FROM {table} t JOIN organizations o ON o.id = t.org_id"
            " WHERE o.name = :n"
        )
        assert _count(peek, sql, n=org) == 1, table
    assert peek("SELECT kind, parent_id FROM organizations WHERE name = :n", n=org)[0] == (
        "board",
        None,
    )
    # The fresh link works.
    _set_password(_link(out2))
    assert f.signed_in(email, NEW_PASSWORD).ctx.role == Role.org_admin


def test_existing_user_of_another_org_just_gets_the_membership(
    backend: Backend, capsys: pytest.CaptureFixture[str], peek: Callable[..., list[Any]]
) -> None:
    someone = f.new_admin()  # admin of their own org, with a password they know
    org = f.unique("Second Home")
    code, out, err = _run(capsys, "--org", org, "--admin", someone.email)
    assert code == 0, err
    assert "(exists; org admin membership added)" in out
    assert _count(peek, "SELECT count(*) FROM users WHERE email = :e", e=someone.email) == 1
    with public_session() as session:
        choices = auth.user_orgs(session, someone.user_id)
    assert {(c.name, c.role) for c in choices} == {
        (someone.ctx.org_name, Role.org_admin),
        (org, Role.org_admin),
    }
    # Their password is untouched.
    assert f.signed_in(someone.email).ctx.org_id == someone.org_id


def test_demoted_admin_is_restored(backend: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    org, email = f.unique("Restore Org"), f.unique_email("admin")
    code, out, _ = _run(capsys, "--org", org, "--admin", email)
    assert code == 0
    _set_password(_link(out))
    first = f.signed_in(email, NEW_PASSWORD)
    other = f.invite_and_accept_member(first.ctx, Role.org_admin)
    with tenant_session(other.ctx) as session:
        rows = members.list_members(session, other.ctx, search=email).rows
        members.do_change_role(session, other.ctx, rows[0].membership_id, Role.learner)
    assert f.refresh(first).ctx.role == Role.learner
    assert _run(capsys, "--org", org, "--admin", email)[0] == 0
    assert f.refresh(first).ctx.role == Role.org_admin


def test_an_org_of_that_name_the_admin_is_not_in_is_refused(
    backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    org = f.unique("Taken Org")
    assert _run(capsys, "--org", org, "--admin", f.unique_email("a"))[0] == 0
    code, out, err = _run(capsys, "--org", org, "--admin", f.unique_email("b"))
    assert code == 2
    assert "already exists" in err and out == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "Fine Org", "--admin", "not-an-email"], "email"),
        (["--org", "", "--admin", "x@example.com"], "organization name"),
        (["--org", "   ", "--admin", "x@example.com"], "organization name"),
        (["--org", "Fine Org", "--admin", "x@example.com", "--kind", "castle"], "invalid choice"),
        (["--org", "Fine Org"], "required"),
    ],
)
def test_bad_input_exits_2(
    backend: Backend, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = _run(capsys, *args)
    assert code == 2
    assert message in err
    assert "/reset/" not in out


def test_help_says_to_migrate_first(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    assert "alembic upgrade head" in out
    assert "--org" in out and "--admin" in out


def test_unmigrated_database_is_reported(
    tmp_path: object, capsys: pytest.CaptureFixture[str], settings_env: Callable[..., None]
) -> None:
    from app import db

    settings_env(database_url=f"sqlite:///{tmp_path}/empty.db")
    db.dispose_engines()
    try:
        code, _, err = _run(capsys, "--org", "Fine Org", "--admin", "x@example.com")
    finally:
        db.dispose_engines()
    assert code == 1
    assert "alembic upgrade head" in err


def test_runs_as_a_module(backend: Backend) -> None:
    env = {"GUILDHALL_DATABASE_URL": backend.url, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "app.bootstrap", "--org", "", "--admin", "x@example.com"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "organization name" in result.stderr
