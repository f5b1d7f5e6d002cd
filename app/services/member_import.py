"""Bulk import of members from CSV: parse, preview with per-row checks, import row by row.

The flow the members page drives:

1. `parse_csv(data)` turns the uploaded bytes into `CsvRow`s (size, encoding and header are
   checked; anything else is a per-row problem, not a file problem).
2. `preview(...)` checks every row against the org as it is now and against the rows above
   it in the file (duplicates, seats taken by earlier rows, managers appointed by earlier
   rows), without writing anything.
3. `stage_import(...)` keeps the previewed rows in a `MemberImport` (status `preview`), so
   the page's state stays small; `claim_import(...)` starts it, once, on Confirm.
4. `import_row(...)` handles one row in its own transaction (commit, or roll back
   everything the row did), re-checking it against the database as it is at that moment;
   `finish_import(...)` stores the per-row report (for the error-report download) and the
   counts. `run_import(...)` = `start_import` + every row + `finish_import`, in one call.

A row for an existing account adds (or reactivates) its membership; a row for a new email
creates the account with an unusable random password and emails a "welcome, choose your
password" link (a password-reset token, valid as long as an invite). Active members are
reported as "already a member", so importing the same file twice changes nothing.

Audit: one `member.imported` event per imported row (in that row's transaction) and one
`member.import_finished` event with the counts.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.member_import import MemberImport
from app.models.org import Organization
from app.models.user import Membership, Role, User
from app.services import audit, auth, compliance, mail, orgs
from app.services.authz import ROLE_LABELS, STUDENT_ROLES, Permission, require
from app.services.errors import (
    Conflict,
    LimitReached,
    NotFound,
    ServiceError,
    ValidationFailed,
)
from app.services.invites import check_seat
from app.services.members import MANAGER_ROLES, check_manager
from app.services.security import unusable_password_hash
from app.services.tenancy import OrgContext, access, scoped
from app.services.validation import clean_text, normalize_email
from app.settings import get_settings

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
PREVIEW_ROWS = 50
REQUIRED_COLUMNS = ("email", "full_name")
OPTIONAL_COLUMNS = ("role", "manager_email")
REPORT_COLUMNS = ("line", "email", "full_name", "role", "manager_email", "status", "message")

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
    """What a row would do (`new`, `add`) or why it cannot (`error` with `message`)."""

    row: CsvRow
    status: str  # "ok" or "error"
    action: str = ""  # "create" (new account) or "add" (existing account); "" for errors
    message: str = ""
    email: str = ""  # normalized
    role: str = ""  # resolved role key


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
    status: str  # "created", "added" or "error" ("pending" while staged)
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
    created: int
    added: int
    failed: int
    status: str = "finished"
    failures: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- parsing


def parse_csv(data: bytes) -> list[CsvRow]:
    """The data rows of an uploaded CSV, or `ValidationFailed` saying what is wrong."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB. "
            "Split it into smaller files.",
            field="file",
        )
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


def _membership(
    session: Session, ctx: OrgContext, org_id: uuid.UUID, user_id: uuid.UUID
) -> Membership | None:
    return session.exec(
        scoped(ctx, Membership, org_ids=[org_id]).where(Membership.user_id == user_id)
    ).first()


@dataclass
class _Batch:
    """What earlier rows of the same file would do, for the preview's checks."""

    # False while importing: earlier rows are committed by then, so seats and managers are
    # in the database already and only duplicates need remembering.
    planned: bool = True
    seen: dict[str, int] = field(default_factory=dict)  # email -> line
    students: int = 0
    staff: int = 0
    managers: set[str] = field(default_factory=set)  # emails given a manager role above


