"""The store (``scopegraph.store``): the three stores give the same answers, on asyncio and
trio; TTLs, filters and semantic search (with a deterministic letter-count embedding);
the engine hands the store to nodes."""

from __future__ import annotations

import math
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, TypedDict, cast

import anyio
import anyio.abc
import psycopg
import pytest

import _pg
from scopegraph import END, START, StateGraph
from scopegraph.config import get_store
from scopegraph.runtime import Runtime
from scopegraph.store import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    PutOp,
    SearchItem,
    SearchOp,
    TTLConfig,
)
from scopegraph.store._postgres import SWEEP_LOCK_KEY
from scopegraph.store._sql import ITEMS
from scopegraph.store.memory import InMemoryStore
from scopegraph.store.postgres import PostgresStore
from scopegraph.store.sqlite import SqliteStore

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn

KINDS = ["memory", "sqlite", "postgres"]


def letters(texts: Sequence[str]) -> list[list[float]]:
    """A deterministic embedding: how often each letter a-z occurs, normalized."""
    out = []
    for text in texts:
        counts = [float(text.lower().count(chr(ord("a") + i))) for i in range(26)]
        norm = math.sqrt(sum(c * c for c in counts)) or 1.0
        out.append([c / norm for c in counts])
    return out


async def aletters(texts: Sequence[str]) -> list[list[float]]:
    await anyio.lowlevel.checkpoint()
    return letters(texts)


def make_store(kind: str, tmp_path: Path, **kwargs: Any) -> BaseStore:
    if kind == "memory":
        return InMemoryStore(**kwargs)
    if kind == "sqlite":
        return SqliteStore(tmp_path / f"store-{len(list(tmp_path.iterdir()))}.db", **kwargs)
    return PostgresStore(_pg.fresh_database_dsn(), pool_size=2, **kwargs)


def close(store: BaseStore) -> None:
    closer = getattr(store, "close", None)
    if closer is not None:
        closer()


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(kind: str, tmp_path: Path) -> Iterator[BaseStore]:
    instance = make_store(kind, tmp_path)
    yield instance
    close(instance)


@pytest.fixture
async def astore(kind: str, tmp_path: Path, anyio_backend: str) -> AsyncIterator[BaseStore]:
    instance = make_store(kind, tmp_path)
    yield instance
    aclose = getattr(instance, "aclose", None)
    if aclose is not None:
        await aclose()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The stores' wall clock, moved by the test (TTL tests do not sleep)."""
    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    return now


# -- items ----------------------------------------------------------------------------------


def test_put_get_delete_round_trip_keeps_created_at(store: BaseStore, clock: list[float]) -> None:
    store.put(("users", "u1"), "prefs", {"theme": "dark", "n": [1, 2]})
    first = store.get(("users", "u1"), "prefs")
    assert isinstance(first, Item)
    assert (first.namespace, first.key, first.value) == (
        ("users", "u1"),
        "prefs",
        {"theme": "dark", "n": [1, 2]},
    )
    clock[0] += 10
    store.put(("users", "u1"), "prefs", {"theme": "light"})
    second = store.get(("users", "u1"), "prefs")
    assert second is not None
    assert second.value == {"theme": "light"}
    assert second.created_at == first.created_at
    assert second.updated_at > first.updated_at
    assert store.get(("users", "u1"), "other") is None
    store.delete(("users", "u1"), "prefs")
    assert store.get(("users", "u1"), "prefs") is None
    store.delete(("users", "u1"), "prefs")  # deleting nothing is fine
    assert store.list_namespaces() == []


@pytest.mark.anyio
async def test_async_twins_match_the_sync_api(astore: BaseStore) -> None:
    await astore.aput(("docs",), "a", {"text": "hello"})
    await astore.aput(("docs", "sub"), "b", {"text": "world"})
    got = await astore.aget(("docs",), "a")
    assert got is not None
    assert got.value == {"text": "hello"}
    found = await astore.asearch(("docs",))
    assert sorted(i.key for i in found) == ["a", "b"]
    assert all(isinstance(i, SearchItem) and i.score is None for i in found)
    assert await astore.alist_namespaces() == [("docs",), ("docs", "sub")]
    await astore.adelete(("docs",), "a")
    assert await astore.aget(("docs",), "a") is None


