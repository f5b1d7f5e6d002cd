"""How the app's own Redis clients are built, so that none of them waits on Redis forever.

A stopped or hung Redis still accepts connections (the kernel does), then never answers: a
client without a socket timeout waits for ever, and redis-py's default retry policy (three
retries with up to 10 s of backoff, timeouts included) turns one timeout into four. So
every client that sends commands gets a socket timeout (`GUILDHALL_REDIS_SOCKET_TIMEOUT_SECONDS`)
and retries only a broken connection, once, at once (a Redis that restarted): a timeout is
not retried.

A pub/sub subscriber is different: it waits for messages by design, and a socket timeout
would make every quiet moment look like an outage. It gets the connect timeout and TCP
keepalives only. Reflex's own clients (REFLEX_REDIS_URL) hold pub/sub listeners on the same
client, so the same holds for them: see docs/operations.md.
"""

from __future__ import annotations

from typing import Any

from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from app.settings import get_settings

# A pooled connection idle this long is pinged before reuse (a Redis restarted meanwhile
# is noticed there, and the command goes over a fresh connection).
HEALTH_CHECK_INTERVAL_SECONDS = 30


def command_options() -> dict[str, Any]:
    """`redis.Redis(...)` options for a client that sends commands and waits for replies."""
    seconds = get_settings().redis_socket_timeout_seconds
    return {
        "socket_timeout": seconds,
        "socket_connect_timeout": seconds,
        "socket_keepalive": True,
        "health_check_interval": HEALTH_CHECK_INTERVAL_SECONDS,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }


def subscriber_options() -> dict[str, Any]:
    """Options for a pub/sub listener: bounded connects, no read timeout."""
    return {
        "socket_connect_timeout": get_settings().redis_socket_timeout_seconds,
        "socket_keepalive": True,
    }
