"""An unforeseen failure in a handler: a database outage says so and that nothing was saved;
anything else gets a plain apology, never Reflex's "contact the administrator"."""

from __future__ import annotations

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.state import failures


def _text(spec: object) -> str:
    return repr(getattr(spec, "args", spec))


def test_a_database_outage_says_so_and_that_nothing_was_saved() -> None:
    for exc in (
        OperationalError("SELECT 1", {}, Exception("canceling statement due to statement timeout")),
        PoolTimeout("QueuePool limit of size 5 overflow 10 reached"),
        ConnectionRefusedError(111, "refused"),
    ):
        shown = _text(failures.backend_exception_handler(exc))
        assert failures.UNAVAILABLE in shown and "Nothing was saved" in shown, (exc, shown)


def test_a_bug_gets_a_plain_apology() -> None:
    shown = _text(failures.backend_exception_handler(KeyError("x")))
    assert failures.FAILED in shown and failures.UNAVAILABLE not in shown