def test_batch_reads_see_the_store_before_its_writes(store: BaseStore) -> None:
    store.put(("a",), "k", {"v": 1})
    results = store.batch(
        [
            PutOp(("a",), "k", {"v": 2}),
            GetOp(("a",), "k"),
            SearchOp(("a",)),
            ListNamespacesOp(match_conditions=(MatchCondition("prefix", ("a",)),)),
            PutOp(("b",), "k", {"v": 3}),
        ]
    )
    assert results[0] is None
    assert results[4] is None
    assert isinstance(results[1], Item)
    assert results[1].value == {"v": 1}
    assert [i.value for i in results[2]] == [{"v": 1}]  # type: ignore[union-attr]
    assert results[3] == [("a",)]
    item = store.get(("a",), "k")
    assert item is not None
    assert item.value == {"v": 2}
    assert store.list_namespaces() == [("a",), ("b",)]


# -- search ---------------------------------------------------------------------------------


def _seed(store: BaseStore) -> None:
    store.put(("shop", "fruit"), "apple", {"price": 1.5, "color": "red", "meta": {"n": 1}})
    store.put(("shop", "fruit"), "banana", {"price": 0.5, "color": "yellow", "meta": {"n": 2}})
    store.put(("shop", "veg"), "pepper", {"price": 2.0, "color": "red", "meta": {"n": 3}})
    store.put(("shopping",), "list", {"price": 9.0, "color": "red"})


@pytest.mark.parametrize(
    ("filter", "keys"),
    [
        ({"color": "red"}, ["apple", "pepper"]),
        ({"color": {"$eq": "red"}}, ["apple", "pepper"]),
        ({"color": {"$ne": "red"}}, ["banana"]),
        ({"price": {"$gt": 1.5}}, ["pepper"]),
        ({"price": {"$gte": 1.5}}, ["apple", "pepper"]),
        ({"price": {"$lt": 1.5}}, ["banana"]),
        ({"price": {"$lte": 1.5}}, ["apple", "banana"]),
        ({"price": {"$gt": 0.1, "$lt": 2.0}}, ["apple", "banana"]),
        ({"meta": {"n": 2}}, ["banana"]),
        ({"meta.n": 3}, ["pepper"]),
        ({"color": "red", "price": {"$lt": 2}}, ["apple"]),
        ({"missing": {"$gt": 0}}, []),
        ({"$or": [{"color": "yellow"}, {"price": {"$gt": 1.5}}]}, ["banana", "pepper"]),
        ({"color": "red", "$or": [{"meta.n": 1}, {"meta.n": 2}]}, ["apple"]),
        ({"$and": [{"color": "red"}, {"price": {"$gt": 1.5}}]}, ["pepper"]),
        (
            {"$or": [{"$and": [{"color": "red"}, {"meta.n": 3}]}, {"price": 0.5}]},
            ["banana", "pepper"],
        ),
    ],
)
def test_search_filters(store: BaseStore, filter: dict[str, Any], keys: list[str]) -> None:
    _seed(store)
    assert sorted(i.key for i in store.search(("shop",), filter=filter)) == keys


def test_string_filters_match_only_strings(store: BaseStore) -> None:
    store.put(("f",), "number", {"n": 5, "access-level": "public", "flag": True})
    store.put(("f",), "text", {"n": "5", "access-level": "private", "flag": "true"})
    store.put(("f",), "nested", {"n": {"x": "5"}, "o'k": "1"})
    assert [i.key for i in store.search(("f",), filter={"n": "5"})] == ["text"]
    assert [i.key for i in store.search(("f",), filter={"n": {"$eq": "5"}})] == ["text"]
    assert [i.key for i in store.search(("f",), filter={"n": 5})] == ["number"]
    assert [i.key for i in store.search(("f",), filter={"flag": "true"})] == ["text"]
    assert [i.key for i in store.search(("f",), filter={"access-level": "public"})] == ["number"]
    assert [i.key for i in store.search(("f",), filter={"n": "5", "flag": True})] == []
    if isinstance(store, SqliteStore):  # as LangGraph's SqliteStore: such keys refused
        with pytest.raises(ValueError, match="Invalid filter key: 'o'k'"):
            store.search(("f",), filter={"o'k": "1"})
    else:
        assert [i.key for i in store.search(("f",), filter={"o'k": "1"})] == ["nested"]


