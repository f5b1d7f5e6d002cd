"""`make run`'s demo data: the org, its people and its learning content, built once."""

from __future__ import annotations

import pytest

from app import seed, worker
from app.seed_learning import SAFETY, SERVICE
from app.services.comms import chat_channels, chat_history, chat_list
from app.services.core.tenancy import tenant_session
from app.services.credentials import compliance_report
from app.services.infra import outbox
from app.services.learning import catalog, my_learning
from tests import factories as f

pytestmark = pytest.mark.usefixtures("backend")


def test_the_demo_tenant_has_courses_progress_a_certificate_and_an_overdue_learner() -> None:
    accounts = seed.seed()
    assert ("learner@riverside.example.com", "learner") in accounts
    assert seed.seed() == accounts  # a second run builds nothing twice
    worker.load_handlers()
    while outbox.run_due():  # what the embedded worker does once the app serves
        pass

    learner = f.signed_in("learner@riverside.example.com", seed.DEMO_PASSWORD)
    with tenant_session(learner.ctx) as session:
        found = catalog.search(session, learner.ctx, text="")
        cards = {c.title: c for c in my_learning.my_learning(session, learner.ctx)}
    assert {c.title for c in found.cards} >= {SAFETY, SERVICE}
    assert found.total == 2
    assert cards[SAFETY].overdue and cards[SAFETY].mandatory
    assert 0 < cards[SERVICE].progress_percent < 100

    priya = f.signed_in("priya@riverside.example.com", seed.DEMO_PASSWORD)
    with tenant_session(priya.ctx) as session:
        done = {c.title: c for c in my_learning.my_learning(session, priya.ctx)}
    assert done[SERVICE].status == "completed" and done[SERVICE].certificate_id

    manager = f.signed_in("manager@riverside.example.com", seed.DEMO_PASSWORD)
    with tenant_session(manager.ctx) as session:
        report = compliance_report.compliance_report(session, manager.ctx)
    assert report.team_only
    assert {r.email for r in report.rows} == {
        "learner@riverside.example.com",
        "jordan@riverside.example.com",
    }
    assert report.summary.overdue == 1

    with tenant_session(learner.ctx) as session:
        general = chat_channels.org_channel(session, learner.ctx)
        said = chat_history.history(session, learner.ctx, channel_id=general.id).rows
    assert len(said) == 3 and any("handbook" in m.body for m in said)

    # Lee and Jordan are the safety course's "Spring intake" cohort, with its own channel.
    with tenant_session(learner.ctx) as session:
        rooms = {r.name: r for r in chat_list.list_channels(session, learner.ctx)}
        (cohort_room,) = [r for n, r in rooms.items() if n.startswith("Spring intake")]
        said = chat_history.history(session, learner.ctx, channel_id=cohort_room.id).rows
    assert [m.body for m in said] == ["Hello Spring intake! This channel is just for this cohort."]
    with tenant_session(priya.ctx) as session:
        assert not any(
            r.name.startswith("Spring intake") for r in chat_list.list_channels(session, priya.ctx)
        )
