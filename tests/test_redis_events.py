"""RedisEventLog (``scopegraph.server.cluster._redis_events``) against a real, throwaway Redis
server (``tests/_redis.py``).

Every async test runs on asyncio (redis-py's asyncio client) and on trio (the sync client
in worker threads). Several ``RedisEventLog`` objects on one server stand for several
processes: what one publishes, another follows.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest

import _redis
from _helpers import no_task_left
from _redis import RedisServer, running_redis_server
from scopegraph.server.cluster._redis_events import (
    EventLogConnectionError,
    EventLogError,
    EventsLostError,
    RedisEventLog,
)

pytestmark = pytest.mark.anyio
redis_server = _redis.redis_server
redis_url = _redis.redis_url

Item = tuple[str, str, bytes]


# -- helpers -----------------------------------------------------------------------------


@pytest.fixture
async def log(redis_url: str) -> AsyncIterator[RedisEventLog]:
    events = RedisEventLog(redis_url)
    try:
        yield events
    finally:
        await events.aclose()


@pytest.fixture
def raw(redis_url: str) -> Iterator[Any]:
    """A plain sync client, to look at what is stored."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()


@contextlib.asynccontextmanager
async def other_process(url: str, **kwargs: Any) -> AsyncIterator[RedisEventLog]:
    """Another log on the same Redis: what another process of the server would have."""
    events = RedisEventLog(url, **kwargs)
    try:
        yield events
    finally:
        await events.aclose()


def new_run() -> str:
    return str(uuid.uuid4())


def seq(stream_id: str) -> int:
    """The number of an entry in its stream: 1, 2, 3, ..."""
    return int(stream_id.split("-")[1])


def epoch(stream_id: str) -> int:
    """The part of an id that tells one life of a stream from the next."""
    return int(stream_id.split("-")[0])


async def follow_all(
    log: RedisEventLog, run_id: str, after: str | None = None, **kwargs: Any
) -> list[Item]:
    with anyio.fail_after(10):
        async with contextlib.aclosing(log.follow(run_id, after, **kwargs)) as events:
            return [item async for item in events]


async def publish_many(log: RedisEventLog, run_id: str, numbers: range) -> list[str]:
    return [await log.publish(run_id, "values", f"{i}".encode()) for i in numbers]


def busy_connections(log: RedisEventLog) -> int:
    """Connections checked out of the log's pools (0 when nothing is going on)."""
    pools: list[Any] = [log._sync.connection_pool]
    if log._async is not None:
        pools.append(log._async.connection_pool)
    return sum(len(pool._in_use_connections) for pool in pools)


async def until(condition: Callable[[], bool]) -> None:
    """Wait for a condition on the Redis server, which has no event to wait for."""
    with anyio.fail_after(5):
        while True:
            if condition():
                return
            await anyio.sleep(0.01)


def blocked_clients(raw: Any) -> list[dict[str, Any]]:
    """The clients of the log blocked in a command (XREAD BLOCK) on the server."""
    return [
        c for c in raw.client_list() if c.get("name") == "scopegraph-events" and "b" in c["flags"]
    ]


# -- publishing and following ------------------------------------------------------------


async def test_follow_yields_the_published_events_in_order(
    log: RedisEventLog, redis_url: str
) -> None:
    run = new_run()
    payloads = [b"\x00\xff binary", b'{"a": 1}', b"", b"x" * 100_000]
    ids = [await log.publish(run, f"mode{i}", data) for i, data in enumerate(payloads)]
    ids.append(await log.end(run))
    assert [seq(i) for i in ids] == [1, 2, 3, 4, 5]
    assert len({epoch(i) for i in ids}) == 1
    async with other_process(redis_url) as reader:
        got = await follow_all(reader, run)
    assert got == [
        *(
            (sid, f"mode{i}", data)
            for i, (sid, data) in enumerate(zip(ids, payloads, strict=False))
        ),
        (ids[-1], "end", b"null"),
    ]
    assert log.stream_key(run) == f"scopegraph:run:{run}:events"


async def test_a_follower_waits_for_events_published_later(log: RedisEventLog) -> None:
    run = new_run()
    got: list[Item] = []
    first = anyio.Event()

    async def reader() -> None:
        async with contextlib.aclosing(log.follow(run)) as events:
            async for item in events:
                got.append(item)
                first.set()

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)  # before the stream exists
            await log.publish(run, "values", b"0")
            await first.wait()  # the reader is following live now
            await publish_many(log, run, range(1, 5))
            await log.end(run)
    assert [data for _, _, data in got] == [b"0", b"1", b"2", b"3", b"4", b"null"]