def test_number_ranges_compare_what_float_takes_and_skip_the_rest(store: BaseStore) -> None:
    # float(value) against float(operand), as LangGraph's InMemoryStore ("7" and True are
    # numbers too); a value float() cannot take does not match (LangGraph's raises)
    store.put(("r",), "int", {"x": 7})
    store.put(("r",), "float", {"x": 2.5})
    store.put(("r",), "text-number", {"x": "7"})
    store.put(("r",), "bool", {"x": True})
    store.put(("r",), "word", {"x": "seven"})
    store.put(("r",), "null", {"x": None})
    store.put(("r",), "missing", {"y": 1})

    def keys(filter: dict[str, Any]) -> list[str]:
        return sorted(i.key for i in store.search(("r",), filter=filter))

    assert keys({"x": {"$gt": 5}}) == ["int", "text-number"]
    assert keys({"x": {"$gte": 1, "$lt": 3}}) == ["bool", "float"]
    assert keys({"x": {"$lte": 2.5}}) == ["bool", "float"]
    assert keys({"x": {"$gt": -1e308}}) == ["bool", "float", "int", "text-number"]


def test_search_prefix_stops_at_label_boundaries_and_pages(store: BaseStore) -> None:
    _seed(store)
    assert sorted(i.key for i in store.search(("shop",))) == ["apple", "banana", "pepper"]
    assert [i.key for i in store.search(("shopping",))] == ["list"]
    assert len(store.search(())) == 4
    everything = [i.key for i in store.search((), limit=10)]
    pages = [i.key for off in range(4) for i in store.search((), limit=1, offset=off)]
    assert sorted(pages) == sorted(everything)
    assert len(set(pages)) == 4
    assert store.search(("shop",), limit=2, offset=2, filter={"color": "red"}) == []


def test_list_namespaces_conditions_depth_and_pages(store: BaseStore) -> None:
    for ns in [("a", "b", "c"), ("a", "b", "d"), ("a", "x"), ("z", "b", "c")]:
        store.put(ns, "k", {"v": 1})
    assert store.list_namespaces(prefix=("a",)) == [("a", "b", "c"), ("a", "b", "d"), ("a", "x")]
    assert store.list_namespaces(suffix=("c",)) == [("a", "b", "c"), ("z", "b", "c")]
    assert store.list_namespaces(prefix=("*", "b")) == [
        ("a", "b", "c"),
        ("a", "b", "d"),
        ("z", "b", "c"),
    ]
    assert store.list_namespaces(max_depth=2) == [("a", "b"), ("a", "x"), ("z", "b")]
    assert store.list_namespaces(limit=2, offset=1) == [("a", "b", "d"), ("a", "x")]
    assert store.list_namespaces(prefix=("a",), suffix=("d",)) == [("a", "b", "d")]


# -- semantic search ------------------------------------------------------------------------


@pytest.mark.parametrize("embed", [letters, aletters], ids=["sync", "async"])
@pytest.mark.anyio
async def test_query_ranks_by_similarity_with_sync_or_async_embeddings(
    kind: str, tmp_path: Path, anyio_backend: str, embed: Any
) -> None:
    index = {"dims": 26, "embed": embed, "fields": ["text"]}
    store = make_store(kind, tmp_path, index=index)
    try:
        await store.aput(("docs",), "a", {"text": "aaaa"})
        await store.aput(("docs",), "b", {"text": "bbbb"})
        await store.aput(("docs",), "ab", {"text": "aabb"})
        await store.aput(("docs",), "plain", {"other": "no text field"})
        await store.aput(("docs",), "skipped", {"text": "aaaa"}, index=False)
        found = await store.asearch(("docs",), query="aaa", limit=10)
        assert [i.key for i in found[:3]] == ["a", "ab", "b"]
        assert found[0].score == pytest.approx(1.0)
        assert found[1].score == pytest.approx(1 / math.sqrt(2))
        assert found[2].score == pytest.approx(0.0)
        # items without a vector come last, unscored
        assert {i.key for i in found[3:]} == {"plain", "skipped"}
        assert all(i.score is None for i in found[3:])
        page = await store.asearch(("docs",), query="aaa", limit=1, offset=1)
        assert [i.key for i in page] == ["ab"]
        filtered = await store.asearch(("docs",), query="aaa", filter={"text": "bbbb"})
        assert [i.key for i in filtered] == ["b"]
        # a new value replaces the old vectors
        await store.aput(("docs",), "b", {"text": "aaaa"})
        again = await store.asearch(("docs",), query="aaa", limit=2)
        assert {i.key for i in again} == {"a", "b"}
    finally:
        aclose = getattr(store, "aclose", None)
        if aclose is not None:
            await aclose()


