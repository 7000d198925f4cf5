"""Node policies as in LangGraph: ``error_handler``, ``set_node_defaults``,
``TimeoutPolicy`` (run and idle timeouts on the node's own cancel scope), ``Send(timeout=)``,
``Runtime.execution_info``, ``RunControl``, ``bulk_update_state`` and ``CachePolicy`` with
the in-memory and SQLite caches. Every async test runs on asyncio and trio."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict
from unittest.mock import patch

import anyio
import anyio.lowlevel
import pytest

from _helpers import no_task_left
from scopegraph import END, START, StateGraph
from scopegraph.cache.memory import InMemoryCache
from scopegraph.cache.sqlite import SqliteCache
from scopegraph.checkpoint import InMemorySaver
from scopegraph.errors import (
    GraphDrained,
    InvalidUpdateError,
    NodeCancelledError,
    NodeError,
    NodeTimeoutError,
)
from scopegraph.runtime import RunControl, Runtime
from scopegraph.types import (
    CachePolicy,
    Command,
    RetryPolicy,
    Send,
    StateUpdate,
    TimeoutPolicy,
)

pytestmark = pytest.mark.anyio


class S(TypedDict, total=False):
    log: Annotated[list[str], operator.add]


IDLE = 0.5
"""The idle timeout of the progress tests: their nodes make progress every 0.02 s."""

NO_WAIT = RetryPolicy(max_attempts=3, initial_interval=0.0, jitter=False, retry_on=ValueError)


# -- error_handler ---------------------------------------------------------------------


async def test_error_handler_runs_after_the_retries_with_the_failure_and_routes() -> None:
    attempts: list[int] = []
    seen: list[NodeError] = []

    async def flaky(state: S, runtime: Runtime[None]) -> S:
        assert runtime.execution_info is not None
        attempts.append(runtime.execution_info.node_attempt)
        raise ValueError("always")

    def handler(state: S, error: NodeError) -> Command[Any]:
        seen.append(error)
        return Command(update={"log": ["handled"]}, goto="after")

    graph = StateGraph(S)
    graph.add_node("flaky", flaky, retry_policy=NO_WAIT, error_handler=handler)
    graph.add_node("after", lambda s: {"log": ["after"]})
    graph.add_node("not_taken", lambda s: {"log": ["not_taken"]})
    graph.add_edge(START, "flaky")
    graph.add_edge("flaky", "not_taken")  # the failed node's edges are not followed
    app = graph.compile()
    with no_task_left():
        chunks = [c async for c in app.astream({"log": []}, stream_mode="updates")]
    assert attempts == [1, 2, 3]
    assert [(e.node, type(e.error), str(e.error)) for e in seen] == [
        ("flaky", ValueError, "always")
    ]
    assert chunks == [
        {"__error_handler__flaky": {"log": ["handled"]}},
        {"after": {"log": ["after"]}},
    ]


async def test_a_failing_error_handler_fails_the_run_with_its_own_error() -> None:
    def fail(state: S) -> S:
        raise ValueError("node")

    def handler(state: S) -> S:
        raise RuntimeError("handler")

    graph = StateGraph(S).add_node("fail", fail, error_handler=handler).add_edge(START, "fail")
    with pytest.raises(RuntimeError, match="handler"):
        await graph.compile().ainvoke({"log": []})


async def test_an_interrupt_is_not_handled_as_a_failure() -> None:
    from scopegraph import interrupt

    def ask(state: S) -> S:
        return {"log": [interrupt("question")]}

    graph = (
        StateGraph(S)
        .add_node("ask", ask, error_handler=lambda s: {"log": ["handled"]})
        .add_edge(START, "ask")
    )
    app = graph.compile(checkpointer=InMemorySaver())
    result = await app.ainvoke({"log": []}, {"configurable": {"thread_id": "t"}})
    assert [i.value for i in result["__interrupt__"]] == ["question"]
    assert result["log"] == []


async def test_set_node_defaults_applies_to_nodes_without_their_own_policy() -> None:
    calls: list[str] = []

    def default_handler(state: S, error: NodeError) -> S:
        return {"log": [f"default:{error.node}"]}

    def own_handler(state: S, error: NodeError) -> S:
        return {"log": [f"own:{error.node}"]}

    def flaky(state: S) -> S:
        calls.append("flaky")
        if len(calls) < 3:
            raise ValueError("not yet")
        return {"log": ["flaky"]}

    def fail_a(state: S) -> S:
        raise RuntimeError("a")

    def fail_b(state: S) -> S:
        raise RuntimeError("b")

    graph = (
        StateGraph(S)
        .set_node_defaults(retry_policy=NO_WAIT, error_handler=default_handler)
        .add_node("flaky", flaky)
        .add_node("fail_a", fail_a)
        .add_node("fail_b", fail_b, error_handler=own_handler)
        .add_edge(START, "flaky")
        .add_edge("flaky", "fail_a")
        .add_edge("flaky", "fail_b")
    )
    result = await graph.compile().ainvoke({"log": []})
    assert calls == ["flaky"] * 3
    assert result["log"] == ["flaky", "default:fail_a", "own:fail_b"]


async def test_a_run_resumed_after_its_error_handler_crashed_runs_only_the_handler() -> None:
    calls: list[str] = []
    errors: list[NodeError] = []
    crash = True

    def fail(state: S) -> S:
        calls.append("node")
        raise RuntimeError("boom")

    def handler(state: S, error: NodeError) -> S:
        calls.append("handler")
        errors.append(error)
        if crash:
            raise ValueError("handler crash")
        return {"log": ["recovered"]}

    graph = StateGraph(S).add_node("fail", fail, error_handler=handler).add_edge(START, "fail")
    app = graph.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "crash"}}
    with pytest.raises(ValueError, match="handler crash"):
        await app.ainvoke({"log": []}, config)
    crash = False
    assert await app.ainvoke(None, config) == {"log": ["recovered"]}
    assert calls == ["node", "handler", "handler"]
    assert isinstance(errors[0].error, RuntimeError)
    assert errors[1].node == "fail"
    assert "boom" in str(errors[1].error)  # stored as its repr


def test_set_node_defaults_error_handler_name_must_be_free() -> None:
    graph = (
        StateGraph(S)
        .set_node_defaults(error_handler=lambda s: {})
        .add_node("__default_error_handler__", lambda s: {})
        .add_edge(START, "__default_error_handler__")
    )
    with pytest.raises(ValueError, match="__default_error_handler__"):
        graph.compile()


# -- TimeoutPolicy ----------------------------------------------------------------------


def test_a_sync_node_cannot_have_a_timeout() -> None:
    graph = StateGraph(S).add_node("sync", lambda s: {}, timeout=1.0).add_edge(START, "sync")
    with pytest.raises(ValueError, match="only supported for async nodes"):
        graph.compile()


async def test_idle_timeout_cancels_a_stuck_node_after_its_shielded_cleanup() -> None:
    log: list[str] = []

    async def stuck(state: S) -> S:
        log.append("started")
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.lowlevel.checkpoint()
                log.append("cleanup done")
        return {}

    graph = StateGraph(S).add_node("stuck", stuck, timeout=TimeoutPolicy(idle_timeout=0.05))
    app = graph.add_edge(START, "stuck").compile()
    with no_task_left(), pytest.raises(NodeTimeoutError) as info:
        await app.ainvoke({"log": []})
    log.append("raised")
    assert log == ["started", "cleanup done", "raised"]
    error = info.value
    assert (error.node, error.kind, error.timeout, error.idle_timeout) == (
        "stuck",
        "idle",
        0.05,
        0.05,
    )
    assert error.elapsed >= 0.05


async def test_progress_moves_the_idle_deadline_but_not_the_run_deadline() -> None:
    beats = 0

    async def busy(state: S, runtime: Runtime[None]) -> S:
        nonlocal beats
        # 1.2 s of work in all, never IDLE s without progress (a margin for slow CI).
        for _ in range(60):
            await anyio.sleep(0.02)
            runtime.heartbeat()
            beats += 1
        return {"log": ["busy"]}

    idle_only = StateGraph(S).add_node("busy", busy, timeout=TimeoutPolicy(idle_timeout=IDLE))
    assert await idle_only.add_edge(START, "busy").compile().ainvoke({"log": []}) == {
        "log": ["busy"]
    }
    assert beats == 60

    both = TimeoutPolicy(run_timeout=0.1, idle_timeout=IDLE)
    capped = StateGraph(S).add_node("busy", busy, timeout=both).add_edge(START, "busy")
    with no_task_left(), pytest.raises(NodeTimeoutError) as info:
        await capped.compile().ainvoke({"log": []})
    assert (info.value.kind, info.value.run_timeout, info.value.idle_timeout) == ("run", 0.1, IDLE)


async def test_custom_stream_output_is_progress_unless_refresh_on_heartbeat() -> None:
    async def writer_node(state: S, writer: Any) -> S:
        for i in range(60):
            await anyio.sleep(0.02)
            writer(i)
        return {"log": ["wrote"]}

    def graph(refresh_on: Any) -> Any:
        policy = TimeoutPolicy(idle_timeout=IDLE, refresh_on=refresh_on)
        builder = StateGraph(S).add_node("w", writer_node, timeout=policy)
        return builder.add_edge(START, "w").compile()

    assert await graph("auto").ainvoke({"log": []}) == {"log": ["wrote"]}
    with pytest.raises(NodeTimeoutError, match="idle timeout"):
        await graph("heartbeat").ainvoke({"log": []})


async def test_a_node_that_swallows_its_timeout_still_times_out() -> None:
    async def stubborn(state: S) -> S:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            pass
        return {"log": ["swallowed"]}

    graph = StateGraph(S).add_node("stubborn", stubborn, timeout=0.05).add_edge(START, "stubborn")
    with pytest.raises(NodeTimeoutError, match="run timeout"):
        await graph.compile().ainvoke({"log": []})


async def test_timeout_is_retried_by_the_default_retry_policy() -> None:
    attempts: list[int] = []

    async def slow_once(state: S, runtime: Runtime[None]) -> S:
        assert runtime.execution_info is not None
        attempts.append(runtime.execution_info.node_attempt)
        if len(attempts) == 1:
            await anyio.sleep_forever()
        return {"log": ["ok"]}

    graph = StateGraph(S).add_node(
        "slow_once",
        slow_once,
        timeout=TimeoutPolicy(run_timeout=0.05),
        retry_policy=RetryPolicy(initial_interval=0.0, jitter=False),
    )
    result = await graph.add_edge(START, "slow_once").compile().ainvoke({"log": []})
    assert result == {"log": ["ok"]}
    assert attempts == [1, 2]


async def test_send_timeout_replaces_the_target_nodes_timeout() -> None:
    async def slow(state: S) -> S:
        await anyio.sleep(0.3)
        return {"log": ["slow"]}

    def fan_out(state: S) -> list[Send]:
        return [Send("slow", state, timeout=TimeoutPolicy(idle_timeout=0.05))]

    graph = StateGraph(S).add_node("slow", slow, timeout=TimeoutPolicy(idle_timeout=5.0))
    graph.add_conditional_edges(START, fan_out)
    graph.add_edge("slow", END)
    with pytest.raises(NodeTimeoutError) as info:
        await graph.compile().ainvoke({"log": []})
    assert (info.value.node, info.value.idle_timeout) == ("slow", 0.05)


async def test_execution_info_names_the_task_thread_and_first_attempt() -> None:
    infos: list[Any] = []

    def node(state: S, runtime: Runtime[None]) -> S:
        infos.append(runtime.execution_info)
        if len(infos) < 2:
            raise ValueError("again")
        return {}

    graph = StateGraph(S).add_node("node", node, retry_policy=NO_WAIT).add_edge(START, "node")
    app = graph.compile(checkpointer=InMemorySaver())
    await app.ainvoke({"log": []}, {"configurable": {"thread_id": "th"}})
    first, second = infos
    assert (first.node_attempt, second.node_attempt) == (1, 2)
    assert first.node_first_attempt_time == second.node_first_attempt_time
    assert first.thread_id == second.thread_id == "th"
    assert first.task_id == second.task_id
    assert first.checkpoint_ns.startswith("node:")


# -- RunControl -------------------------------------------------------------------------


class Two(TypedDict, total=False):
    first: str
    second: str


def _two_steps(first: Any) -> StateGraph:
    graph = StateGraph(Two)
    graph.add_node("first", first)
    graph.add_node("second", lambda s: {"second": "done"})
    graph.add_edge(START, "first")
    graph.add_edge("first", "second")
    graph.add_edge("second", END)
    return graph


async def test_drain_stops_before_the_next_step_and_the_run_resumes_from_there() -> None:
    control = RunControl()

    def first(state: Two, runtime: Runtime[None]) -> Two:
        assert runtime.control is control
        control.request_drain("sigterm")
        return {"first": "done"}

    app = _two_steps(first).compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "drain"}}
    with pytest.raises(GraphDrained, match="sigterm") as info:
        await app.ainvoke({}, config, durability="exit", control=control)
    assert info.value.reason == "sigterm"
    assert (await app.aget_state(config)).next == ("second",)
    assert await app.ainvoke(None, config) == {"first": "done", "second": "done"}


async def test_drain_in_the_last_step_finishes_normally() -> None:
    control = RunControl()

    def only(state: Two) -> Two:
        control.request_drain()
        return {"first": "done"}

    graph = StateGraph(Two).add_node("only", only).add_edge(START, "only")
    assert await graph.compile().ainvoke({}, control=control) == {"first": "done"}
    assert control.drain_requested


async def test_drain_lets_the_running_step_finish_then_a_grace_period_cancels_it() -> None:
    """Drain, then cancel after a grace period: the step is not cancelled by the drain;
    the cancellation that ends the grace period runs the node's shielded cleanup to the
    end before the caller's scope returns, and leaves no task behind."""
    control = RunControl()
    log: list[str] = []
    started = anyio.Event()

    async def slow(state: Two) -> Two:
        started.set()
        log.append("started")
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.lowlevel.checkpoint()
                log.append("cleanup done")
        return {"first": "never"}

    app = _two_steps(slow).compile()
    with no_task_left():
        async with anyio.create_task_group() as tg:

            async def drain_then_cancel(scope: anyio.CancelScope) -> None:
                await started.wait()
                control.request_drain("rollout")
                await anyio.wait_all_tasks_blocked()
                log.append("grace period over")  # the node is still running
                scope.cancel()

            with anyio.CancelScope() as scope:
                tg.start_soon(drain_then_cancel, scope)
                await app.ainvoke({}, control=control)
            log.append("caller resumed")
    assert log == ["started", "grace period over", "cleanup done", "caller resumed"]


