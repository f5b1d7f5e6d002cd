"""Live fan-out benchmark: from a learner's commit to the instructor tabs' state delta.

    .venv/bin/python bench/live_fanout.py --learners 100 --watchers 5
    .venv/bin/python bench/live_fanout.py --learners 1000 --watchers 5
    make bench                      # runs both sizes

Needs PostgreSQL and Redis: it uses the `GUILDHALL_TEST_*` variables that
`scripts/testenv.sh start DIR` writes (source DIR/env first), or starts its own throwaway
servers with that script when they are unset. It makes a fresh database, migrates it, and
drops it at the end.

What runs (all in this process; one asyncio loop plays one backend worker, with Reflex's
real `StateManagerRedis` and a real `rx.App`, whose socket emit is replaced by a recorder):

* N learners, enrolled in one course, each complete one lesson through the real service
  (`lesson_completion.do_complete_lesson`, PostgreSQL with row-level security), in `PROCESSES` (4)
  forked learner processes with up to 16 requests in flight, like requests reaching other
  backend workers: all at once (a burst), or paced at `--rate` per second.
* M instructor tabs watch the course.

Three mechanisms, measured in the same run:

(a) our fan-out: the commit publishes on Redis (`broker.publish_after_commit`), the worker's
    broker thread hears it, `app.state.live.hub` finds the watching tabs in its registry
    and (at most one pending per tab, `live_coalesce.COALESCE_SECONDS` apart, more when
    refreshes get slow) runs `class_view.refresh_tab` (`hub.on_tab`): the real
    `ClassViewState` re-reads the roster page from the database in a thread, without the
    tab's lock, then shows it under `app.modify_state`. Latency of a commit at a tab =
    the end of the first refresh of that tab that started after the commit (so read the
    database after it); its delta is resolved and emitted right after. (A commit of a
    learner who is not on the tab's page changes nothing the tab shows and sends no delta,
    but the tab is up to date then.)
(b) Reflex's linked `rx.SharedState`: every tab is `_link_to`-ed to one shared token per
    course; after its commit the learner's handler writes the new percentage into the
    shared state (`app.modify_state(shared token)`, one lock shared by every learner), and
    Reflex fans the change out to each linked tab (`modify_state` per tab, with the linked
    state patched in). Latency at a tab = the emit of the first delta that carries the new
    percentage for that enrollment.
(floor) a bare Redis pub/sub round trip (PUBLISH to a subscriber thread in this process).

Not measured: the socket hop to the browser and its render (the same for (a) and (b)), and
the cross-worker relay: in (a) the worker that registered a tab applies its pushes, so the
delta goes out on the tab's own socket; in (b) the learner's worker emits to every linked
tab, and a tab connected to another worker gets it through Reflex's Redis "lost and found"
relay (one more Redis round trip per tab).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import dataclasses
import multiprocessing
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.chdir(REPO)  # rxconfig.py
os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "false")

THREADS = 16


# --------------------------------------------------------------------------- services


def _services() -> None:
    """Use the test servers from the environment, or start throwaway ones."""
    if os.environ.get("GUILDHALL_TEST_PG_SUPER_URL") and os.environ.get("GUILDHALL_TEST_REDIS_URL"):
        return
    where = tempfile.mkdtemp(prefix="guildhall-bench-")
    print(f"starting PostgreSQL and Redis in {where} ...", flush=True)
    subprocess.run(["bash", str(REPO / "scripts/testenv.sh"), "start", where], check=True)
    atexit.register(
        subprocess.run, ["bash", str(REPO / "scripts/testenv.sh"), "stop", where], check=False
    )
    for line in (Path(where) / "env").read_text().splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            os.environ[key] = shlex.split(value)[0] if value else ""


def _redis_db(url: str, number: int) -> str:
    return url.rsplit("/", 1)[0] + f"/{number}"


_services()
REDIS = os.environ["GUILDHALL_TEST_REDIS_URL"]
os.environ["REFLEX_REDIS_URL"] = _redis_db(REDIS, 5)  # Reflex's StateManagerRedis
os.environ["GUILDHALL_REDIS_URL"] = _redis_db(REDIS, 6)  # our broker (pub/sub ignores the db)

# tests.conftest sets cheap password hashing before app.settings is read, and has the
# helpers that make a migrated PostgreSQL database with the non-owner app role.
from tests import conftest  # noqa: E402

# ... and a throwaway file store that only pytest's own hook removes: remove it here too.
atexit.register(shutil.rmtree, conftest._STORAGE_DIR, ignore_errors=True)

# isort: split
import redis  # noqa: E402
import reflex as rx  # noqa: E402
from reflex.istate.manager.token import BaseStateToken  # noqa: E402
from sqlalchemy import event  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app import db  # noqa: E402
from app.models.enrollment import Enrollment  # noqa: E402
from app.models.user import Membership, Role, User  # noqa: E402
from app.services.core.tenancy import OrgContext, tenant_session  # noqa: E402
from app.services.infra import broker  # noqa: E402
from app.services.learning import lesson_completion  # noqa: E402
from app.settings import get_settings  # noqa: E402
from app.state import class_view as live_view  # noqa: E402
from app.state import live_coalesce  # noqa: E402
from app.state.class_view import ClassViewState  # noqa: E402
from app.state.live import hub  # noqa: E402
from tests import factories as f  # noqa: E402
from tests import learning_factories as lf  # noqa: E402


class BenchShared(rx.SharedState):
    """(b): the course's progress, shared by every linked instructor tab."""

    progress: dict[str, int] = {}


