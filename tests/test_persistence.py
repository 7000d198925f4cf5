"""Persistence: checkpoints, the state API, time travel, human-in-the-loop, durability,
and what a cancelled or failed run leaves in the store.

Where scopegraph means to behave like LangGraph, a test runs the same scenario on
LangGraph 1.2.24 (with its ``InMemorySaver``, in a fresh asyncio loop in a worker thread,
so the test also runs under trio) and compares the results after :class:`Normalizer`
(ids and timestamps differ by design). The deliberate differences are tested on
scopegraph alone; each such test says so. The engine tests run against every saver of
the ``saver`` fixture (memory, a SQLite file, and PostgreSQL when its server binaries are
installed).

Ordering is done with Events and ``anyio.wait_all_tasks_blocked()``; the only sleep is
inside a shielded cleanup, to prove that the cleanup really awaits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import inspect
import itertools
import operator
import pathlib
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from types import SimpleNamespace
from typing import Annotated, Any, Literal, TypedDict, TypeVar

import anyio
import anyio.to_thread
import langgraph.channels.untracked_value
import langgraph.checkpoint.memory
import langgraph.errors
import langgraph.graph
import langgraph.types
import pydantic
import pytest

import _pg
import scopegraph
from _compare import LG, SG
from scopegraph import (
    END,
    START,
    Command,
    CompiledStateGraph,
    ContextError,
    GraphValidationError,
    Interrupt,
    InvalidUpdateError,
    RunnableConfig,
    StateGraph,
    StateSnapshot,
)
from scopegraph._ids import new_id
from scopegraph.checkpoint import (
    BaseCheckpointSaver,
    CheckpointConflictError,
    CheckpointNotFoundError,
    CheckpointTuple,
    InMemorySaver,
    SerializationError,
    SqliteSaver,
)

pytestmark = pytest.mark.anyio

T = TypeVar("T")

Durability = Literal["sync", "async", "exit"]
DURABILITIES: tuple[Durability, ...] = ("sync", "async", "exit")

CLEANUP_SLEEP = 0.01
"""How long the shielded cleanup awaits: long enough to be cancelled if the shield leaked."""

# -- savers ------------------------------------------------------------------------------------


SAVER_KINDS = ("memory", "sqlite", "postgres")


@pytest.fixture
async def _aclose_in_loop() -> AsyncIterator[list[BaseCheckpointSaver]]:
    """Savers to close with ``aclose()`` while the test's event loop still runs (a
    PostgresSaver's async pool belongs to that loop)."""
    savers: list[BaseCheckpointSaver] = []
    yield savers
    for instance in savers:
        await instance.aclose()


@pytest.fixture(params=SAVER_KINDS)
def saver(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[BaseCheckpointSaver]:
    """A fresh, empty saver of each kind, closed after the test."""
    instance: BaseCheckpointSaver
    if request.param == "memory":
        instance = InMemorySaver()
    elif request.param == "sqlite":
        instance = SqliteSaver(tmp_path / "checkpoints.db")
    else:
        from scopegraph.checkpoint import PostgresSaver

        instance = PostgresSaver(_pg.fresh_database_dsn())
    if inspect.iscoroutinefunction(request.function):
        request.getfixturevalue("_aclose_in_loop").append(instance)
    try:
        yield instance
    finally:
        instance.close()


def config(thread: str = "t1", checkpoint_id: str | None = None) -> RunnableConfig:
    configurable: dict[str, Any] = {"thread_id": thread}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable}


# -- the two libraries behind one interface ------------------------------------------------------


Scenario = Callable[[SimpleNamespace, Any], Coroutine[Any, Any, Any]]
"""``scenario(lib, checkpointer)``: runs the same steps on either library."""

_ID = re.compile(
    r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b|\b[0-9a-f]{32}\b"
)


class Normalizer:
    """Replaces ids (UUIDs, 32-hex interrupt ids) by ``<id0>``, ``<id1>``... in order of
    first appearance, timestamps by ``<ts>``; named tuples become ``(name, fields)``,
    ``Interrupt`` objects ``("Interrupt", value, id)``, task errors their ``str``.

    Dict keys are visited sorted, so numbering does not depend on key order and the
    relations between ids (a checkpoint and the parent_config of the next) are kept.
    """

    def __init__(self, *, exact_metadata: bool = False) -> None:
        self.ids: dict[str, str] = {}
        self.exact_metadata = exact_metadata

    def _label(self, match: re.Match[str]) -> str:
        return self.ids.setdefault(match.group(0), f"<id{len(self.ids)}>")

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return _ID.sub(self._label, obj)
        if type(obj).__name__ == "Interrupt":
            return ("Interrupt", self(obj.value), self(obj.id))
        if hasattr(obj, "_asdict"):
            return (type(obj).__name__, self(obj._asdict()))
        if isinstance(obj, dict):
            out: dict[Any, Any] = {}
            for key in sorted(obj, key=str):
                value = obj[key]
                if key == "metadata" and isinstance(value, dict) and not self.exact_metadata:
                    # Compared exactly by test_checkpoint_metadata_is_langgraphs only, so
                    # that a difference there does not hide the others.
                    value = {k: v for k, v in value.items() if k != "thread_id"}
                if key in ("timestamp", "created_at", "ts") and value is not None:
                    out[key] = "<ts>"
                elif key == "error" and isinstance(value, BaseException):
                    out[key] = self(str(value))
                else:
                    out[key] = self(value)
            return out
        if isinstance(obj, list):
            return [self(item) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self(item) for item in obj)
        if isinstance(obj, BaseException):
            return ("error", type(obj).__name__, self(str(obj)))
        return obj


def normalize(obj: Any, *, exact_metadata: bool = False) -> Any:
    return Normalizer(exact_metadata=exact_metadata)(obj)