async def test_control_must_be_a_run_control() -> None:
    graph = StateGraph(Two).add_node("only", lambda s: {}).add_edge(START, "only")
    with pytest.raises(TypeError, match="RunControl"):
        await graph.compile().ainvoke({}, control="stop")


# -- bulk_update_state (StateUpdate) ------------------------------------------------------


class AB(TypedDict, total=False):
    foo: str
    baz: str


def _ab_graph() -> Any:
    graph = StateGraph(AB)
    graph.add_node("node_a", lambda s: {"foo": "bar"})
    graph.add_node("node_b", lambda s: {"baz": "qux"})
    graph.add_edge(START, "node_a")
    graph.add_edge("node_a", "node_b")
    return graph.compile(checkpointer=InMemorySaver())


async def test_bulk_update_state_writes_one_checkpoint_per_superstep() -> None:
    app = _ab_graph()
    config: Any = {"configurable": {"thread_id": "bulk"}}
    await app.abulk_update_state(
        config,
        [
            [StateUpdate(values={"foo": "bar"}, as_node="node_a")],
            [
                StateUpdate(values={"foo": "updated"}, as_node="node_a"),
                StateUpdate(values={"baz": "new"}, as_node="node_b"),
            ],
        ],
    )
    state = await app.aget_state(config)
    assert state.values == {"foo": "updated", "baz": "new"}
    assert state.next == ("node_b",)  # node_a's edge; node_b's leads nowhere
    history = [s async for s in app.aget_state_history(config)]
    assert [s.metadata["source"] for s in history] == ["update", "update"]


