"""PostgresSaver against a real, throwaway PostgreSQL server (see ``tests/_pg.py``).

Async tests run on asyncio (psycopg's AsyncConnectionPool) and on trio (the sync pool
driven from worker threads); the sync API has its own tests. Each test gets a new
database; the restart tests use a server of their own.
"""

from __future__ import annotations

import datetime
import importlib
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import anyio.to_thread
import psycopg
import pytest

import _pg
from _pg import PgServer, create_database, running_pg_server
from scopegraph import Send
from scopegraph.checkpoint import (
    SCHEMA_VERSION,
    Checkpoint,
    CheckpointConflictError,
    CheckpointError,
    CheckpointNotFoundError,
    CorruptCheckpointError,
    SchemaVersionError,
    SerializationError,
    TaskRecord,
)
from scopegraph.checkpoint._postgres import (
    _MIGRATIONS,
    CheckpointConnectionError,
    PostgresSaver,
)

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn

# -- helpers -----------------------------------------------------------------------------


def make_checkpoint(
    cid: str, parent: str | None = None, step: int = 0, **values: Any
) -> Checkpoint:
    return Checkpoint(
        id=cid,
        parent_id=parent,
        step=step,
        created_at=f"2024-05-01T12:00:{step:02d}+00:00",
        values=values,
        next=[("pull", "b", ("a",)), ("push", "c", Send("c", {"n": 1}))],
        barriers={"join": ["a"]},
        metadata={"source": "loop", "step": step},
    )


def make_record(task_id: str, status: Any = "done", **writes: Any) -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        name="node",
        path=("__pregel_pull", "node"),
        status=status,
        writes=list(writes.items()),
        next=["b"],
    )


def ids(tuples: Any) -> list[str]:
    return [t.checkpoint.id for t in tuples]


def sql(dsn: str, statement: str, params: Any = None) -> list[tuple[Any, ...]]:
    """Run one statement on a connection of its own, as another client would."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cursor = conn.execute(statement, params)
        return cursor.fetchall() if cursor.description is not None else []


def refused_port() -> int:
    """A port nobody listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def schema_snapshot(dsn: str) -> list[tuple[Any, ...]]:
    """The tables and columns of the database, and the stored schema version."""
    columns = sql(
        dsn,
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' ORDER BY 1, 2",
    )
    return [*columns, *sql(dsn, "SELECT version FROM scopegraph_schema_version")]


@pytest.fixture
async def saver(pg_dsn: str) -> AsyncIterator[PostgresSaver]:
    async with PostgresSaver(pg_dsn, pool_size=4) as opened:
        yield opened


@pytest.fixture
def sync_saver(pg_dsn: str) -> Iterator[PostgresSaver]:
    with PostgresSaver(pg_dsn, pool_size=4) as opened:
        yield opened


@pytest.fixture(scope="module")
def own_server() -> Iterator[PgServer]:
    """A server that the restart tests may restart without disturbing other tests."""
    with running_pg_server() as server:
        yield server


# -- async API, on asyncio and trio ------------------------------------------------------


@pytest.mark.anyio
async def test_put_then_get_tuple_round_trips_checkpoint_and_task_records(
    saver: PostgresSaver,
) -> None:
    when = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)
    cp = make_checkpoint("c1", step=1, messages=["hi"], pair=(1, 2), at=when, raw=b"\x00\xff")
    await saver.aput("t", "", cp, expected_latest=None)
    done = make_record("task-a", answer={"k": (1, 2)})
    failed = TaskRecord("task-b", "other", ("p",), "error", error="ValueError('x')")
    await saver.aput_task("t", "", "c1", done)
    await saver.aput_task("t", "", "c1", failed)

    got = await saver.aget_tuple("t")
    assert got is not None
    assert got.checkpoint == cp
    assert list(got.tasks) == [done, failed]
    assert got.config == {
        "configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c1"}
    }
    assert await saver.aget_tuple("t", checkpoint_id="c1") == got
    assert await saver.aget_tuple("another thread") is None
    assert await saver.aget_tuple("t", "sub:1") is None


