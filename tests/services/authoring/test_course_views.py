"""Authoring reads (`authoring.course_views`): the course list searches, counts and pages in
the database, within the active org."""

from __future__ import annotations

import uuid

import pytest

from app.services.authoring import course_views
from tests import factories as f
from tests import learning_factories as lf
from tests.services.authoring.helpers import new_course, run

pytestmark = pytest.mark.usefixtures("backend")


def test_list_authored_searches_counts_and_pages() -> None:
    pair = f.two_tenants()
    ctx = pair.a.ctx
    tag = uuid.uuid4().hex[:6]
    for i in range(3):
        new_course(ctx, title=f"Crane {tag} {i}")
    lf.published_course(ctx, title=f"Ladder {tag}")
    new_course(pair.b.ctx, title=f"Crane {tag} theirs")
    page = run(ctx, course_views.list_authored, search=f"crane {tag}", page_size=2)
    assert page.total == 3 and len(page.rows) == 2
    page2 = run(ctx, course_views.list_authored, search=f"crane {tag}", page_size=2, page=2)
    assert len(page2.rows) == 1
    assert not {r.id for r in page.rows} & {r.id for r in page2.rows}
    (ladder,) = run(ctx, course_views.list_authored, search=f"ladder {tag}").rows
    assert (ladder.modules, ladder.lessons, ladder.status) == (2, 4, "published")
    drafts = run(ctx, course_views.list_authored, search=tag, status="draft")
    assert drafts.total == 3