async def test_bulk_update_state_rejects_empty_and_ambiguous_supersteps() -> None:
    app = _ab_graph()
    config: Any = {"configurable": {"thread_id": "bulk"}}
    with pytest.raises(ValueError, match="No supersteps provided"):
        await app.abulk_update_state(config, [])
    with pytest.raises(ValueError, match="No updates provided"):
        await app.abulk_update_state(config, [[], []])
    with pytest.raises(InvalidUpdateError):
        await app.abulk_update_state(
            config, [[StateUpdate({"foo": "x"}), StateUpdate({"baz": "y"})]]
        )


# -- CachePolicy and compile(cache=) ------------------------------------------------------


def _cached_graph(cache: Any, calls: list[str], ttl: int | None = None) -> Any:
    def double(state: S) -> Command[Any]:
        calls.append("double")
        return Command(update={"log": [f"double:{len(state['log'])}"]}, goto="after")

    graph = StateGraph(S)
    graph.add_node("double", double, cache_policy=CachePolicy(ttl=ttl))
    graph.add_node("after", lambda s: {"log": ["after"]})
    graph.add_edge(START, "double")
    return graph.compile(cache=cache)


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_a_cached_node_runs_once_per_input_and_streams_cached_writes(
    kind: str, tmp_path: Any
) -> None:
    cache: Any = InMemoryCache() if kind == "memory" else SqliteCache(path=str(tmp_path / "c.db"))
    calls: list[str] = []
    app = _cached_graph(cache, calls)
    first = [c async for c in app.astream({"log": []}, stream_mode="updates")]
    second = [c async for c in app.astream({"log": []}, stream_mode="updates")]
    assert calls == ["double"]
    assert first == [{"double": {"log": ["double:0"]}}, {"after": {"log": ["after"]}}]
    assert second == [
        {"double": {"log": ["double:0"]}, "__metadata__": {"cached": True}},
        {"after": {"log": ["after"]}},  # the cached Command still routes
    ]
    assert await app.ainvoke({"log": ["x"]}) == {"log": ["x", "double:1", "after"]}
    assert calls == ["double", "double"]  # another input, another entry
    await app.aclear_cache()
    await app.ainvoke({"log": []})
    assert calls == ["double"] * 3
    if kind == "sqlite":
        cache.close()