# --------------------------------------------------------------------------- figures


def percentiles(values: list[float]) -> str:
    """p50/p95/p99 and max in milliseconds."""
    if not values:
        return "no samples"
    ms = sorted(v * 1000 for v in values)

    def q(p: float) -> float:
        return ms[min(len(ms) - 1, max(0, round(p * len(ms)) - 1))]

    return (
        f"p50 {q(0.50):8.1f}  p95 {q(0.95):8.1f}  p99 {q(0.99):8.1f}  max {ms[-1]:8.1f} ms"
        f"  (n={len(ms)})"
    )


# --------------------------------------------------------------------------- the world


class World:
    """An org, an instructor, a course and N enrolled learners (rows written directly)."""

    def __init__(self, learners: int) -> None:
        self.admin = f.new_admin(kind="provider")
        self.instructor = f.invite_and_accept_member(self.admin.ctx, Role.instructor)
        self.course = lf.published_course(self.instructor.ctx)
        org = self.admin.org_id
        self.learners: list[tuple[OrgContext, uuid.UUID]] = []
        with tenant_session(self.admin.ctx) as session:
            for i in range(learners):
                user = User(
                    email=f"bench-{uuid.uuid4().hex[:12]}@example.com",
                    full_name=f"Learner {i:05d}",
                    password_hash="!",
                )
                session.add(user)
                session.flush()
                session.add(Membership(org_id=org, user_id=user.id, role=Role.learner))
                enrollment = Enrollment(
                    org_id=org,
                    course_org_id=org,
                    user_id=user.id,
                    course_id=self.course.course_id,
                    funding_source="self_pay",
                )
                session.add(enrollment)
                ctx = OrgContext(
                    user_id=user.id,
                    email=user.email,
                    full_name=user.full_name,
                    org_id=org,
                    org_name=self.admin.ctx.org_name,
                    role=Role.learner,
                    org_ids=frozenset({org}),
                )
                self.learners.append((ctx, enrollment.id))
            session.commit()

    def router_data(self, token: str) -> dict[str, Any]:
        path = f"/teach/courses/{self.course.course_id}/live"
        return {
            "pathname": path,
            "asPath": path,
            "query": {},
            "token": token,
            "sid": f"sid-{token[:8]}",
            "headers": {
                "host": "localhost:8000",
                "origin": "http://localhost:3000",
                "cookie": f"{get_settings().session_cookie_name}={self.instructor.token}",
            },
            "ip": "203.0.113.7",
        }


# --------------------------------------------------------------------------- the worker