async def test_rejoining_with_last_event_id_gets_exactly_the_rest(
    log: RedisEventLog, redis_url: str
) -> None:
    """Reader A (one process) leaves after 5 events; the publisher goes on; reader B
    (another process) rejoins with A's last id while the publisher is still publishing:
    A's events + B's events are every event, once, in order."""
    run = new_run()
    published: list[str] = []
    got_a: list[Item] = []
    got_b: list[Item] = []
    a_left = anyio.Event()
    b_reading = anyio.Event()

    async def publisher() -> None:
        published.extend(await publish_many(log, run, range(10)))
        await a_left.wait()
        published.extend(await publish_many(log, run, range(10, 20)))  # nobody reads
        await b_reading.wait()
        published.extend(await publish_many(log, run, range(20, 40)))  # B reads live
        published.append(await log.end(run))

    async def reader_a() -> None:
        async with (
            other_process(redis_url) as process_a,
            contextlib.aclosing(process_a.follow(run)) as events,
        ):
            async for item in events:
                got_a.append(item)
                if len(got_a) == 5:
                    break
        a_left.set()

    async def reader_b() -> None:
        await a_left.wait()
        last_event_id = got_a[-1][0]
        async with (
            other_process(redis_url) as process_b,
            contextlib.aclosing(process_b.follow(run, last_event_id)) as events,
        ):
            async for item in events:
                got_b.append(item)
                b_reading.set()

    with anyio.fail_after(15):
        async with anyio.create_task_group() as tg:
            tg.start_soon(publisher)
            tg.start_soon(reader_a)
            tg.start_soon(reader_b)

    assert len(published) == 41
    assert [sid for sid, _, _ in got_a + got_b] == published
    assert [data for _, _, data in got_a + got_b] == [f"{i}".encode() for i in range(40)] + [
        b"null"
    ]
    assert got_b[0][2] == b"5"  # no gap, no duplicate at the seam


async def test_a_reader_that_keeps_reconnecting_misses_nothing(
    log: RedisEventLog, redis_url: str
) -> None:
    """A reader that drops after every 3 events and rejoins through a new process, while
    the publisher publishes without waiting for it."""
    run = new_run()
    got: list[Item] = []
    started = anyio.Event()

    async def publisher() -> None:
        await started.wait()
        for i in range(60):
            await log.publish(run, "values", f"{i}".encode())
        await log.end(run)

    async def reader() -> None:
        last: str | None = None
        while not got or got[-1][1] != "end":
            async with (
                other_process(redis_url) as process,
                contextlib.aclosing(process.follow(run, last)) as events,
            ):
                started.set()
                async for item in events:
                    got.append(item)
                    last = item[0]
                    if len(got) % 3 == 0:
                        break

    with anyio.fail_after(15):
        async with anyio.create_task_group() as tg:
            tg.start_soon(publisher)
            tg.start_soon(reader)
    assert [data for _, _, data in got] == [f"{i}".encode() for i in range(60)] + [b"null"]
    assert [seq(sid) for sid, _, _ in got] == list(range(1, 62))


# -- ending ------------------------------------------------------------------------------


async def test_follow_of_an_ended_stream_returns(log: RedisEventLog) -> None:
    run = new_run()
    ids = await publish_many(log, run, range(3))
    final = await log.end(run, "error", b'{"error": "Boom"}')
    assert await follow_all(log, run) == [
        (ids[0], "values", b"0"),
        (ids[1], "values", b"1"),
        (ids[2], "values", b"2"),
        (final, "error", b'{"error": "Boom"}'),
    ]
    # Rejoining after the last event: nothing, at once (not after block_ms).
    with anyio.fail_after(2):
        assert await follow_all(log, run, final, block_ms=60_000) == []
    assert await follow_all(log, run, ids[2]) == [(final, "error", b'{"error": "Boom"}')]
    with pytest.raises(EventLogError, match="ended"):
        await log.publish(run, "values", b"late")
    with pytest.raises(EventLogError, match="ended"):
        await log.end(run)


# -- bounds: maxlen and TTL --------------------------------------------------------------


