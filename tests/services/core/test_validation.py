"""`validation.day_range`: the from/until days of a filter, `until` inclusive."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.services.core.errors import ValidationFailed
from app.services.core.validation import day_range


def _within(t: datetime, start: datetime | None, end: datetime | None) -> bool:
    """How audit reads use the pair: `start <= t < end`."""
    return (start is None or t >= start) and (end is None or t < end)


def test_until_includes_the_whole_of_that_day() -> None:
    start, end = day_range("2026-01-30", "2026-01-31")
    assert start == datetime(2026, 1, 30, tzinfo=UTC)
    last_moment = datetime(2026, 1, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert _within(datetime(2026, 1, 31, tzinfo=UTC), start, end)
    assert _within(last_moment, start, end)
    assert not _within(last_moment + timedelta(microseconds=1), start, end)
    assert not _within(start - timedelta(microseconds=1), start, end)


def test_empty_days_are_no_bound() -> None:
    assert day_range("", " ") == (None, None)
    assert day_range(" 2026-01-31 ", "")[0] == datetime(2026, 1, 31, tzinfo=UTC)


@pytest.mark.parametrize(
    ("since", "until", "field"),
    [("31/01/2026", "", "since"), ("", "2026-02-30", "until"), ("", "yesterday", "until")],
)
def test_a_bad_date_says_what_a_date_looks_like(since: str, until: str, field: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        day_range(since, until)
    assert err.value.message == "Dates look like 2026-01-31." and err.value.field == field
