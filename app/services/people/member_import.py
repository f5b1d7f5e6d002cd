"""Bulk invites from a CSV file: parse, preview with per-row checks, invite every good row.

The import never adds an account to an org. Every accepted row becomes a pending invite
(`invites.do_invite`: the same invite, mail and audit row as a single invite, counted
against the seats like one), and the person joins when they accept it, with the file's role
and manager. What the importer sees never depends on whether an address has an account, or
in which org: rows are checked against this org's own members, pending invites, managers
and seats only, and every good row "will be invited".

The flow the members page drives:

1. `parse_csv(data)` turns the uploaded bytes into `CsvRow`s (size, encoding and header are
   checked; anything else is a per-row problem, not a file problem).
2. `preview(...)` checks every row against the org as it is now and against the rows above
   it in the file (duplicates, seats taken by earlier rows), without writing anything.
   Rows are checked `BATCH_ROWS` at a time with one lookup per batch for the org's members,
   pending invites and managers, reporting progress after each batch.
3. `stage_import(...)` keeps the previewed rows in a `MemberImport` (status `preview`), so
   the page's state stays small; `claim_import(...)` starts it, once, on Confirm.
4. `do_import(...)` invites the rows of a claimed import a batch at a time, checking each
   batch again against the database as it is then. A batch is one transaction; if anything
   in it fails, it is redone row by row, so a bad row costs only itself. `finish_import`
   stores the per-row report (for the error-report download) and the counts.
   `run_import(...)` = `start_import` + `do_import`, in one call.

An active member or a pending invite is reported as such, so importing the same file twice
sends nothing twice. An inactive member is invited again; accepting reactivates them.

Audit: one `invite.sent` event per invited row (with the import id) and one
`member.import_finished` event with the counts.
"""

from __future__ import annotations

import csv
import io
import math
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.member_import import MemberImport
from app.models.org import Organization
from app.models.user import Membership, Role, User
from app.services.config import orgs
from app.services.core import audit
from app.services.core.authz import ROLE_LABELS, STUDENT_ROLES, Permission, require
from app.services.core.errors import Conflict, NotFound, ServiceError, ValidationFailed
from app.services.core.tenancy import OrgContext, access, scoped
from app.services.core.validation import clean_text, normalize_email
from app.services.people import invites, seats
from app.services.people.members import MANAGER_ROLES

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
PREVIEW_ROWS = 50
BATCH_ROWS = 250  # rows checked (or invited, in one transaction) between progress reports
REQUIRED_COLUMNS = ("email", "full_name")
OPTIONAL_COLUMNS = ("role", "manager_email")
REPORT_COLUMNS = ("line", "email", "full_name", "role", "manager_email", "status", "message")
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


@dataclass(frozen=True)
class RowOutcome:
    """What importing one row did."""

    row: CsvRow
    status: str  # "invited" or "error" ("pending" while staged)
    message: str = ""

    def as_report(self) -> dict[str, Any]:
        return {
            "line": self.row.line,
            "email": self.row.email,
            "full_name": self.row.full_name,
            "role": self.row.role,
            "manager_email": self.row.manager_email,
            "status": self.status,
            "message": self.message,
        }


