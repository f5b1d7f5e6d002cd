"""Reading an uploaded member CSV and checking its rows against an org; writes nothing.

`parse_csv(data)` turns the bytes into `CsvRow`s (size, encoding and header are checked;
anything else is a per-row problem, not a file problem). `check_rows(...)` checks every row
against the org as it is now and against the rows above it in the file (duplicates, seats
taken by earlier rows), `BATCH_ROWS` at a time with one lookup per batch for the org's
members, pending invites and managers, reporting progress after each batch; `preview(...)`
does both for the members page. The import (`member_import`) checks each batch again with
`check_batch` just before inviting it.

Rows are checked against this org's own members, pending invites, managers and seats only:
what the importer sees never depends on whether an address has an account, or where.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlmodel import Session, col

from app.models.org import Organization
from app.models.user import Membership, Role, User
from app.services.config import orgs
from app.services.core.authz import (
    MANAGER_ROLES,
    ROLE_LABELS,
    STUDENT_ROLES,
    Permission,
    may_have_manager,
    may_manage_learners,
    require,
)
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, scoped
from app.services.core.validation import clean_text, normalize_email
from app.services.people import invites, seats

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
PREVIEW_ROWS = 50
BATCH_ROWS = 250  # rows checked (or invited, in one transaction) between progress reports
REQUIRED_COLUMNS = ("email", "full_name")
OPTIONAL_COLUMNS = ("role", "manager_email")
MANAGER_NOT_FOUND = "manager not found (must be an active manager, staff or org admin here)"

Progress = Callable[[int, int], None]
"""`progress(done, total)` after each batch. It may raise a `ServiceError` to stop (the
admin's session ended, say): batches already invited stay invited."""

_ROLE_ALIASES: dict[str, str] = {
    **{key: key for key in ROLE_LABELS},
    **{label.lower(): key for key, label in ROLE_LABELS.items()},
    "org admin": Role.org_admin,
    "admin": Role.org_admin,
}


@dataclass(frozen=True)
class CsvRow:
    """One data line of the file, as written (trimmed)."""

    line: int  # the line number in the file (the header is line 1)
    email: str
    full_name: str
    role: str
    manager_email: str


@dataclass(frozen=True)
class RowCheck:
    """What a row would do (`ok`: be invited) or why it cannot (`error` with `message`)."""

    row: CsvRow
    status: str  # "ok" or "error"
    action: str = ""  # "invite" for every good row, whoever the address is; "" for errors
    message: str = ""
    email: str = ""  # normalized
    role: str = ""  # resolved role key
    full_name: str = ""  # the suggested name, cleaned ("" if the file has none)
    manager_id: uuid.UUID | None = None  # the manager the file names, a manager of the org


@dataclass(frozen=True)
class Preview:
    """The checked file: the first rows for the table, and counts over all rows."""

    total: int
    ok: int
    errors: int
    rows: list[RowCheck]  # the first PREVIEW_ROWS


# --------------------------------------------------------------------------- parsing


def _megabytes(size: int) -> str:
    # Rounded up, so a file just over the limit never reads as "2 MB; the limit is 2 MB".
    tenths = math.ceil(size * 10 / (1024 * 1024))
    return f"{tenths // 10} MB" if tenths % 10 == 0 else f"{tenths / 10:.1f} MB"


def size_problem(size: int) -> str:
    """What to tell someone whose file has `size` bytes ("" when it is small enough)."""
    if size <= MAX_BYTES:
        return ""
    return (
        f"This file is {_megabytes(size)}; the limit is {_megabytes(MAX_BYTES)}. "
        "Split it into smaller files."
    )


def check_size(size: int) -> None:
    """Refuse a file of `size` bytes over the limit with `ValidationFailed`."""
    problem = size_problem(size)
    if problem:
        raise ValidationFailed(problem, field="file")


def parse_csv(data: bytes) -> list[CsvRow]:
    """The data rows of an uploaded CSV, or `ValidationFailed` saying what is wrong."""
    check_size(len(data))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "The file is not UTF-8 text. Save it as 'CSV UTF-8' and upload it again.",
            field="file",
        ) from exc
    if "\x00" in text:
        raise ValidationFailed("The file is not a CSV text file.", field="file")
    if not text.strip():
        raise ValidationFailed("The file is empty.", field="file")
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            raise ValidationFailed("The file is empty.", field="file")
        names = [h.strip().lower().replace(" ", "_") for h in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in names]
        if missing:
            raise ValidationFailed(
                "The first line must be a header with the columns email, full_name and "
                f"optionally role and manager_email (missing: {', '.join(missing)}).",
                field="file",
            )
        index = {
            name: names.index(name)
            for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
            if name in names
        }
        rows: list[CsvRow] = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # blank line
            if len(rows) >= MAX_ROWS:
                raise ValidationFailed(
                    f"The file has more than {MAX_ROWS} rows. Split it into smaller files.",
                    field="file",
                )

            def get(name: str, values: list[str] = values) -> str:
                i = index.get(name)
                return values[i].strip() if i is not None and i < len(values) else ""

            rows.append(
                CsvRow(
                    line=reader.line_num,
                    email=get("email")[:254],
                    full_name=get("full_name")[:200],
                    role=get("role")[:40],
                    manager_email=get("manager_email")[:254],
                )
            )
    except csv.Error as exc:
        raise ValidationFailed(f"The file is not valid CSV: {exc}", field="file") from exc
    if not rows:
        raise ValidationFailed("The file has a header but no rows.", field="file")
    return rows