async def test_a_sqlite_cache_outlives_the_process_and_its_ttl_expires(tmp_path: Any) -> None:
    path = str(tmp_path / "c.db")
    calls: list[str] = []
    writer = SqliteCache(path=path)
    await _cached_graph(writer, calls).ainvoke({"log": []})
    writer.close()
    reader = SqliteCache(path=path)  # as another process would open it
    await _cached_graph(reader, calls).ainvoke({"log": []})
    assert calls == ["double"]
    reader.set({(("ns",), "k"): ("v", -1)})  # expired already
    assert reader.get([(("ns",), "k")]) == {}
    reader.close()


def test_set_node_defaults_cache_policy_caches_every_regular_node() -> None:
    calls: list[str] = []

    def node(state: S) -> S:
        calls.append("node")
        return {"log": ["node"]}

    graph = (
        StateGraph(S)
        .set_node_defaults(cache_policy=CachePolicy())
        .add_node("node", node)
        .add_edge(START, "node")
    )
    app = graph.compile(cache=InMemoryCache())
    app.invoke({"log": []})
    app.invoke({"log": []})
    assert calls == ["node"]
    app.clear_cache()
    app.invoke({"log": []})
    assert calls == ["node", "node"]


# -- LangGraph's test_checkpoint_put_after_cancellation* (issue 14 item 5) -----------------


