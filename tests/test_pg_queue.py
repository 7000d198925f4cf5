"""RunQueue (``scopegraph.server._pg_queue``) against a real, throwaway PostgreSQL server.

Every test runs on asyncio (psycopg's async pool) and on trio (the sync pool in worker
threads). Several RunQueue objects on one database stand for several processes: each
has its own connections, so they race in the server. Ordering comes from anyio Events
and from the database; where time must pass (a lease expiring), the test either moves
the lease into the past in SQL or polls the database in a bounded loop.
"""

from __future__ import annotations

import collections
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

import _pg
from _helpers import no_task_left
from scopegraph.server._pg_queue import (
    SCHEMA_VERSION,
    QueueConnectionError,
    QueueError,
    RunQueue,
    ThreadBusyError,
)

pytestmark = pytest.mark.anyio
pg_server = _pg.pg_server

WAIT = 10.0  # seconds: an upper bound for anything a test waits for, never an ordering


# -- helpers -----------------------------------------------------------------------------


def _sql(dsn: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description is not None else []


async def sql(dsn: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    """One statement on a connection of its own, as another client would run it."""
    return await anyio.to_thread.run_sync(_sql, dsn, statement, params)


async def expire_lease(dsn: str, run_id: str) -> None:
    """The lease's time has passed: moved into the past on the server's clock."""
    await sql(
        dsn,
        "UPDATE scopegraph_queue_runs SET lease_expires = now() - interval '1 second'"
        " WHERE run_id = %s AND status = 'running'",
        (run_id,),
    )


async def status_of(queue: RunQueue, run_id: str) -> str:
    row = await queue.get(run_id)
    assert row is not None
    return str(row["status"])


def refused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def queue_database(pg_server: str) -> str:
    """One database for the module; each test gets a schema of its own in it."""
    return _pg.create_database(pg_server)


@pytest.fixture
def pg_dsn(queue_database: str) -> str:
    """A new, empty schema (cheaper than a database), first on the search_path."""
    schema = f"q_{uuid.uuid4().hex[:16]}"
    _sql(queue_database, f"CREATE SCHEMA {schema}")
    return make_conninfo(queue_database, options=f"-csearch_path={schema}")


@pytest.fixture
async def queue(pg_dsn: str) -> AsyncIterator[RunQueue]:
    async with RunQueue(pg_dsn, pool_size=4) as opened:
        yield opened


# -- setup -------------------------------------------------------------------------------


async def test_setup_is_idempotent_even_when_processes_start_together(pg_dsn: str) -> None:
    queues = [RunQueue(pg_dsn, pool_size=1) for _ in range(4)]
    try:
        async with anyio.create_task_group() as tg:
            for q in queues:
                tg.start_soon(q.setup)
        await queues[0].setup()
        async with RunQueue(pg_dsn, pool_size=1) as again:  # tables exist: no migration
            await again.enqueue({"n": 1}, thread_id="t", multitask_strategy="enqueue")
    finally:
        for q in queues:
            await q.aclose()
    assert await sql(pg_dsn, "SELECT version FROM scopegraph_queue_schema_version") == [
        (SCHEMA_VERSION,)
    ]
    tables = await sql(
        pg_dsn,
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() ORDER BY 1",
    )
    assert tables == [
        ("scopegraph_queue_runs",),
        ("scopegraph_queue_schema_version",),
        ("scopegraph_queue_threads",),
    ]
    with pytest.raises(QueueError, match="closed"):
        await queues[0].claim("w")


# -- enqueue -----------------------------------------------------------------------------


async def test_enqueue_stores_a_pending_run_and_is_idempotent_per_run_id(
    queue: RunQueue,
) -> None:
    run = {"run_id": "r1", "assistant_id": "agent", "kwargs": {"input": {"x": [1, 2]}}}
    row = await queue.enqueue(run, thread_id="t", multitask_strategy="enqueue")
    assert row["run_id"] == "r1"
    assert row["thread_id"] == "t"
    assert row["status"] == "pending"
    assert row["multitask_strategy"] == "enqueue"
    assert (row["owner"], row["attempt"], row["lease_expires"]) == (None, 0, None)
    assert row["cancel_action"] is None
    assert row["run"] == run
    assert await queue.get("r1") == row
    assert await queue.get("nope") is None

    # A retry (say, after a lost reply) returns the stored run, even under reject.
    assert await queue.enqueue(run, thread_id="t", multitask_strategy="reject") == row
    with pytest.raises(QueueError, match="run id r1 is already queued on thread t"):
        await queue.enqueue(run, thread_id="other", multitask_strategy="enqueue")

    made = await queue.enqueue({"a": 1}, thread_id="u", multitask_strategy="enqueue")
    assert made["run"] == {"a": 1, "run_id": made["run_id"]}
    with pytest.raises(ValueError, match="multitask_strategy must be one of"):
        await queue.enqueue({}, thread_id="t", multitask_strategy="later")
    with pytest.raises(ValueError, match="JSON document"):
        await queue.enqueue({"x": object()}, thread_id="t", multitask_strategy="enqueue")


async def test_reject_refuses_a_busy_thread_pending_or_running(queue: RunQueue) -> None:
    await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="reject")
    with pytest.raises(ThreadBusyError, match="thread t is busy with run r1") as caught:
        await queue.enqueue({"run_id": "r2"}, thread_id="t", multitask_strategy="reject")
    assert caught.value.active == ["r1"]
    assert await queue.get("r2") is None  # nothing was stored

    claimed = await queue.claim("w")
    assert claimed is not None
    with pytest.raises(ThreadBusyError):  # running counts as busy too
        await queue.enqueue({"run_id": "r2"}, thread_id="t", multitask_strategy="reject")
    # Another thread is not affected.
    await queue.enqueue({"run_id": "o1"}, thread_id="other", multitask_strategy="reject")

    assert await queue.finish("r1", "w", "success", attempt=claimed["attempt"])
    row = await queue.enqueue({"run_id": "r2"}, thread_id="t", multitask_strategy="reject")
    assert row["status"] == "pending"


async def test_concurrent_rejects_from_several_processes_admit_exactly_one(pg_dsn: str) -> None:
    outcomes: dict[str, str] = {}

    async def submit(q: RunQueue, run_id: str, go: anyio.Event) -> None:
        await go.wait()
        try:
            await q.enqueue({"run_id": run_id}, thread_id="t", multitask_strategy="reject")
        except ThreadBusyError:
            outcomes[run_id] = "rejected"
        else:
            outcomes[run_id] = "queued"

    queues = [RunQueue(pg_dsn, pool_size=2) for _ in range(4)]
    try:
        for q in queues:
            await q.setup()
        for round_ in range(3):  # a fresh thread row, then an existing idle one
            outcomes.clear()
            go = anyio.Event()
            async with anyio.create_task_group() as tg:
                for i in range(8):
                    tg.start_soon(submit, queues[i % 4], f"r{round_}-{i}", go)
                go.set()
            queued = [rid for rid, outcome in outcomes.items() if outcome == "queued"]
            assert len(outcomes) == 8
            assert len(queued) == 1, outcomes
            active = await sql(
                pg_dsn,
                "SELECT run_id FROM scopegraph_queue_runs"
                " WHERE thread_id = 't' AND status IN ('pending', 'running')",
            )
            assert active == [(queued[0],)]
            claimed = await queues[0].claim("w")
            assert claimed is not None
            assert claimed["run_id"] == queued[0]
            await queues[0].finish(claimed["run_id"], "w", "success", attempt=1)
    finally:
        for q in queues:
            await q.aclose()


async def test_enqueue_strategy_queues_behind_the_active_runs(queue: RunQueue) -> None:
    for rid in ("r1", "r2", "r3"):
        await queue.enqueue({"run_id": rid}, thread_id="t", multitask_strategy="enqueue")
    order = []
    for _ in range(3):
        run = await queue.claim("w")
        assert run is not None
        assert await queue.claim("w") is None  # the next one waits for this one
        order.append(run["run_id"])
        assert await queue.finish(run["run_id"], "w", "success", attempt=run["attempt"])
    assert order == ["r1", "r2", "r3"]
    assert await queue.claim("w") is None


# -- claim -------------------------------------------------------------------------------


async def test_a_burst_of_claimers_claims_each_run_exactly_once(pg_dsn: str) -> None:
    runs = 12
    claims: list[str | None] = []

    async def claimer(q: RunQueue, name: str, go: anyio.Event) -> None:
        await go.wait()
        run = await q.claim(name)
        claims.append(None if run is None else run["run_id"])

    queues = [RunQueue(pg_dsn, pool_size=6) for _ in range(4)]
    try:
        for i in range(runs):  # one run per thread: all claimable at once
            await queues[0].enqueue(
                {"run_id": f"r{i}"}, thread_id=f"t{i}", multitask_strategy="enqueue"
            )
        for q in queues:
            await q.setup()
        go = anyio.Event()
        async with anyio.create_task_group() as tg:
            for i in range(2 * runs):
                tg.start_soon(claimer, queues[i % 4], f"w{i}", go)
            go.set()
    finally:
        for q in queues:
            await q.aclose()
    # A claimer only comes back empty-handed when every run left was being claimed by
    # someone else: so every run is claimed, and none twice.
    got = [c for c in claims if c is not None]
    assert sorted(got) == sorted(f"r{i}" for i in range(runs))
    assert claims.count(None) == runs
    rows = await sql(
        pg_dsn, "SELECT status, attempt, count(*) FROM scopegraph_queue_runs GROUP BY 1, 2"
    )
    assert rows == [("running", 1, runs)]


class _Progress:
    """Wakes claimers that found nothing to claim when a run finishes."""

    def __init__(self) -> None:
        self.changed = anyio.Event()
        self.finished: list[str] = []

    def finish(self, run_id: str) -> None:
        self.finished.append(run_id)
        changed, self.changed = self.changed, anyio.Event()
        changed.set()


async def test_concurrent_workers_claim_each_run_once_and_keep_thread_order(
    pg_dsn: str,
) -> None:
    threads, per_thread = 8, 4
    total = threads * per_thread
    progress = _Progress()
    claimed_by: dict[str, list[str]] = collections.defaultdict(list)
    order: dict[str, list[str]] = collections.defaultdict(list)
    held: set[str] = set()  # threads with a run claimed and not yet finished

    async def worker(q: RunQueue, name: str) -> None:
        for _ in range(10 * total):  # bounded
            if len(progress.finished) == total:
                return
            changed = progress.changed  # before the claim: no finish is missed
            run = await q.claim(name)
            if run is None:
                with anyio.fail_after(WAIT):
                    await changed.wait()
                continue
            thread = run["thread_id"]
            assert thread not in held, f"two runs of {thread} claimed at once"
            held.add(thread)
            claimed_by[run["run_id"]].append(name)
            order[thread].append(run["run_id"])
            await anyio.lowlevel.checkpoint()  # let the others race meanwhile
            held.discard(thread)  # before the finish commits: the next claim needs it
            assert await q.finish(run["run_id"], name, "success", attempt=run["attempt"])
            progress.finish(run["run_id"])
        raise AssertionError("worker loop did not end")

    queues = [RunQueue(pg_dsn, pool_size=4) for _ in range(3)]
    try:
        for n in range(per_thread):  # interleaved: t0/0, t1/0, ..., t0/1, ...
            for t in range(threads):
                await queues[0].enqueue(
                    {"run_id": f"t{t}-{n}"}, thread_id=f"t{t}", multitask_strategy="enqueue"
                )
        for q in queues:
            await q.setup()
        async with anyio.create_task_group() as tg:
            for i in range(9):
                tg.start_soon(worker, queues[i % 3], f"w{i}")
    finally:
        for q in queues:
            await q.aclose()
    assert len(claimed_by) == total
    assert all(len(names) == 1 for names in claimed_by.values()), claimed_by
    for t in range(threads):
        assert order[f"t{t}"] == [f"t{t}-{n}" for n in range(per_thread)]
    rows = await sql(
        pg_dsn, "SELECT status, attempt, count(*) FROM scopegraph_queue_runs GROUP BY 1, 2"
    )
    assert rows == [("success", 1, total)]


async def test_claim_takes_the_oldest_run_whose_thread_is_free(queue: RunQueue) -> None:
    await queue.enqueue({"run_id": "a1"}, thread_id="a", multitask_strategy="enqueue")
    await queue.enqueue({"run_id": "a2"}, thread_id="a", multitask_strategy="enqueue")
    await queue.enqueue({"run_id": "b1"}, thread_id="b", multitask_strategy="enqueue")
    await queue.enqueue({"run_id": "a3"}, thread_id="a", multitask_strategy="enqueue")

    first = await queue.claim("w1")
    assert first is not None
    assert first["run_id"] == "a1"
    assert (first["status"], first["owner"], first["attempt"]) == ("running", "w1", 1)
    assert first["lease_expires"] > first["created_at"]
    second = await queue.claim("w2")  # a2 waits behind a1: b1 is next
    assert second is not None
    assert second["run_id"] == "b1"
    assert await queue.claim("w3") is None

    assert await queue.finish("a1", "w1", "error", attempt=1, error="boom")
    row = await queue.get("a1")
    assert row is not None
    assert (row["status"], row["error"], row["lease_expires"]) == ("error", "boom", None)
    third = await queue.claim("w3")  # a terminal run, whatever its status, frees the thread
    assert third is not None
    assert third["run_id"] == "a2"
    assert await queue.claim("w3") is None
    with pytest.raises(ValueError, match="status must be one of"):
        await queue.finish("a2", "w3", "done", attempt=1)


# -- leases --------------------------------------------------------------------------------


async def test_an_expired_lease_is_reaped_and_the_run_claimed_again(pg_dsn: str) -> None:
    async with RunQueue(pg_dsn, lease_seconds=0.05) as queue:
        await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
        await queue.enqueue({"run_id": "r2"}, thread_id="t", multitask_strategy="enqueue")
        first = await queue.claim("w1")
        assert first is not None
        assert first["run_id"] == "r1"
        # The lease runs out on the server's clock; poll the database for it, bounded.
        reaped: list[str] = []
        for _ in range(500):
            reaped = await queue.reap()
            if reaped:
                break
            await anyio.sleep(0.01)
        assert reaped == ["r1"]
        row = await queue.get("r1")
        assert row is not None
        assert (row["status"], row["owner"], row["lease_expires"]) == ("pending", None, None)
        assert row["attempt"] == 1
        assert not await queue.heartbeat("r1", "w1")  # the lease is lost

        again = await queue.claim("w2")  # r1 again, still ahead of r2
        assert again is not None
        assert (again["run_id"], again["owner"], again["attempt"]) == ("r1", "w2", 2)


async def test_heartbeat_renews_only_the_owners_lease(pg_dsn: str) -> None:
    async with RunQueue(pg_dsn, lease_seconds=30) as queue:
        await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
        run = await queue.claim("w1")
        assert run is not None
        await sql(
            pg_dsn,
            "UPDATE scopegraph_queue_runs SET lease_expires = now() + interval '1 second'",
        )
        before = await queue.get("r1")
        assert before is not None
        assert await queue.heartbeat("r1", "w1")
        assert await queue.heartbeat("r1", "w1", attempt=1)
        renewed = await queue.get("r1")
        assert renewed is not None
        assert renewed["lease_expires"] > before["lease_expires"]
        assert not await queue.heartbeat("r1", "w2")
        assert not await queue.heartbeat("r1", "w1", attempt=2)
        assert not await queue.heartbeat("nope", "w1")
        assert await queue.reap() == []  # a live lease is not reaped
        await expire_lease(pg_dsn, "r1")
        assert await queue.reap() == ["r1"]
        assert not await queue.heartbeat("r1", "w1")


async def test_a_run_whose_last_attempt_expires_ends_in_error(pg_dsn: str) -> None:
    async with RunQueue(pg_dsn, max_attempts=2) as queue:
        await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
        await queue.enqueue({"run_id": "r2"}, thread_id="t", multitask_strategy="enqueue")
        for attempt in (1, 2):
            run = await queue.claim(f"w{attempt}")
            assert run is not None
            assert (run["run_id"], run["attempt"]) == ("r1", attempt)
            await expire_lease(pg_dsn, "r1")
            assert await queue.reap() == ["r1"]
        row = await queue.get("r1")
        assert row is not None
        assert (row["status"], row["owner"], row["attempt"]) == ("error", None, 2)
        assert row["error"] == (
            "the lease of worker w2 expired on attempt 2 of 2 (the worker died or "
            "stopped heartbeating); not retried"
        )
        assert await queue.reap() == []
        following = await queue.claim("w3")  # the thread moves on
        assert following is not None
        assert following["run_id"] == "r2"


async def test_a_worker_that_lost_its_lease_cannot_finish_the_run(
    pg_dsn: str, queue: RunQueue
) -> None:
    await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
    stale = await queue.claim("w1")
    assert stale is not None
    await expire_lease(pg_dsn, "r1")
    assert await queue.reap() == ["r1"]
    fresh = await queue.claim("w2")
    assert fresh is not None
    assert fresh["attempt"] == 2

    before = await queue.get("r1")
    assert not await queue.finish("r1", "w1", "success", attempt=stale["attempt"])
    assert not await queue.finish("r1", "w1", "success", attempt=fresh["attempt"])
    assert not await queue.finish("r1", "w2", "success", attempt=stale["attempt"])
    assert not await queue.heartbeat("r1", "w1")
    assert await queue.get("r1") == before  # nothing changed, not even updated_at

    assert await queue.finish("r1", "w2", "success", attempt=2)
    assert await queue.finish("r1", "w2", "success", attempt=2)  # a retry: it landed
    assert not await queue.finish("r1", "w2", "error", attempt=2)
    assert await status_of(queue, "r1") == "success"
    assert not await queue.finish("nope", "w2", "success", attempt=1)


async def test_the_attempt_fences_a_worker_that_claims_the_same_run_again(
    pg_dsn: str, queue: RunQueue
) -> None:
    await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
    old = await queue.claim("w1")
    assert old is not None
    await expire_lease(pg_dsn, "r1")
    assert await queue.reap() == ["r1"]
    new = await queue.claim("w1")  # the same worker id, a new attempt
    assert new is not None
    assert (new["owner"], new["attempt"]) == ("w1", 2)
    assert not await queue.heartbeat("r1", "w1", attempt=old["attempt"])
    assert not await queue.finish("r1", "w1", "error", attempt=old["attempt"])
    assert await status_of(queue, "r1") == "running"
    assert await queue.finish("r1", "w1", "success", attempt=new["attempt"])


# -- cancellation ------------------------------------------------------------------------


async def test_interrupt_cancels_the_active_runs_and_queues_behind_them(
    queue: RunQueue,
) -> None:
    await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
    running = await queue.claim("w")
    assert running is not None
    await queue.enqueue({"run_id": "r2"}, thread_id="t", multitask_strategy="enqueue")
    await queue.enqueue({"run_id": "o1"}, thread_id="other", multitask_strategy="enqueue")

    async with queue.listen_cancels() as cancels:
        row = await queue.enqueue({"run_id": "r3"}, thread_id="t", multitask_strategy="interrupt")
        assert row["status"] == "pending"
        with anyio.fail_after(WAIT):
            heard = {await anext(cancels), await anext(cancels)}
    assert heard == {"r1", "r2"}

    r1, r2 = await queue.get("r1"), await queue.get("r2")
    assert r1 is not None
    assert r2 is not None
    # The running run keeps running until its worker stops it; the pending one never
    # started: it ends at once.
    assert (r1["status"], r1["cancel_action"]) == ("running", "interrupt")
    assert r1["cancel_reason"] == "multitask_strategy=interrupt"
    assert (r2["status"], r2["cancel_action"]) == ("interrupted", "interrupt")
    assert await queue.cancel_requested("r1") == "interrupt"
    assert await queue.cancel_requested("r3") is None
    assert await status_of(queue, "o1") == "pending"  # another thread: untouched

    other = await queue.claim("w")  # r3 waits for r1's cleanup
    assert other is not None
    assert other["run_id"] == "o1"
    assert await queue.claim("w") is None
    assert await queue.finish("r1", "w", "interrupted", attempt=running["attempt"])
    nxt = await queue.claim("w")
    assert nxt is not None
    assert nxt["run_id"] == "r3"


async def test_rollback_requests_rollback_and_overrides_an_interrupt(queue: RunQueue) -> None:
    await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
    assert await queue.claim("w") is not None
    await queue.enqueue({"run_id": "r2"}, thread_id="t", multitask_strategy="interrupt")
    assert await queue.cancel_requested("r1") == "interrupt"
    await queue.enqueue({"run_id": "r3"}, thread_id="t", multitask_strategy="rollback")
    assert await queue.cancel_requested("r1") == "rollback"  # rollback wins
    # r2 was pending: it never ran, and a rollback leaves no trace of it
    assert await queue.get("r2") is None
    assert await queue.request_cancel("r1", "interrupt")  # does not downgrade
    assert await queue.cancel_requested("r1") == "rollback"
    row = await queue.get("r1")
    assert row is not None
    assert row["cancel_reason"] == "multitask_strategy=interrupt"  # the first reason


async def test_request_cancel_of_pending_ended_and_unknown_runs(queue: RunQueue) -> None:
    await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
    assert await queue.request_cancel("r1", reason="user asked")
    row = await queue.get("r1")
    assert row is not None
    assert (row["status"], row["cancel_action"], row["cancel_reason"]) == (
        "interrupted",
        "interrupt",
        "user asked",
    )
    assert not await queue.request_cancel("r1")  # ended already
    assert not await queue.request_cancel("nope")
    assert await queue.cancel_requested("nope") is None
    assert await queue.claim("w") is None
    with pytest.raises(ValueError, match="action must be"):
        await queue.request_cancel("r1", "stop")  # type: ignore[arg-type]


async def test_a_reaped_run_whose_cancel_was_requested_ends_interrupted(
    pg_dsn: str, queue: RunQueue
) -> None:
    await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
    assert await queue.claim("w") is not None
    assert await queue.request_cancel("r1")
    await expire_lease(pg_dsn, "r1")
    assert await queue.reap() == ["r1"]
    row = await queue.get("r1")
    assert row is not None
    assert (row["status"], row["owner"], row["error"]) == ("interrupted", None, None)
    assert await queue.claim("w") is None


async def test_a_cancel_request_is_notified_to_a_subscribed_listener(queue: RunQueue) -> None:
    await queue.enqueue({"run_id": "r1"}, thread_id="t", multitask_strategy="enqueue")
    run = await queue.claim("w")
    assert run is not None
    received: list[str] = []
    subscribed = anyio.Event()

    async def listener() -> None:
        async with queue.listen_cancels() as cancels:
            # The order that misses nothing: LISTEN (done), then the durable key.
            assert await queue.cancel_requested("r1") is None
            subscribed.set()
            async for run_id in cancels:
                received.append(run_id)
                return

    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener)
            await subscribed.wait()
            assert await queue.request_cancel("r1", "rollback")
    assert received == ["r1"]
    assert await queue.cancel_requested("r1") == "rollback"