# --------------------------------------------------------------------------- checking


def _resolve_role(raw: str) -> str:
    value = " ".join(raw.strip().lower().replace("_", " ").split())
    if not value:
        return Role.learner
    key = _ROLE_ALIASES.get(value) or _ROLE_ALIASES.get(value.replace(" ", "_"))
    if key is None:
        raise ValidationFailed(f"unknown role '{raw}'", field="role")
    return key


def _normalize(raw: str) -> tuple[str, str]:
    """(normalized email, "") or ("", why it is not an email)."""
    try:
        return normalize_email(raw), ""
    except ValidationFailed as exc:
        return "", exc.message


@dataclass
class FileChecks:
    """What the rows above did, for the rows below (across the batches of one file)."""

    seen: dict[str, int] = field(default_factory=dict)  # email -> line
    # Seats the rows above take that the database does not count yet (keyed by students?).
    planned: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})
    # Emails given a manager role above: invited, so nobody's manager until they accept.
    invited_managers: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _OrgFacts:
    """The org's own rows that one batch is checked against, read once for the batch."""

    emails: dict[str, tuple[str, str]]  # raw email (or manager email) -> _normalize(raw)
    members: set[str]  # active members among the batch's emails
    pending: set[str]  # pending invites among them
    managers: dict[str, uuid.UUID]  # email -> user id of the batch's managers who may manage
    free: dict[bool, int | None]  # seats free before this batch (None: no limit)


def _org_managers(
    session: Session, ctx: OrgContext, org_id: uuid.UUID, emails: set[str]
) -> dict[str, uuid.UUID]:
    """Of these emails, the active members of the org who may manage learners (the rule of
    `roles.check_manager`, for many emails in one query)."""
    if not emails:
        return {}
    found = session.execute(
        scoped(ctx, Membership, org_ids=[org_id])
        .join(User, col(User.id) == col(Membership.user_id))
        .where(
            Membership.is_active == True,  # noqa: E712
            col(Membership.role).in_(MANAGER_ROLES),
            col(User.email).in_(sorted(emails)),
        )
        .with_only_columns(col(User.email), col(User.id), maintain_column_froms=True)
    ).all()
    return {str(row[0]): row[1] for row in found}


def _load_facts(
    session: Session,
    ctx: OrgContext,
    org: Organization,
    rows: list[CsvRow],
    free: dict[bool, int | None],
) -> _OrgFacts:
    raw = {r.email for r in rows} | {r.manager_email for r in rows if r.manager_email}
    emails = {value: _normalize(value) for value in raw}
    wanted = {emails[r.email][0] for r in rows} - {""}
    manager_emails = {emails[r.manager_email][0] for r in rows if r.manager_email} - {""}
    return _OrgFacts(
        emails=emails,
        members=invites.active_member_emails(session, ctx, org.id, wanted),
        pending=invites.pending_invite_emails(session, ctx, org.id, wanted),
        managers=_org_managers(session, ctx, org.id, manager_emails),
        free=free,
    )


