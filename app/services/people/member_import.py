"""Bulk invites from a CSV file: stage a checked file, invite every good row on Confirm.

The import never adds an account to an org. Every accepted row becomes a pending invite
(`invites.add_invite`: the same invite, mail and audit row as a single invite, counted
against the seats like one), and the person joins when they accept it, with the file's role
and manager. What the importer sees never depends on whether an address has an account, or
in which org: rows are checked (`member_csv`) against this org's own members, pending
invites, managers and seats only, and every good row "will be invited".

The flow the members page drives:

1. `do_stage_import(...)` parses and checks the uploaded file (`member_csv.preview`, reporting
   progress after each batch) and keeps its rows in a `MemberImport` (status `preview`), so
   the page's state stays small. It returns the preview to show.
2. `do_confirm_import(...)` runs it, once, on Confirm: `claim_import` moves it to `running`,
   then `invite_rows` invites its rows a batch at a time, checking each batch again against
   the database as it is then. A batch is one transaction; if anything in it fails, it is
   redone row by row, so a bad row costs only itself. `finish_import` stores the per-row
   report (for the error-report download) and the counts.

An active member or a pending invite is reported as such, so importing the same file twice
sends nothing twice. An inactive member is invited again; accepting reactivates them.

Audit: one `invite.sent` event per invited row (with the import id) and one
`member.import_finished` event with the counts.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from app.models.base import utcnow
from app.models.member_import import MemberImport
from app.models.org import Organization
from app.services.config import orgs
from app.services.core import audit
from app.services.core.authz import Permission, require
from app.services.core.errors import Conflict, NotFound, ServiceError
from app.services.core.tenancy import OrgContext, access, scoped
from app.services.people import invites, member_csv, seats

REPORT_COLUMNS = ("line", "email", "full_name", "role", "manager_email", "status", "message")


@dataclass(frozen=True)
class Staged:
    """A checked file waiting for Confirm: the staged import, its org and the preview."""

    import_id: str
    org_name: str
    preview: member_csv.Preview


@dataclass(frozen=True)
class RowOutcome:
    """What importing one row did."""

    row: member_csv.CsvRow
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


# --------------------------------------------------------------------------- staging


def do_stage_import(
    session: Session,
    ctx: OrgContext,
    *,
    org_id: uuid.UUID | str | None,
    data: bytes,
    filename: str = "",
    progress: member_csv.Progress | None = None,
) -> Staged:
    """Parse and check an uploaded file for an org of the admin's subtree, and keep its rows
    in the database until the admin confirms (so the page's state stays small and a
    confirmation can be claimed once). Replaces the same admin's earlier unconfirmed
    previews for that org. `progress(done, total)` after each batch of rows checked."""
    org = member_csv.target_org(session, ctx, org_id)
    org_name = org.name
    rows, shown = member_csv.preview(session, ctx, org_id=org.id, data=data, progress=progress)
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
    return Staged(import_id=str(record.id), org_name=org_name, preview=shown)


# --------------------------------------------------------------------------- importing


def do_confirm_import(
    session: Session,
    ctx: OrgContext,
    import_id: uuid.UUID | str,
    *,
    on_claimed: Callable[[], None] | None = None,
    on_progress: member_csv.Progress | None = None,
) -> ImportSummary:
    """Run a staged import, once: claim it (`claim_import`), invite its rows a batch at a
    time (each batch committed) and finish it (`invite_rows`).

    A refused claim (`NotFound`: gone, replaced or not this admin's; `Conflict`: already
    confirmed) changes nothing. `on_claimed()` is called once the import is claimed: from
    then on an error leaves the batches already done invited. `on_progress(done, total)`
    after each batch; if it raises, the import stops there and the error propagates.
    """
    _org_id, rows = claim_import(session, ctx, import_id)
    if on_claimed is not None:
        on_claimed()
    return invite_rows(session, ctx, import_id=import_id, rows=rows, progress=on_progress)


def claim_import(
    session: Session, ctx: OrgContext, import_id: uuid.UUID | str
) -> tuple[uuid.UUID, list[member_csv.CsvRow]]:
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
        member_csv.CsvRow(
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
    session: Session,
    ctx: OrgContext,
    org: Organization,
    check: member_csv.RowCheck,
    import_key: str,
) -> None:
    invites.add_invite(
        session,
        ctx,
        org=org,
        email=check.email,
        role=check.role,
        full_name=check.full_name,
        manager_id=check.manager_id,
        audit_detail={"import_id": import_key},
    )


def _outcome(check: member_csv.RowCheck) -> RowOutcome:
    if check.status == "error":
        return RowOutcome(check.row, "error", check.message)
    return RowOutcome(check.row, "invited")


def _invite_one_by_one(
    session: Session,
    ctx: OrgContext,
    org_id: uuid.UUID,
    checks: list[member_csv.RowCheck],
    key: str,
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
    rows: list[member_csv.CsvRow],
    file: member_csv.FileChecks,
    key: str,
) -> list[RowOutcome]:
    """Check a batch against the database as it is now and invite its good rows."""
    org = orgs.require_in_subtree(session, ctx, org_id)
    file.planned = {True: 0, False: 0}  # earlier batches are committed: the database counts them
    free = seats.free_seats(session, org_id)
    checks = member_csv.check_batch(session, ctx, org, rows, file, free)
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


def invite_rows(
    session: Session,
    ctx: OrgContext,
    *,
    import_id: uuid.UUID | str,
    rows: list[member_csv.CsvRow],
    progress: member_csv.Progress | None = None,
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
    file = member_csv.FileChecks()
    outcomes: list[RowOutcome] = []
    for batch in member_csv.batches(rows):
        outcomes += _import_batch(session, ctx, org_id, batch, file, key)
        if progress is not None:
            progress(len(outcomes), len(rows))
    return finish_import(session, ctx, import_id=record_id, outcomes=outcomes)


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
