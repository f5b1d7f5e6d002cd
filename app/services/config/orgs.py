"""Organizations: creating them, walking and reshaping the hierarchy."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.db import widen_scope
from app.models.org import Organization, OrgKind, OrgSettings
from app.models.user import Membership
from app.services.core import audit
from app.services.core.authz import Permission, has, require
from app.services.core.errors import Conflict, NotFound, ValidationFailed
from app.services.core.tenancy import OrgContext, access, mark_scoped, scoped
from app.services.core.validation import clean_text

# Hierarchical kinds nest strictly downwards; the others may sit anywhere.
KIND_RANK: dict[str, int] = {
    OrgKind.national: 0,
    OrgKind.regional: 1,
    OrgKind.local: 2,
    OrgKind.group: 3,
}
KIND_LABELS: dict[str, str] = {k.value: k.value.capitalize() for k in OrgKind}
MAX_DEPTH = 12


def sibling_key(parent_id: uuid.UUID | None, name: str) -> str:
    """The unique key that makes an org name unique among its siblings."""
    return f"{parent_id or 'root'}:{name.casefold()}"


def check_kind(kind: str) -> str:
    """A known org kind, or `ValidationFailed`."""
    if kind not in KIND_LABELS:
        raise ValidationFailed("Choose a kind of organization.", field="kind")
    return kind


def check_nesting(parent_kind: str, child_kind: str) -> None:
    """National > regional > local > group: a child may not outrank its parent."""
    parent_rank, child_rank = KIND_RANK.get(parent_kind), KIND_RANK.get(child_kind)
    if parent_rank is not None and child_rank is not None and child_rank <= parent_rank:
        raise ValidationFailed(
            f"A {child_kind} organization cannot sit under a {parent_kind} one.", field="kind"
        )


def _name_taken(session: Session, parent_id: uuid.UUID | None, name: str) -> bool:
    key = sibling_key(parent_id, name)
    # The sibling may be outside the scope (another tenant's root org), so this check runs
    # on the unique key alone and reveals only "taken".
    row = session.exec(
        mark_scoped(select(Organization.id).where(Organization.sibling_key == key))
    ).first()
    return row is not None


def create_org(
    session: Session,
    *,
    name: str,
    kind: str,
    parent: Organization | None,
    ctx: OrgContext | None = None,
    ip: str = "",
) -> Organization:
    """Create an org (root when `parent` is None) with empty config overrides. No commit."""
    name = clean_text(name, field="name", label="a name", max_length=120, min_length=2)
    kind = check_kind(kind)
    if parent is not None:
        check_nesting(parent.kind, kind)
    parent_id = parent.id if parent else None
    if _name_taken(session, parent_id, name):
        where = "under this parent" if parent else "on Guildhall"
        raise Conflict(f"An organization named “{name}” already exists {where}.", field="name")
    org = Organization(
        name=name, kind=kind, parent_id=parent_id, sibling_key=sibling_key(parent_id, name)
    )
    widen_scope(session, org_ids={org.id})
    session.add(org)
    try:
        session.flush()
    except IntegrityError as exc:  # a sibling the scope could not see holds the name
        raise Conflict(
            f"An organization named “{name}” already exists there.", field="name"
        ) from exc
    session.add(OrgSettings(org_id=org.id, data={}))
    audit.record(
        session,
        action="org.created",
        org_id=org.id,
        ctx=ctx,
        target=name,
        detail={"kind": kind, "parent_id": str(parent_id) if parent_id else None},
        ip=ip,
    )
    if parent is not None:
        audit.record(
            session,
            action="org.child_created",
            org_id=parent.id,
            ctx=ctx,
            target=name,
            detail={"child_id": str(org.id), "kind": kind},
        )
    return org


def do_create_child_org(
    session: Session, ctx: OrgContext, *, parent_id: uuid.UUID | str, name: str, kind: str
) -> Organization:
    """An admin creates an org under one in their subtree."""
    require(ctx, Permission.org_manage)
    parent = access(session, ctx, Organization, parent_id)
    org = create_org(session, name=name, kind=kind, parent=parent, ctx=ctx)
    session.commit()
    return org


def descendants(session: Session, root_id: uuid.UUID) -> list[Organization]:
    """Every org below `root_id` (breadth first), widening the session's scope as it goes."""
    found: list[Organization] = []
    frontier = {root_id}
    seen = {root_id}
    # Row-level security shows children through `parent_id = ANY(app_org_ids())`: the root
    # itself must be in scope before its children can be read.
    widen_scope(session, org_ids={root_id})
    for _ in range(MAX_DEPTH):
        if not frontier:
            break
        children = session.exec(
            mark_scoped(select(Organization).where(col(Organization.parent_id).in_(frontier)))
        ).all()
        fresh = [c for c in children if c.id not in seen]
        seen |= {c.id for c in fresh}
        found.extend(fresh)
        frontier = {c.id for c in fresh}
        if frontier:
            widen_scope(session, org_ids=frontier)
    return found


def ancestors(session: Session, org: Organization) -> list[Organization]:
    """The org's ancestors, nearest first, widening the session to read their config."""
    chain: list[Organization] = []
    current = org.parent_id
    seen = {org.id}
    while current is not None and current not in seen and len(chain) < MAX_DEPTH:
        seen.add(current)
        widen_scope(session, ancestor_ids={current})
        parent = session.exec(
            mark_scoped(select(Organization).where(Organization.id == current))
        ).first()
        if parent is None:
            break
        chain.append(parent)
        current = parent.parent_id
    return chain