def _manager(
    row: CsvRow, email: str, role: str, facts: _OrgFacts, file: FileChecks
) -> tuple[uuid.UUID | None, str]:
    """(the row's manager, "") or (None, why the manager column cannot be used)."""
    if not row.manager_email:
        return None, ""
    manager_email, problem = facts.emails[row.manager_email]
    if problem:
        return None, "manager not found (bad manager email)"
    if manager_email == email:
        return None, "a member cannot be their own manager"
    if not may_have_manager(role):
        return None, "only learners have a manager"
    manager_id = facts.managers.get(manager_email)
    if manager_id is not None:
        return manager_id, ""
    if manager_email in file.invited_managers:
        return None, "the manager is only invited in this file: assign them once they joined"
    return None, MANAGER_NOT_FOUND


def _check(row: CsvRow, facts: _OrgFacts, file: FileChecks) -> RowCheck:
    """Check one row against the org's facts and the rows above it."""
    email, problem = facts.emails[row.email]
    if problem:
        return RowCheck(row, "error", message=f"bad email: {problem}")
    if email in file.seen:
        return RowCheck(row, "error", message=f"duplicate in file (see line {file.seen[email]})")
    file.seen[email] = row.line
    try:
        role = _resolve_role(row.role)
    except ValidationFailed as exc:
        return RowCheck(row, "error", message=exc.message, email=email)

    def refuse(message: str) -> RowCheck:
        return RowCheck(row, "error", message=message, email=email, role=role)

    if email in facts.members:
        return refuse("already a member")
    if email in facts.pending:
        return refuse("already has a pending invite")
    try:
        name = clean_text(
            row.full_name, field="full_name", label="a full name", max_length=120, min_length=0
        )
    except ValidationFailed as exc:
        return refuse(f"bad full name: {exc.message}")
    manager_id, problem = _manager(row, email, role, facts, file)
    if problem:
        return refuse(problem)
    students = role in STUDENT_ROLES
    free = facts.free[students]
    if free is not None and file.planned[students] >= free:
        return refuse(f"seat limit reached ({'learner' if students else 'staff'} seats)")
    file.planned[students] += 1
    if may_manage_learners(role):
        file.invited_managers.add(email)
    return RowCheck(
        row,
        "ok",
        action="invite",
        email=email,
        role=role,
        full_name=name,
        manager_id=manager_id,
    )


def check_batch(
    session: Session,
    ctx: OrgContext,
    org: Organization,
    rows: list[CsvRow],
    file: FileChecks,
    free: dict[bool, int | None],
) -> list[RowCheck]:
    """One batch checked against the org (one lookup for the batch), with `free` seats
    left before it, and against the rows above it (`file`, updated)."""
    facts = _load_facts(session, ctx, org, rows, free)
    return [_check(row, facts, file) for row in rows]


def batches(rows: list[CsvRow]) -> Iterator[list[CsvRow]]:
    """The rows, `BATCH_ROWS` at a time."""
    size = max(1, BATCH_ROWS)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def target_org(session: Session, ctx: OrgContext, org_id: uuid.UUID | str | None) -> Organization:
    """The org of the admin's subtree a file goes into (the context's own by default)."""
    require(ctx, Permission.members_manage)
    return orgs.require_in_subtree(session, ctx, org_id or ctx.org_id)  # type: ignore[arg-type]


def check_rows(
    session: Session,
    ctx: OrgContext,
    *,
    org_id: uuid.UUID | str | None,
    rows: list[CsvRow],
    progress: Progress | None = None,
) -> list[RowCheck]:
    """Every row checked against the org and the rows above it; writes nothing."""
    org = target_org(session, ctx, org_id)
    file = FileChecks()
    free = seats.free_seats(session, org.id)  # a preview writes nothing: read once
    checks: list[RowCheck] = []
    for batch in batches(rows):
        checks += check_batch(session, ctx, org, batch, file, free)
        if progress is not None:
            progress(len(checks), len(rows))
    return checks


def preview(
    session: Session,
    ctx: OrgContext,
    *,
    org_id: uuid.UUID | str | None,
    data: bytes,
    progress: Progress | None = None,
) -> tuple[list[CsvRow], Preview]:
    """Parse and check an uploaded file: the rows (to import on confirm) and the preview."""
    org = target_org(session, ctx, org_id)
    rows = parse_csv(data)
    checks = check_rows(session, ctx, org_id=org.id, rows=rows, progress=progress)
    ok = sum(1 for c in checks if c.status == "ok")
    return rows, Preview(
        total=len(checks), ok=ok, errors=len(checks) - ok, rows=checks[:PREVIEW_ROWS]
    )
