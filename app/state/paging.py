"""Previous/next paging shared by list pages; the rows come from the database a page at a
time (never the whole list into state)."""

from __future__ import annotations

import math

import reflex as rx

PAGE_SIZE = 25


class PagedState(rx.State, mixin=True):
    """A mixin: `page`, `total`, `pages`, and handlers that call the state's `_reload()`."""

    page: int = 1
    total: int = 0

    @rx.var
    def pages(self) -> int:
        return max(1, math.ceil(self.total / PAGE_SIZE))

    def _reload(self) -> rx.event.EventSpec | None:
        raise NotImplementedError

    @rx.event
    def next_page(self) -> rx.event.EventSpec | None:
        if self.page < self.pages:
            self.page += 1
        return self._reload()

    @rx.event
    def prev_page(self) -> rx.event.EventSpec | None:
        self.page = max(1, self.page - 1)
        return self._reload()