def do_move_org(
    session: Session, ctx: OrgContext, *, org_id: uuid.UUID | str, new_parent_id: uuid.UUID | str
) -> Organization:
    """Re-parent an org inside the admin's subtree, refusing cycles and name clashes."""
    require(ctx, Permission.org_manage)
    org = access(session, ctx, Organization, org_id)
    parent = access(session, ctx, Organization, new_parent_id)
    if org.id == ctx.org_id:
        raise ValidationFailed(
            "Switch to the parent organization to move this one.", field="org_id"
        )
    below = {o.id for o in descendants(session, org.id)} | {org.id}
    if parent.id in below:
        raise ValidationFailed(
            f"“{parent.name}” is inside “{org.name}”: moving it there would make a loop.",
            field="parent_id",
        )
    check_nesting(parent.kind, org.kind)
    if parent.id != org.parent_id and _name_taken(session, parent.id, org.name):
        raise Conflict(
            f"“{parent.name}” already has an organization named “{org.name}”.", field="parent_id"
        )
    before = str(org.parent_id)
    org.parent_id = parent.id
    org.sibling_key = sibling_key(parent.id, org.name)
    session.add(org)
    audit.record(
        session,
        action="org.moved",
        org_id=org.id,
        ctx=ctx,
        target=org.name,
        detail={"before": {"parent_id": before}, "after": {"parent_id": str(parent.id)}},
    )
    session.commit()
    return org


@dataclass(frozen=True)
class OrgNode:
    """An org in the admin's tree view."""

    id: str
    name: str
    kind: str
    parent_id: str
    depth: int
    member_count: int


def org_tree(session: Session, ctx: OrgContext) -> list[OrgNode]:
    """The context's readable orgs as an indented tree, the active org first."""
    require(ctx, Permission.org_manage)
    orgs = {o.id: o for o in session.exec(scoped(ctx, Organization)).all()}
    counts: dict[uuid.UUID, int] = {}
    for m in session.exec(scoped(ctx, Membership).where(Membership.is_active == True)).all():  # noqa: E712
        counts[m.org_id] = counts.get(m.org_id, 0) + 1
    children: dict[uuid.UUID | None, list[Organization]] = {}
    for o in orgs.values():
        children.setdefault(o.parent_id, []).append(o)
    nodes: list[OrgNode] = []

    def walk(org: Organization, depth: int) -> None:
        nodes.append(
            OrgNode(
                id=str(org.id),
                name=org.name,
                kind=org.kind,
                parent_id=str(org.parent_id or ""),
                depth=depth,
                member_count=counts.get(org.id, 0),
            )
        )
        for child in sorted(children.get(org.id, []), key=lambda c: c.name.casefold()):
            walk(child, depth + 1)

    if ctx.org_id in orgs:
        walk(orgs[ctx.org_id], 0)
    return nodes


@dataclass(frozen=True)
class OrgSummary:
    """An org as a page names it."""

    id: str
    name: str
    kind: str


@dataclass(frozen=True)
class OrgDetail:
    """One org's page: the org and the child orgs the viewer may open."""

    org: OrgSummary
    children: list[OrgSummary]


def org_detail(session: Session, ctx: OrgContext, org_id: uuid.UUID | str) -> OrgDetail:
    """An org in the context's scope and its direct children that the context may read
    (an ancestor's page lists none of its siblings' subtrees); else `NotFound`."""
    org = access(session, ctx, Organization, org_id)
    children = sorted(
        (c for c in descendants(session, org.id) if c.parent_id == org.id and c.id in ctx.org_ids),
        key=lambda c: c.name.casefold(),
    )
    return OrgDetail(
        org=OrgSummary(id=str(org.id), name=org.name, kind=org.kind),
        children=[OrgSummary(id=str(c.id), name=c.name, kind=c.kind) for c in children],
    )


@dataclass(frozen=True)
class OrgPicker:
    """An admin page's target org and the orgs its picker offers, as (id, indented label)."""

    org: OrgSummary
    choices: list[tuple[str, str]]


def org_picker(session: Session, ctx: OrgContext, org_id: uuid.UUID | str | None) -> OrgPicker:
    """The org a members or settings page works on (`org_id`, else the active org; it must
    be in the admin's subtree, else `NotFound`) and what its org picker offers: the whole
    subtree, indented, for those who manage orgs; just that org for everyone else."""
    org = require_in_subtree(session, ctx, org_id or ctx.org_id)  # type: ignore[arg-type]
    if has(ctx, Permission.org_manage):
        choices = [(n.id, ("— " * n.depth) + n.name) for n in org_tree(session, ctx)]
    else:
        choices = [(str(org.id), org.name)]
    return OrgPicker(org=OrgSummary(id=str(org.id), name=org.name, kind=org.kind), choices=choices)


def get_org(session: Session, ctx: OrgContext, org_id: uuid.UUID | str) -> Organization:
    """One org in the context's scope, or `NotFound`."""
    return access(session, ctx, Organization, org_id)


def require_in_subtree(session: Session, ctx: OrgContext, org_id: uuid.UUID | str) -> Organization:
    """The org, if it is the active org or below it; else `NotFound`."""
    org = access(session, ctx, Organization, org_id)
    if org.id not in ctx.org_ids:
        raise NotFound()
    return org