@pytest.mark.anyio
async def test_list_returns_newest_first_honouring_before_and_limit(
    saver: PostgresSaver,
) -> None:
    # Ids that sort the other way round: the order comes from insertion, not from ids.
    names = ["z", "y", "x", "w"]
    parent = None
    for step, cid in enumerate(names):
        await saver.aput("t", "", make_checkpoint(cid, parent, step), expected_latest=parent)
        parent = cid
    await saver.aput("t", "sub", make_checkpoint("s1"), expected_latest=None)

    assert ids(await saver.alist("t")) == ["w", "x", "y", "z"]
    assert ids(await saver.alist("t", limit=2)) == ["w", "x"]
    assert ids(await saver.alist("t", before="x")) == ["y", "z"]
    assert ids(await saver.alist("t", before="x", limit=1)) == ["y"]
    assert ids(await saver.alist("t", before="z")) == []
    assert ids(await saver.alist("t", limit=0)) == []
    assert ids(await saver.alist("t", "sub")) == ["s1"]
    assert ids(await saver.alist("nobody")) == []
    newest = await saver.aget_tuple("t")
    assert newest is not None
    assert newest.checkpoint.id == "w"
    with pytest.raises(ValueError, match="limit"):
        await saver.alist("t", limit=-1)


@pytest.mark.anyio
async def test_put_task_replaces_the_record_with_the_same_task_id(saver: PostgresSaver) -> None:
    await saver.aput("t", "", make_checkpoint("c1"), expected_latest=None)
    await saver.aput_task("t", "", "c1", make_record("a", status="interrupted"))
    await saver.aput_task("t", "", "c1", make_record("b", x=1))
    await saver.aput_task("t", "", "c1", make_record("a", x=2))

    got = await saver.aget_tuple("t")
    assert got is not None
    assert [(r.task_id, r.status, r.writes) for r in got.tasks] == [
        ("a", "done", [("x", 2)]),
        ("b", "done", [("x", 1)]),
    ]


@pytest.mark.anyio
async def test_concurrent_writers_expecting_the_same_head_exactly_one_wins(pg_dsn: str) -> None:
    outcomes: dict[str, BaseException | None] = {}

    async def write(saver: PostgresSaver, cid: str, expected: str | None, step: int) -> None:
        try:
            await saver.aput(
                "t", "", make_checkpoint(cid, expected, step), expected_latest=expected
            )
        except CheckpointConflictError as exc:
            outcomes[cid] = exc
        else:
            outcomes[cid] = None

    # Two savers, so that the writers use two connections and race in the server.
    async with PostgresSaver(pg_dsn) as first, PostgresSaver(pg_dsn) as second:
        head: str | None = None
        for round_ in range(5):  # round 0 races on "no checkpoint yet"
            outcomes.clear()
            async with anyio.create_task_group() as tg:
                tg.start_soon(write, first, f"a{round_}", head, round_)
                tg.start_soon(write, second, f"b{round_}", head, round_)

            winners = [cid for cid, exc in outcomes.items() if exc is None]
            assert len(winners) == 1, outcomes
            (loser,) = set(outcomes) - set(winners)
            wanted = "no checkpoint" if head is None else f"newest checkpoint {head!r}"
            assert f"this run expected {wanted}" in str(outcomes[loser])
            stored = ids(await first.alist("t"))
            assert stored[0] == winners[0]
            assert loser not in stored
            head = winners[0]
        assert len(ids(await second.alist("t"))) == 5