def test_each_path_of_a_field_list_is_embedded(kind: str, tmp_path: Path) -> None:
    store = make_store(kind, tmp_path, index={"embed": letters, "fields": ["parts[*].t"]})
    try:
        store.put(("d",), "multi", {"parts": [{"t": "zzzz"}, {"t": "aaaa"}]})
        store.put(("d",), "other", {"parts": [{"t": "abab"}]})
        found = store.search(("d",), query="a")
        assert found[0].key == "multi"
        assert found[0].score == pytest.approx(1.0)
        by_override = make_store("memory", tmp_path, index={"embed": letters})
        by_override.put(("d",), "k", {"x": "qqqq", "y": "aaaa"}, index=["y"])
        assert by_override.search(("d",), query="a")[0].score == pytest.approx(1.0)
    finally:
        close(store)


@pytest.mark.anyio
async def test_a_langchain_embeddings_object_serves_async_calls_on_both_backends(
    anyio_backend: str,
) -> None:
    embeddings_module = pytest.importorskip("langchain_core.embeddings")

    class Letters(embeddings_module.Embeddings):  # type: ignore[misc, name-defined]
        # sync methods only: LangChain's async defaults need asyncio's executor
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return letters(texts)

        def embed_query(self, text: str) -> list[float]:
            return letters([text])[0]

    embeddings = Letters()
    store = InMemoryStore(index={"dims": 26, "embed": embeddings, "fields": ["text"]})
    assert store.embeddings is embeddings
    await store.aput(("d",), "a", {"text": "aaaa"})
    await store.aput(("d",), "b", {"text": "bbbb"})
    found = await store.asearch(("d",), query="a")
    assert [(i.key, round(i.score or 0, 6)) for i in found] == [("a", 1.0), ("b", 0.0)]


def test_an_async_embedding_function_refuses_sync_calls_clearly() -> None:
    store = InMemoryStore(index={"dims": 26, "embed": aletters})
    with pytest.raises(ValueError, match="async embedding function"):
        store.put(("d",), "k", {"text": "a"})


# -- TTL --------------------------------------------------------------------------------------


def test_ttl_expires_items_and_reads_refresh_it(
    kind: str, tmp_path: Path, clock: list[float]
) -> None:
    ttl: TTLConfig = {"default_ttl": 1.0, "refresh_on_read": True}  # minutes
    store = make_store(kind, tmp_path, ttl=ttl)
    try:
        store.put(("t",), "refreshed", {"v": 1})
        store.put(("t",), "read_only", {"v": 2})
        store.put(("t",), "forever", {"v": 3}, ttl=None)
        clock[0] += 50
        assert store.get(("t",), "refreshed") is not None  # expires at 110 now
        assert store.get(("t",), "read_only", refresh_ttl=False) is not None  # still at 60
        clock[0] += 50
        assert store.sweep_ttl() == 1  # type: ignore[attr-defined]
        assert store.get(("t",), "read_only") is None
        assert sorted(i.key for i in store.search(("t",), refresh_ttl=False)) == [
            "forever",
            "refreshed",
        ]
        clock[0] += 100
        assert store.sweep_ttl() == 1  # type: ignore[attr-defined]
        assert [i.key for i in store.search(("t",))] == ["forever"]
    finally:
        close(store)


def test_search_refreshes_ttl_and_omit_expired_hides_unswept_items(
    kind: str, tmp_path: Path, clock: list[float]
) -> None:
    ttl: TTLConfig = {"default_ttl": 1.0, "omit_expired": True, "refresh_on_read": True}
    store = make_store(kind, tmp_path, ttl=ttl)
    try:
        store.put(("t",), "a", {"v": 1})
        store.put(("t",), "b", {"v": 2})
        clock[0] += 50
        assert [i.key for i in store.search(("t",), filter={"v": 1})] == ["a"]  # refreshed
        clock[0] += 20  # b expired, a not
        assert store.get(("t",), "b") is None
        assert [i.key for i in store.search(("t",))] == ["a"]
        assert store.list_namespaces() == [("t",)]
        clock[0] += 100
        assert store.list_namespaces() == []
    finally:
        close(store)