async def test_a_late_subscriber_finds_the_request_in_the_row(queue: RunQueue) -> None:
    for rid in ("r1", "r2"):
        await queue.enqueue({"run_id": rid}, thread_id=rid, multitask_strategy="enqueue")
        assert await queue.claim("w") is not None
    assert await queue.request_cancel("r1")  # nobody listens: this NOTIFY is lost

    async with queue.listen_cancels() as cancels:
        assert await queue.cancel_requested("r1") == "interrupt"  # but the row has it
        assert await queue.cancel_requested("r2") is None
        assert await queue.request_cancel("r2")  # after the check: notified
        with anyio.fail_after(WAIT):
            first = await anext(cancels)
    # r1's notification was never delivered: only the row told of it.
    assert first == "r2"


async def test_cancelling_a_listener_leaves_no_task_and_closes_its_connection(
    pg_dsn: str, queue: RunQueue
) -> None:
    listening = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
    name = "scopegraph-queue-listener"
    subscribed = anyio.Event()

    async def listener() -> None:
        async with queue.listen_cancels() as cancels:
            subscribed.set()
            async for _ in cancels:
                raise AssertionError("no cancel was requested")

    async def wait_for_listeners(count: int) -> None:
        # The server ends a closed connection's backend on its own time: poll, bounded.
        found: list[tuple[Any, ...]] = []
        for _ in range(500):
            found = await sql(pg_dsn, listening, (name,))
            if found == [(count,)]:
                return
            await anyio.sleep(0.01)
        raise AssertionError(f"{found[0][0]} listener connections, expected {count}")

    await wait_for_listeners(0)  # none left over by another test
    with no_task_left():
        with anyio.fail_after(WAIT):
            async with anyio.create_task_group() as tg:
                tg.start_soon(listener)
                await subscribed.wait()
                assert await sql(pg_dsn, listening, (name,)) == [(1,)]
                tg.cancel_scope.cancel()
    await wait_for_listeners(0)
    with pytest.raises(QueueError, match="inside its block"):
        await anext(queue.listen_cancels())


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_dsn", "message"),
    [
        pytest.param(
            lambda server: f"host=127.0.0.1 port={refused_port()} dbname=x user=postgres",
            r"run queue: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+ \(database 'x'\): "
            r"connection refused; check host and port in the connection string, and that "
            r"the server is running",
            id="refused-port",
        ),
        pytest.param(
            lambda server: server.replace("dbname=postgres", "dbname=missing_db"),
            r"database 'missing_db' does not exist; check dbname in the connection string, "
            r"or create the database \(CREATE DATABASE missing_db\)",
            id="missing-database",
        ),
        pytest.param(
            lambda server: server.replace("user=postgres", "user=nobody_here"),
            r"user 'nobody_here' does not exist; check user in the connection string",
            id="unknown-user",
        ),
    ],
)
async def test_a_bad_dsn_fails_with_what_to_fix(
    pg_server: str, make_dsn: Any, message: str
) -> None:
    queue = RunQueue(make_dsn(pg_server))
    with pytest.raises(QueueConnectionError, match=message):
        await queue.setup()
    with pytest.raises(QueueConnectionError, match=message):
        await queue.enqueue({}, thread_id="t", multitask_strategy="enqueue")
    with pytest.raises(QueueConnectionError, match=message):
        async with queue.listen_cancels():
            pass
    await queue.aclose()