@pytest.mark.anyio
async def test_more_operations_than_connections_all_get_one_in_turn(pg_dsn: str) -> None:
    # 40 writers on a pool of 2: the writers beyond the first two wait in the pool, and
    # every finished write must hand its connection on to them. (A saver that kept its
    # connections for itself once starved the waiters until pool_timeout: this failed
    # with "all 2 connections of the pool are busy".)
    written: list[str] = []

    async def write(saver: PostgresSaver, n: int) -> None:
        for step in range(3):
            parent = None if step == 0 else f"c{n}-{step - 1}"
            await saver.aput(
                f"t{n}", "", make_checkpoint(f"c{n}-{step}", parent, step), expected_latest=parent
            )
        written.append(f"t{n}")

    async with PostgresSaver(pg_dsn, pool_size=2, pool_timeout=5) as saver:
        async with anyio.create_task_group() as tg:
            for n in range(40):
                tg.start_soon(write, saver, n)
        assert sorted(written) == sorted(f"t{n}" for n in range(40))
        assert ids(await saver.alist("t7")) == ["c7-2", "c7-1", "c7-0"]


@pytest.mark.anyio
async def test_put_with_a_stale_expected_latest_raises_conflict_and_writes_nothing(
    saver: PostgresSaver,
) -> None:
    await saver.aput("t", "", make_checkpoint("c1"), expected_latest=None)
    await saver.aput("t", "", make_checkpoint("c2", "c1", 1), expected_latest="c1")
    with pytest.raises(CheckpointConflictError, match="has newest checkpoint 'c2'"):
        await saver.aput("t", "", make_checkpoint("c3", "c1", 1), expected_latest="c1")
    with pytest.raises(CheckpointConflictError, match="expected no checkpoint"):
        await saver.aput("t", "", make_checkpoint("c4"), expected_latest=None)
    with pytest.raises(CheckpointConflictError, match="already exists"):
        await saver.aput("t", "", make_checkpoint("c1", "c2", 2), expected_latest="c2")
    assert ids(await saver.alist("t")) == ["c2", "c1"]
    # The head did not move: the next write still expects c2.
    await saver.aput("t", "", make_checkpoint("c5", "c2", 2), expected_latest="c2")


@pytest.mark.anyio
async def test_unknown_checkpoint_id_raises_not_found(saver: PostgresSaver) -> None:
    missing = "checkpoint 'nope' of thread 't' does not exist"
    with pytest.raises(CheckpointNotFoundError, match=missing):
        await saver.aget_tuple("t", checkpoint_id="nope")
    await saver.aput("t", "", make_checkpoint("c1"), expected_latest=None)
    with pytest.raises(CheckpointNotFoundError, match=missing):
        await saver.aget_tuple("t", checkpoint_id="nope")
    with pytest.raises(CheckpointNotFoundError, match="namespace 'sub'"):
        await saver.aget_tuple("t", "sub", checkpoint_id="c1")
    with pytest.raises(CheckpointNotFoundError, match="checkpoint 'nope'"):
        await saver.alist("t", before="nope")
    with pytest.raises(CheckpointNotFoundError, match="checkpoint 'nope'"):
        await saver.aput_task("t", "", "nope", make_record("a"))
    got = await saver.aget_tuple("t")
    assert got is not None
    assert got.tasks == []


@pytest.mark.anyio
async def test_delete_thread_removes_every_namespace_of_that_thread_only(
    saver: PostgresSaver,
) -> None:
    for thread in ("t", "keep"):
        for ns in ("", "sub:1"):
            await saver.aput(thread, ns, make_checkpoint("c1"), expected_latest=None)
            await saver.aput_task(thread, ns, "c1", make_record("a"))
    await saver.adelete_thread("t")

    assert await saver.aget_tuple("t") is None
    assert await saver.aget_tuple("t", "sub:1") is None
    kept = await saver.aget_tuple("keep", "sub:1")
    assert kept is not None
    assert [r.task_id for r in kept.tasks] == ["a"]
    # The thread starts over: "no checkpoint yet" is the expected head again.
    await saver.aput("t", "", make_checkpoint("c9"), expected_latest=None)
    await saver.adelete_thread("never existed")