class _SlowPutSaver(InMemorySaver):
    """Logs its checkpoint writes; each awaits (a cancellation point if not shielded)."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def aput(self, *args: Any, **kwargs: Any) -> Any:
        self.log.append("put.start")
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        await super().aput(*args, **kwargs)
        self.log.append("put.end")


@pytest.mark.parametrize("api", ["ainvoke", "astream", "astream_events"])
async def test_the_exit_checkpoint_is_written_after_a_cancellation_and_not_cancelled(
    api: str,
) -> None:
    log: list[str] = []
    started = anyio.Event()

    async def awhile(state: Two) -> Two:
        log.append("node.start")
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            log.append("node.end")
        return {}

    graph = StateGraph(Two).add_node("agent", awhile).add_edge(START, "agent")
    app = graph.compile(checkpointer=_SlowPutSaver(log))
    config: Any = {"configurable": {"thread_id": "1"}}

    async def consume() -> None:
        if api == "ainvoke":
            await app.ainvoke({"first": "x"}, config, durability="exit")
            return
        if api == "astream":
            gen = app.astream({"first": "x"}, config, durability="exit")
        else:
            gen = app.astream_events({"first": "x"}, config, version="v2", durability="exit")
        try:
            async for _ in gen:
                pass
        finally:
            await gen.aclose()

    with no_task_left():
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await started.wait()
            assert log == ["node.start"]  # nothing was put before the cancellation
            tg.cancel_scope.cancel()
    assert log == ["node.start", "node.end", "put.start", "put.end"]
    stored = await app.aget_state(config)
    assert stored.values == {"first": "x"}
    assert stored.next == ("agent",)  # a later run resumes the cancelled step


def test_a_sync_invoke_waits_between_attempts_with_time_sleep_as_langgraph() -> None:
    attempts: list[int] = []

    def flaky(state: S) -> S:
        attempts.append(1)
        if len(attempts) < 3:
            raise ValueError("again")
        return {}

    policy = RetryPolicy(initial_interval=0.01, jitter=False, retry_on=ValueError)
    graph = StateGraph(S).add_node("flaky", flaky, retry_policy=policy).add_edge(START, "flaky")
    app = graph.compile()
    with patch("time.sleep") as sleep:
        app.invoke({"log": []})
    assert [c.args for c in sleep.call_args_list] == [(0.01,), (0.02,)]
    attempts.clear()
    with patch("time.sleep") as sleep:
        anyio.run(app.ainvoke, {"log": []})  # async APIs wait with the event loop's sleep
    assert sleep.call_args_list == []
    assert len(attempts) == 3


# -- add_node(defer=True) -----------------------------------------------------------------


@pytest.mark.parametrize("join", [True, False])
async def test_a_deferred_node_runs_last_with_the_state_as_it_is_then(join: bool) -> None:
    def step(name: str) -> Any:
        return lambda state: {"log": [name]}

    graph = StateGraph(S)
    for name in ("start", "one", "two", "after_one"):
        graph.add_node(name, step(name))
    graph.add_node("last", lambda s: {"log": [f"last saw {len(s['log'])}"]}, defer=True)
    graph.add_edge(START, "start")
    graph.add_edge("start", "one")
    graph.add_edge("start", "two")
    graph.add_edge("one", "after_one")
    if join:
        graph.add_edge(["one", "two"], "last")
    else:
        graph.add_edge("one", "last")
        graph.add_edge("two", "last")
    app = graph.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": str(join)}}
    chunks = [c async for c in app.astream({"log": []}, config, stream_mode="updates")]
    names = [next(iter(c)) for c in chunks]
    assert names[0] == "start"
    assert sorted(names[1:3]) == ["one", "two"]  # one step, in either order
    assert names[3:] == ["after_one", "last"]
    assert chunks[-1] == {"last": {"log": ["last saw 4"]}}


async def test_a_resumed_step_streams_its_finished_tasks_writes_as_cached() -> None:
    from scopegraph import interrupt

    def ask(state: S) -> S:
        return {"log": [f"answer {interrupt('question')}"]}

    graph = StateGraph(S)
    graph.add_node("ask", ask)
    graph.add_node("other", lambda s: {"log": ["other"]})
    graph.add_edge(START, "ask")
    graph.add_edge(START, "other")
    app = graph.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "cached"}}
    await app.ainvoke({"log": []}, config)
    chunks = [c async for c in app.astream(Command(resume="yes"), config, stream_mode="updates")]
    assert chunks == [
        {"other": {"log": ["other"]}, "__metadata__": {"cached": True}},
        {"ask": {"log": ["answer yes"]}},
    ]


async def test_an_answer_that_does_not_fit_an_interrupt_is_not_a_failure_to_handle() -> None:
    import pydantic

    from scopegraph import interrupt

    class Decision(pydantic.BaseModel):
        approved: bool

    handled: list[str] = []

    def ask(state: S) -> S:
        answer = interrupt("approve?", response_schema=Decision)
        return {"log": [f"approved={answer.approved}"]}

    def handler(state: S) -> S:
        handled.append("handler")
        return {"log": ["handled"]}

    graph = StateGraph(S).add_node("ask", ask, error_handler=handler).add_edge(START, "ask")
    app = graph.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "fit"}}
    await app.ainvoke({"log": []}, config)
    with pytest.raises(pydantic.ValidationError):
        await app.ainvoke(Command(resume={"approved": "nope"}), config)
    assert handled == []
    assert [i.value for i in (await app.aget_state(config)).interrupts] == ["approve?"]
    assert await app.ainvoke(Command(resume={"approved": True}), config) == {
        "log": ["approved=True"]
    }


async def test_bulk_update_state_can_start_a_thread_with_an_empty_input() -> None:
    app = _ab_graph()
    config: Any = {"configurable": {"thread_id": "input"}}
    await app.abulk_update_state(
        config,
        [
            [StateUpdate(values={}, as_node="__input__")],  # LangGraph stores it
            [StateUpdate(values={"foo": "x"}, as_node="__start__")],
            [StateUpdate(values={"foo": "y"}, as_node="node_a")],
        ],
    )
    assert (await app.aget_state(config)).values == {"foo": "y"}
    with pytest.raises(InvalidUpdateError, match="Received no input writes"):
        await app.aupdate_state({"configurable": {"thread_id": "none"}}, None, "__input__")


# -- graph.step_timeout ---------------------------------------------------------------------


@pytest.mark.parametrize("api", ["ainvoke", "astream"])
async def test_step_timeout_cancels_the_step_and_raises_timeout_error_after_cleanup(
    api: str,
) -> None:
    log: list[str] = []

    async def quick(state: S) -> S:
        return {"log": ["quick"]}

    async def stuck(state: S) -> S:
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.lowlevel.checkpoint()
                log.append("stuck cleanup done")
        return {}

    graph = StateGraph(S).add_node("quick", quick).add_node("stuck", stuck)
    app = graph.add_edge(START, "quick").add_edge(START, "stuck").compile()
    app.step_timeout = 0.05
    chunks: list[Any] = []

    async def run() -> None:
        if api == "ainvoke":
            await app.ainvoke({"log": []})
            return
        async for chunk in app.astream({"log": []}, stream_mode="updates"):
            chunks.append(chunk)

    with no_task_left(), pytest.raises(TimeoutError, match="Timed out"):
        await run()
    log.append("raised")
    assert log == ["stuck cleanup done", "raised"]
    assert chunks in ([], [{"quick": {"log": ["quick"]}}])
    app.step_timeout = None
    fast = StateGraph(S).add_node("quick", quick).add_edge(START, "quick").compile()
    fast.step_timeout = 5
    assert await fast.ainvoke({"log": []}) == {"log": ["quick"]}


# -- a node that raises asyncio.CancelledError itself (asyncio only) -------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_node_raising_cancelled_error_itself_fails_the_run(kind: str) -> None:
    import asyncio

    async def boom_async(state: S) -> S:
        raise asyncio.CancelledError("raised by the node")

    def boom_sync(state: S) -> S:
        raise asyncio.CancelledError("raised by the node")

    graph = StateGraph(S)
    graph.add_node("ok", lambda s: {"log": ["ok"]})
    graph.add_node("boom", boom_async if kind == "async" else boom_sync)
    graph.add_edge(START, "ok")
    graph.add_edge(START, "boom")
    with no_task_left(), pytest.raises(NodeCancelledError) as info:
        await graph.compile().ainvoke({"log": []})  # before: {"log": ["ok"]}, boom lost
    assert info.value.node == "boom"
    single = StateGraph(S).add_node("boom", boom_async).add_edge(START, "boom").compile()
    with pytest.raises(NodeCancelledError):
        await single.ainvoke({"log": []})