def _check(
    session: Session,
    ctx: OrgContext,
    org: Organization,
    row: CsvRow,
    batch: _Batch | None,
) -> RowCheck:
    """Check one row against the database (and, in a preview, against the rows above)."""
    try:
        email = normalize_email(row.email)
    except ValidationFailed as exc:
        return RowCheck(row, "error", message=f"bad email: {exc.message}")
    if batch is not None:
        if email in batch.seen:
            return RowCheck(
                row, "error", message=f"duplicate in file (see line {batch.seen[email]})"
            )
        batch.seen[email] = row.line
    try:
        role = _resolve_role(row.role)
    except ValidationFailed as exc:
        return RowCheck(row, "error", message=exc.message, email=email)
    user = auth.find_user_by_email(session, email)
    existing = _membership(session, ctx, org.id, user.id) if user else None
    if existing is not None and existing.is_active:
        return RowCheck(row, "error", message="already a member", email=email, role=role)
    if user is None:
        try:
            clean_text(row.full_name, field="full_name", label="a full name", max_length=120)
        except ValidationFailed as exc:
            return RowCheck(row, "error", message=f"bad full name: {exc.message}", email=email)
    if row.manager_email:
        problem = _manager_problem(session, ctx, org, row.manager_email, email, role, batch)
        if problem:
            return RowCheck(row, "error", message=problem, email=email, role=role)
    students = role in STUDENT_ROLES
    planned = (batch.students if students else batch.staff) if batch and batch.planned else 0
    try:
        check_seat(session, org.id, role, planned=planned)
    except LimitReached:
        kind = "learner" if students else "staff"
        return RowCheck(
            row, "error", message=f"seat limit reached ({kind} seats)", email=email, role=role
        )
    if batch is not None:
        if students:
            batch.students += 1
        else:
            batch.staff += 1
        if role in MANAGER_ROLES:
            batch.managers.add(email)
    return RowCheck(row, "ok", action="create" if user is None else "add", email=email, role=role)


def _manager_problem(
    session: Session,
    ctx: OrgContext,
    org: Organization,
    raw: str,
    email: str,
    role: str,
    batch: _Batch | None,
) -> str:
    try:
        manager_email = normalize_email(raw)
    except ValidationFailed:
        return "manager not found (bad manager email)"
    if manager_email == email:
        return "a member cannot be their own manager"
    if role != Role.learner:
        return "only learners have a manager"
    if batch is not None and batch.planned and manager_email in batch.managers:
        return ""  # appointed by an earlier row of this file
    manager = auth.find_user_by_email(session, manager_email)
    if manager is None:
        return "manager not found"
    try:
        check_manager(session, ctx, org.id, manager.id)
    except ValidationFailed:
        return "manager not found (must be an active manager, staff or org admin here)"
    return ""


def _target_org(session: Session, ctx: OrgContext, org_id: uuid.UUID | str | None) -> Organization:
    require(ctx, Permission.members_manage)
    return orgs.require_in_subtree(session, ctx, org_id or ctx.org_id)  # type: ignore[arg-type]


def check_rows(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str | None, rows: list[CsvRow]
) -> list[RowCheck]:
    """Every row checked against the org and the rows above it; writes nothing."""
    org = _target_org(session, ctx, org_id)
    batch = _Batch()
    return [_check(session, ctx, org, row, batch) for row in rows]


def preview(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str | None, data: bytes
) -> tuple[list[CsvRow], Preview]:
    """Parse and check an uploaded file: the rows (to import on confirm) and the preview."""
    org = _target_org(session, ctx, org_id)
    rows = parse_csv(data)
    checks = check_rows(session, ctx, org_id=org.id, rows=rows)
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


def _welcome(session: Session, org: Organization, user: User, ctx: OrgContext) -> None:
    settings = get_settings()
    token = auth.create_reset_token(session, user, ttl=timedelta(days=settings.invite_ttl_days))
    link = auth.reset_link(token)
    mail.queue(
        session,
        org_id=org.id,
        to=user.email,
        subject=f"Welcome to {org.name} on Guildhall: choose your password",
        body=(
            f"Hello {user.full_name},\n\n{ctx.full_name} added you to {org.name} on Guildhall."
            f"\nChoose your password here (valid for {settings.invite_ttl_days} days):\n\n"
            f"{link}\n\nAfterwards sign in with {user.email}.\n"
        ),
        kind="welcome",
    )


