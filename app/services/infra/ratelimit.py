"""Rate limits on a shared store: Redis when configured (all workers agree), else memory.

Built on the `limits` library rather than hand-rolled counters: moving windows, Redis and
memory backends, and atomic hits are its whole job.
"""

from __future__ import annotations

from functools import lru_cache

from limits import RateLimitItemPerSecond, storage, strategies

from app import redis_clients
from app.settings import get_settings


@lru_cache(maxsize=4)
def _limiter(uri: str) -> strategies.MovingWindowRateLimiter:
    # On Redis, a hung server fails the check within the socket timeout (the caller's
    # handler fails like any outage) instead of hanging it: app/redis_clients.py.
    options = {} if uri.startswith("memory://") else redis_clients.command_options()
    return strategies.MovingWindowRateLimiter(storage.storage_from_string(uri, **options))


def limiter() -> strategies.MovingWindowRateLimiter:
    """The process's limiter for the configured store."""
    url = get_settings().redis_url
    return _limiter(url if url else "memory://")


def window(count: int, seconds: int) -> RateLimitItemPerSecond:
    """`count` events per `seconds`."""
    return RateLimitItemPerSecond(count, seconds)


def is_exhausted(item: RateLimitItemPerSecond, *key: str) -> bool:
    """Whether `key` has no attempts left in the window."""
    return not limiter().test(item, *key)


def hit(item: RateLimitItemPerSecond, *key: str) -> None:
    """Count one attempt against `key`."""
    limiter().hit(item, *key)


def clear(item: RateLimitItemPerSecond, *key: str) -> None:
    """Forget the attempts of `key` (after a success)."""
    limiter().clear(item, *key)


def reset_all() -> None:
    """Drop every counter (tests)."""
    limiter().storage.reset()
