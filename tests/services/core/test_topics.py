"""The live contract: topic names, their families, and the one payload each carries.

Every service that publishes goes through `broker.publish_after_commit`, which refuses a
payload that is not its topic's (tests/services/infra/test_broker.py), so the whole suite
checks every published payload; this file checks the table itself."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from app.services.core import topics

ORG, OTHER = uuid.uuid4(), uuid.uuid4()

SAMPLES: dict[str, tuple[topics.Topic[Any], dict[str, Any], topics.Payload]] = {
    "catalog": (
        topics.CATALOG,
        {"org": ORG},
        topics.CatalogChanged(course_id="c1", status="published"),
    ),
    "config": (
        topics.CONFIG,
        {"org": ORG},
        topics.ConfigChanged(org_id=str(ORG), section="branding"),
    ),
    "channel": (
        topics.CHANNEL,
        {"org": ORG, "channel": OTHER},
        topics.ChannelChanged(kind="new", message_id="m1"),
    ),
    "chat list": (topics.CHAT_LIST, {"org": ORG, "user": OTHER}, topics.ChatListChanged()),
    "inbox": (topics.INBOX, {"user": OTHER}, topics.InboxChanged(kind="read")),
    "progress": (
        topics.PROGRESS,
        {"org": ORG, "course": OTHER},
        topics.ProgressMoved(kind="quiz_attempt", user_ids=["u1"], percent=40, score=75.0),
    ),
}


def test_every_topic_has_a_sample() -> None:
    assert {t.template for t, _, _ in SAMPLES.values()} == {t.template for t in topics.ALL}


@pytest.mark.parametrize("label", sorted(SAMPLES))
def test_a_name_belongs_to_its_own_family_only_and_gives_its_ids_back(label: str) -> None:
    family, ids, _ = SAMPLES[label]
    name = family.name(**ids)
    assert [t for t in topics.ALL if t.matches(name)] == [family]
    assert topics.topic_of(name) is family
    assert family.ids(name) == {k: str(v) for k, v in ids.items()}


@pytest.mark.parametrize("label", sorted(SAMPLES))
def test_a_payload_survives_the_wire_and_is_checked_against_its_topic(label: str) -> None:
    family, ids, payload = SAMPLES[label]
    name = family.name(**ids)
    message = topics.check(name, payload)
    assert family.parse(message) == payload
    wrong = next(p for t, _, p in SAMPLES.values() if t is not family)
    with pytest.raises(ValueError, match="carries"):
        topics.check(name, wrong)


def test_names_refuse_missing_extra_or_colon_ids() -> None:
    with pytest.raises(ValueError):
        topics.CHANNEL.name(org=ORG)
    with pytest.raises(ValueError):
        topics.CONFIG.name(org=ORG, user=OTHER)
    with pytest.raises(ValueError):
        topics.CONFIG.name(org="a:b")  # would make a name of another family
    assert topics.topic_of("org:x:nothing") is None


def test_a_message_that_does_not_fit_parses_to_none() -> None:
    assert topics.CHANNEL.parse({"kind": "shout"}) is None  # no such change
    assert topics.CHANNEL.parse({"kind": "new", "extra": 1}) is None
    assert topics.PROGRESS.parse({"kind": "video", "user_ids": []}) is None
    too_many = [str(i) for i in range(topics.MAX_PUSHED_USERS + 1)]
    assert topics.PROGRESS.parse({"kind": "cohort", "user_ids": too_many}) is None
    assert topics.INBOX.parse(None) is None and topics.INBOX.parse({}) is None  # a resync