async def langgraph_reference(scenario: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a LangGraph scenario in a fresh asyncio loop in a worker thread."""
    return await anyio.to_thread.run_sync(lambda: asyncio.run(scenario()))


async def compare(
    scenario: Scenario, saver: BaseCheckpointSaver, *, exact_metadata: bool = False
) -> tuple[Any, Any]:
    """(LangGraph's result, scopegraph's result) of the scenario, normalized."""
    expected = await langgraph_reference(
        lambda: scenario(LG, langgraph.checkpoint.memory.InMemorySaver())
    )
    actual = await scenario(SG, saver)
    return (
        normalize(expected, exact_metadata=exact_metadata),
        normalize(actual, exact_metadata=exact_metadata),
    )


async def history(graph: Any, thread: str = "t1") -> list[Any]:
    return [snap async for snap in graph.aget_state_history(config(thread))]


def shape(snapshots: list[Any]) -> list[tuple[Any, ...]]:
    """(step, source, next) of each snapshot, newest first."""
    return [(s.metadata["step"], s.metadata["source"], s.next) for s in snapshots]


async def collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [chunk async for chunk in stream]


# -- graphs ------------------------------------------------------------------------------------


class S(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


INPUT: dict[str, Any] = {"x": 0, "log": []}


def chain(lib: SimpleNamespace, saver: Any, counts: Counter[str], **compile_kw: Any) -> Any:
    """``START -> a -> b -> END``; each node adds 1 to x and logs its name."""

    def node(name: str) -> Callable[[S], Coroutine[Any, Any, dict[str, Any]]]:
        async def run(state: S) -> dict[str, Any]:
            counts[name] += 1
            return {"x": state["x"] + 1, "log": [name]}

        return run

    builder = lib.StateGraph(S)
    builder.add_node("a", node("a"))
    builder.add_node("b", node("b"))
    builder.add_edge(lib.START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", lib.END)
    return builder.compile(checkpointer=saver, **compile_kw)


def fan_out(lib: SimpleNamespace, saver: Any, counts: Counter[str]) -> Any:
    """``START -> a -> (b, c)``: b and c run in the same step; b fails while counts["fix"]
    is 0, after c has finished (so that c's writes are kept in both libraries)."""
    c_done: list[anyio.Event] = []

    async def a(state: S) -> dict[str, Any]:
        counts["a"] += 1
        return {"x": state["x"] + 1, "log": ["a"]}

    async def b(state: S) -> dict[str, Any]:
        counts["b"] += 1
        if not counts["fix"]:
            if not c_done:
                c_done.append(anyio.Event())
            await c_done[0].wait()
            await anyio.wait_all_tasks_blocked()  # c has returned and been recorded
            raise ValueError("boom")
        return {"log": ["b"]}

    async def c(state: S) -> dict[str, Any]:
        counts["c"] += 1
        if not c_done:
            c_done.append(anyio.Event())
        c_done[0].set()
        return {"log": ["c"]}

    builder = lib.StateGraph(S)
    for name, fn in (("a", a), ("b", b), ("c", c)):
        builder.add_node(name, fn)
    builder.add_edge(lib.START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("a", "c")
    builder.add_edge("b", lib.END)
    builder.add_edge("c", lib.END)
    return builder.compile(checkpointer=saver)


def asking(lib: SimpleNamespace, saver: Any, counts: Counter[str], questions: int = 1) -> Any:
    """``pre -> ask -> post``; ask calls ``interrupt()`` ``questions`` times."""

    async def pre(state: S) -> dict[str, Any]:
        counts["pre"] += 1
        return {"x": state["x"] + 1, "log": ["pre"]}

    async def ask(state: S) -> dict[str, Any]:
        counts["ask_start"] += 1
        answers = []
        for n in range(questions):
            answers.append(lib.interrupt({"question": f"q{n + 1}?"}))
            counts[f"ask_after_{n + 1}"] += 1
        return {"log": answers}

    async def post(state: S) -> dict[str, Any]:
        counts["post"] += 1
        return {"log": ["post"]}

    builder = lib.StateGraph(S)
    for name, fn in (("pre", pre), ("ask", ask), ("post", post)):
        builder.add_node(name, fn)
    builder.add_edge(lib.START, "pre")
    builder.add_edge("pre", "ask")
    builder.add_edge("ask", "post")
    builder.add_edge("post", lib.END)
    return builder.compile(checkpointer=saver)


def parallel_asking(
    lib: SimpleNamespace, saver: Any, counts: Counter[str], askers: tuple[str, ...] = ("p", "q")
) -> Any:
    """``START -> (fast, *askers)``: each asker interrupts; fast just logs (if present)."""

    def asker(name: str) -> Callable[[S], Coroutine[Any, Any, dict[str, Any]]]:
        async def run(state: S) -> dict[str, Any]:
            counts[name] += 1
            answer = lib.interrupt({"q": name})
            return {"log": [f"{name}:{answer}"]}

        return run

    async def fast(state: S) -> dict[str, Any]:
        counts["fast"] += 1
        return {"log": ["fast"]}

    builder = lib.StateGraph(S)
    for name in askers:
        builder.add_node(name, asker(name))
        builder.add_edge(lib.START, name)
        builder.add_edge(name, lib.END)
    if "fast" not in askers:
        builder.add_node("fast", fast)
        builder.add_edge(lib.START, "fast")
        builder.add_edge("fast", lib.END)
    return builder.compile(checkpointer=saver)


# == 1. a checkpoint after every superstep =============================================


async def test_history_has_input_then_one_checkpoint_per_step_like_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = chain(lib, cp, counts)
        result = await graph.ainvoke(INPUT, config())
        snaps = [s async for s in graph.aget_state_history(config())]
        return result, snaps, await graph.aget_state(config())

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    _, snaps, _ = actual
    assert [(s[1]["metadata"]["step"], s[1]["metadata"]["source"]) for s in snaps] == [
        (2, "loop"),
        (1, "loop"),
        (0, "loop"),
        (-1, "input"),
    ]


async def test_history_from_a_checkpoint_id_is_that_checkpoint_alone_like_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    """A config naming a checkpoint lists that checkpoint only (LangGraph's savers filter
    on it), still subject to ``before`` and ``limit``; an unknown id lists nothing.
    scopegraph listed the whole thread."""

    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        graph = chain(lib, cp, Counter())
        await graph.ainvoke(INPUT, config())
        snaps = [s async for s in graph.aget_state_history(config())]
        at = {"configurable": {**config()["configurable"], **snaps[1].config["configurable"]}}
        unknown = {"configurable": {**config()["configurable"], "checkpoint_id": "0" * 36}}
        return (
            [s async for s in graph.aget_state_history(at)],
            [s async for s in graph.aget_state_history(at, before=snaps[0].config)],
            [s async for s in graph.aget_state_history(at, before=snaps[2].config)],
            [s async for s in graph.aget_state_history(at, limit=1)],
            [s async for s in graph.aget_state_history(unknown)],
            list(graph.get_state_history(at)) == [s async for s in graph.aget_state_history(at)],
        )

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    assert [len(found) for found in actual[:5]] == [1, 1, 0, 1, 0]
    assert actual[5] is True


async def test_checkpoint_metadata_is_langgraphs(saver: BaseCheckpointSaver) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        graph = chain(lib, cp, Counter())
        await graph.ainvoke(INPUT, config())
        snaps = [s async for s in graph.aget_state_history(config())]
        chunks = await collect(graph.astream(INPUT, config("s"), stream_mode="checkpoints"))
        return [s.metadata for s in snaps], [c["metadata"] for c in chunks]

    expected, actual = await compare(scenario, saver, exact_metadata=True)
    assert actual == expected
    assert actual[0][0] == {"source": "loop", "step": 2, "parents": {}}


async def test_checkpoint_metadata_takes_only_the_configurables_scalars(
    saver: BaseCheckpointSaver,
) -> None:
    """LangGraph's rule: a configurable's strings, numbers and booleans go into checkpoint
    metadata, nothing else (a run server's user object, a list, a dict), and a value that
    is not JSON there does not fail the checkpoint."""

    class User:  # not JSON: what a server's custom auth puts there
        identity = "u1"

    configurable = {
        "thread_id": "scalars",
        "user_id": "u1",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "tags": ["a"],
        "settings": {"k": 1},
        "user": User(),
        "__private": "x",
    }

    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        graph = chain(lib, cp, Counter())
        await graph.ainvoke(INPUT, {"configurable": configurable})
        snaps = [s async for s in graph.aget_state_history({"configurable": configurable})]
        return [s.metadata for s in snaps]

    expected, actual = await compare(scenario, saver, exact_metadata=True)
    assert actual == expected
    assert {k: actual[0][k] for k in ("user_id", "count", "ratio", "flag")} == {
        "user_id": "u1",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
    }
    assert not {"tags", "settings", "user", "__private"} & set(actual[0])


async def test_history_shape_and_metadata_keys(saver: BaseCheckpointSaver) -> None:
    graph = chain(SG, saver, Counter())
    assert await graph.ainvoke(INPUT, config()) == {"x": 2, "log": ["a", "b"]}
    snaps = await history(graph)
    assert shape(snaps) == [
        (2, "loop", ()),
        (1, "loop", ("b",)),
        (0, "loop", ("a",)),
        (-1, "input", ("__start__",)),
    ]
    assert [s.values for s in snaps] == [
        {"x": 2, "log": ["a", "b"]},
        {"x": 1, "log": ["a"]},
        {"x": 0, "log": []},
        {"log": []},
    ]
    for snap in snaps:
        assert {"source", "step", "parents"} <= set(snap.metadata)
        assert "writes" not in snap.metadata
    assert snaps[-1].parent_config is None
    for newer, older in itertools.pairwise(snaps):
        assert newer.parent_config == older.config


async def test_checkpoints_stream_payloads_match_langgraph(saver: BaseCheckpointSaver) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        graph = chain(lib, cp, Counter())
        return await collect(graph.astream(INPUT, config(), stream_mode="checkpoints"))

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    assert [c["metadata"]["step"] for c in actual] == [-1, 0, 1, 2]
    assert set(actual[0]) == {"config", "parent_config", "values", "metadata", "next", "tasks"}


async def test_debug_stream_checkpoint_events_match_langgraph(saver: BaseCheckpointSaver) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        graph = chain(lib, cp, Counter())
        return await collect(graph.astream(INPUT, config(), stream_mode="debug"))

    expected, actual = await compare(scenario, saver)
    assert [(e["type"], e["step"]) for e in actual] == [(e["type"], e["step"]) for e in expected]
    assert [e for e in actual if e["type"] == "checkpoint"] == [
        e for e in expected if e["type"] == "checkpoint"
    ]
    assert actual == expected


# == 2. the state API ====================================================================


async def test_snapshot_and_task_fields_are_langgraphs() -> None:
    assert StateSnapshot._fields == langgraph.types.StateSnapshot._fields
    assert scopegraph.PregelTask._fields == langgraph.types.PregelTask._fields


async def test_live_and_record_views_after_a_failed_step_match_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = fan_out(lib, cp, counts)
        with pytest.raises(ValueError, match="boom"):
            await graph.ainvoke(INPUT, config())
        live = await graph.aget_state(config())
        record = await graph.aget_state(live.config)
        counts["fix"] = 1
        result = await graph.ainvoke(None, config())
        return live, record, result, dict(counts)

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    live, record, result, counts = actual
    assert (live[1]["values"], live[1]["next"]) == ({"x": 1, "log": ["a", "c"]}, ("b",))
    assert (record[1]["values"], record[1]["next"]) == ({"x": 1, "log": ["a"]}, ("b", "c"))
    assert result == {"x": 1, "log": ["a", "b", "c"]}
    assert counts == {"a": 1, "b": 2, "c": 1, "fix": 1}


async def test_get_state_of_unknown_thread_is_an_empty_snapshot_like_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        graph = chain(lib, cp, Counter())
        return await graph.aget_state(config("nobody")), await history(graph, "nobody")

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    graph = chain(SG, saver, Counter())
    assert graph.get_state(config("nobody")) == StateSnapshot(
        {}, (), config("nobody"), None, None, None, (), ()
    )


async def test_get_state_of_unknown_checkpoint_id_raises_not_found(
    saver: BaseCheckpointSaver,
) -> None:
    # Deliberate: LangGraph returns an empty snapshot, which hides a typo in the id.
    graph = chain(SG, saver, Counter())
    await graph.ainvoke(INPUT, config())
    missing = config(checkpoint_id="00000000-0000-7000-8000-000000000000")
    with pytest.raises(CheckpointNotFoundError):
        await graph.aget_state(missing)
    with pytest.raises(CheckpointNotFoundError):
        graph.get_state(missing)
    with pytest.raises(CheckpointNotFoundError):
        await graph.ainvoke(None, missing)


async def test_state_api_without_checkpointer_raises_a_clear_value_error() -> None:
    graph = chain(SG, None, Counter())
    with pytest.raises(ValueError, match="needs a checkpointer"):
        graph.get_state(config())
    with pytest.raises(ValueError, match="needs a checkpointer"):
        await graph.aget_state(config())
    with pytest.raises(ValueError, match="needs a checkpointer"):
        await graph.aupdate_state(config(), {"x": 1})


async def test_update_state_applies_reducers_and_plans_from_as_node_like_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = chain(lib, cp, counts)
        await graph.ainvoke(INPUT, config())
        out: list[Any] = []
        out.append(await graph.aupdate_state(config(), {"x": 10}))
        out.append(await graph.aget_state(config()))
        out.append(await graph.ainvoke(None, config()))  # nothing to run
        await graph.aupdate_state(config(), {"log": ["u"]})
        out.append(await graph.aget_state(config()))
        await graph.aupdate_state(config(), {"x": 20}, as_node="a")
        out.append(await graph.aget_state(config()))
        out.append(await graph.ainvoke(None, config()))  # runs only b
        out.append(dict(counts))
        out.append(shape(await history(graph)))
        # A fresh thread: attributed to __start__, so the whole graph runs next.
        await graph.aupdate_state(config("fresh"), {"x": 5})
        out.append(await graph.aget_state(config("fresh")))
        out.append(await graph.ainvoke(None, config("fresh")))
        return out

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    assert actual[6] == {"a": 1, "b": 2}
    assert actual[5] == {"x": 21, "log": ["a", "b", "u", "b"]}


@pytest.mark.parametrize("durability", ["exit", "sync"])
async def test_update_state_after_a_run_attributes_it_to_the_last_writer_like_langgraph(
    saver: BaseCheckpointSaver, durability: str
) -> None:
    # With durability "exit" only the run's last checkpoint is stored (not the one its
    # step followed): the update still goes to the node that wrote last, "a", so "b"
    # runs next (not the whole graph from START).
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = chain(lib, cp, counts, interrupt_before=["b"])
        await graph.ainvoke(INPUT, config(), durability=durability)
        await graph.aupdate_state(config(), {"x": 10})
        state = await graph.aget_state(config())
        out = await graph.ainvoke(None, config(), durability=durability)
        return state.next, state.metadata, out, dict(counts)

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    assert actual[0] == ("b",)
    assert actual[2] == {"x": 11, "log": ["a", "b"]}


async def test_update_state_ambiguous_or_unknown_node_raises_invalid_update(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter({"fix": 1})
        graph = fan_out(lib, cp, counts)
        await graph.ainvoke(INPUT, config())
        errors: list[Any] = []
        for as_node in (None, "zzz"):
            try:
                await graph.aupdate_state(config(), {"x": 7}, as_node=as_node)
            except lib.InvalidUpdateError as exc:
                errors.append(("InvalidUpdateError", "Ambiguous" in str(exc)))
        return errors, len(await history(graph))

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    assert actual[0] == [("InvalidUpdateError", True), ("InvalidUpdateError", False)]
    graph = fan_out(SG, saver, Counter())
    with pytest.raises(InvalidUpdateError, match="'zzz' is not a node"):
        await graph.aupdate_state(config(), {"x": 7}, as_node="zzz")


def test_sync_state_apis_match_async(tmp_path: pathlib.Path) -> None:
    with SqliteSaver(tmp_path / "sync.db") as saver:
        counts: Counter[str] = Counter()
        graph = chain(SG, saver, counts)
        assert graph.invoke(INPUT, config()) == {"x": 2, "log": ["a", "b"]}
        state = graph.get_state(config())
        assert (state.values, state.next) == ({"x": 2, "log": ["a", "b"]}, ())
        updated = graph.update_state(config(), {"x": 20}, as_node="a")
        assert updated["configurable"]["thread_id"] == "t1"
        state = graph.get_state(config())
        assert state.config == updated
        assert (state.next, state.metadata) == (
            ("b",),
            {"source": "update", "step": 3, "parents": {}},
        )
        assert graph.invoke(None, config()) == {"x": 21, "log": ["a", "b", "b"]}
        assert shape(list(graph.get_state_history(config()))) == [
            (4, "loop", ()),
            (3, "update", ("b",)),
            (2, "loop", ()),
            (1, "loop", ("b",)),
            (0, "loop", ("a",)),
            (-1, "input", ("__start__",)),
        ]
        assert len(list(graph.get_state_history(config(), limit=2))) == 2
        assert counts == {"a": 1, "b": 2}


# == 3. time travel ======================================================================


async def test_replay_from_an_old_checkpoint_forks_like_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = chain(lib, cp, counts)
        await graph.ainvoke(INPUT, config())
        after_a = [s async for s in graph.aget_state_history(config())][1]
        result = await graph.ainvoke(None, after_a.config)
        snaps = [s async for s in graph.aget_state_history(config())]
        return after_a.config, result, dict(counts), snaps

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    old_config, result, counts, snaps = actual
    assert result == {"x": 2, "log": ["a", "b"]}
    assert counts == {"a": 1, "b": 2}
    fork = snaps[1][1]
    assert (fork["metadata"]["source"], fork["metadata"]["step"]) == ("fork", 2)
    assert (
        fork["parent_config"]["configurable"]["checkpoint_id"]
        == (old_config["configurable"]["checkpoint_id"])
    )


async def test_new_input_on_an_existing_thread_applies_on_top_and_starts_over_like_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = chain(lib, cp, counts)
        await graph.ainvoke(INPUT, config())
        result = await graph.ainvoke({"x": 100, "log": ["new"]}, config())
        return result, dict(counts), shape(await history(graph))

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    assert actual[0] == {"x": 102, "log": ["a", "b", "new", "a", "b"]}


# == 4. human in the loop ================================================================


async def test_interrupt_outputs_and_resume_match_langgraph(saver: BaseCheckpointSaver) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = asking(lib, cp, counts)
        out: list[Any] = [await graph.ainvoke(INPUT, config("invoke"))]
        state = await graph.aget_state(config("invoke"))
        out.append(state)
        out.append(dict(counts))
        out.append(await graph.ainvoke(lib.Command(resume="yes"), config("invoke")))
        out.append(dict(counts))
        out.append(await collect(graph.astream(INPUT, config("updates"), stream_mode="updates")))
        out.append(
            await collect(
                graph.astream(lib.Command(resume="yes"), config("updates"), stream_mode="updates")
            )
        )
        out.append(await collect(graph.astream(INPUT, config("values"), stream_mode="values")))
        out.append(
            await collect(
                graph.astream(lib.Command(resume="yes"), config("values"), stream_mode="values")
            )
        )
        return out

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    first = actual[0]
    assert first["log"] == ["pre"]
    assert [i[1] for i in first["__interrupt__"]] == [{"question": "q1?"}]
    assert actual[4] == {"pre": 1, "ask_start": 2, "ask_after_1": 1, "post": 1}
    (last_update,) = actual[5][-1].values()
    assert list(actual[5][-1]) == ["__interrupt__"]
    assert [i[1] for i in last_update] == [{"question": "q1?"}]


async def test_interrupt_value_is_an_interrupt_with_the_snapshot_id(
    saver: BaseCheckpointSaver,
) -> None:
    graph = asking(SG, saver, Counter())
    result = await graph.ainvoke(INPUT, config())
    (pending,) = result["__interrupt__"]
    assert isinstance(pending, Interrupt)
    state = await graph.aget_state(config())
    assert state.interrupts == (pending,)
    assert state.next == ("ask",)
    (task,) = state.tasks
    assert (task.name, task.path, task.interrupts, task.result) == (
        "ask",
        ("__pregel_pull", "ask"),
        (pending,),
        None,
    )


async def test_two_interrupts_in_one_node_resume_twice_like_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = asking(lib, cp, counts, questions=2)
        first = await graph.ainvoke(INPUT, config())
        second = await graph.ainvoke(lib.Command(resume="A1"), config())
        third = await graph.ainvoke(lib.Command(resume="A2"), config())
        return first, second, third, dict(counts)

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    first, second, third, counts = actual
    assert first["__interrupt__"][0][2] != second["__interrupt__"][0][2]
    assert third == {"x": 1, "log": ["pre", "A1", "A2", "post"]}
    assert counts == {"pre": 1, "ask_start": 3, "ask_after_1": 2, "ask_after_2": 1, "post": 1}


async def test_parallel_interrupts_need_a_resume_map_like_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = parallel_asking(lib, cp, counts, askers=("p", "q"))
        first = await graph.ainvoke(INPUT, config())
        ids = [i.id for i in first["__interrupt__"]]
        try:
            await graph.ainvoke(lib.Command(resume="one"), config())
        except (RuntimeError, ValueError) as exc:
            single: Any = all(i in str(exc) for i in ids)
        else:
            single = "no error"
        still = await graph.aget_state(config())
        answers = {ids[0]: "ans-p", ids[1]: "ans-q"}
        final = await graph.ainvoke(lib.Command(resume=answers), config())
        return first, single, still.next, final, dict(counts)

    expected, actual = await compare(scenario, saver)
    _, lg_single, *lg_rest = expected
    _, single, *rest = actual
    assert rest == lg_rest
    assert lg_single is False  # LangGraph's message does not name the ids
    assert single is True  # scopegraph's does
    assert rest[0] == ("p", "q")
    assert rest[1] == {"x": 0, "log": ["fast", "p:ans-p", "q:ans-q"]}


async def test_single_resume_for_parallel_interrupts_raises_naming_the_ids(
    saver: BaseCheckpointSaver,
) -> None:
    graph = parallel_asking(SG, saver, Counter(), askers=("p", "q"))
    first = await graph.ainvoke(INPUT, config())
    ids = [i.id for i in first["__interrupt__"]]
    with pytest.raises(RuntimeError, match="Command\\(resume=\\{interrupt_id") as info:
        await graph.ainvoke(Command(resume="one"), config())
    assert all(i in str(info.value) for i in ids)
    assert (await graph.aget_state(config())).next == ("p", "q")


async def test_finished_sibling_of_an_interrupted_node_is_not_rerun_like_langgraph(
    saver: BaseCheckpointSaver,
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        graph = parallel_asking(lib, cp, counts, askers=("ask",))
        first = await graph.ainvoke(INPUT, config())
        live = await graph.aget_state(config())
        final = await graph.ainvoke(lib.Command(resume="ok"), config())
        return first, live.values, live.next, final, dict(counts)

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    assert actual[-1] == {"ask": 2, "fast": 1}
    assert actual[3] == {"x": 0, "log": ["ask:ok", "fast"]}


async def test_interrupt_without_checkpointer_raises_context_error() -> None:
    # Deliberate: LangGraph returns an interrupt that nothing can ever resume.
    graph = asking(SG, None, Counter())
    with pytest.raises(ContextError, match="needs a checkpointer"):
        await graph.ainvoke(INPUT)


async def test_history_keeps_answered_interrupts_the_live_state_only_waiting_ones(
    saver: BaseCheckpointSaver,
) -> None:
    # LangGraph: a past step's snapshot is its record (answered interrupts included, in
    # the snapshot and in its task); the newest one shows only the questions waiting.
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        graph = asking(lib, cp, Counter(), questions=2)
        await graph.ainvoke(INPUT, config())
        await graph.ainvoke(lib.Command(resume="a1"), config())
        waiting = await graph.aget_state(config())
        await graph.ainvoke(lib.Command(resume="a2"), config())
        live = await graph.aget_state(config())
        past = [s for s in await history(graph) if s.next == ("ask",)]
        return [
            (waiting.interrupts, [t.interrupts for t in waiting.tasks]),
            (live.interrupts, [t.interrupts for t in live.tasks]),
            [(s.interrupts, [t.interrupts for t in s.tasks]) for s in past],
        ]

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    assert len(actual[0][0]) == 1
    assert actual[1] == ((), [])
    assert actual[2][0][0]  # answered, still in the record


@pytest.mark.parametrize("where", ["compile", "call"])
@pytest.mark.parametrize("kind", ["interrupt_before", "interrupt_after"])
async def test_static_interrupts_stop_once_and_resume_like_langgraph(
    saver: BaseCheckpointSaver, where: str, kind: str
) -> None:
    nodes = ["b"] if kind == "interrupt_before" else ["a"]

    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        counts: Counter[str] = Counter()
        compile_kw = {kind: nodes} if where == "compile" else {}
        call_kw = {kind: nodes} if where == "call" else {}
        graph = chain(lib, cp, counts, **compile_kw)
        out: list[Any] = []
        out.append(
            await collect(graph.astream(INPUT, config("u"), stream_mode="updates", **call_kw))
        )
        out.append(await graph.ainvoke(INPUT, config("i"), **call_kw))
        state = await graph.aget_state(config("i"))
        out.append((state.next, state.interrupts, [t.result for t in state.tasks]))
        out.append(await graph.ainvoke(None, config("i"), **call_kw))
        out.append(
            await collect(graph.astream(None, config("u"), stream_mode="updates", **call_kw))
        )
        out.append(dict(counts))
        out.append(shape(await history(graph, "i")))
        return out

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    assert actual[0][-1] == {"__interrupt__": ()}
    assert actual[1] == {"x": 1, "log": ["a"]}
    assert actual[2] == (("b",), (), [None])
    assert actual[3] == {"x": 2, "log": ["a", "b"]}
    assert actual[5] == {"a": 2, "b": 2}


@pytest.mark.parametrize("where", ["compile", "call"])
@pytest.mark.parametrize("kind", ["interrupt_before", "interrupt_after"])
async def test_static_interrupts_without_a_checkpointer_stop_the_run_like_langgraph(
    where: str, kind: str
) -> None:
    # No checkpointer: LangGraph still stops there (nothing to resume), sync and async.
    nodes = ["b"] if kind == "interrupt_before" else ["a"]

    async def scenario(lib: SimpleNamespace) -> Any:
        counts: Counter[str] = Counter()
        compile_kw = {kind: nodes} if where == "compile" else {}
        call_kw = {kind: nodes} if where == "call" else {}

        def node(name: str) -> Callable[[S], dict[str, Any]]:
            def run(state: S) -> dict[str, Any]:  # sync: the sync API runs it too
                counts[name] += 1
                return {"x": state["x"] + 1, "log": [name]}

            return run

        builder = lib.StateGraph(S)
        builder.add_node("a", node("a"))
        builder.add_node("b", node("b"))
        builder.add_edge(lib.START, "a")
        builder.add_edge("a", "b")
        builder.add_edge("b", lib.END)
        graph = builder.compile(**compile_kw)
        modes = ["updates", "values"]
        return [
            await graph.ainvoke(INPUT, **call_kw),
            await collect(graph.astream(INPUT, stream_mode=modes, **call_kw)),
            await anyio.to_thread.run_sync(lambda: graph.invoke(INPUT, **call_kw)),
            await anyio.to_thread.run_sync(
                lambda: list(graph.stream(INPUT, stream_mode="updates", **call_kw))
            ),
            dict(counts),
        ]

    expected = await langgraph_reference(lambda: scenario(LG))
    actual = await scenario(SG)
    assert actual == expected
    assert actual[0] == {"x": 1, "log": ["a"]}
    assert actual[3][-1] == {"__interrupt__": ()}
    assert actual[4] == {"a": 4}


async def test_a_subgraphs_static_interrupt_stops_a_parent_without_a_checkpointer() -> None:
    async def scenario(lib: SimpleNamespace) -> Any:
        counts: Counter[str] = Counter()
        sub = chain(lib, None, counts, interrupt_before=["b"])
        builder = lib.StateGraph(S)
        builder.add_node("sub", sub)
        builder.add_node("c", chain(lib, None, counts))
        builder.add_edge(lib.START, "sub")
        builder.add_edge("sub", "c")
        builder.add_edge("c", lib.END)
        graph = builder.compile()
        modes = ["updates", "values"]
        return [
            await graph.ainvoke(INPUT),
            await collect(graph.astream(INPUT, stream_mode=modes)),
            dict(counts),
        ]

    expected = await langgraph_reference(lambda: scenario(LG))
    actual = await scenario(SG)
    assert actual == expected
    assert actual[0] == INPUT
    assert actual[1][-1] == ("updates", {"__interrupt__": ()})
    assert actual[2] == {"a": 2}


async def test_unknown_node_in_interrupt_before_is_a_validation_error(
    saver: BaseCheckpointSaver,
) -> None:
    with pytest.raises(GraphValidationError, match="'zzz', which is not a node"):
        chain(SG, saver, Counter(), interrupt_before=["zzz"])
    with pytest.raises(GraphValidationError, match="'zzz', which is not a node"):
        chain(SG, saver, Counter(), interrupt_after=["zzz"])
    graph = chain(SG, saver, Counter())
    with pytest.raises(GraphValidationError, match="'zzz', which is not a node"):
        await graph.ainvoke(INPUT, config(), interrupt_before=["zzz"])
    assert await history(graph) == []


# == 5. durability =======================================================================


@pytest.mark.parametrize("durability", DURABILITIES)
async def test_durability_controls_what_is_stored_like_langgraph(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    async def scenario(lib: SimpleNamespace, cp: Any) -> Any:
        graph = chain(lib, cp, Counter())
        result = await graph.ainvoke(INPUT, config("chain"), durability=durability)
        chain_history = await history(graph, "chain")
        counts: Counter[str] = Counter()
        ask = asking(lib, cp, counts)
        paused = await ask.ainvoke(INPUT, config("ask"), durability=durability)
        paused_shape = shape(await history(ask, "ask"))
        final = await ask.ainvoke(lib.Command(resume="yes"), config("ask"), durability=durability)
        return (
            result,
            shape(chain_history),
            chain_history[-1].parent_config,
            paused,
            paused_shape,
            final,
            shape(await history(ask, "ask")),
            dict(counts),
        )

    expected, actual = await compare(scenario, saver)
    assert actual == expected
    chain_len = {"sync": 4, "async": 4, "exit": 1}[durability]
    assert len(actual[1]) == chain_len
    assert actual[5] == {"x": 1, "log": ["pre", "yes", "post"]}
    assert len(actual[6]) == {"sync": 5, "async": 5, "exit": 2}[durability]


async def test_invalid_durability_raises_value_error(saver: BaseCheckpointSaver) -> None:
    # Deliberate: LangGraph silently treats an unknown mode as "async".
    graph = chain(SG, saver, Counter())
    with pytest.raises(ValueError, match="durability must be"):
        await graph.ainvoke(INPUT, config(), durability="foo")
    assert await history(graph) == []


# == 6. cancellation and failure meet persistence ======================================


class Probe:
    """Counters, the order of events, and the switches of :func:`split_graph`."""

    def __init__(self, mode: Literal["block", "fail", "ok"]) -> None:
        self.mode = mode
        self.runs: Counter[str] = Counter()
        self.log: list[str] = []
        self.slow_started = anyio.Event()
        self.fast_done = anyio.Event()
        self.release = anyio.Event()  # never set: slow blocks until cancelled
        self.seen: CheckpointTuple | None = None


def split_graph(saver: BaseCheckpointSaver, probe: Probe) -> CompiledStateGraph:
    """``s1 -> (fast, slow)``: two steps; in step 2, fast finishes while slow blocks
    (mode "block", with a shielded cleanup) or fails (mode "fail") after fast is done."""

    async def s1(state: S) -> dict[str, Any]:
        probe.runs["s1"] += 1
        return {"x": state["x"] + 1, "log": ["s1"]}

    async def fast(state: S) -> dict[str, Any]:
        probe.runs["fast"] += 1
        probe.fast_done.set()
        return {"log": ["fast"]}

    async def slow(state: S) -> dict[str, Any]:
        probe.runs["slow"] += 1
        if probe.mode == "block":
            probe.slow_started.set()
            try:
                await probe.release.wait()
            finally:
                with anyio.CancelScope(shield=True):
                    await anyio.sleep(CLEANUP_SLEEP)
                    probe.log.append("slow:cleanup-done")
        elif probe.mode == "fail":
            await probe.fast_done.wait()
            await anyio.wait_all_tasks_blocked()  # fast has returned and been recorded
            raise ValueError("boom")
        return {"log": ["slow"]}

    builder = StateGraph(S)
    builder.add_node("s1", s1)
    builder.add_node("fast", fast)
    builder.add_node("slow", slow)
    builder.add_edge(START, "s1")
    builder.add_edge("s1", "fast")
    builder.add_edge("s1", "slow")
    builder.add_edge("fast", END)
    builder.add_edge("slow", END)
    graph: CompiledStateGraph = builder.compile(checkpointer=saver)
    return graph


UNINTERRUPTED = {"x": 1, "log": ["s1", "fast", "slow"]}


def assert_step_two_stored(tup: CheckpointTuple | None, slow_status: str) -> None:
    """The step-1 checkpoint (planning fast and slow) with fast's writes and slow's fate."""
    assert tup is not None
    checkpoint = tup.checkpoint
    assert (checkpoint.step, checkpoint.metadata["source"]) == (1, "loop")
    assert [entry[1] for entry in checkpoint.next] == ["fast", "slow"]
    assert checkpoint.values == {"x": 1, "log": ["s1"]}
    records = {r.name: r for r in tup.tasks}
    assert set(records) == {"fast", "slow"}
    assert records["fast"].status == "done"
    assert [tuple(w) for w in records["fast"].writes] == [("log", ["fast"])]
    assert records["slow"].status == slow_status
    assert records["slow"].writes == []


Api = Literal["ainvoke", "astream", "open_stream"]


@pytest.mark.parametrize("durability", DURABILITIES)
@pytest.mark.parametrize("api", ["ainvoke", "astream", "open_stream"])
async def test_cancelled_step_is_stored_before_the_caller_hears_and_resumes_only_slow(
    saver: BaseCheckpointSaver, api: Api, durability: Durability
) -> None:
    probe = Probe("block")
    graph = split_graph(saver, probe)
    cancelled = anyio.get_cancelled_exc_class()

    async def consume() -> None:
        if api == "ainvoke":
            try:
                await graph.ainvoke(INPUT, config(), durability=durability)
            except cancelled:
                probe.log.append("consumer:cancelled")
                probe.seen = saver.get_tuple("t1")
                raise
        elif api == "astream":
            stream = graph.astream(INPUT, config(), durability=durability)
            try:
                async for _ in stream:
                    pass
            except cancelled:
                probe.log.append("consumer:cancelled")
                probe.seen = saver.get_tuple("t1")
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    await stream.aclose()
        else:
            async with graph.open_stream(
                INPUT, config(), stream_mode="updates", durability=durability
            ) as run_stream:
                async for chunk in run_stream:
                    if "fast" in chunk:
                        await probe.slow_started.wait()
                        break
            probe.log.append("consumer:block-exited")
            probe.seen = saver.get_tuple("t1")

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        await probe.slow_started.wait()
        await probe.fast_done.wait()
        await anyio.wait_all_tasks_blocked()
        if api != "open_stream":
            tg.cancel_scope.cancel()

    # (a) stored before the caller heard of the cancellation, after slow's cleanup.
    ending = "consumer:block-exited" if api == "open_stream" else "consumer:cancelled"
    assert probe.log == ["slow:cleanup-done", ending]
    assert_step_two_stored(probe.seen, "cancelled")
    assert_step_two_stored(saver.get_tuple("t1"), "cancelled")
    steps = [s.metadata["step"] for s in await history(graph)]
    assert steps == ([1] if durability == "exit" else [1, 0, -1])

    live = await graph.aget_state(config())
    assert (live.values, live.next) == ({"x": 1, "log": ["s1", "fast"]}, ("slow",))
    assert [(t.name, t.result) for t in live.tasks] == [("fast", {"log": ["fast"]}), ("slow", None)]
    record = await graph.aget_state(live.config)
    assert (record.values, record.next) == ({"x": 1, "log": ["s1"]}, ("fast", "slow"))

    # (b) the resume re-runs only slow and ends where an uninterrupted run ends.
    probe.mode = "ok"
    assert await graph.ainvoke(None, config(), durability=durability) == UNINTERRUPTED
    assert probe.runs == {"s1": 1, "fast": 1, "slow": 2}
    steps = [s.metadata["step"] for s in await history(graph)]
    assert steps == ([2, 1] if durability == "exit" else [2, 1, 0, -1])
    reference = split_graph(saver, Probe("ok"))
    assert await reference.ainvoke(INPUT, config("reference")) == UNINTERRUPTED


@pytest.mark.parametrize("durability", DURABILITIES)
async def test_failed_step_is_stored_before_the_error_and_resumes_only_the_failed_node(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    probe = Probe("fail")
    graph = split_graph(saver, probe)
    raised: BaseException | None = None
    try:
        await graph.ainvoke(INPUT, config(), durability=durability)
    except BaseException as exc:
        raised = exc
        probe.seen = saver.get_tuple("t1")  # read before anything else runs
    assert type(raised) is ValueError, repr(raised)  # the original error, not a group
    assert str(raised) == "boom"
    assert_step_two_stored(probe.seen, "error")
    assert probe.seen is not None
    (slow,) = [r for r in probe.seen.tasks if r.name == "slow"]
    assert slow.error == "ValueError('boom')"
    live = await graph.aget_state(config())
    assert (live.values, live.next) == ({"x": 1, "log": ["s1", "fast"]}, ("slow",))
    assert [str(t.error) for t in live.tasks if t.name == "slow"] == ["ValueError('boom')"]

    probe.mode = "ok"
    assert await graph.ainvoke(None, config(), durability=durability) == UNINTERRUPTED
    assert probe.runs == {"s1": 1, "fast": 1, "slow": 2}


# == 7. concurrent runs on one thread ====================================================


@pytest.mark.parametrize("durability", DURABILITIES)
async def test_two_overlapping_runs_on_one_thread_one_wins_one_conflicts(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    entered = {"A": anyio.Event(), "B": anyio.Event()}

    async def work(state: dict[str, Any]) -> dict[str, Any]:
        me = state["who"]
        if me not in entered:
            return {"log": [f"work:{me}"]}
        other = "B" if me == "A" else "A"
        entered[me].set()
        await entered[other].wait()  # both runs are inside their node at once
        return {"log": [f"work:{me}"]}

    class W(TypedDict):
        who: str
        log: Annotated[list[str], operator.add]

    builder = StateGraph(W)
    builder.add_node("work", work)
    builder.add_node("after", lambda state: {"log": [f"after:{state['who']}"]})
    builder.add_edge(START, "work")
    builder.add_edge("work", "after")
    builder.add_edge("after", END)
    graph = builder.compile(checkpointer=saver)
    await graph.ainvoke({"who": "seed", "log": []}, config())
    before = await history(graph)

    outcomes: dict[str, Any] = {}

    async def run(who: str) -> None:
        try:
            outcomes[who] = await graph.ainvoke(
                {"who": who, "log": []}, config(), durability=durability
            )
        except CheckpointConflictError as exc:
            outcomes[who] = exc
            entered[who].set()  # lost before reaching its node: do not keep the other waiting

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, "A")
        tg.start_soon(run, "B")

    errors = [v for v in outcomes.values() if isinstance(v, CheckpointConflictError)]
    winners = [k for k, v in outcomes.items() if not isinstance(v, CheckpointConflictError)]
    assert len(errors) == 1, outcomes
    assert len(winners) == 1, outcomes
    assert "written by another run" in str(errors[0])
    (winner,) = winners
    loser = "B" if winner == "A" else "A"

    snaps = await history(graph)
    # A single chain: each checkpoint's parent is the next older one; the old ones kept.
    for newer, older in itertools.pairwise(snaps):
        assert newer.parent_config == older.config
    assert [s.config for s in snaps[-len(before) :]] == [s.config for s in before]
    final = await graph.aget_state(config())
    assert final.values == outcomes[winner]
    # No lost update: the winner's run ends the single chain, with all of its writes.
    # (Checkpoints the loser stored before the winner read the thread stay in the chain:
    # the winner built on them, so nothing either run stored was overwritten. The loser
    # stored nothing after its conflict.)
    assert final.values["who"] == winner
    assert final.values["log"][:2] == ["work:seed", "after:seed"]
    assert final.values["log"][-2:] == [f"work:{winner}", f"after:{winner}"]
    assert f"after:{loser}" not in final.values["log"]


async def test_a_lost_async_write_is_the_run_s_only_error_while_a_node_runs() -> None:
    # durability="async" with a saver that does not write inline (PostgreSQL; the memory
    # and SQLite savers write at once): the next step starts before its checkpoint is
    # stored. Here
    # that write loses (a rival run moved the thread's head meanwhile) while the next
    # node runs: the node is cancelled, its cleanup runs, and the run fails with the
    # conflict alone. (Its "cancelled" task record belongs to the checkpoint that was
    # never stored; writing it used to add a second, misleading CheckpointNotFoundError.)
    from scopegraph.checkpoint import PostgresSaver

    saver = PostgresSaver(_pg.fresh_database_dsn())
    await saver.asetup()
    second_started = anyio.Event()
    cleaned = anyio.Event()
    real_aput = saver.aput
    gated = False

    async def aput(
        thread_id: str,
        ns: str,
        checkpoint: Any,
        *,
        expected_latest: str | None,
        parent_records: Any = (),
    ) -> None:
        nonlocal gated
        if checkpoint.metadata.get("source") == "loop" and not gated:
            gated = True  # the checkpoint after step 1: hold it until step 2 runs
            await second_started.wait()
            rival = dataclasses.replace(checkpoint, id=new_id())
            await real_aput(thread_id, ns, rival, expected_latest=expected_latest)
        await real_aput(
            thread_id,
            ns,
            checkpoint,
            expected_latest=expected_latest,
            parent_records=parent_records,
        )

    saver.aput = aput  # type: ignore[method-assign,assignment]

    async def second(state: dict[str, Any]) -> dict[str, Any]:
        second_started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cleaned.set()
        raise AssertionError("unreachable")

    class S(TypedDict):
        log: Annotated[list[str], operator.add]

    builder = StateGraph(S)
    builder.add_node("first", lambda state: {"log": ["first"]})
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    graph = builder.compile(checkpointer=saver)
    try:
        with anyio.fail_after(10), pytest.raises(CheckpointConflictError, match="another run"):
            await graph.ainvoke({"log": []}, config(), durability="async")
        assert cleaned.is_set()
    finally:
        await saver.aclose()


# == 8. serialization failure ============================================================


@pytest.mark.parametrize("durability", DURABILITIES)
async def test_unserializable_write_raises_naming_channel_and_type_and_stores_nothing(
    saver: BaseCheckpointSaver, durability: Durability
) -> None:
    class WithObj(TypedDict, total=False):
        x: int
        obj: Any

    async def a(state: WithObj) -> dict[str, Any]:
        return {"x": 1}

    async def bad(state: WithObj) -> dict[str, Any]:
        return {"obj": object()}

    builder = StateGraph(WithObj)
    builder.add_node("a", a)
    builder.add_node("bad", bad)
    builder.add_edge(START, "a")
    builder.add_edge("a", "bad")
    builder.add_edge("bad", END)
    graph = builder.compile(checkpointer=saver)
    with pytest.raises(SerializationError) as info:
        await graph.ainvoke({"x": 0}, config(), durability=durability)
    message = str(info.value)
    assert "'obj'" in message
    assert "object" in message
    snaps = await history(graph)
    for snap in snaps:
        assert "obj" not in snap.values
        for task in snap.tasks:
            assert task.name != "bad" or task.result is None
    head = saver.get_tuple("t1")
    if durability == "exit":
        assert head is None  # only the final checkpoint would have been stored
        return
    assert head is not None
    assert all(r.name != "bad" or r.status != "done" for r in head.tasks)
    assert [r.writes for r in head.tasks if r.name == "bad"] in ([], [[]])
    assert head.checkpoint.next[0][1] == "bad"  # the step that failed is not stored


# == 9. rich values survive a resume =====================================================


class Item(pydantic.BaseModel):
    name: str
    tags: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int


class Rich(TypedDict, total=False):
    item: Item
    point: Point
    pair: tuple[int, str]
    when: datetime.datetime
    seen: list[str]


WHEN = datetime.datetime(2024, 5, 17, 12, 30, 5, 123456, tzinfo=datetime.UTC)


def rich_graph(saver: BaseCheckpointSaver) -> CompiledStateGraph:
    async def make(state: Rich) -> dict[str, Any]:
        return {
            "item": Item(name="n", tags=("a", "b")),
            "point": Point(1, 2),
            "pair": (3, "z"),
            "when": WHEN,
        }

    async def check(state: Rich) -> dict[str, Any]:
        return {
            "seen": [
                type(state["item"]).__name__,
                type(state["item"].tags).__name__,
                type(state["point"]).__name__,
                type(state["pair"]).__name__,
                type(state["when"]).__name__,
                str(state["when"].tzinfo),
            ]
        }

    builder = StateGraph(Rich)
    builder.add_node("make", make)
    builder.add_node("check", check)
    builder.add_edge(START, "make")
    builder.add_edge("make", "check")
    builder.add_edge("check", END)
    graph: CompiledStateGraph = builder.compile(checkpointer=saver, interrupt_before=["check"])
    return graph


EXPECTED_RICH: dict[str, Any] = {
    "item": Item(name="n", tags=("a", "b")),
    "point": Point(1, 2),
    "pair": (3, "z"),
    "when": WHEN,
}


async def test_rich_values_survive_a_resume(saver: BaseCheckpointSaver) -> None:
    graph = rich_graph(saver)
    await graph.ainvoke({"seen": []}, config())
    state = await graph.aget_state(config())
    assert {k: state.values[k] for k in EXPECTED_RICH} == EXPECTED_RICH
    result = await graph.ainvoke(None, config())
    assert result["seen"] == ["Item", "tuple", "Point", "tuple", "datetime", "UTC"]
    assert {k: result[k] for k in EXPECTED_RICH} == EXPECTED_RICH


async def test_rich_values_survive_a_resume_from_a_reopened_sqlite_file(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "rich.db"
    with SqliteSaver(path) as first:
        await rich_graph(first).ainvoke({"seen": []}, config())
    with SqliteSaver(path) as second:
        result = await rich_graph(second).ainvoke(None, config())
    assert result["seen"] == ["Item", "tuple", "Point", "tuple", "datetime", "UTC"]
    assert {k: result[k] for k in EXPECTED_RICH} == EXPECTED_RICH


async def test_history_keeps_the_interrupts_a_step_was_answered_with(
    saver: BaseCheckpointSaver,
) -> None:
    """As LangGraph: a checkpoint's snapshot lists every interrupt of its tasks, also
    once they were answered and the task finished (its pending writes keep them)."""

    class Log(TypedDict):
        log: Annotated[list[str], operator.add]

    def ask(state: Log) -> dict[str, list[str]]:
        return {"log": [f"ask|{scopegraph.interrupt('question')}"]}

    builder = StateGraph(Log)
    builder.add_node("ask", ask)
    builder.add_edge(START, "ask")
    builder.add_edge("ask", END)
    app = builder.compile(checkpointer=saver)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    await app.ainvoke({"log": []}, config)
    assert await app.ainvoke(Command(resume="yes"), config) == {"log": ["ask|yes"]}
    history = [s async for s in app.aget_state_history(config)]
    asked = next(s for s in history if s.next == ("ask",))
    assert asked.tasks[0].result == {"log": ["ask|yes"]}
    assert [i.value for i in asked.interrupts] == ["question"]
    assert asked.interrupts == asked.tasks[0].interrupts


class Handle:  # not serializable: storing it would fail the run
    def __init__(self, name: str) -> None:
        self.name = name


class Tool(TypedDict):
    log: Annotated[list[str], operator.add]
    handle: Annotated[Handle, langgraph.channels.untracked_value.UntrackedValue]


async def test_langgraphs_untracked_value_keys_are_never_stored(
    saver: BaseCheckpointSaver,
) -> None:
    """As LangGraph: an ``Annotated[T, UntrackedValue]`` key is a last value the run
    sees (also in a ``Send`` arg) but no checkpoint, task write or stored ``Send`` keeps."""

    def setup(state: Tool) -> dict[str, Any]:
        return {"log": ["setup"], "handle": Handle("first")}

    def route(state: Tool) -> list[scopegraph.Send]:
        return [scopegraph.Send("use", {"log": [], "handle": state["handle"]})]

    def use(state: Tool) -> dict[str, Any]:
        return {"log": [f"used {state['handle'].name}"], "handle": Handle("second")}

    builder = StateGraph(Tool)
    builder.add_node("setup", setup)
    builder.add_node("use", use)
    builder.add_edge(START, "setup")
    builder.add_conditional_edges("setup", route)
    app = builder.compile(checkpointer=saver)
    config: RunnableConfig = {"configurable": {"thread_id": "t"}}
    result = await app.ainvoke({"log": []}, config)
    assert result["log"] == ["setup", "used first"]
    assert result["handle"].name == "second"
    state = await app.aget_state(config)
    assert state.values == {"log": ["setup", "used first"]}
