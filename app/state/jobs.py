"""The failed-jobs page: what the outbox could not do, and a retry button."""

from __future__ import annotations

import reflex as rx

from app.services.core.authz import Permission
from app.services.infra import outbox
from app.state.paging import PAGE_SIZE, PagedState
from app.state.session import SessionState

STATUSES = ("dead", "pending", "running", "done")


class JobsState(PagedState, SessionState):
    """The org's jobs of one status, newest first."""

    jobs: list[dict[str, str]] = []
    status: str = "dead"

    def _reload(self) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: outbox.list_jobs(
                s, ctx, status=self.status, page=self.page, page_size=PAGE_SIZE
            ),
            permission=Permission.config_edit,
        )
        if not done.ok:
            return done.reply
        rows, self.total = done.value
        self.jobs = [
            {
                "id": r.id,
                "kind": r.kind,
                "status": r.status,
                "attempts": str(r.attempts),
                "error": r.last_error,
                "when": r.created.strftime("%Y-%m-%d %H:%M"),
            }
            for r in rows
        ]
        return None

    @rx.event
    def load(self) -> rx.event.EventSpec | None:
        if self._refresh() is None:
            return rx.redirect("/signin?next=/admin/jobs")
        self.page, self.status = 1, "dead"
        if Permission.config_edit.value in self.permissions:
            return self._reload()
        return None

    @rx.event
    def show(self, status: str | list[str]) -> rx.event.EventSpec | None:
        chosen = status if isinstance(status, str) else (status[0] if status else "")
        self.status = chosen if chosen in STATUSES else "dead"
        self.page = 1
        return self._reload()

    @rx.event
    def retry(self, job_id: str) -> rx.event.EventSpec | None:
        done = self._call(
            lambda s, ctx: outbox.retry(s, ctx, job_id), permission=Permission.config_edit
        )
        if not done.ok:
            return done.reply
        self._reload()
        return rx.toast.success("The job will run again shortly.")