def test_without_refresh_on_read_only_sqlite_keeps_the_expiry_of_the_last_write(
    kind: str, tmp_path: Path, clock: list[float]
) -> None:
    """LangGraph's rule: a read refreshes by default (``refresh_on_read`` defaults to
    true), except in ``SqliteStore``, which refreshes only when its config says so."""
    store = make_store(kind, tmp_path, ttl={"default_ttl": 1.0})
    try:
        store.put(("t",), "k", {"v": 1})
        clock[0] += 50
        assert store.get(("t",), "k") is not None
        assert [i.key for i in store.search(("t",))] == ["k"]
        clock[0] += 20  # 70 s after the write, 20 s after the reads
        assert store.sweep_ttl() == (1 if kind == "sqlite" else 0)  # type: ignore[attr-defined]
    finally:
        close(store)


class _WatchedStore(InMemoryStore):
    """An in-memory store that tells when a sweep happened."""

    def __init__(self) -> None:
        super().__init__(ttl={"default_ttl": 0.0})
        self.swept = anyio.Event()

    async def asweep_ttl(self) -> int:
        deleted = await super().asweep_ttl()
        self.swept.set()
        return deleted


@pytest.mark.anyio
async def test_open_ttl_sweeper_deletes_expired_items_in_the_background(
    anyio_backend: str,
) -> None:
    store = _WatchedStore()
    await store.aput(("t",), "gone", {"v": 1})
    await store.aput(("t",), "kept", {"v": 2}, ttl=None)
    with anyio.fail_after(5):
        async with store.open_ttl_sweeper(sweep_interval_minutes=0.0005):
            await store.swept.wait()
    assert await store.aget(("t",), "gone") is None
    assert await store.aget(("t",), "kept") is not None


def test_start_ttl_sweeper_thread_stops() -> None:
    store = InMemoryStore(ttl={"default_ttl": 0.0, "sweep_interval_minutes": 1})
    store.put(("t",), "gone", {"v": 1})
    store.start_ttl_sweeper(sweep_interval_minutes=0.0005)
    deadline = time.monotonic() + 5
    while store.list_namespaces() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.list_namespaces() == []
    assert store.stop_ttl_sweeper(timeout=5)


class _RoundsStore(PostgresStore):
    """A PostgreSQL store that reports each round of its sweeper: how many items it
    deleted, into ``rounds``."""

    rounds: anyio.abc.ObjectSendStream[int]

    async def _asweep_round(self) -> int:
        deleted = await super()._asweep_round()
        await self.rounds.send(deleted)
        return deleted


async def _one_round(store: _RoundsStore) -> int:
    """Run the store's sweeper until it has done one round; what that round deleted."""
    send, receive = anyio.create_memory_object_stream[int](math.inf)
    store.rounds = send
    with send, receive, anyio.fail_after(10):
        async with store.open_ttl_sweeper(sweep_interval_minutes=0.0005):
            return await receive.receive()


def _hold_sweep_lock(conn: psycopg.Connection[Any]) -> None:
    """What another process's sweep holds until its transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (SWEEP_LOCK_KEY,))


@pytest.mark.anyio
async def test_the_sweeper_skips_its_round_while_another_process_sweeps_a_postgres_store(
    anyio_backend: str, pg_dsn: str, clock: list[float]
) -> None:
    """Every process of a scale-out server sweeps the store it opened: a round that
    finds another process's sweep holding the lock does nothing."""
    store = _RoundsStore(pg_dsn, pool_size=2, ttl={"default_ttl": 1.0})
    try:
        await store.aput(("t",), "expired", {"v": 1})
        clock[0] += 120
        with psycopg.connect(pg_dsn, autocommit=True) as other:
            with other.transaction():
                _hold_sweep_lock(other)
                assert await _one_round(store) == 0
                item = await store.aget(("t",), "expired", refresh_ttl=False)
                assert item is not None  # the other process's sweep deletes it, not ours
            assert await _one_round(store) == 1  # the lock is free: this round sweeps
        assert await store.aget(("t",), "expired", refresh_ttl=False) is None
    finally:
        await store.aclose()


