"""Every change of state has one `do_` function (docs/architecture.md): a public service
function that commits is named `do_...`, unless it is one of the few named exceptions below,
and a `do_` function does commit. Checked on the source, so a new writer that forgets the
convention fails here, before review."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[2] / "app" / "services"

# Public functions that commit but are not a person's change of state, and why.
NOT_DO = {
    # get-or-create on first read: the chat page makes these channels as it lists them
    "comms.chat_channels.org_channel",
    "comms.chat_channels.org_channel_id",
    "comms.chat_channels.subject_channel",
    "comms.chat_courses.course_channel",
    "comms.chat_courses.cohort_channel",
    "comms.chat_list.visible_channels",
    "comms.chat_list.list_channels",
    # session plumbing: last-seen touch, one-time login ticket
    "people.auth.resolve",
    "people.auth.ticket_for_user",
    # steps of one long job, each committing its own part (`do_confirm_import` runs them)
    "people.member_import.claim_import",
    "people.member_import.invite_rows",
    "people.member_import.finish_import",
    # jobs and exports: they audit what they read, or record their own progress
    "credentials.reminders.run_reminders",
    "credentials.reminders.main",
    "credentials.compliance_export.compliance_csv",
    "core.audit.build_export",
    # the outbox machinery itself
    "infra.outbox.claim",
    "infra.outbox.run",
    "infra.outbox.retry",
    "infra.outbox.run_due",
}


def _commits(tree: ast.Module) -> dict[str, bool]:
    """Each top-level function: whether it commits, itself or through another function of
    the same module (a private helper, or the `do_` function it builds on)."""
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}

    def direct(fn: ast.AST) -> bool:
        return any(
            isinstance(c, ast.Call)
            and isinstance(c.func, ast.Attribute)
            and c.func.attr == "commit"
            for c in ast.walk(fn)
        )

    def local_calls(fn: ast.AST) -> set[str]:
        return {
            c.func.id
            for c in ast.walk(fn)
            if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id in funcs
        }

    commits = {name: direct(fn) for name, fn in funcs.items()}
    changed = True
    while changed:
        changed = False
        for name, fn in funcs.items():
            if not commits[name] and any(commits[c] for c in local_calls(fn)):
                commits[name] = changed = True
    return commits


def _public_functions() -> dict[str, bool]:
    """`package.module.function` -> whether it commits, for every public service function."""
    found: dict[str, bool] = {}
    for path in sorted(SERVICES.rglob("*.py")):
        module = ".".join(path.relative_to(SERVICES).with_suffix("").parts)
        for name, commits in _commits(ast.parse(path.read_text())).items():
            if not name.startswith("_"):
                found[f"{module}.{name}"] = commits
    return found


def test_the_checker_sees_a_commit_through_a_helper_of_the_same_module() -> None:
    tree = ast.parse(
        "def _save(s):\n    s.commit()\n"
        "def do_it(s):\n    _save(s)\n"
        "def do_more(s):\n    do_it(s)\n"
        "def read(s):\n    return s.get(1)\n"
    )
    assert _commits(tree) == {"_save": True, "do_it": True, "do_more": True, "read": False}


def test_every_public_service_function_that_commits_is_a_do_function() -> None:
    found = _public_functions()
    assert len(found) > 200, "the checker found too few service functions to be looking"
    misnamed = sorted(
        name
        for name, commits in found.items()
        if commits and not name.rsplit(".", 1)[1].startswith("do_") and name not in NOT_DO
    )
    assert misnamed == [], f"commit without the do_ name (rename, or add to NOT_DO): {misnamed}"


def test_every_do_function_commits_and_every_exception_still_exists() -> None:
    found = _public_functions()
    idle = sorted(n for n, c in found.items() if n.rsplit(".", 1)[1].startswith("do_") and not c)
    assert idle == [], f"named do_ but never commits: {idle}"
    assert sorted(NOT_DO - set(found)) == []
    assert sorted(n for n in NOT_DO if not found[n]) == []
