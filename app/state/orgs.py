"""The organizations page: the admin's subtree, creating and moving child orgs."""

from __future__ import annotations

from typing import Any

import reflex as rx

from app.services.config import orgs
from app.services.core.authz import Permission
from app.services.core.errors import NotFound
from app.state.account import FormState
from app.state.session import Outcome, SessionState


class OrgsState(FormState, SessionState):
    """Tree of orgs the admin manages."""

    tree: list[dict[str, Any]] = []
    move_error: str = ""

    def _load_tree(self) -> Outcome[list[orgs.OrgNode]]:
        done = self._call(orgs.org_tree, permission=Permission.org_manage)
        if done.ok:
            self.tree = [
                {
                    "id": n.id,
                    "name": n.name,
                    "kind": n.kind,
                    "depth": n.depth,
                    "indent": f"{n.depth * 1.5}em",
                    "members": n.member_count,
                    "label": ("— " * n.depth) + n.name,
                }
                for n in done.value
            ]
        return done

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        if self._refresh() is None:
            return rx.redirect("/signin?next=/admin/orgs")
        if not self._load_tree().ok:
            self.tree = []
        return None

    @rx.event
    def create(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self._start()
        created = done = self._call(
            lambda s, ctx: orgs.do_create_child_org(
                s,
                ctx,
                parent_id=str(form.get("parent_id", "")),
                name=str(form.get("name", "")),
                kind=str(form.get("kind", "")),
            ),
            permission=Permission.org_manage,
        )
        if created.ok:
            self.busy = False
            done = self._load_tree()
        if not done.ok:
            self._fail(done.error)
            return done.reply if not done.error.field else None
        return rx.toast.success(f"Created {created.value.name}.")

    @rx.event
    def move(self, form: dict[str, Any]) -> rx.event.EventSpec | None:
        self.move_error = ""
        moved = done = self._call(
            lambda s, ctx: orgs.do_move_org(
                s,
                ctx,
                org_id=str(form.get("org_id", "")),
                new_parent_id=str(form.get("parent_id", "")),
            ),
            permission=Permission.org_manage,
        )
        if moved.ok:
            done = self._load_tree()
        if not done.ok:
            self.move_error = done.error.message
            return done.reply
        return rx.toast.success(f"Moved {moved.value.name}.")


class OrgDetailState(FormState, SessionState):
    """One org of the subtree: `/orgs/<id>`; another tenant's id is simply not found."""

    found: bool = False
    detail_name: str = ""
    detail_kind: str = ""
    detail_children: list[dict[str, str]] = []

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        ctx = self._refresh()
        if ctx is None:
            return rx.redirect(f"/signin?next={self.router.url.path}")
        org_id = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        self.found, self.detail_name, self.detail_kind, self.detail_children = False, "", "", []
        done = self._call(lambda session, ctx: orgs.org_detail(session, ctx, org_id))
        if done.value is None:
            return None if isinstance(done.error, NotFound) else done.reply
        detail = done.value
        self.found = True
        self.detail_name, self.detail_kind = detail.org.name, detail.org.kind
        self.detail_children = [
            {"id": c.id, "name": c.name, "kind": c.kind} for c in detail.children
        ]
        return None