def test_sweep_ttl_waits_for_another_process_sweep_then_sweeps_what_is_left(
    pg_dsn: str, clock: list[float]
) -> None:
    """Called directly, ``sweep_ttl`` does not skip: it waits for the lock, so that what
    had expired is gone when it returns."""
    store = PostgresStore(pg_dsn, pool_size=2, ttl={"default_ttl": 1.0})
    swept: list[int] = []
    try:
        store.put(("t",), "expired", {"v": 1})
        clock[0] += 120
        with psycopg.connect(pg_dsn, autocommit=True) as other:
            with other.transaction():
                _hold_sweep_lock(other)
                sweeper = threading.Thread(target=lambda: swept.append(store.sweep_ttl()))
                sweeper.start()
                waiting = (
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database"
                    " WHERE datname = current_database())"
                )
                deadline = time.monotonic() + 10
                while other.execute(waiting).fetchone() != (1,):
                    assert time.monotonic() < deadline, "sweep_ttl never waited for the lock"
                    other.execute("SELECT pg_sleep(0.01)")
                assert swept == []
            sweeper.join(10)
        assert swept == [1]
    finally:
        store.close()


_ONE_ROUND = """
import sys
from scopegraph.store.postgres import PostgresStore

store = PostgresStore(sys.argv[1], pool_size=1)
print(store._sweep_sync(), flush=True)  # one round of the sweeper thread
store.close()
"""