async def test_maxlen_bounds_the_stream(redis_url: str, raw: Any) -> None:
    node = int(raw.config_get("stream-node-max-entries")["stream-node-max-entries"])
    run, exact_run = new_run(), new_run()
    async with other_process(redis_url, maxlen=10) as approx:
        await publish_many(approx, run, range(350))
        assert 10 <= raw.xlen(approx.stream_key(run)) <= 10 + node
    async with other_process(redis_url, maxlen=10, approximate=False) as exact:
        ids = await publish_many(exact, exact_run, range(30))
        final = await exact.end(exact_run)
        assert raw.xlen(exact.stream_key(exact_run)) == 10
        # From the start: the events kept. Right after the last one trimmed: exactly the
        # events kept. Before it: one is missing, and the reader is told.
        kept = [*ids[-9:], final]
        assert [sid for sid, _, _ in await follow_all(exact, exact_run)] == kept
        assert [sid for sid, _, _ in await follow_all(exact, exact_run, ids[20])] == kept
        with pytest.raises(EventsLostError, match="trimmed"):
            await follow_all(exact, exact_run, ids[19])


async def test_a_follower_left_behind_by_trimming_is_told(redis_url: str) -> None:
    run = new_run()
    got: list[Item] = []
    async with other_process(redis_url, maxlen=10, approximate=False) as log:
        await log.publish(run, "values", b"0")
        with anyio.fail_after(10):
            async with contextlib.aclosing(log.follow(run)) as events:
                got.append(await anext(events))
                # The reader dawdles while 30 more events come: 20 are trimmed unseen.
                await publish_many(log, run, range(1, 31))
                with pytest.raises(EventsLostError, match=r"needs number 2"):
                    await anext(events)
    assert got[0][2] == b"0"


async def test_ttl_is_set_and_refreshed(redis_url: str, raw: Any, log: RedisEventLog) -> None:
    run = new_run()
    # The defaults: an hour after the last event, at most about 10_000 events.
    assert (log.ttl, log.maxlen, log.approximate) == (3600, 10_000, True)
    await log.publish(run, "values", b"0")
    assert 3_595_000 < raw.pttl(log.stream_key(run)) <= 3_600_000
    run = new_run()
    async with other_process(redis_url, ttl=100) as log:
        key = log.stream_key(run)
        await log.publish(run, "values", b"0")
        assert 95_000 < raw.pttl(key) <= 100_000
        raw.pexpire(key, 5_000)
        await log.publish(run, "values", b"1")
        assert 95_000 < raw.pttl(key) <= 100_000
        raw.pexpire(key, 5_000)
        await log.end(run)
        assert 95_000 < raw.pttl(key) <= 100_000


async def test_an_expired_stream_is_reported(redis_url: str, raw: Any, log: RedisEventLog) -> None:
    run = new_run()
    first = await log.publish(run, "values", b"0")
    # While following: the stream expires under a waiting reader.
    raw.pexpire(log.stream_key(run), 300)
    with anyio.fail_after(10), pytest.raises(EventsLostError, match="TTL"):
        await follow_all(log, run, first, block_ms=100)
    # Rejoining a stream that is gone.
    with pytest.raises(EventsLostError, match="does not exist any more"):
        await follow_all(log, run, first)
    # A Last-Event-ID that is no stream id at all.
    with pytest.raises(ValueError, match="invalid Last-Event-ID"):
        await follow_all(log, run, "not-an-id")


async def test_a_stream_started_again_is_not_taken_for_the_old_one(
    redis_url: str, raw: Any
) -> None:
    """The stream is lost after the reader saw event 2; a new one is created and trimmed
    so that its oldest entry is number 3, the number the reader needs next: only the
    epoch tells them apart."""
    run = new_run()
    async with other_process(redis_url, maxlen=7, approximate=False) as log:
        ids = await publish_many(log, run, range(5))
        raw.delete(log.stream_key(run))  # as a restart of Redis without persistence
        again = await publish_many(log, run, range(9))
        assert seq(again[0]) == 1
        assert [seq(i) for i in stored_ids(raw, log, run)] == list(range(3, 10))
        with pytest.raises(EventsLostError, match="lost and started again"):
            await follow_all(log, run, ids[1])
        # ... also when the reader is told while waiting: the new stream has not reached
        # the old cursor's number yet.
        raw.delete(log.stream_key(run))
        await log.publish(run, "values", b"new")
        with pytest.raises(EventsLostError, match="lost and started again"):
            await follow_all(log, run, ids[4])


