"""What a user sees when an event handler fails in a way no service foresaw.

Reflex's default is "An error occurred. Contact the website administrator." For the failures
that are nobody's fault and pass (a database or Redis that is down, hung past its timeout,
or restarting) the toast says so, and that nothing was saved: every service writes in one
transaction, so a failed handler has committed nothing.
"""

# No `from __future__ import annotations`: Reflex evaluates the handler's return annotation.
import logging

import reflex as rx
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger("guildhall.errors")

UNAVAILABLE = "Guildhall can't reach its database right now"
UNAVAILABLE_DETAIL = "Nothing was saved. Try again in a moment."
FAILED = "Something went wrong"
FAILED_DETAIL = "Nothing was saved. If it happens again, tell your administrator."

# Transient by nature: a lost or refused connection, a statement or pool timeout.
_TRANSIENT = (OperationalError, PoolTimeout, RedisError, TimeoutError, ConnectionError)


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is an outage of a part the app depends on, not a bug."""
    if isinstance(exc, _TRANSIENT):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def backend_exception_handler(exception: Exception) -> rx.event.EventSpec:
    """The toast for an unhandled exception in an event handler (logged with its trace)."""
    if is_transient(exception):
        log.warning(
            "a handler failed on an unavailable part: %s: %s", type(exception).__name__, exception
        )
        return rx.toast.error(UNAVAILABLE, description=UNAVAILABLE_DETAIL, id="backend-unavailable")
    log.error("unhandled error in an event handler", exc_info=exception)
    return rx.toast.error(FAILED, description=FAILED_DETAIL, id="backend-error")