def test_two_processes_sweeping_one_postgres_store_one_sweeps_the_other_skips(
    pg_dsn: str,
) -> None:
    """Two real processes each run a round of the sweeper on one store. A trigger makes
    the first one's DELETE wait for a lock the test holds, so it is mid-sweep when the
    second one's round starts: that round deletes nothing (it skipped), the first one
    deletes every expired item once the test lets it go on."""
    store = PostgresStore(pg_dsn, pool_size=1)
    for key in ("a", "b", "c"):
        store.put(("t",), key, {"v": key})
    store.close()
    gate = 4242
    with psycopg.connect(pg_dsn, autocommit=True) as test:
        test.execute(f"UPDATE {ITEMS} SET expires_at = 0")  # all three are due
        test.execute(
            "CREATE FUNCTION wait_for_the_test() RETURNS trigger AS $$ BEGIN "
            f"PERFORM pg_advisory_xact_lock_shared({gate}); RETURN OLD; END $$ LANGUAGE plpgsql"
        )
        test.execute(
            f"CREATE TRIGGER gate BEFORE DELETE ON {ITEMS} "
            "FOR EACH STATEMENT EXECUTE FUNCTION wait_for_the_test()"
        )
        test.execute("SELECT pg_advisory_lock(%s)", (gate,))
        command = [sys.executable, "-c", _ONE_ROUND, pg_dsn]
        first = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        second: subprocess.Popen[str] | None = None

        def at_the_gate() -> int:
            found = test.execute(waiting, (gate,)).fetchone()
            return int(found[0]) if found else 0

        waiting = (
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND objid = %s AND database = (SELECT oid FROM pg_database"
            " WHERE datname = current_database())"
        )
        try:
            deadline = time.monotonic() + 30
            while at_the_gate() != 1:
                assert first.poll() is None, "the first round ended before it reached the gate"
                assert time.monotonic() < deadline, "the first round never reached the gate"
                test.execute("SELECT pg_sleep(0.01)")
            # the first process holds the sweep lock, mid-DELETE: the second one skips
            second = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
            while second.poll() is None:
                assert at_the_gate() == 1, "the second process sweeps too (it reached the gate)"
                assert time.monotonic() < deadline + 30, "the second round never ended"
                test.execute("SELECT pg_sleep(0.01)")
            assert second.communicate()[0].split() == ["0"]
            assert first.poll() is None
            test.execute("SELECT pg_advisory_unlock(%s)", (gate,))
            out, _ = first.communicate(timeout=60)
        finally:
            for process in (first, second):
                if process is not None and process.poll() is None:
                    process.kill()
                    process.wait()
        assert out.split() == ["3"]
        assert test.execute(f"SELECT count(*) FROM {ITEMS}").fetchone() == (0,)


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("namespace", [(), ("a.b",), ("a", ""), ("a\x00",), (1,)])
def test_invalid_namespaces_are_refused(store: BaseStore, namespace: tuple[Any, ...]) -> None:
    with pytest.raises(InvalidNamespaceError):
        store.put(namespace, "k", {"v": 1})


def test_langgraph_root_is_reserved_for_put_but_readable(store: BaseStore) -> None:
    with pytest.raises(InvalidNamespaceError, match="langgraph"):
        store.put(("langgraph", "x"), "k", {"v": 1})
    store.batch([PutOp(("langgraph", "x"), "k", {"v": 1})])  # LangGraph allows it here
    assert store.get(("langgraph", "x"), "k") is not None


def test_bad_values_filters_and_configs_are_refused_naming_the_fix(store: BaseStore) -> None:
    with pytest.raises(TypeError, match="must be a dict"):
        store.put(("a",), "k", ["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Unsupported operator: \$regex"):
        store.search(("a",), filter={"x": {"$regex": "."}})
    with pytest.raises(ValueError, match="distance_type='l2'"):
        InMemoryStore(index=cast(Any, {"embed": letters, "distance_type": "l2"}))
    with pytest.raises(ValueError, match="unknown keys"):
        InMemoryStore(index=cast(Any, {"embed": letters, "field": ["x"]}))
    with pytest.raises(TypeError, match="Unknown operation type"):
        store.batch([("not", "an", "op")])  # type: ignore[list-item]


@pytest.mark.parametrize("sql_kind", ["sqlite", "postgres"])
def test_sql_stores_refuse_values_that_are_not_json(sql_kind: str, tmp_path: Path) -> None:
    store = make_store(sql_kind, tmp_path)
    try:
        with pytest.raises(TypeError, match="JSON-serializable"):
            store.put(("a",), "k", {"when": object()})
        assert store.get(("a",), "k") is None
    finally:
        close(store)


def test_sqlite_store_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    index = {"embed": letters, "fields": ["text"]}
    with SqliteStore(path, index=index) as store:
        store.put(("a",), "k", {"text": "aaaa"})
    with SqliteStore.from_conn_string(str(path), index=index) as store:
        found = store.search(("a",), query="a")
        assert [(i.key, round(i.score or 0, 6)) for i in found] == [("k", 1.0)]


# -- the engine -------------------------------------------------------------------------------


class State(TypedDict):
    n: int


def _graph(store: BaseStore | None) -> Any:
    def read(state: State, store: BaseStore) -> State:
        item = store.get(("counter",), "n")
        return {"n": item.value["n"] if item else 0}

    async def write(state: State, runtime: Runtime[Any]) -> State:
        assert runtime.store is get_store()
        await runtime.store.aput(("counter",), "n", {"n": state["n"] + 1})
        return {"n": state["n"] + 1}

    inner = StateGraph(State)
    inner.add_node("read", read)
    inner.add_edge(START, "read")
    outer = StateGraph(State)
    outer.add_node("sub", inner.compile())  # a subgraph uses its parent's store
    outer.add_node("write", write)
    outer.add_edge(START, "sub")
    outer.add_edge("sub", "write")
    outer.add_edge("write", END)
    return outer.compile(store=store)


@pytest.mark.anyio
async def test_nodes_get_the_store_by_parameter_runtime_and_get_store(
    kind: str, tmp_path: Path, anyio_backend: str
) -> None:
    store = make_store(kind, tmp_path)
    try:
        graph = _graph(store)
        assert await graph.ainvoke({"n": 0}) == {"n": 1}
        assert await graph.ainvoke({"n": 0}) == {"n": 2}
        chunks = [c async for c in graph.astream({"n": 0}, stream_mode="updates")]
        assert chunks[-1] == {"write": {"n": 3}}
        item = await store.aget(("counter",), "n")
        assert item is not None
        assert item.value == {"n": 3}
    finally:
        aclose = getattr(store, "aclose", None)
        if aclose is not None:
            await aclose()


@pytest.mark.anyio
async def test_without_a_store_nodes_get_none(anyio_backend: str) -> None:
    seen: list[Any] = []

    def node(state: State, store: BaseStore | None, runtime: Runtime[Any]) -> State:
        seen.extend([store, runtime.store, get_store()])
        return state

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    assert await builder.compile().ainvoke({"n": 1}) == {"n": 1}
    assert seen == [None, None, None]


def test_compile_refuses_what_is_not_a_store() -> None:
    builder = StateGraph(State)
    builder.add_node("node", lambda s: s)
    builder.add_edge(START, "node")
    with pytest.raises(TypeError, match="store must be a store"):
        builder.compile(store={"not": "a store"})


def test_a_langgraph_store_works_in_a_scopegraph_graph() -> None:
    memory = pytest.importorskip("langgraph.store.memory")
    theirs = memory.InMemoryStore()
    graph = _graph(theirs)
    assert graph.invoke({"n": 0}) == {"n": 1}
    assert theirs.get(("counter",), "n").value == {"n": 1}


def test_a_store_given_after_compiling_reaches_the_next_runs() -> None:
    # what the run server does for the graphs it serves
    graph = _graph(None)
    with pytest.raises(AttributeError):  # the node calls runtime.store.aput: None has none
        graph.invoke({"n": 0})
    store = InMemoryStore()
    graph.store = store
    assert graph.invoke({"n": 0}) == {"n": 1}
    item = store.get(("counter",), "n")
    assert item is not None
    assert item.value == {"n": 1}


@pytest.mark.parametrize("sql_kind", ["sqlite", "postgres"])
@pytest.mark.anyio
async def test_langgraphs_async_store_names_have_coroutine_setup_and_sweep(
    sql_kind: str, tmp_path: Path, anyio_backend: str, clock: list[float]
) -> None:
    from scopegraph.store.postgres import AsyncPostgresStore
    from scopegraph.store.sqlite import AsyncSqliteStore

    if sql_kind == "sqlite":
        opened: Any = AsyncSqliteStore.from_conn_string(
            str(tmp_path / "a.db"), ttl={"default_ttl": 1}
        )
    else:
        opened = AsyncPostgresStore.from_conn_string(
            _pg.fresh_database_dsn(), ttl={"default_ttl": 1}
        )
    async with opened as store:
        await store.setup()
        await store.aput(("a",), "k", {"v": 1})
        clock[0] += 120
        assert await store.sweep_ttl() == 1
        await store.start_ttl_sweeper(sweep_interval_minutes=10)
        assert await store.stop_ttl_sweeper(timeout=5)
        assert store.get(("a",), "k") is None  # the sync API works on the loop's thread too


def test_base_re_exports_langchains_embeddings() -> None:
    embeddings = pytest.importorskip("langchain_core.embeddings")
    from scopegraph.store import base

    assert base.Embeddings is embeddings.Embeddings


@pytest.mark.anyio
async def test_a_cancelled_nodes_shielded_cleanup_completes_its_store_write(
    kind: str, tmp_path: Path, anyio_backend: str
) -> None:
    store = make_store(kind, tmp_path)
    started = anyio.Event()
    order: list[str] = []

    async def work(state: State, runtime: Runtime[Any]) -> State:
        try:
            started.set()
            await anyio.sleep_forever()
        finally:
            order.append("cleanup started")
            with anyio.CancelScope(shield=True):
                await runtime.store.aput(("partial",), "work", {"saved": True})
            order.append("cleanup finished")
        return state  # pragma: no cover - cancelled before

    builder = StateGraph(State)
    builder.add_node("work", work)
    builder.add_edge(START, "work")
    graph = builder.compile(store=store)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(graph.ainvoke, {"n": 0})
            await started.wait()
            tg.cancel_scope.cancel()
        assert order == ["cleanup started", "cleanup finished"]
        item = await store.aget(("partial",), "work")
        assert item is not None
        assert item.value == {"saved": True}
    finally:
        aclose = getattr(store, "aclose", None)
        if aclose is not None:
            await aclose()


def test_langgraph_sqlite_and_postgres_module_paths() -> None:
    """``langgraph.store.sqlite.aio`` / ``.base`` and ``langgraph.store.postgres.aio``
    exist here too, so an import that only swaps ``langgraph`` for ``scopegraph`` finds
    the same names."""
    from scopegraph.store.postgres import AsyncPostgresStore
    from scopegraph.store.postgres.aio import AsyncPostgresStore as PgFromAio
    from scopegraph.store.sqlite import AsyncSqliteStore
    from scopegraph.store.sqlite.aio import AsyncSqliteStore as FromAio
    from scopegraph.store.sqlite.base import SqliteIndexConfig

    assert FromAio is AsyncSqliteStore
    assert PgFromAio is AsyncPostgresStore
    index: SqliteIndexConfig = {"dims": 2, "embed": lambda texts: [[1.0, 0.0] for _ in texts]}
    with SqliteStore(":memory:", index=index) as store:
        store.put(("a",), "k", {"text": "x"})
        assert [item.key for item in store.search(("a",), query="x")] == ["k"]
