"""Programs: named groups of courses in an org, created within its limit and listed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col

from app.models.course import Course, Program
from app.services.authoring import course_read
from app.services.authoring.course_access import require_authoring
from app.services.authoring.course_input import MAX_DESCRIPTION, check_title
from app.services.config import gates
from app.services.core import audit
from app.services.core.errors import ValidationFailed
from app.services.core.tenancy import OrgContext, scoped


@dataclass(frozen=True)
class ProgramView:
    """A program as the authoring pages list it."""

    id: str
    title: str
    description: str
    status: str
    courses: int


def do_create_program(
    session: Session, ctx: OrgContext, *, title: str, description: str = ""
) -> Program:
    """A new program (a named group of courses) in the active org, within the org's
    `limits.max_programs` (refused with the seats used when full)."""
    org_id = require_authoring(session, ctx)
    clean = check_title(title, label="program title")
    if len(description) > MAX_DESCRIPTION:
        raise ValidationFailed("The description is too long.", field="description")
    gates.check_limit(session, org_id, "max_programs", gates.programs_used(session, org_id))
    program = Program(
        org_id=org_id, title=clean, description=description.strip(), created_by=ctx.user_id
    )
    session.add(program)
    session.flush()
    audit.record(
        session,
        action="program.created",
        org_id=org_id,
        ctx=ctx,
        target=clean,
        detail={"program_id": str(program.id)},
    )
    session.commit()
    return program


def list_programs(session: Session, ctx: OrgContext) -> list[ProgramView]:
    """The active org's programs by title, with how many courses each holds."""
    org_id = require_authoring(session, ctx)
    programs = session.exec(
        scoped(ctx, Program, org_ids=[org_id]).order_by(func.lower(Program.title))
    ).all()
    counts: dict[uuid.UUID, int] = {}
    if programs:
        stmt = (
            course_read.authored_courses(ctx)
            .where(col(Course.program_id).in_([p.id for p in programs]))
            .with_only_columns(col(Course.program_id), func.count())
            .group_by(col(Course.program_id))
        )
        counts = {pid: int(n) for pid, n in session.execute(stmt).all()}
    return [
        ProgramView(
            id=str(p.id),
            title=p.title,
            description=p.description,
            status=p.status,
            courses=counts.get(p.id, 0),
        )
        for p in programs
    ]


__all__ = ["ProgramView", "do_create_program", "list_programs"]