class Worker:
    """One backend worker: an rx.App on a Redis state manager, its loop in a thread, and a
    recorder in place of the socket."""

    def __init__(self) -> None:
        self.app = rx.App()
        self.app._enable_state()
        namespace = self.app.event_namespace
        assert namespace is not None
        self.emits: dict[str, list[tuple[float, dict[str, Any]]]] = defaultdict(list)
        self.refreshes: dict[str, list[tuple[float, float]]] = defaultdict(list)

        async def emit_update(update: Any, token: str) -> None:
            self.emits[token].append((time.perf_counter(), update.delta))

        async def connected(token: str) -> bool:
            return True

        namespace.emit_update = emit_update  # type: ignore[method-assign]
        namespace._token_manager.is_token_connected = connected  # type: ignore[method-assign]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        # What the server does at start: an event processor, whose root EventContext
        # (state manager, emit) `app.modify_state` and the shared states use.
        self._processor = self.app._setup_event_processor()
        asyncio.run_coroutine_threadsafe(self._processor.__aenter__(), self.loop).result(30)

    def run(self, coro: Any, timeout: float = 600) -> Any:
        async def with_contexts() -> Any:
            with self.app.set_contexts():
                return await coro

        return asyncio.run_coroutine_threadsafe(with_contexts(), self.loop).result(timeout)

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(
                self._processor.__aexit__(None, None, None), self.loop
            ).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def _record_refreshes(worker: Worker) -> None:
    """Note, per tab, when each live refresh started and when its state was updated (the
    delta is resolved and emitted right after; a refresh that changed nothing on the page
    emits none, yet the tab is then up to date)."""
    original = live_view.refresh_tab

    async def timed(app: Any, token: str, view: Any) -> bool:
        started = time.perf_counter()
        shown = await original(app, token, view)
        if shown:
            worker.refreshes[token].append((started, time.perf_counter()))
        return shown

    hub._subscriptions = [
        dataclasses.replace(sub, tab_refresh=timed) if sub.tab_refresh is original else sub
        for sub in hub._subscriptions
    ]


# commit times per thread: the after_commit hook of the learner's session
_commit_at = threading.local()


@event.listens_for(Session, "after_commit")
def _note_commit(_session: Session) -> None:
    _commit_at.value = time.perf_counter()


# learner actions per second; 0 = all at once (set from --rate)
RATE = 0.0
# The learners' requests run in other processes (other backend workers in production), so
# they compete with the watching worker for the CPUs but not for its interpreter lock.
PROCESSES = 4


def _learner_process_init() -> None:
    """In a forked learner process: its own database pools and Redis connection."""
    db.dispose_engines(close=False)
    broker.reset_broker()


def _complete_one(
    ctx: OrgContext, enrollment_id: uuid.UUID, course_id: uuid.UUID, lesson_id: uuid.UUID, at: float
) -> tuple[uuid.UUID, int, float]:
    """One learner's request, in a learner process: wait for its slot (`at`, on the
    machine-wide monotonic clock `perf_counter` reads), complete the lesson, and say when
    it committed."""
    time.sleep(max(0.0, at - time.perf_counter()))
    with tenant_session(ctx) as session:
        done = lesson_completion.do_complete_lesson(
            session, ctx, course_id=course_id, lesson_id=lesson_id
        )
    return enrollment_id, done.progress_percent, _commit_at.value


def learner_pool() -> ProcessPoolExecutor:
    """The learner processes, forked (and warmed) before the worker's threads start."""
    pool = ProcessPoolExecutor(
        PROCESSES,
        mp_context=multiprocessing.get_context("fork"),
        initializer=_learner_process_init,
    )
    list(pool.map(time.sleep, [0.2] * PROCESSES))  # fork them all now
    return pool


def _act(
    world: World,
    pool: ProcessPoolExecutor,
    lesson_id: uuid.UUID,
    after: Callable[[uuid.UUID, int, float], None] | None,
) -> list[tuple[uuid.UUID, int, float]]:
    """Every learner completes `lesson_id` from the learner processes (`THREADS` requests
    in flight), all at once or (with `RATE`) the i-th at i/RATE seconds after the start;
    `after` runs here as each commit is reported. Returns (enrollment, percent, commit)."""
    start = time.perf_counter() + 0.5
    done: list[tuple[uuid.UUID, int, float]] = []
    with ThreadPoolExecutor(THREADS) as requests:

        def one(n: int) -> None:
            ctx, enrollment_id = world.learners[n]
            at = start + (n / RATE if RATE else 0.0)
            got = pool.submit(
                _complete_one, ctx, enrollment_id, world.course.course_id, lesson_id, at
            ).result()
            if after is not None:
                after(*got)
            done.append(got)

        list(requests.map(one, range(len(world.learners))))
    return done