@pytest.mark.anyio
async def test_unserializable_value_raises_naming_the_channel_and_stores_nothing(
    saver: PostgresSaver, pg_dsn: str
) -> None:
    with pytest.raises(SerializationError, match=r"channel 'bad'.*builtins\.object"):
        await saver.aput("t", "", make_checkpoint("c1", ok=1, bad=object()), expected_latest=None)
    assert await saver.aget_tuple("t") is None
    assert sql(pg_dsn, "SELECT count(*) FROM scopegraph_heads") == [(0,)]

    await saver.aput("t", "", make_checkpoint("c1", ok=1), expected_latest=None)
    with pytest.raises(SerializationError, match=r"channel 'oops'.*_thread\.lock"):
        await saver.aput_task("t", "", "c1", make_record("a", oops=threading.Lock()))
    got = await saver.aget_tuple("t")
    assert got is not None
    assert got.tasks == []


@pytest.mark.anyio
async def test_corrupted_blob_raises_corrupt_checkpoint_error_and_is_left_untouched(
    saver: PostgresSaver, pg_dsn: str
) -> None:
    await saver.aput("t", "", make_checkpoint("c1"), expected_latest=None)
    await saver.aput("t", "", make_checkpoint("c2", "c1", 1), expected_latest="c1")
    await saver.aput_task("t", "", "c1", make_record("a"))
    garbage = b"\x00{not json"
    sql(pg_dsn, "UPDATE scopegraph_checkpoints SET data = %s WHERE checkpoint_id = 'c2'", [garbage])
    sql(pg_dsn, "UPDATE scopegraph_checkpoint_tasks SET data = %s", [b'{"v": 1}'])

    with pytest.raises(CorruptCheckpointError, match="checkpoint 'c2' of thread 't'"):
        await saver.aget_tuple("t")
    with pytest.raises(CorruptCheckpointError, match="checkpoint 'c2'"):
        await saver.alist("t")
    with pytest.raises(CorruptCheckpointError, match="task record 'a' of checkpoint 'c1'"):
        await saver.aget_tuple("t", checkpoint_id="c1")
    stored = sql(pg_dsn, "SELECT data FROM scopegraph_checkpoints WHERE checkpoint_id = 'c2'")
    assert stored == [(garbage,)]
    with pytest.raises(CorruptCheckpointError, match="task record 'a'"):
        await saver.alist("t", before="c2")


@pytest.mark.anyio
async def test_newer_schema_version_raises_schema_version_error_and_changes_nothing(
    pg_dsn: str,
) -> None:
    async with PostgresSaver(pg_dsn):
        pass
    sql(pg_dsn, "UPDATE scopegraph_schema_version SET version = %s", [SCHEMA_VERSION + 1])
    before = schema_snapshot(pg_dsn)

    newer = PostgresSaver(pg_dsn)
    with pytest.raises(SchemaVersionError, match=f"schema version {SCHEMA_VERSION + 1}"):
        await newer.asetup()
    with pytest.raises(SchemaVersionError, match="upgrade scopegraph"):
        await newer.aget_tuple("t")
    await newer.aclose()
    assert schema_snapshot(pg_dsn) == before