def stored_ids(raw: Any, log: RedisEventLog, run: str) -> list[str]:
    return [sid.decode() for sid, _ in raw.xrange(log.stream_key(run))]


# -- cancellation ------------------------------------------------------------------------


async def test_a_cancelled_follow_leaves_nothing_behind(
    log: RedisEventLog, raw: Any, anyio_backend: str
) -> None:
    run = new_run()
    await log.publish(run, "values", b"0")
    got_one = anyio.Event()
    got: list[Item] = []

    async def reader() -> None:
        # block_ms far longer than the test: the cancellation must not wait for it.
        async with contextlib.aclosing(log.follow(run, block_ms=60_000)) as events:
            async for item in events:
                got.append(item)
                got_one.set()

    with no_task_left():
        async with anyio.create_task_group() as tg:
            tg.start_soon(reader)
            await got_one.wait()
            await until(lambda: bool(blocked_clients(raw)))  # the reader waits in XREAD
            started = anyio.current_time()
            tg.cancel_scope.cancel()
        assert anyio.current_time() - started < 1.0
    assert got == [(got[0][0], "values", b"0")]
    assert busy_connections(log) == 0
    await until(lambda: not blocked_clients(raw))  # the server saw the read end
    # The log works as before.
    await log.end(run)
    assert [data for _, _, data in await follow_all(log, run)] == [b"0", b"null"]
    assert busy_connections(log) == 0


async def test_a_follow_cancelled_while_waiting_for_a_stream_to_appear(
    log: RedisEventLog,
) -> None:
    with no_task_left():
        with anyio.move_on_after(0.3) as scope:
            await follow_all(log, new_run(), block_ms=60_000)
        assert scope.cancelled_caught
    assert busy_connections(log) == 0


# -- Redis unreachable or restarting -----------------------------------------------------


async def test_unreachable_redis_gives_a_clear_error() -> None:
    _redis.require_client()
    port = _redis.free_port()  # nothing listens there
    async with other_process(f"redis://127.0.0.1:{port}/0", connect_timeout=2) as log:
        expected = rf"cannot connect to Redis at 127\.0\.0\.1:{port} \(db 0\): connection refused"
        with pytest.raises(EventLogConnectionError, match=expected) as caught:
            await log.publish(new_run(), "values", b"0")
        assert "redis-server is running" in str(caught.value)
        with pytest.raises(EventLogConnectionError, match=expected):
            await follow_all(log, new_run())
        with pytest.raises(EventLogConnectionError, match=expected):
            await log.ping()


async def test_a_follower_rides_out_a_redis_restart() -> None:
    """Redis without persistence restarts under a waiting follower: the follower
    reconnects and reports the events it can no longer get; publishing works again."""
    run = new_run()
    with running_redis_server() as server:
        async with other_process(server.url()) as log:
            first = await log.publish(run, "values", b"0")
            waiting = anyio.Event()
            outcome: list[BaseException] = []

            async def follower() -> None:
                async with contextlib.aclosing(log.follow(run, first, block_ms=60_000)) as ev:
                    waiting.set()
                    try:
                        async for _ in ev:
                            pass
                    except EventsLostError as exc:
                        outcome.append(exc)

            with anyio.fail_after(15):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(follower)
                    await waiting.wait()
                    await stop(server)
                    with pytest.raises(EventLogConnectionError, match="cannot connect"):
                        await log.publish(run, "values", b"1")
                    await anyio.to_thread.run_sync(server.restart)
            assert len(outcome) == 1
            assert "does not exist any more" in str(outcome[0])
            # The stream starts again: numbered from 1 again, in a new epoch.
            again = await log.publish(run, "values", b"again")
            assert seq(again) == 1
            assert epoch(again) > epoch(first)
            await log.end(run)
            assert [d for _, _, d in await follow_all(log, run)] == [b"again", b"null"]


async def stop(server: RedisServer) -> None:
    await anyio.to_thread.run_sync(server.stop)


# -- batches and the follow hub ----------------------------------------------------------


