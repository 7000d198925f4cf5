"""``AsyncBatchedBaseStore`` (``scopegraph.store.base.batch``, LangGraph's class): the
async calls started together reach the subclass's ``abatch`` as one deduplicated
batch, each caller gets its own result or the batch's error, a cancelled caller does
not break the others, and no task is left running; on asyncio and trio."""

from __future__ import annotations

import asyncio
import operator
import threading
from collections.abc import Iterable
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from scopegraph import END, START, StateGraph
from scopegraph.runtime import Runtime
from scopegraph.store import (
    BaseStore,
    GetOp,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
)
from scopegraph.store.base.batch import AsyncBatchedBaseStore
from scopegraph.store.memory import InMemoryStore

pytestmark = pytest.mark.anyio


class Found(TypedDict):
    found: Annotated[list[str], operator.add]


class RecordingStore(AsyncBatchedBaseStore):
    """An ``InMemoryStore`` behind ``abatch``, recording each batch; ``gate`` (when set
    by a test) holds the next ``abatch`` until released, with ``entered`` set inside."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = InMemoryStore()
        self.batches: list[list[Op]] = []
        self.leaders: list[int] = []
        self.gate: anyio.Event | None = None
        self.entered = anyio.Event()
        self.error: Exception | None = None

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        self.batches.append(ops)
        self.leaders.append(anyio.get_current_task().id)
        gate, self.gate = self.gate, None
        if gate is not None:
            self.entered.set()
            await gate.wait()
        if self.error is not None:
            raise self.error
        return await self.inner.abatch(ops)


async def _gather(*calls: Any) -> list[Any]:
    """Run the calls as concurrent tasks started in one turn; their results, in order."""
    results: list[Any] = [None] * len(calls)

    async def run(ix: int) -> None:
        results[ix] = await calls[ix]

    async with anyio.create_task_group() as tg:
        for ix in range(len(calls)):
            tg.start_soon(run, ix)
    return results


async def test_concurrent_calls_are_one_abatch_and_each_caller_gets_its_result() -> None:
    store = RecordingStore()
    await store.inner.aput(("a",), "1", {"v": 1})
    await store.inner.aput(("b",), "2", {"v": 2})

    first, second, listed, put = await _gather(
        store.aget(("a",), "1"),
        store.aget(("b",), "2"),
        store.alist_namespaces(prefix=("a",)),
        store.aput(("c",), "3", {"v": 3}),
    )

    assert len(store.batches) == 1
    assert sorted(map(repr, store.batches[0])) == sorted(
        map(
            repr,
            [
                GetOp(("a",), "1"),
                GetOp(("b",), "2"),
                ListNamespacesOp((MatchCondition("prefix", ("a",)),)),
                PutOp(("c",), "3", {"v": 3}),
            ],
        )
    )
    assert isinstance(first, Item)
    assert (first.key, first.value) == ("1", {"v": 1})
    assert isinstance(second, Item)
    assert (second.key, second.value) == ("2", {"v": 2})
    assert listed == [("a",)]
    assert put is None
    assert (await store.aget(("c",), "3")) is not None


async def test_repeated_reads_and_puts_are_deduplicated() -> None:
    store = RecordingStore()
    await store.inner.aput(("a",), "k", {"v": 0})

    reads = await _gather(*(store.aget(("a",), "k") for _ in range(3)))
    assert len(store.batches) == 1
    assert store.batches[0] == [GetOp(("a",), "k")]
    assert [item.value for item in reads] == [{"v": 0}] * 3

    await _gather(store.aput(("a",), "p", {"v": 1}), store.aput(("a",), "p", {"v": 1}))
    assert store.batches[1] == [PutOp(("a",), "p", {"v": 1})]


async def test_an_error_in_abatch_reaches_every_caller() -> None:
    store = RecordingStore()
    store.error = ValueError("backend down")
    caught: list[BaseException] = []

    async def call(namespace: tuple[str, ...]) -> None:
        try:
            await store.aget(namespace, "k")
        except ValueError as exc:
            caught.append(exc)

    await _gather(call(("a",)), call(("b",)), call(("c",)))
    assert len(store.batches) == 1
    assert len(store.batches[0]) == 3
    assert [str(exc) for exc in caught] == ["backend down"] * 3

    store.error = None  # the store works again after a failed batch
    assert await store.aget(("a",), "k") is None


@pytest.mark.parametrize("when", ["before calling", "after joining"])
async def test_a_caller_cancelled_before_the_batch_runs_is_left_out(when: str) -> None:
    store = RecordingStore()
    await store.inner.aput(("a",), "1", {"v": 1})
    results: dict[str, Any] = {}
    scope = anyio.CancelScope()

    async def kept() -> None:
        results["kept"] = await store.aget(("a",), "1")

    async def cancelled() -> None:
        with scope:
            if when == "before calling":
                scope.cancel()
            await store.aget(("gone",), "x")
        results["cancelled"] = scope.cancelled_caught

    async def canceller() -> None:
        scope.cancel()  # started with the callers: the batch has not been sent yet

    async with anyio.create_task_group() as tg:
        tg.start_soon(kept)
        tg.start_soon(cancelled)
        if when == "after joining":
            tg.start_soon(canceller)

    assert results["cancelled"] is True
    assert results["kept"] is not None
    assert results["kept"].value == {"v": 1}
    assert all(op == GetOp(("a",), "1") for batch in store.batches for op in batch)


async def test_cancelling_the_caller_that_runs_the_batch_lets_the_others_finish() -> None:
    store = RecordingStore()
    await store.inner.aput(("a",), "1", {"v": 1})
    await store.inner.aput(("b",), "2", {"v": 2})
    store.gate = anyio.Event()
    scopes: dict[int, anyio.CancelScope] = {}
    outcome: dict[str, Any] = {}

    async def call(name: str, namespace: tuple[str, ...], key: str) -> None:
        with anyio.CancelScope() as scope:
            scopes[anyio.get_current_task().id] = scope
            outcome[name] = await store.aget(namespace, key)
        if scope.cancelled_caught:
            outcome[name] = "cancelled"

    async with anyio.create_task_group() as tg:
        tg.start_soon(call, "a", ("a",), "1")
        tg.start_soon(call, "b", ("b",), "2")
        await store.entered.wait()  # both calls are in the batch, held in abatch
        assert len(store.batches[0]) == 2
        scopes[store.leaders[0]].cancel()  # the task running abatch

    cancelled = [name for name, value in outcome.items() if value == "cancelled"]
    assert len(cancelled) == 1
    survivor = "b" if cancelled == ["a"] else "a"
    assert isinstance(outcome[survivor], Item)
    assert outcome[survivor].value == {"a": {"v": 1}, "b": {"v": 2}}[survivor]
    # the survivor sent its operation again, alone
    assert len(store.batches) == 2
    assert store.batches[1] == [GetOp((survivor,), {"a": "1", "b": "2"}[survivor])]


async def test_nothing_is_left_running_once_the_callers_return() -> None:
    before = {task.id for task in anyio.get_running_tasks()}
    store = RecordingStore()
    await _gather(store.aput(("a",), "1", {"v": 1}), store.aget(("a",), "1"))
    await store.asearch(("a",))
    assert {task.id for task in anyio.get_running_tasks()} == before
    assert store.batches  # the store was used


async def test_abatch_returning_the_wrong_number_of_results_is_an_error() -> None:
    class Short(AsyncBatchedBaseStore):
        async def abatch(self, ops: Iterable[Op]) -> list[Result]:
            return []

    store = Short()
    caught: list[str] = []

    async def call(key: str) -> None:
        with pytest.raises(ValueError, match="one result per operation") as info:
            await store.aget(("a",), key)
        caught.append(str(info.value))

    await _gather(call("1"), call("2"))
    assert len(caught) == 2


async def test_invalid_namespaces_are_refused_before_the_batch() -> None:
    store = RecordingStore()
    with pytest.raises(InvalidNamespaceError):
        await store.aput(("langgraph", "x"), "k", {"v": 1})
    with pytest.raises(InvalidNamespaceError):
        await store.aget(("a.b",), "k")
    with pytest.raises(InvalidNamespaceError):
        await store.alist_namespaces(prefix=("",))
    assert store.batches == []


async def test_sync_methods_from_a_worker_thread_run_on_the_store_loop() -> None:
    store = RecordingStore()
    await anyio.to_thread.run_sync(lambda: store.put(("a",), "1", {"v": 1}))
    item = await anyio.to_thread.run_sync(lambda: store.get(("a",), "1"))
    assert item is not None
    assert item.value == {"v": 1}
    found = await anyio.to_thread.run_sync(lambda: store.search(("a",)))
    assert [i.key for i in found] == ["1"]
    assert await anyio.to_thread.run_sync(lambda: store.list_namespaces()) == [("a",)]
    await anyio.to_thread.run_sync(lambda: store.delete(("a",), "1"))
    assert await anyio.to_thread.run_sync(lambda: store.batch([GetOp(("a",), "1")])) == [None]

    # a plain thread (not anyio's) reaches the loop the store was created in
    got: list[Any] = []
    thread = threading.Thread(target=lambda: got.append(store.list_namespaces()))

    def run_thread() -> None:
        thread.start()
        thread.join()

    await anyio.to_thread.run_sync(run_thread)
    assert got == [[]]


async def test_a_sync_call_on_the_store_loop_raises_invalid_state() -> None:
    store = RecordingStore()
    with pytest.raises(asyncio.InvalidStateError, match=r"await store\.aget"):
        store.get(("a",), "1")
    assert store.batches == []


def test_a_store_created_outside_a_loop_names_the_fix_for_sync_calls() -> None:
    class Plain(AsyncBatchedBaseStore):
        async def abatch(self, ops: Iterable[Op]) -> list[Result]:
            return [None for _ in ops]

    store = Plain()
    with pytest.raises(RuntimeError, match="created outside any event loop"):
        store.get(("a",), "1")

    async def use() -> Any:
        return await store.aget(("a",), "1")

    # its async methods work on any loop
    assert anyio.run(use, backend="asyncio") is None
    assert anyio.run(use, backend="trio") is None


def test_langgraph_module_path() -> None:
    import scopegraph.store.base.batch as batch

    assert batch.__all__ == ("AsyncBatchedBaseStore",)
    assert issubclass(batch.AsyncBatchedBaseStore, BaseStore)


@pytest.mark.parametrize("width", [2, 5])
async def test_a_graphs_parallel_nodes_share_one_batch_and_leave_nothing_running(
    width: int,
) -> None:
    def reader(key: str) -> Any:
        async def node(state: Found, runtime: Runtime) -> dict[str, Any]:
            assert runtime.store is not None
            item = await runtime.store.aget(("docs",), key)
            return {"found": [item.value["text"]]}

        return node

    keys = [f"k{i}" for i in range(width)]
    store = RecordingStore()
    for key in keys:
        await store.inner.aput(("docs",), key, {"text": key.upper()})
    builder = StateGraph(Found)
    for key in keys:
        builder.add_node(key, reader(key))
        builder.add_edge(START, key)
        builder.add_edge(key, END)
    graph = builder.compile(store=store)

    before = {task.id for task in anyio.get_running_tasks()}
    result = await graph.ainvoke({"found": []})
    assert sorted(result["found"]) == [key.upper() for key in keys]
    assert {task.id for task in anyio.get_running_tasks()} == before
    # the step's nodes start within three turns (scopegraph._run.run_step): one abatch
    assert len(store.batches) == 1
    assert sorted(op.key for op in store.batches[0] if isinstance(op, GetOp)) == keys