@pytest.mark.anyio
async def test_concurrent_setups_create_the_schema_once(pg_dsn: str) -> None:
    savers = [PostgresSaver(pg_dsn, pool_size=1) for _ in range(6)]
    try:
        async with anyio.create_task_group() as tg:
            for each in savers:
                tg.start_soon(each.asetup)
        await savers[0].asetup()  # idempotent on the same saver
        async with PostgresSaver(pg_dsn) as again:  # and on an existing schema
            await again.aput("t", "", make_checkpoint("c1"), expected_latest=None)
    finally:
        for each in savers:
            await each.aclose()
    assert sql(pg_dsn, "SELECT version FROM scopegraph_schema_version") == [(SCHEMA_VERSION,)]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("make_dsn", "message"),
    [
        pytest.param(
            lambda dsn: f"host=127.0.0.1 port={refused_port()} dbname=x user=postgres",
            r"cannot connect to PostgreSQL at 127\.0\.0\.1:\d+ .*connection refused; "
            "check host and port",
            id="refused-port",
        ),
        pytest.param(
            lambda dsn: psycopg.conninfo.make_conninfo(dsn, dbname="no_such_db"),
            "database 'no_such_db' does not exist; check dbname",
            id="unknown-database",
        ),
        pytest.param(
            lambda dsn: psycopg.conninfo.make_conninfo(dsn, user="nobody"),
            "user 'nobody' does not exist; check user",
            id="unknown-user",
        ),
    ],
)
async def test_wrong_connection_string_raises_a_clear_error_quickly(
    pg_server: str, make_dsn: Any, message: str
) -> None:
    started = time.monotonic()
    saver = PostgresSaver(make_dsn(pg_server))
    with pytest.raises(CheckpointConnectionError, match=message):
        await saver.aget_tuple("t")
    await saver.aclose()
    assert time.monotonic() - started < 3


@pytest.mark.anyio
async def test_from_conn_string_is_an_async_context_manager_that_closes_the_saver(
    pg_dsn: str,
) -> None:
    async with PostgresSaver.from_conn_string(pg_dsn) as saver:
        assert isinstance(saver, PostgresSaver)
        await saver.aput("t", "", make_checkpoint("c1"), expected_latest=None)
    with pytest.raises(CheckpointError, match="closed"):
        await saver.aget_tuple("t")


@pytest.mark.anyio
async def test_saver_keeps_working_after_the_server_restarts(own_server: PgServer) -> None:
    dsn = create_database(own_server.dsn())
    async with PostgresSaver(dsn) as saver:
        await saver.aput("t", "", make_checkpoint("c1"), expected_latest=None)
        await anyio.to_thread.run_sync(own_server.restart)
        got = await saver.aget_tuple("t")
        assert got is not None
        assert got.checkpoint.id == "c1"
        await saver.aput("t", "", make_checkpoint("c2", "c1", 1), expected_latest="c1")


# -- sync API ----------------------------------------------------------------------------


def test_sync_api_round_trip_listing_conflict_and_delete(sync_saver: PostgresSaver) -> None:
    saver = sync_saver
    saver.put("t", "", make_checkpoint("c1", v=[1]), expected_latest=None)
    saver.put("t", "", make_checkpoint("c2", "c1", 1, v=[1, 2]), expected_latest="c1")
    saver.put_task("t", "", "c2", make_record("a", v=3))
    saver.put_task("t", "", "c2", make_record("a", v=4))

    got = saver.get_tuple("t")
    assert got is not None
    assert got.checkpoint == make_checkpoint("c2", "c1", 1, v=[1, 2])
    assert [r.writes for r in got.tasks] == [[("v", 4)]]
    assert ids(saver.list("t")) == ["c2", "c1"]
    assert ids(saver.list("t", before="c2", limit=5)) == ["c1"]
    with pytest.raises(CheckpointConflictError):
        saver.put("t", "", make_checkpoint("c3", "c1", 1), expected_latest="c1")
    with pytest.raises(CheckpointNotFoundError):
        saver.get_tuple("t", checkpoint_id="c3")
    with pytest.raises(SerializationError, match="channel 'f'"):
        saver.put("t", "", make_checkpoint("c3", "c2", 2, f=print), expected_latest="c2")
    saver.delete_thread("t")
    assert saver.list("t") == []