async def test_a_malformed_dsn_or_bad_settings_fail_at_once() -> None:
    with pytest.raises(QueueConnectionError, match="malformed PostgreSQL connection string"):
        RunQueue("host=127.0.0.1 port")
    with pytest.raises(ValueError, match="lease_seconds must be positive"):
        RunQueue("dbname=x", lease_seconds=0)
    with pytest.raises(ValueError, match="max_attempts must be at least 1"):
        RunQueue("dbname=x", max_attempts=0)


def test_queue_errors_are_scopegraph_errors_and_connection_errors_are_connection_errors() -> None:
    # One tree under ScopegraphError; a connection failure is also the built-in it is.
    from scopegraph import ScopegraphError
    from scopegraph.checkpoint import CheckpointConnectionError, CheckpointError
    from scopegraph.server._store import StoreConnectionError, StoreError

    assert issubclass(QueueError, ScopegraphError)
    assert issubclass(ThreadBusyError, QueueError)
    assert issubclass(QueueConnectionError, QueueError)
    assert issubclass(QueueConnectionError, ConnectionError)
    assert issubclass(CheckpointConnectionError, CheckpointError)
    assert issubclass(CheckpointConnectionError, ConnectionError)
    assert issubclass(StoreError, ScopegraphError)
    assert issubclass(StoreConnectionError, StoreError)
    assert issubclass(StoreConnectionError, ConnectionError)