def import_row(
    session: Session,
    ctx: OrgContext,
    *,
    import_id: uuid.UUID | str,
    row: CsvRow,
    seen: dict[str, int] | None = None,
) -> RowOutcome:
    """Import one row in its own transaction: everything it does is committed, or nothing.

    The row is checked again against the database as it is now (earlier rows of the same
    file are committed by then, so seats and managers count them). `seen` (email -> line,
    shared by the rows of one file) reports a repeated email as a duplicate in the file.
    """
    require(ctx, Permission.members_manage)
    record = access(session, ctx, MemberImport, import_id)
    org = orgs.require_in_subtree(session, ctx, record.org_id)
    import_key = str(record.id)
    try:
        batch = _Batch(planned=False, seen=seen if seen is not None else {})
        check = _check(session, ctx, org, row, batch)
        if check.status == "error":
            session.rollback()
            return RowOutcome(row, "error", check.message)
        user = auth.find_user_by_email(session, check.email)
        created = user is None
        if user is None:
            user = User(
                email=check.email,
                full_name=clean_text(
                    row.full_name, field="full_name", label="a full name", max_length=120
                ),
                # Nobody knows this password: the welcome email's link sets a real one.
                password_hash=unusable_password_hash(),
            )
            session.add(user)
            session.flush()
        manager_id: uuid.UUID | None = None
        if row.manager_email:
            manager = auth.find_user_by_email(session, row.manager_email)
            if manager is None:
                raise ValidationFailed("manager not found")
            manager_id = check_manager(session, ctx, org.id, manager.id).id
        membership = _membership(session, ctx, org.id, user.id)
        if membership is None:
            membership = Membership(
                org_id=org.id, user_id=user.id, role=check.role, manager_id=manager_id
            )
        else:  # an inactive membership: reactivate it with the file's role
            membership.role, membership.is_active = check.role, True
            membership.manager_id, membership.modified = manager_id, utcnow()
        session.add(membership)
        compliance.on_member_joined(session, org_id=org.id, user_id=user.id, role=check.role)
        if created:
            _welcome(session, org, user, ctx)
        else:
            mail.queue(
                session,
                org_id=org.id,
                to=user.email,
                subject=f"You were added to {org.name} on Guildhall",
                body=(
                    f"Hello {user.full_name},\n\n{ctx.full_name} added you to {org.name} as "
                    f"{ROLE_LABELS.get(check.role, check.role)}. Sign in with {user.email} "
                    "to switch to it.\n"
                ),
                kind="member_added",
            )
        status = "created" if created else "added"
        audit.record(
            session,
            action="member.imported",
            org_id=org.id,
            ctx=ctx,
            target=user.email,
            detail={"role": check.role, "result": status, "import_id": import_key},
        )
        session.commit()
        return RowOutcome(row, status)
    except ServiceError as exc:
        session.rollback()
        return RowOutcome(row, "error", exc.message)
    except SQLAlchemyError:
        # E.g. the same email imported at the same moment by another admin: nothing of this
        # row is kept; the report says so and the rest of the file goes on.
        session.rollback()
        return RowOutcome(row, "error", "could not be saved (changed meanwhile); try again")


def finish_import(
    session: Session, ctx: OrgContext, *, import_id: uuid.UUID | str, outcomes: list[RowOutcome]
) -> ImportSummary:
    """Store the per-row report and counts, and audit the summary."""
    require(ctx, Permission.members_manage)
    record = access(session, ctx, MemberImport, import_id)
    record.report = [o.as_report() for o in outcomes]
    record.created_count = sum(1 for o in outcomes if o.status == "created")
    record.added_count = sum(1 for o in outcomes if o.status == "added")
    record.failed_count = sum(1 for o in outcomes if o.status == "error")
    record.total = len(outcomes)
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
            "created": record.created_count,
            "added": record.added_count,
            "failed": record.failed_count,
        },
    )
    session.commit()
    return summary_of(record)


def summary_of(record: MemberImport) -> ImportSummary:
    """The summary of a stored import."""
    return ImportSummary(
        import_id=str(record.id),
        org_id=str(record.org_id),
        total=record.total,
        created=record.created_count,
        added=record.added_count,
        failed=record.failed_count,
        status=record.status,
        failures=[r for r in record.report if r.get("status") == "error"],
    )


def run_import(
    session: Session,
    ctx: OrgContext,
    *,
    org_id: uuid.UUID | str | None,
    rows: list[CsvRow],
    filename: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import every row (each in its own transaction), reporting progress after each."""
    record = start_import(session, ctx, org_id=org_id, total=len(rows), filename=filename)
    record_id = record.id  # a failed row rolls back, which expires loaded rows
    outcomes: list[RowOutcome] = []
    seen: dict[str, int] = {}
    for row in rows:
        outcomes.append(import_row(session, ctx, import_id=record_id, row=row, seen=seen))
        if progress is not None:
            progress(len(outcomes), len(rows))
    return finish_import(session, ctx, import_id=record_id, outcomes=outcomes)


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