def test_sync_concurrent_writers_expecting_the_same_head_exactly_one_wins(pg_dsn: str) -> None:
    with PostgresSaver(pg_dsn) as setup:
        setup.put("t", "", make_checkpoint("c0"), expected_latest=None)
    savers = [PostgresSaver(pg_dsn, pool_size=1) for _ in range(4)]
    for each in savers:
        each.setup()
    barrier = threading.Barrier(len(savers))
    outcomes: dict[str, str] = {}

    def write(saver: PostgresSaver, cid: str) -> None:
        barrier.wait()
        try:
            saver.put("t", "", make_checkpoint(cid, "c0", 1), expected_latest="c0")
        except CheckpointConflictError:
            outcomes[cid] = "conflict"
        else:
            outcomes[cid] = "stored"

    threads = [
        threading.Thread(target=write, args=(each, f"w{i}")) for i, each in enumerate(savers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for each in savers:
        each.close()

    winners = [cid for cid, outcome in outcomes.items() if outcome == "stored"]
    assert len(winners) == 1, outcomes
    with PostgresSaver(pg_dsn) as check:
        assert ids(check.list("t")) == [winners[0], "c0"]


def test_setup_is_idempotent(pg_dsn: str) -> None:
    with PostgresSaver(pg_dsn) as saver:
        saver.setup()
        saver.put("t", "", make_checkpoint("c1"), expected_latest=None)
    first = schema_snapshot(pg_dsn)
    with PostgresSaver(pg_dsn) as again:
        again.setup()
        assert ids(again.list("t")) == ["c1"]
    assert schema_snapshot(pg_dsn) == first


def test_sync_newer_schema_version_raises_schema_version_error(pg_dsn: str) -> None:
    with PostgresSaver(pg_dsn):
        pass
    sql(pg_dsn, "UPDATE scopegraph_schema_version SET version = version + 1")
    with pytest.raises(SchemaVersionError), PostgresSaver(pg_dsn):
        pass


@pytest.mark.parametrize(
    ("make_dsn", "message"),
    [
        pytest.param(
            lambda dsn: f"host=127.0.0.1 port={refused_port()} dbname=x user=postgres",
            "connection refused; check host and port",
            id="refused-port",
        ),
        pytest.param(
            lambda dsn: psycopg.conninfo.make_conninfo(dsn, dbname="no_such_db"),
            "database 'no_such_db' does not exist",
            id="unknown-database",
        ),
    ],
)
def test_sync_wrong_connection_string_raises_a_clear_error_quickly(
    pg_server: str, make_dsn: Any, message: str
) -> None:
    started = time.monotonic()
    with (
        pytest.raises(CheckpointConnectionError, match=message),
        PostgresSaver(make_dsn(pg_server)),
    ):
        pass
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    "dsn",
    ["host=127.0.0.1 port=5432 dbname='unterminated", "just garbage", "postgresql://h/db?bad=1"],
)
def test_malformed_connection_string_is_rejected_by_the_constructor(dsn: str) -> None:
    with pytest.raises(CheckpointConnectionError, match="malformed PostgreSQL connection string"):
        PostgresSaver(dsn)


def test_from_conn_string_is_a_context_manager_that_closes_the_saver(pg_dsn: str) -> None:
    with PostgresSaver.from_conn_string(pg_dsn, pool_size=2) as saver:
        saver.put("t", "", make_checkpoint("c1"), expected_latest=None)
        assert ids(saver.list("t")) == ["c1"]
    with pytest.raises(CheckpointError, match="closed"):
        saver.list("t")


def test_sync_saver_keeps_working_after_the_server_restarts(own_server: PgServer) -> None:
    dsn = create_database(own_server.dsn())
    with PostgresSaver(dsn) as saver:
        saver.put("t", "", make_checkpoint("c1"), expected_latest=None)
        own_server.restart()
        assert ids(saver.list("t")) == ["c1"]


def test_migrations_cover_every_schema_version() -> None:
    assert len(_MIGRATIONS) == SCHEMA_VERSION


def test_missing_psycopg_raises_import_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)
    monkeypatch.delitem(sys.modules, "scopegraph.checkpoint._postgres")
    with pytest.raises(ImportError, match=r"pip install 'scopegraph\[postgres\]'"):
        importlib.import_module("scopegraph.checkpoint._postgres")