@dataclass(frozen=True)
class ImportSummary:
    """The counts of a finished import and its id (for the error report link)."""

    import_id: str
    org_id: str
    total: int
    invited: int
    failed: int
    status: str = "finished"
    failures: list[dict[str, Any]] = field(default_factory=list)


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
class _FileChecks:
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
    `members.check_manager`, for many emails in one query)."""
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
    row: CsvRow, email: str, role: str, facts: _OrgFacts, file: _FileChecks
) -> tuple[uuid.UUID | None, str]:
    """(the row's manager, "") or (None, why the manager column cannot be used)."""
    if not row.manager_email:
        return None, ""
    manager_email, problem = facts.emails[row.manager_email]
    if problem:
        return None, "manager not found (bad manager email)"
    if manager_email == email:
        return None, "a member cannot be their own manager"
    if role != Role.learner:
        return None, "only learners have a manager"
    manager_id = facts.managers.get(manager_email)
    if manager_id is not None:
        return manager_id, ""
    if manager_email in file.invited_managers:
        return None, "the manager is only invited in this file: assign them once they joined"
    return None, MANAGER_NOT_FOUND


def _check(row: CsvRow, facts: _OrgFacts, file: _FileChecks) -> RowCheck:
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
    if role in MANAGER_ROLES:
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


def _check_batch(
    session: Session,
    ctx: OrgContext,
    org: Organization,
    rows: list[CsvRow],
    file: _FileChecks,
    free: dict[bool, int | None],
) -> list[RowCheck]:
    facts = _load_facts(session, ctx, org, rows, free)
    return [_check(row, facts, file) for row in rows]


def _batches(rows: list[CsvRow]) -> Iterator[list[CsvRow]]:
    size = max(1, BATCH_ROWS)
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _target_org(session: Session, ctx: OrgContext, org_id: uuid.UUID | str | None) -> Organization:
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
    org = _target_org(session, ctx, org_id)
    file = _FileChecks()
    free = seats.free_seats(session, org.id)  # a preview writes nothing: read once
    checks: list[RowCheck] = []
    for batch in _batches(rows):
        checks += _check_batch(session, ctx, org, batch, file, free)
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
    org = _target_org(session, ctx, org_id)
    rows = parse_csv(data)
    checks = check_rows(session, ctx, org_id=org.id, rows=rows, progress=progress)
    ok = sum(1 for c in checks if c.status == "ok")
    return rows, Preview(
        total=len(checks), ok=ok, errors=len(checks) - ok, rows=checks[:PREVIEW_ROWS]
    )


# --------------------------------------------------------------------------- importing


def start_import(
    session: Session,
    ctx: OrgContext,
    *,
    org_id: uuid.UUID | str | None,
    total: int,
    filename: str = "",
) -> MemberImport:
    """Record a running import into an org of the admin's subtree."""
    org = _target_org(session, ctx, org_id)
    record = MemberImport(
        org_id=org.id, created_by=ctx.user_id, filename=filename[:200], total=total
    )
    session.add(record)
    session.commit()
    return record


def stage_import(
    session: Session,
    ctx: OrgContext,
    *,
    org_id: uuid.UUID | str | None,
    rows: list[CsvRow],
    filename: str = "",
) -> MemberImport:
    """Keep a previewed file's rows in the database until the admin confirms (so the page's
    state stays small and a confirmation can be claimed once). Replaces the same admin's
    earlier unconfirmed previews for that org."""
    org = _target_org(session, ctx, org_id)
    stale = session.exec(
        scoped(ctx, MemberImport, org_ids=[org.id]).where(
            MemberImport.created_by == ctx.user_id, MemberImport.status == "preview"
        )
    ).all()
    for old in stale:
        session.delete(old)
    record = MemberImport(
        org_id=org.id,
        created_by=ctx.user_id,
        filename=filename[:200],
        status="preview",
        total=len(rows),
        report=[RowOutcome(r, "pending").as_report() for r in rows],
    )
    session.add(record)
    session.commit()
    return record


def claim_import(
    session: Session, ctx: OrgContext, import_id: uuid.UUID | str
) -> tuple[uuid.UUID, list[CsvRow]]:
    """Move a staged import from preview to running, once: (its org, its rows).

    Only the admin who previewed it may confirm it; a second confirmation (double click,
    another tab, a replayed event) is refused.
    """
    require(ctx, Permission.members_manage)
    record = access(session, ctx, MemberImport, import_id)
    if record.created_by != ctx.user_id:
        raise NotFound()
    orgs.require_in_subtree(session, ctx, record.org_id)
    claimed = session.execute(
        update(MemberImport)
        .where(col(MemberImport.id) == record.id, col(MemberImport.status) == "preview")
        .values(status="running", modified=utcnow())
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict("This import was already confirmed.")
    rows = [
        CsvRow(
            line=int(r["line"]),
            email=str(r["email"]),
            full_name=str(r["full_name"]),
            role=str(r["role"]),
            manager_email=str(r["manager_email"]),
        )
        for r in record.report
    ]
    org_id = record.org_id
    session.commit()
    return org_id, rows


def _invite(
    session: Session, ctx: OrgContext, org: Organization, check: RowCheck, import_key: str
) -> None:
    invites.do_invite(
        session,
        ctx,
        org=org,
        email=check.email,
        role=check.role,
        full_name=check.full_name,
        manager_id=check.manager_id,
        audit_detail={"import_id": import_key},
    )


def _outcome(check: RowCheck) -> RowOutcome:
    if check.status == "error":
        return RowOutcome(check.row, "error", check.message)
    return RowOutcome(check.row, "invited")


def _invite_one_by_one(
    session: Session, ctx: OrgContext, org_id: uuid.UUID, checks: list[RowCheck], key: str
) -> list[RowOutcome]:
    """A batch whose transaction failed, again, each good row in its own transaction."""
    outcomes: list[RowOutcome] = []
    for check in checks:
        if check.status == "error":
            outcomes.append(_outcome(check))
            continue
        try:
            org = orgs.require_in_subtree(session, ctx, org_id)
            _invite(session, ctx, org, check, key)
            session.commit()
            outcomes.append(_outcome(check))
        except ServiceError as exc:
            session.rollback()
            outcomes.append(RowOutcome(check.row, "error", exc.message))
        except SQLAlchemyError:
            # E.g. the row's invite clashed with a change made at the same moment: nothing
            # of this row is kept; the report says so and the rest of the file goes on.
            session.rollback()
            outcomes.append(
                RowOutcome(check.row, "error", "could not be saved (changed meanwhile); try again")
            )
    return outcomes


def _import_batch(
    session: Session,
    ctx: OrgContext,
    org_id: uuid.UUID,
    rows: list[CsvRow],
    file: _FileChecks,
    key: str,
) -> list[RowOutcome]:
    """Check a batch against the database as it is now and invite its good rows."""
    org = orgs.require_in_subtree(session, ctx, org_id)
    file.planned = {True: 0, False: 0}  # earlier batches are committed: the database counts them
    checks = _check_batch(session, ctx, org, rows, file, seats.free_seats(session, org_id))
    try:
        # The mail's branding lookups would otherwise flush every row on its own; one flush
        # at commit inserts the batch's invites, mails and audit rows together.
        with session.no_autoflush:
            for check in checks:
                if check.status == "ok":
                    _invite(session, ctx, org, check, key)
        session.commit()
    except (ServiceError, SQLAlchemyError):
        session.rollback()
        return _invite_one_by_one(session, ctx, org_id, checks, key)
    return [_outcome(c) for c in checks]


def do_import(
    session: Session,
    ctx: OrgContext,
    *,
    import_id: uuid.UUID | str,
    rows: list[CsvRow],
    progress: Progress | None = None,
) -> ImportSummary:
    """Invite the rows of a running import a batch at a time, then finish it.

    Reports `progress(done, total)` after each batch; if `progress` raises, the import stops
    there (and stays `running`) and the error propagates.
    """
    require(ctx, Permission.members_manage)
    record = access(session, ctx, MemberImport, import_id)
    if record.status != "running":
        raise Conflict("This import is not running.")
    org = orgs.require_in_subtree(session, ctx, record.org_id)
    # A failed batch rolls back, which expires loaded rows: keep plain values.
    record_id, org_id, key = record.id, org.id, str(record.id)
    file = _FileChecks()
    outcomes: list[RowOutcome] = []
    for batch in _batches(rows):
        outcomes += _import_batch(session, ctx, org_id, batch, file, key)
        if progress is not None:
            progress(len(outcomes), len(rows))
    return finish_import(session, ctx, import_id=record_id, outcomes=outcomes)


def run_import(
    session: Session,
    ctx: OrgContext,
    *,
    org_id: uuid.UUID | str | None,
    rows: list[CsvRow],
    filename: str = "",
    progress: Progress | None = None,
) -> ImportSummary:
    """Record an import and invite every row (`start_import` + `do_import`)."""
    record = start_import(session, ctx, org_id=org_id, total=len(rows), filename=filename)
    return do_import(session, ctx, import_id=record.id, rows=rows, progress=progress)


def finish_import(
    session: Session, ctx: OrgContext, *, import_id: uuid.UUID | str, outcomes: list[RowOutcome]
) -> ImportSummary:
    """Store the per-row report and counts, and audit the summary."""
    require(ctx, Permission.members_manage)
    record = access(session, ctx, MemberImport, import_id)
    record.report = [o.as_report() for o in outcomes]
    record.failed_count = sum(1 for o in outcomes if o.status == "error")
    record.total = len(outcomes)
    # Counts of accounts made and added, from when imports did that: nothing now.
    record.created_count = record.added_count = 0
    record.status, record.finished_at, record.modified = "finished", utcnow(), utcnow()
    session.add(record)
    audit.record(
        session,
        action="member.import_finished",
        org_id=record.org_id,
        ctx=ctx,
        target=record.filename or str(record.id),
        detail={
            "import_id": str(record.id),
            "total": record.total,
            "invited": record.total - record.failed_count,
            "failed": record.failed_count,
        },
    )
    session.commit()
    return summary_of(record)


def summary_of(record: MemberImport) -> ImportSummary:
    """The summary of a stored import."""
    finished = record.status == "finished"
    return ImportSummary(
        import_id=str(record.id),
        org_id=str(record.org_id),
        total=record.total,
        invited=record.total - record.failed_count if finished else 0,
        failed=record.failed_count,
        status=record.status,
        failures=[r for r in record.report if r.get("status") == "error"],
    )


# --------------------------------------------------------------------------- the report


def get_import(session: Session, ctx: OrgContext, import_id: uuid.UUID | str) -> MemberImport:
    """A stored import of an org the context may read and manage members of; else NotFound."""
    require(ctx, Permission.members_manage)
    return access(session, ctx, MemberImport, import_id)


def error_report_csv(session: Session, ctx: OrgContext, import_id: uuid.UUID | str) -> str:
    """The failed rows of an import as CSV: the file's columns plus line and reason."""
    record = get_import(session, ctx, import_id)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(REPORT_COLUMNS)
    for r in record.report:
        if r.get("status") == "error":
            writer.writerow([_safe_cell(r.get(c, "")) for c in REPORT_COLUMNS])
    return out.getvalue()


def _safe_cell(value: object) -> str:
    """Neutralize spreadsheet formulas (CSV injection) in values that came from the upload."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def recent_imports(
    session: Session, ctx: OrgContext, org_id: uuid.UUID | str
) -> list[ImportSummary]:
    """The last few imports into an org of the subtree, newest first."""
    org = _target_org(session, ctx, org_id)
    rows = session.exec(
        scoped(ctx, MemberImport, org_ids=[org.id])
        .where(MemberImport.status != "preview")
        .order_by(col(MemberImport.created).desc())
        .limit(10)
    ).all()
    return [summary_of(r) for r in rows]
