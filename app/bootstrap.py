"""First org and admin of a fresh deployment, and a one-time link to set the password.

    python -m app.bootstrap --org "Riverside Training" --admin admin@example.com

Idempotent: a second run finds the org and the admin instead of duplicating them and prints
a fresh link. See `--help`.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel import Session, col, select

from app.db import bind_user, widen_scope
from app.models.org import Organization, OrgKind
from app.models.user import Membership, Role, User
from app.services.config import orgs
from app.services.core import audit
from app.services.core.errors import Conflict, ServiceError, ValidationFailed
from app.services.core.security import unusable_password_hash
from app.services.core.tenancy import mark_scoped, public_session
from app.services.core.validation import clean_text, normalize_email
from app.services.people import auth
from app.settings import get_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2

DESCRIPTION = """\
Create the first organization of a fresh deployment and its org admin, then print a one-time
link where the admin sets a password.

This command does not migrate the database: run `alembic upgrade head` first (with
GUILDHALL_DATABASE_URL / GUILDHALL_MIGRATE_DATABASE_URL set as for the app).

Running it again is safe: the org (a root org with this name) and the admin are found, not
duplicated, and a fresh link is printed. An admin email that already belongs to another org
just gets an org admin membership in this one. An existing org of that name that the email
is not a member of is refused (exit 2): add people to it from the app. The link expires
after GUILDHALL_PASSWORD_RESET_TTL_MINUTES and starts with GUILDHALL_BASE_URL.

Exit codes: 0 done, 2 bad input (invalid email, empty org name, name taken), 1 database
not ready.
"""


@dataclass(frozen=True)
class Result:
    """What a bootstrap run found or created, and the link it made."""

    org_id: uuid.UUID
    org_name: str
    org_created: bool
    user_id: uuid.UUID
    email: str
    user_created: bool
    membership_created: bool
    link: str


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.bootstrap",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--org", required=True, help="name of the first (root) organization")
    parser.add_argument("--admin", required=True, help="email address of its org admin")
    parser.add_argument(
        "--kind",
        default=OrgKind.provider.value,
        choices=[k.value for k in OrgKind],
        help="kind of organization (default: provider); ignored when the org exists",
    )
    parser.add_argument(
        "--name", default="", help="the admin's full name (default: the part before the @)"
    )
    return parser


def _find_root_org(session: Session, name: str, user: User | None) -> Organization | None:
    """The root org named `name` among the admin's own orgs (active or not).

    Only the admin's orgs are searched: on PostgreSQL row-level security hides every other
    org from this command, so SQLite is made to behave the same way (an org of this name
    that the admin is not in is refused by `create_org` as taken, on both backends).
    """
    if user is None:
        return None
    bind_user(session, user.id)
    member_org_ids = set(
        session.exec(
            mark_scoped(select(Membership.org_id).where(Membership.user_id == user.id))
        ).all()
    )
    if not member_org_ids:
        return None
    widen_scope(session, org_ids=member_org_ids)
    key = orgs.sibling_key(None, name)
    return session.exec(
        mark_scoped(
            select(Organization).where(
                Organization.sibling_key == key, col(Organization.id).in_(member_org_ids)
            )
        )
    ).first()


def bootstrap(*, org_name: str, admin_email: str, kind: str, full_name: str = "") -> Result:
    """Find or create the root org, its admin and the admin membership; make a reset link."""
    email = normalize_email(admin_email)
    org_name = clean_text(
        org_name, field="org", label="an organization name", max_length=120, min_length=2
    )
    orgs.check_kind(kind)
    with public_session() as session:
        user = auth.find_user_by_email(session, email)
        org = _find_root_org(session, org_name, user)
        org_created = org is None
        if org is None:
            try:
                org = orgs.create_org(session, name=org_name, kind=kind, parent=None)
            except Conflict as exc:
                # A root org of this name exists and the admin is not in it: only its own
                # admins (the app's invites, or this command with their email) can add people.
                raise Conflict(
                    f"An organization named “{org_name}” already exists and {email} is not "
                    "one of its members. Run this command with the email of one of its "
                    "admins, or invite this person from the app.",
                    field="org",
                ) from exc
        widen_scope(session, org_ids={org.id})
        user_created = user is None
        if user is None:
            name = full_name.strip() or email.split("@", 1)[0]
            name = clean_text(name, field="name", label="a name", max_length=120)
            # Nobody knows this password: the admin sets theirs through the link.
            user = User(email=email, full_name=name, password_hash=unusable_password_hash())
            session.add(user)
            session.flush()
        if not user.is_active:
            raise ValidationFailed(f"The account {email} is deactivated.", field="admin")
        bind_user(session, user.id)
        membership_created = _ensure_admin(session, org.id, user, user_created=user_created)
        token = auth.create_reset_token(session, user)
        audit.record(
            session,
            action="bootstrap.link_issued",
            org_id=org.id,
            actor_email="bootstrap",
            target=email,
        )
        session.commit()
        link = auth.reset_link(token)
        return Result(
            org_id=org.id,
            org_name=org.name,
            org_created=org_created,
            user_id=user.id,
            email=user.email,
            user_created=user_created,
            membership_created=membership_created,
            link=link,
        )


def _ensure_admin(session: Session, org_id: uuid.UUID, user: User, *, user_created: bool) -> bool:
    """Make `user` an active org admin of the org (audited); True when the membership is new."""
    membership = session.exec(
        mark_scoped(
            select(Membership).where(Membership.org_id == org_id, Membership.user_id == user.id)
        )
    ).first()
    if membership is None:
        session.add(Membership(org_id=org_id, user_id=user.id, role=Role.org_admin))
        audit.record(
            session,
            action="bootstrap.admin_added",
            org_id=org_id,
            actor_email="bootstrap",
            target=user.email,
            detail={"role": Role.org_admin, "user_created": user_created},
        )
        return True
    if membership.role != Role.org_admin or not membership.is_active:
        before = {"role": membership.role, "is_active": membership.is_active}
        membership.role = Role.org_admin
        membership.is_active = True
        session.add(membership)
        audit.record(
            session,
            action="bootstrap.admin_restored",
            org_id=org_id,
            actor_email="bootstrap",
            target=user.email,
            detail={"before": before, "after": {"role": Role.org_admin, "is_active": True}},
        )
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; 0 on success, 2 on bad input, 1 when the database is not ready."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    try:
        result = bootstrap(
            org_name=args.org, admin_email=args.admin, kind=args.kind, full_name=args.name
        )
    except ServiceError as exc:
        field = f" ({exc.field})" if exc.field else ""
        print(f"bootstrap: {exc.message}{field}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OperationalError, ProgrammingError) as exc:
        print(
            "bootstrap: the database is not ready. Run `alembic upgrade head` first.\n"
            f"  ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            file=sys.stderr,
        )
        return EXIT_FAILED
    ttl = get_settings().password_reset_ttl_minutes
    print(f"Organization: {result.org_name} ({'created' if result.org_created else 'exists'})")
    print(f"  id: {result.org_id}")
    state = "created" if result.user_created else "exists"
    role = "org admin membership added" if result.membership_created else "already org admin"
    print(f"Admin: {result.email} ({state}; {role})")
    print(f"\nOne-time sign-in link (sets the password; valid {ttl} minutes, used once):")
    print(f"  {result.link}\n")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
