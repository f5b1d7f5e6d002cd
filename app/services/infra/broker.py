"""Live fan-out: publish a change to a topic after its transaction commits.

Topics and their payloads are declared once, in `core/topics.py`. Publishing is fire-and-forget: the
database stays the source of truth, and a view that missed a message reloads from it.

Two implementations behind one interface, chosen by settings: an in-process broker (the
embedded mode: one backend worker) and Redis pub/sub (the scaled mode: every worker
subscribes, so a change reaches tabs connected to any worker).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import event
from sqlmodel import Session

from app import redis_clients
from app.services.core import topics
from app.services.core.topics import Payload
from app.settings import get_settings

log = logging.getLogger(__name__)

Handler = Callable[[str, dict[str, Any]], None]
CHANNEL_PREFIX = "guildhall:"


class Broker(Protocol):
    """What the app needs of a broker."""

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        """Send `payload` to everyone listening on `topic` (best effort)."""

    def listen(self, handler: Handler) -> None:
        """Call `handler(topic, payload)` for every message this process receives."""


class LocalBroker:
    """In-process delivery: handlers run on the publishing thread."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._lock = threading.Lock()

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        with self._lock:
            handlers = list(self._handlers)
        for handler in handlers:
            try:
                handler(topic, payload)
            except Exception:  # a broken listener must not break the publisher
                log.exception("broker handler failed for %s", topic)

    def listen(self, handler: Handler) -> None:
        with self._lock:
            self._handlers.append(handler)


# Sent to listeners (never published) after the broker reconnected to Redis: anything
# published meanwhile was lost, so whoever shows live data reloads it.
RESYNC_TOPIC = "broker:resync"


class RedisBroker:
    """Redis pub/sub: one pattern subscription per process, on a daemon thread."""

    def __init__(self, url: str) -> None:
        import redis

        # Publishing waits at most the socket timeout; the subscriber waits for messages
        # as long as it takes (app/redis_clients.py).
        self._redis = redis.Redis.from_url(url, **redis_clients.command_options())
        self._subscriber = redis.Redis.from_url(url, **redis_clients.subscriber_options())
        self._handlers: list[Handler] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        import redis

        try:
            self._redis.publish(CHANNEL_PREFIX + topic, json.dumps(payload))
        except redis.RedisError:
            log.warning("could not publish to %s; viewers will catch up on reload", topic)

    def listen(self, handler: Handler) -> None:
        with self._lock:
            self._handlers.append(handler)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="guildhall-broker", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        import time

        import redis

        lost = False
        while True:
            try:
                pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
                pubsub.psubscribe(CHANNEL_PREFIX + "*")
                if lost:
                    # Messages published while Redis was away are gone: tell the listeners,
                    # so open views reload from the database what they may have missed.
                    lost = False
                    self._notify(RESYNC_TOPIC, {})
                for message in pubsub.listen():  # type: ignore[no-untyped-call]
                    self._dispatch(message)
            except redis.RedisError:
                lost = True
                log.warning("broker lost Redis; resubscribing")
                time.sleep(1)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message.get("channel", b"")
        topic = (channel.decode() if isinstance(channel, bytes) else str(channel))[
            len(CHANNEL_PREFIX) :
        ]
        try:
            payload = json.loads(message.get("data") or b"{}")
        except ValueError:
            return
        self._notify(topic, payload)

    def _notify(self, topic: str, payload: dict[str, Any]) -> None:
        with self._lock:
            handlers = list(self._handlers)
        for handler in handlers:
            try:
                handler(topic, payload)
            except Exception:
                log.exception("broker handler failed for %s", topic)


_broker: Broker | None = None
_broker_lock = threading.Lock()


def get_broker() -> Broker:
    """The process's broker for the configured mode."""
    global _broker
    with _broker_lock:
        if _broker is None:
            url = get_settings().redis_url
            _broker = RedisBroker(url) if url else LocalBroker()
        return _broker


def reset_broker() -> None:
    """Forget the process's broker (tests switch modes)."""
    global _broker
    with _broker_lock:
        _broker = None


_PENDING_KEY = "broker_pending"


def publish_after_commit(session: Session, topic: str, payload: Payload) -> None:
    """Publish `payload` on `topic` once `session`'s transaction commits; dropped if it
    rolls back. ValueError at once when the payload is not the topic's (core/topics.py)."""
    message = topics.check(topic, payload)
    session.connection()  # tie the message to this transaction, so a rollback drops it
    pending: list[tuple[str, dict[str, Any]]] | None = session.info.get(_PENDING_KEY)
    if pending is None:
        pending = session.info[_PENDING_KEY] = []
        event.listen(session, "after_commit", _flush)
        event.listen(session, "after_rollback", _drop)
    pending.append((topic, message))


def _flush(session: Session) -> None:
    pending: list[tuple[str, dict[str, Any]]] = session.info.get(_PENDING_KEY, [])
    batch = list(pending)
    pending.clear()
    broker = get_broker()
    for topic, payload in batch:
        broker.publish(topic, payload)


def _drop(session: Session) -> None:
    session.info.get(_PENDING_KEY, []).clear()