def _wait_quiet(
    worker: Worker, seconds: float = 1.0, limit: float = 180.0, *, refreshes: bool = False
) -> None:
    """Wait until nothing happened for `seconds` (the fan-out has drained)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if refreshes:
            last = max((r[-1][1] for r in worker.refreshes.values() if r), default=0.0)
        else:
            last = max((e[-1][0] for e in worker.emits.values() if e), default=0.0)
        if last and time.perf_counter() - last > seconds:
            return
        time.sleep(0.2)


# --------------------------------------------------------------------------- (a)


def bench_hub(
    world: World, worker: Worker, pool: ProcessPoolExecutor, watchers: int
) -> list[float]:
    """(a) broker -> hub -> modify_state + DB refresh per tab."""
    tabs = [str(uuid.uuid4()) for _ in range(watchers)]
    topics_holder: dict[str, set[str]] = {}

    async def open_tabs() -> None:
        for tab in tabs:
            async with worker.app.modify_state(
                BaseStateToken(ident=tab, cls=ClassViewState)
            ) as root:
                root.router_data = root._update_router_vars(
                    world.router_data(tab), root.router_data
                )
                state = await root.get_state(ClassViewState)
                state.cid = str(world.course.course_id)
                state._live_apply(await state._live_read())
                ctx = state._context()
                assert ctx is not None and state.found, "the instructor cannot open the view"
                topics = state._topics(ctx)
                topics_holder[tab] = topics
                hub.watch(tab, topics, group="page", owner=ClassViewState)

    worker.run(open_tabs())
    worker.emits.clear()
    worker.refreshes.clear()
    commits = _act(world, pool, world.course.lesson_ids[0], None)
    _wait_quiet(worker, seconds=1.5, refreshes=True)
    latencies: list[float] = []
    missed = 0
    for tab in tabs:
        pairs = worker.refreshes[tab]
        for _enrollment, _percent, at in commits:
            # the first refresh that began after the commit (so read the database after it)
            seen = next((done for start, done in pairs if start > at), None)
            if seen is None:
                missed += 1
            else:
                latencies.append(seen - at)
    refreshes = sum(len(worker.refreshes[t]) for t in tabs)
    took = [done - start for t in tabs for start, done in worker.refreshes[t]]
    print(
        f"  (a) {len(commits)} commits, {refreshes} refreshes over {watchers} tabs"
        f" ({refreshes / max(1, watchers):.0f} per tab), {missed} commit/tab pairs never shown"
    )
    print(f"      one refresh took {percentiles(took)}")
    for tab in tabs:  # stop watching: (b) runs next
        hub.watch(tab, set(), group="page")
    return latencies


# --------------------------------------------------------------------------- (b)


def bench_shared(
    world: World, worker: Worker, pool: ProcessPoolExecutor, watchers: int
) -> list[float]:
    """(b) linked rx.SharedState: one shared token per course, linked by every tab."""
    shared_token = "course" + world.course.course_id.hex  # no underscores allowed
    tabs = [str(uuid.uuid4()) for _ in range(watchers)]

    async def link() -> None:
        for tab in tabs:
            async with worker.app.modify_state(BaseStateToken(ident=tab, cls=BenchShared)) as root:
                root.router_data = root._update_router_vars(
                    world.router_data(tab), root.router_data
                )
                state = await root.get_state(BenchShared)
                await state._link_to(shared_token)

    worker.run(link())
    time.sleep(0.5)
    worker.emits.clear()

    async def write(enrollment_id: uuid.UUID, percent: int) -> None:
        with worker.app.set_contexts():
            async with worker.app.modify_state(
                BaseStateToken(ident=shared_token, cls=BenchShared)
            ) as root:
                state = await root.get_state(BenchShared)
                state.progress = {**state.progress, str(enrollment_id): percent}

    def after(enrollment_id: uuid.UUID, percent: int, _at: float) -> None:
        # the learner's (background) handler, after its service committed
        asyncio.run_coroutine_threadsafe(write(enrollment_id, percent), worker.loop)

    commits = _act(world, pool, world.course.lesson_ids[1], after)
    _wait_quiet(worker, seconds=2.0)
    latencies: list[float] = []
    missed = 0
    for tab in tabs:
        emits = worker.emits[tab]
        for enrollment_id, percent, at in commits:
            key = str(enrollment_id)
            seen = None
            for when, delta in emits:
                if when < at:
                    continue
                for values in delta.values():
                    for name, value in values.items():
                        if (
                            name.startswith("progress")
                            and isinstance(value, dict)
                            and value.get(key, -1) >= percent
                        ):
                            seen = when
                            break
                    if seen:
                        break
                if seen:
                    break
            if seen is None:
                missed += 1
            else:
                latencies.append(seen - at)
    deltas = sum(len(worker.emits[t]) for t in tabs)
    print(
        f"  (b) {len(commits)} commits, {deltas} deltas over {watchers} tabs,"
        f" {missed} commit/tab pairs never shown"
    )
    return latencies


# --------------------------------------------------------------------------- floor


def bench_floor(messages: int) -> list[float]:
    """A bare Redis pub/sub round trip: PUBLISH -> a subscriber thread in this process."""
    client = redis.Redis.from_url(REDIS)
    channel = f"bench-floor-{uuid.uuid4().hex}"
    latencies: list[float] = []
    ready = threading.Event()
    done = threading.Event()

    def listen() -> None:
        sub = client.pubsub(ignore_subscribe_messages=True)
        sub.subscribe(channel)
        ready.set()
        for message in sub.listen():
            sent = float(message["data"])
            latencies.append(time.perf_counter() - sent)
            if len(latencies) >= messages:
                done.set()
                return

    threading.Thread(target=listen, daemon=True).start()
    ready.wait(5)
    time.sleep(0.2)
    for _ in range(messages):
        client.publish(channel, repr(time.perf_counter()))
        time.sleep(0.001)
    done.wait(30)
    return latencies


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=100, help="N learners acting at once")
    parser.add_argument("--watchers", type=int, default=5, help="M instructor tabs watching")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="learner actions per second, paced (default 0: all N at once, a burst)",
    )
    args = parser.parse_args(argv)
    global RATE
    RATE = max(0.0, args.rate)

    urls = {name: os.environ[name] for name in conftest.PG_ENV}
    database = conftest._create_pg_database(urls)
    try:
        conftest.migrate(database.owner_url, app_role=conftest.APP_ROLE)
        os.environ["GUILDHALL_DATABASE_URL"] = database.app_url_as_configured
        get_settings.cache_clear()
        db.dispose_engines()
        broker.reset_broker()
        redis.Redis.from_url(os.environ["REFLEX_REDIS_URL"]).flushdb()

        pace = f"at {RATE:g} per second" if RATE else "at once"
        print(
            f"live fan-out: N={args.learners} learners completing a lesson {pace} "
            f"({PROCESSES} learner processes), M={args.watchers} instructor tabs"
        )
        started = time.perf_counter()
        world = World(args.learners)
        print(f"  setup {time.perf_counter() - started:.1f} s")
        pool = learner_pool()
        worker = Worker()
        _record_refreshes(worker)
        try:
            a = bench_hub(world, worker, pool, args.watchers)
            b = bench_shared(world, worker, pool, args.watchers)
        finally:
            worker.stop()
            pool.shutdown()
        floor = bench_floor(max(200, args.learners))
        print(
            f"\nN={args.learners} M={args.watchers} {pace}  commit -> instructor tab's state delta"
        )
        print(f"  (a) broker + hub + modify_state refresh  {percentiles(a)}")
        print(f"  (b) linked rx.SharedState                {percentiles(b)}")
        print(f"  floor: bare Redis pub/sub round trip     {percentiles(floor)}")
        print(f"  (coalescing window of (a): {live_coalesce.COALESCE_SECONDS * 1000:.0f} ms)")
        sys.stdout.flush()
    finally:
        db.dispose_engines()
        conftest._drop_pg_database(urls, database.name)


if __name__ == "__main__":
    main()