async def test_publish_batch_appends_each_run_s_events_in_order(log: RedisEventLog) -> None:
    a, b, ended = new_run(), new_run(), new_run()
    await log.end(ended)
    last = await log.publish_batch(
        {
            a: [("values", b"a1"), ("custom", b"a2")],
            b: [("values", b"b1")],
            ended: [("values", b"late")],
        }
    )
    assert last[ended] is None  # nothing is appended after a run's end
    last_a = last[a]
    assert last_a is not None
    assert seq(last_a) == 2
    await log.publish_batch({a: [("values", b"a3")], b: [("values", b"b2")]})
    await log.end(a)
    await log.end(b)
    assert [(e, d) for _, e, d in await follow_all(log, a)] == [
        ("values", b"a1"),
        ("custom", b"a2"),
        ("values", b"a3"),
        ("end", b"null"),
    ]
    assert [d for _, _, d in await follow_all(log, b)] == [b"b1", b"b2", b"null"]
    assert [d for _, _, d in await follow_all(log, ended)] == [b"null"]


async def test_a_hub_serves_many_followers_with_one_read_at_a_time(
    redis_url: str, raw: Any
) -> None:
    from scopegraph.server.cluster._redis_events import FollowHub

    runs = [new_run() for _ in range(20)]
    got: dict[str, list[bytes]] = {run: [] for run in runs}
    async with other_process(redis_url) as api, other_process(redis_url) as worker:
        hub = FollowHub(api, block_ms=60_000)
        following = anyio.Event()
        joined = 0

        async def follower(run: str) -> None:
            nonlocal joined
            follow = api.follow_batches(run, block_ms=60_000, via=hub)
            async with contextlib.aclosing(follow) as batches:
                joined += 1
                if joined == len(runs):
                    following.set()
                async for batch in batches:
                    got[run] += [data for _, _, data in batch]

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                await tg.start(hub.run)
                async with anyio.create_task_group() as followers:
                    for run in runs:
                        followers.start_soon(follower, run)
                    await following.wait()
                    # the hub's one blocked read: one blocked client, not twenty
                    await until(lambda: len(blocked_clients(raw)) == 1)
                    for i in range(10):
                        await worker.publish_batch(
                            {run: [("custom", f"{i}".encode())] for run in runs}
                        )
                    for run in runs:
                        await worker.end(run)
                tg.cancel_scope.cancel()
        assert all(got[run] == [f"{i}".encode() for i in range(10)] + [b"null"] for run in runs)
        assert hub.reads < 20 * 11  # batched: far fewer reads than events
        assert hub.subscriptions == {}
        assert busy_connections(api) == 0


async def test_a_second_follower_of_one_stream_reads_on_its_own(redis_url: str) -> None:
    from scopegraph.server.cluster._redis_events import FollowHub

    run = new_run()
    async with other_process(redis_url) as log:
        hub = FollowHub(log, block_ms=60_000)
        async with anyio.create_task_group() as tg:
            await tg.start(hub.run)
            first = log.follow(run, block_ms=60_000, via=hub)
            second = log.follow(run, block_ms=60_000, via=hub)
            async with contextlib.aclosing(first), contextlib.aclosing(second):
                await log.publish(run, "values", b"1")
                await log.end(run)
                with anyio.fail_after(10):
                    assert [d async for _, _, d in first] == [b"1", b"null"]
                    assert [d async for _, _, d in second] == [b"1", b"null"]
            tg.cancel_scope.cancel()
        assert hub.subscriptions == {}


async def test_a_hub_follower_notices_a_redis_restart() -> None:
    from scopegraph.server.cluster._redis_events import FollowHub

    run = new_run()
    with running_redis_server() as server:
        async with other_process(server.url()) as log:
            hub = FollowHub(log, block_ms=60_000)
            first = await log.publish(run, "values", b"0")
            outcome: list[BaseException] = []
            waiting = anyio.Event()

            async def follower() -> None:
                follow = log.follow(run, first, block_ms=200, via=hub)
                async with contextlib.aclosing(follow) as events:
                    waiting.set()
                    try:
                        async for _ in events:
                            pass
                    except EventsLostError as exc:
                        outcome.append(exc)

            with anyio.fail_after(20):
                async with anyio.create_task_group() as tg:
                    await tg.start(hub.run)
                    async with anyio.create_task_group() as inner:
                        inner.start_soon(follower)
                        await waiting.wait()
                        await anyio.to_thread.run_sync(server.restart)
                    tg.cancel_scope.cancel()
            assert len(outcome) == 1
            assert "does not exist any more" in str(outcome[0])
