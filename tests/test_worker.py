"""The scale-out worker (``scopegraph.server.cluster._worker.Worker``) on real PostgreSQL and Redis.

Runs are enqueued through one ``RunQueue`` (standing in for an API process) and run by a
worker holding its own ``RunQueue`` and ``RedisEventLog`` (standing in for a worker
process); a reader follows the run's Redis stream. Each test on asyncio and trio.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypedDict

import anyio
import orjson
import pytest

import _pg
import _redis
from scopegraph import END, START, StateGraph, get_stream_writer
from scopegraph.checkpoint import SqliteSaver
from scopegraph.server._pg_queue import RunQueue
from scopegraph.server.cluster._redis_events import RedisEventLog
from scopegraph.server.cluster._worker import Worker

pytestmark = pytest.mark.anyio
pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url


class State(TypedDict, total=False):
    ticks: int


def counting_graph(log: list[str], ticks: int, saver: SqliteSaver) -> Any:
    async def tick(state: State) -> State:
        write = get_stream_writer()
        try:
            for i in range(ticks):
                write({"i": i})
                await anyio.sleep(0.002)
            return {"ticks": ticks}
        except anyio.get_cancelled_exc_class():
            log.append("node cancelled")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.02)
                log.append("node cleanup done")

    builder = StateGraph(State)
    builder.add_node("tick", tick)
    builder.add_edge(START, "tick")
    builder.add_edge("tick", END)
    return builder.compile(checkpointer=saver)


@contextlib.asynccontextmanager
async def running_worker(
    graphs: dict[str, Any],
    dsn: str,
    url: str,
    before_start: Callable[[Worker, RunQueue], None] | None = None,
) -> AsyncIterator[tuple[Worker, RunQueue, RedisEventLog]]:
    """A worker with queue and log of its own, plus a queue and log for the 'API side'.
    ``before_start(worker, api_queue)`` may instrument the worker before it runs."""
    async with (
        RunQueue(dsn, lease_seconds=2.0) as worker_queue,
        RedisEventLog(url) as worker_log,
        RunQueue(dsn) as api_queue,
        RedisEventLog(url) as api_log,
        anyio.create_task_group() as tg,
    ):
        worker = Worker(graphs, worker_queue, worker_log)
        if before_start is not None:
            before_start(worker, api_queue)
        await tg.start(worker.run)
        yield worker, api_queue, api_log
        tg.cancel_scope.cancel()


async def enqueue_count(queue: RunQueue, run_id: str) -> None:
    """Queue a run of the ``count`` graph (custom events) on a thread of its own."""
    await queue.enqueue(
        {"run_id": run_id, "graph_id": "count", "input": {"ticks": 0}, "stream_mode": "custom"},
        thread_id=str(uuid.uuid4()),
        multitask_strategy="enqueue",
    )


async def read_all(log: RedisEventLog, run_id: str) -> list[tuple[str, Any]]:
    async with contextlib.aclosing(log.follow(run_id, block_ms=200)) as events:
        return [(event, orjson.loads(data)) async for _, event, data in events]


async def test_a_queued_run_streams_through_redis(
    anyio_backend: str, pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    log: list[str] = []
    saver = SqliteSaver(tmp_path / "c.db")
    graphs = {"count": counting_graph(log, 5, saver)}
    async with running_worker(graphs, pg_dsn, redis_url) as (_, queue, events):
        run_id = str(uuid.uuid4())
        await enqueue_count(queue, run_id)
        with anyio.fail_after(20):
            got = await read_all(events, run_id)
        assert got[0] == ("metadata", {"run_id": run_id, "attempt": 1})
        assert [data["i"] for event, data in got if event == "custom"] == [0, 1, 2, 3, 4]
        assert got[-1] == ("end", None)
        stored = await queue.get(run_id)
        assert stored is not None
        assert stored["status"] == "success"
    assert log == ["node cleanup done"]
    await saver.aclose()


async def test_a_cancel_from_another_process_reaches_the_worker(
    anyio_backend: str, pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    log: list[str] = []
    saver = SqliteSaver(tmp_path / "c.db")
    graphs = {"count": counting_graph(log, 100_000, saver)}
    async with running_worker(graphs, pg_dsn, redis_url) as (worker, queue, events):
        run_id = str(uuid.uuid4())
        await enqueue_count(queue, run_id)
        seen: list[tuple[str, Any]] = []
        with anyio.fail_after(20):
            async with contextlib.aclosing(events.follow(run_id, block_ms=200)) as stream:
                async for _, event, data in stream:
                    seen.append((event, orjson.loads(data)))
                    if event == "custom" and len(seen) == 4:
                        # The API side (its own queue connection) asks; the worker hears.
                        await queue.request_cancel(run_id, "interrupt")
        assert seen[-1] == ("end", None)
        stored = await queue.get(run_id)
        assert stored is not None
        assert stored["status"] == "interrupted"
        assert worker.finished == [(run_id, "interrupted")]
    assert log == ["node cancelled", "node cleanup done"]
    await saver.aclose()


async def test_many_runs_stream_in_order_through_the_batcher(
    anyio_backend: str, pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    log: list[str] = []
    saver = SqliteSaver(tmp_path / "c.db")
    graphs = {"count": counting_graph(log, 30, saver)}
    runs = [str(uuid.uuid4()) for _ in range(20)]
    async with running_worker(graphs, pg_dsn, redis_url) as (worker, queue, events):
        for run_id in runs:
            await enqueue_count(queue, run_id)
        got: dict[str, list[tuple[str, Any]]] = {}

        async def read(run_id: str) -> None:
            got[run_id] = await read_all(events, run_id)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for run_id in runs:
                    tg.start_soon(read, run_id)
        assert sorted(worker.finished) == sorted((run_id, "success") for run_id in runs)
    for run_id in runs:
        assert got[run_id][0] == ("metadata", {"run_id": run_id, "attempt": 1})
        assert [d["i"] for e, d in got[run_id] if e == "custom"] == list(range(30))
        assert got[run_id][-1] == ("end", None)
    assert log == ["node cleanup done"] * 20
    await saver.aclose()


async def test_a_stopping_worker_cancels_its_run_after_the_grace_and_hands_it_back(
    anyio_backend: str, pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    log: list[str] = []
    saver = SqliteSaver(tmp_path / "c.db")
    graphs = {"count": counting_graph(log, 100_000, saver)}
    run_id = str(uuid.uuid4())
    async with running_worker(graphs, pg_dsn, redis_url) as (worker, queue, events):
        await enqueue_count(queue, run_id)
        with anyio.fail_after(20):
            async with contextlib.aclosing(events.follow(run_id, block_ms=200)) as stream:
                async for _, event, _ in stream:
                    if event == "custom":
                        break
            await worker.stop(grace=0.05)
        # the node's shielded cleanup finished before stop() returned
        assert log == ["node cancelled", "node cleanup done"]
        assert worker.running == {}
        assert worker.finished == []  # not finished: handed back
        row = await queue.get(run_id)
        assert row is not None
        assert (row["status"], row["owner"], row["attempt"]) == ("pending", None, 1)
    await saver.aclose()


async def test_a_cancel_heard_before_the_claimed_run_is_registered_still_cancels_it(
    anyio_backend: str, pg_dsn: str, redis_url: str, tmp_path: Path
) -> None:
    # The cancel request of a run that was just claimed can reach the worker's listener
    # before the claim loop has registered the run: the worker keeps it for the run.
    log: list[str] = []
    saver = SqliteSaver(tmp_path / "c.db")
    graphs = {"count": counting_graph(log, 100_000, saver)}
    run_id = str(uuid.uuid4())
    heard = anyio.Event()

    def instrument(worker: Worker, api_queue: RunQueue) -> None:
        cancel = worker._cancel
        claim_many = worker.queue.claim_many

        def cancel_and_tell(rid: str) -> None:
            cancel(rid)
            heard.set()

        async def claim_then_cancel(worker_id: str, limit: int) -> list[dict[str, Any]]:
            rows = await claim_many(worker_id, limit)
            for row in rows:  # before the claim loop registers the run
                await api_queue.request_cancel(row["run_id"])
                await heard.wait()
                assert row["run_id"] not in worker.running
            return rows

        worker._cancel = cancel_and_tell  # type: ignore[method-assign, assignment]
        worker.queue.claim_many = claim_then_cancel  # type: ignore[method-assign]

    async with running_worker(graphs, pg_dsn, redis_url, instrument) as (worker, queue, events):
        await enqueue_count(queue, run_id)
        with anyio.fail_after(20):
            got = await read_all(events, run_id)
        assert got[-1] == ("end", None)
        assert worker.finished == [(run_id, "interrupted")]
    # Not lost: cancelled as it started (its node, if it got to run, cleaned up).
    assert log in ([], ["node cancelled", "node cleanup done"])
    await saver.aclose()
