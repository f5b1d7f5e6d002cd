"""The catalog: search and filters over what the learner's org and its parents published."""

from __future__ import annotations

import uuid

import pytest

from app.models.course import Course
from app.models.user import Role
from app.services.core.errors import NotFound
from app.services.core.tenancy import OrgContext, access, tenant_session
from app.services.learning import catalog
from tests import factories as f
from tests import learning_factories as lf

pytestmark = pytest.mark.usefixtures("backend")


def _search(ctx: OrgContext, **kw: object) -> catalog.CatalogPage:
    with tenant_session(ctx) as session:
        return catalog.search(session, ctx, **kw)  # type: ignore[arg-type]


def _titles(page: catalog.CatalogPage) -> set[str]:
    return {c.title for c in page.cards}


def test_search_matches_text_in_any_case_and_filters() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    tag = uuid.uuid4().hex[:8]
    forklift = lf.published_course(admin.ctx, title=f"Forklift Safety {tag}", category="Safety")
    excel = lf.published_course(
        admin.ctx,
        title=f"Spreadsheets {tag}",
        category="Office",
        level="advanced",
        delivery_mode="hybrid",
    )
    lf.published_course(admin.ctx, title=f"Draft {tag}", status="draft")
    assert _titles(_search(learner, text=tag.upper())) == {forklift.title, excel.title}
    assert _titles(_search(learner, text=f"forklift safety {tag}")) == {forklift.title}
    assert _titles(_search(learner, text=tag, category="Office")) == {excel.title}
    assert _titles(_search(learner, text=tag, level="advanced")) == {excel.title}
    assert _titles(_search(learner, text=tag, delivery_mode="hybrid")) == {excel.title}
    assert _titles(_search(learner, text="made by a test factory", category="Office")) >= {
        excel.title
    }
    assert _search(learner, text=f"nothing-{tag}").total == 0
    assert _search(learner, text="%").total == 0 or all(
        "%" in c.title + c.summary for c in _search(learner, text="%").cards
    )
    page = _search(learner)
    assert {"Office", "Safety"} <= {o.value for o in page.categories}
    assert [o.value for o in page.levels][:1] == ["beginner"]


def test_pagination_and_total() -> None:
    admin = f.new_admin()
    tag = uuid.uuid4().hex[:8]
    for i in range(5):
        lf.published_course(admin.ctx, title=f"Paged {tag} {i}")
    first = _search(admin.ctx, text=tag, page_size=2)
    third = _search(admin.ctx, text=tag, page=3, page_size=2)
    assert first.total == 5 and first.pages == 3 and len(first.cards) == 2
    assert len(third.cards) == 1
    assert not _titles(first) & _titles(third)


def test_card_shows_price_and_approval_and_the_viewers_status() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    tag = uuid.uuid4().hex[:8]
    paid = lf.published_course(admin.ctx, title=f"Paid {tag}", price_cents=4900)
    gated = lf.published_course(admin.ctx, title=f"Gated {tag}", requires_approval=True)
    free = lf.published_course(admin.ctx, title=f"Free {tag}")
    lf.enrollment(learner, free)
    cards = {c.title: c for c in _search(learner, text=tag).cards}
    assert cards[paid.title].price_label == "$49.00"
    assert cards[free.title].price_label == "Free"
    assert cards[gated.title].requires_approval
    assert cards[free.title].enrollment_status == "active"
    assert cards[paid.title].enrollment_status == ""


def test_child_org_sees_shared_parent_courses_only() -> None:
    admin = f.new_admin()
    child = f.child_org(admin.ctx)
    admin = f.refresh(admin)
    learner = f.invite_and_accept(admin.ctx, Role.learner, org_id=child.id)
    tag = uuid.uuid4().hex[:8]
    shared = lf.published_course(admin.ctx, title=f"Shared {tag}", shared=True)
    lf.published_course(admin.ctx, title=f"Private {tag}")
    lf.published_course(admin.ctx, title=f"SharedDraft {tag}", shared=True, status="draft")
    assert _titles(_search(learner, text=tag)) == {shared.title}


def test_course_page_details_outline_funding_and_enrollment() -> None:
    admin = f.new_admin()
    learner = f.invite_and_accept(admin.ctx, Role.learner)
    basics = lf.published_course(admin.ctx, title="Basics first")
    world = lf.published_course(admin.ctx)
    with tenant_session(admin.ctx) as session:
        row = access(session, admin.ctx, Course, world.course_id)
        row.prerequisite_ids = [str(basics.course_id)]
        session.add(row)
        session.commit()
    with tenant_session(learner) as session:
        page = catalog.course_page(session, learner, world.course_id)
    assert page.title == world.title and page.price_label == "Free" and not page.is_paid
    assert [m.title for m in page.outline] == ["Basics", "Practice"]
    assert [lesson.kind for m in page.outline for lesson in m.lessons] == [
        "text",
        "file",
        "video",
        "quiz",
    ]
    assert page.prerequisites[0].title == "Basics first" and not page.prerequisites_met
    assert not page.can_enroll and page.enrollment is None
    assert {o.value for o in page.funding_sources} == {"self_pay", "employer_paid"}
    assert "Self pay" in {o.label for o in page.funding_sources}
    lf.enrollment(learner, basics, status="completed")
    lf.enrollment(learner, world)
    with tenant_session(learner) as session:
        page = catalog.course_page(session, learner, world.course_id)
    assert page.prerequisites_met and page.enrollment is not None
    assert page.enrollment.status == "active" and not page.can_enroll
    assert page.next_lesson_id == str(world.lesson_ids[0])


def test_course_page_of_hidden_courses_is_not_found() -> None:
    pair = f.two_tenants()
    learner = f.invite_and_accept(pair.a.ctx, Role.learner)
    draft = lf.published_course(pair.a.ctx, status="draft")
    foreign = lf.published_course(pair.b.ctx, shared=True)
    with tenant_session(learner) as session:
        for course_id in (draft.course_id, foreign.course_id, uuid.uuid4(), "junk"):
            with pytest.raises(NotFound):
                catalog.course_page(session, learner, course_id)
