"""Seed a demo tenant for `make run` (idempotent: a second run changes nothing): the org, two
child orgs, one person per role, and the learning content of `app.seed_learning`.

python -m app.seed
"""

from __future__ import annotations

import sys

from sqlmodel import select

from app.db import bind_user, widen_scope
from app.models.org import Organization
from app.models.user import Membership, Role, User
from app.seed_learning import EXTRA_LEARNERS, seed_learning
from app.services.config import orgs
from app.services.core.security import hash_password
from app.services.core.tenancy import mark_scoped, public_session
from app.services.people import auth

DEMO_PASSWORD = "guildhall-demo-1"
DEMO_ORG = "Riverside Training Collective"
DEMO_CHILDREN = [("Northside Campus", "local"), ("Eastgate Employers Group", "employer")]
DEMO_PEOPLE = [
    ("admin@riverside.example.com", "Avery Admin", Role.org_admin),
    ("staff@riverside.example.com", "Sam Staff", Role.staff),
    ("instructor@riverside.example.com", "Indira Instructor", Role.instructor),
    ("manager@riverside.example.com", "Morgan Manager", Role.manager),
    ("auditor@riverside.example.com", "Ari Auditor", Role.auditor),
    ("learner@riverside.example.com", "Lee Learner", Role.learner),
]


def seed() -> list[tuple[str, str]]:
    """Create the demo org, two children and one person per role, if missing."""
    with public_session() as session:
        # On PostgreSQL the demo org is only visible to its members (row-level security):
        # look it up as the demo admin, who belongs to it once the seed has run.
        admin = auth.find_user_by_email(session, DEMO_PEOPLE[0][0])
        if admin is not None:
            bind_user(session, admin.id)
        root = session.exec(
            mark_scoped(
                select(Organization).where(
                    Organization.sibling_key == orgs.sibling_key(None, DEMO_ORG)
                )
            )
        ).first()
        if root is None:
            root = orgs.create_org(session, name=DEMO_ORG, kind="regional", parent=None)
        widen_scope(session, org_ids={root.id})
        for name, kind in DEMO_CHILDREN:
            key = orgs.sibling_key(root.id, name)
            exists = session.exec(
                mark_scoped(select(Organization).where(Organization.sibling_key == key))
            ).first()
            if exists is None:
                orgs.create_org(session, name=name, kind=kind, parent=root)
        for email, name, role in DEMO_PEOPLE:
            user = auth.find_user_by_email(session, email)
            if user is None:
                user = User(email=email, full_name=name, password_hash=hash_password(DEMO_PASSWORD))
                session.add(user)
                session.flush()
            member = session.exec(
                mark_scoped(
                    select(Membership).where(
                        Membership.org_id == root.id, Membership.user_id == user.id
                    )
                )
            ).first()
            if member is None:
                session.add(Membership(org_id=root.id, user_id=user.id, role=role))
        session.commit()
        root_id = root.id
    seed_learning(root_id)
    people = [(email, role.value) for email, _name, role in DEMO_PEOPLE]
    return people + [(email, Role.learner.value) for email, _name in EXTRA_LEARNERS]


def main() -> int:
    """Seed and print the demo accounts."""
    accounts = seed()
    print(f"\nDemo organization: {DEMO_ORG}  (password for every account: {DEMO_PASSWORD})")
    for email, role in accounts:
        print(f"  {role:<12} {email}")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
