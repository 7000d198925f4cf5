"""The Functional API (``scopegraph.func``): entrypoints and tasks, on asyncio and trio.

Tasks run concurrently inside the entrypoint's node (its task group, in the run's cancel
scope tree); their results are stored as they finish, so a resumed run does not call
them again; a cancelled run cancels them once, waits for their shielded cleanup, and
leaves no task running.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from pathlib import Path
from typing import Any, TypedDict

import anyio
import anyio.lowlevel
import pytest

from _helpers import no_task_left
from scopegraph import END, START, ContextError, RunnableConfig, StateGraph, get_stream_writer
from scopegraph.cache.memory import InMemoryCache
from scopegraph.checkpoint import SqliteSaver
from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.func import TaskFuture, entrypoint, task
from scopegraph.types import CachePolicy, Command, RetryPolicy, StreamWriter, interrupt

pytestmark = pytest.mark.anyio

CLEANUP_SLEEP = 0.01
"""How long a shielded cleanup awaits: long enough to be cancelled if the shield leaked."""


def thread(name: str) -> RunnableConfig:
    return {"configurable": {"thread_id": name}}


# -- tasks: futures, concurrency, streaming ------------------------------------------------


async def test_tasks_run_concurrently_in_the_entrypoint() -> None:
    """Each of two tasks waits for the other: they complete only if both run at once."""
    first_started, second_started = anyio.Event(), anyio.Event()

    @task
    async def first(x: int) -> int:
        first_started.set()
        await second_started.wait()
        return x + 1

    @task
    async def second(x: int) -> int:
        second_started.set()
        await first_started.wait()
        return x * 10

    @entrypoint()
    async def workflow(x: int) -> list[int]:
        a, b = first(x), second(x)
        assert isinstance(a, TaskFuture)
        return [await a, await b]

    with no_task_left():
        assert await workflow.ainvoke(3) == [4, 30]


async def test_sync_entrypoint_and_tasks_stream_updates_in_call_order() -> None:
    @task
    def foo(state: dict[str, str]) -> tuple[str, str]:
        return state["a"] + "foo", "bar"

    @task
    def bar(a: str, b: str, c: str | None = None) -> dict[str, str]:
        return {"a": a + b, "c": (c or "") + "bark"}

    @entrypoint()
    def graph(state: dict[str, str]) -> dict[str, str]:
        return bar(*foo(state).result()).result()

    chunks = [c async for c in graph.astream({"a": "0"})]
    assert chunks == [
        {"foo": ("0foo", "bar")},
        {"bar": {"a": "0foobar", "c": "bark"}},
        {"graph": {"a": "0foobar", "c": "bark"}},
    ]
    assert graph.invoke({"a": "1"}) == {"a": "1foobar", "c": "bark"}


async def test_stream_modes_values_custom_and_tasks() -> None:
    @task
    async def shout(text: str) -> str:
        get_stream_writer()({"progress": text})
        return text.upper()

    @entrypoint()
    async def workflow(text: str) -> str:
        return await shout(text)

    chunks = [c async for c in workflow.astream("hi", stream_mode=["values", "custom", "tasks"])]
    modes = [mode for mode, _ in chunks]
    assert ("custom", {"progress": "hi"}) in chunks
    assert ("values", "HI") in chunks
    assert modes.count("values") == 1
    tasks = [payload for mode, payload in chunks if mode == "tasks"]
    assert [(t["name"], "result" in t) for t in tasks] == [
        ("workflow", False),
        ("shout", False),
        ("shout", True),
        ("workflow", True),
    ]
    assert tasks[2]["result"] == {"__return__": "HI"}
    assert tasks[3]["result"] == {"__end__": "HI"}


async def test_a_failing_task_fails_only_whoever_awaits_it() -> None:
    @task
    async def broken(x: int) -> int:
        raise ValueError(f"bad {x}")

    @task
    async def fine(x: int) -> int:
        return x

    @entrypoint()
    async def tolerant(x: int) -> str:
        try:
            await broken(x)
        except ValueError as exc:
            return f"caught {exc}; {await fine(x)}"
        return "not reached"

    @entrypoint()
    async def strict(x: int) -> int:
        return await broken(x)

    assert await tolerant.ainvoke(1) == "caught bad 1; 1"
    with no_task_left(), pytest.raises(ValueError, match="bad 2"):  # not an ExceptionGroup
        await strict.ainvoke(2)


async def test_task_retry_policy_and_entrypoint_default() -> None:
    attempts: list[str] = []

    @task(retry_policy=RetryPolicy(max_attempts=3, initial_interval=0, jitter=False))
    async def flaky(x: int) -> int:
        attempts.append("flaky")
        if attempts.count("flaky") < 3:
            raise ConnectionError("try again")
        return x

    @task
    async def also_flaky(x: int) -> int:
        attempts.append("also")
        if attempts.count("also") < 2:
            raise ConnectionError("try again")
        return x * 2

    policy = RetryPolicy(max_attempts=2, initial_interval=0, jitter=False)

    @entrypoint(retry_policy=policy)
    async def workflow(x: int) -> list[int]:
        return [await flaky(x), await also_flaky(x)]

    assert await workflow.ainvoke(5) == [5, 10]
    assert attempts == ["flaky"] * 3 + ["also"] * 2


async def test_task_cache_policy_reuses_results() -> None:
    calls: list[int] = []

    @task(cache_policy=CachePolicy())
    async def double(x: int) -> int:
        calls.append(x)
        return 2 * x

    cache = InMemoryCache()

    @entrypoint(cache=cache)
    async def workflow(xs: list[int]) -> list[int]:
        return [await double(x) for x in xs]

    assert await workflow.ainvoke([1, 2, 1]) == [2, 4, 2]
    chunks = [c async for c in workflow.astream([2])]
    assert chunks[0] == {"double": 4, "__metadata__": {"cached": True}}
    assert calls == [1, 2]
    await double.aclear_cache(cache)
    assert await workflow.ainvoke([1]) == [2]
    assert calls == [1, 2, 1]


async def test_injected_parameters() -> None:
    seen: dict[str, Any] = {}

    @task
    async def inspect_task(
        value: int, config: RunnableConfig | None = None, writer: StreamWriter | None = None
    ) -> int:
        assert config is not None
        assert writer is not None
        seen["task_thread"] = config["configurable"]["thread_id"]
        writer(("from task", value))
        return value

    @entrypoint(checkpointer=InMemorySaver())
    async def workflow(value: int, *, previous: Any, runtime: Any, config: Any) -> int:
        seen["previous"] = previous
        seen["runtime_previous"] = runtime.previous
        seen["thread"] = config["configurable"]["thread_id"]
        result: int = await inspect_task(value)
        return result

    chunks = [c async for c in workflow.astream(1, thread("inj"), stream_mode="custom")]
    assert chunks == [("from task", 1)]
    await workflow.ainvoke(2, thread("inj"))
    assert seen == {"previous": 1, "runtime_previous": 1, "thread": "inj", "task_thread": "inj"}


async def test_task_outside_a_run_names_the_fix() -> None:
    @task
    def lonely() -> int:
        return 1

    with pytest.raises(ContextError, match="outside a run"):
        lonely()


async def test_task_called_from_a_state_graph_node() -> None:
    class State(TypedDict):
        out: int

    @task
    async def double(x: int) -> int:
        return x * 2

    async def node(state: State) -> State:
        return {"out": await double(state["out"])}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    assert await graph.ainvoke({"out": 21}) == {"out": 42}


def test_declaration_errors() -> None:
    with pytest.raises(ValueError, match="only supported for async nodes"):

        @task(timeout=1.0)
        def sync_task(x: int) -> int:
            return x

    with pytest.raises(NotImplementedError, match="Generators"):

        @entrypoint()
        def gen(x: int) -> Any:
            yield x

    with pytest.raises(ValueError, match="at least one parameter"):

        @entrypoint()
        def nothing() -> int:
            return 1


# -- state: previous, final, get_state, update_state ----------------------------------------


async def test_previous_and_final_across_runs() -> None:
    @entrypoint(checkpointer=InMemorySaver())
    async def counter(msg: str, *, previous: list[str] | None) -> entrypoint.final[int, list[str]]:
        seen = previous or []
        return entrypoint.final(value=len(seen), save=[*seen, msg])

    config = thread("final")
    assert await counter.ainvoke("a", config) == 0
    assert await counter.ainvoke("b", config) == 1
    assert await counter.ainvoke("c", config) == 2
    state = await counter.aget_state(config)
    assert state.values == 2
    assert state.next == ()
    assert counter.get_output_jsonschema() == {"title": "LangGraphOutput", "type": "integer"}


async def test_update_state_sets_previous() -> None:
    @entrypoint(checkpointer=InMemorySaver())
    def echo(value: dict[str, str], *, previous: Any) -> Any:
        return {"previous": previous, "current": value}

    config = thread("update")
    await echo.aupdate_state(config, {"a": "-1"})
    assert await echo.ainvoke({"a": "1"}, config) == {
        "current": {"a": "1"},
        "previous": {"a": "-1"},
    }
    history = [(s.metadata or {})["source"] async for s in echo.aget_state_history(config)]
    assert history == ["loop", "input", "update"]


# -- interrupts and resumes: finished tasks are not called again ---------------------------


async def test_interrupt_resume_does_not_repeat_finished_tasks() -> None:
    calls: list[int] = []

    @task
    async def mapper(x: int) -> str:
        calls.append(x)
        return str(x) * 2

    @entrypoint(checkpointer=InMemorySaver())
    async def workflow(xs: list[int]) -> list[str]:
        mapped = [await mapper(x) for x in xs]
        answer = interrupt("question")
        return [m + answer for m in mapped]

    config = thread("resume")
    chunks = [c async for c in workflow.astream([0, 1], config)]
    assert chunks[:2] == [{"mapper": "00"}, {"mapper": "11"}]
    assert chunks[2]["__interrupt__"][0].value == "question"
    state = await workflow.aget_state(config)
    assert state.next == ("workflow",)
    assert await workflow.ainvoke(Command(resume="!"), config) == ["00!", "11!"]
    assert calls == [0, 1]


async def test_interrupt_inside_a_task_resumes_that_task() -> None:
    calls: list[str] = []

    @task
    async def ask(name: str) -> str:
        calls.append(name)
        answer = interrupt(f"add {name}?")
        return f"{name}: {answer}"

    @entrypoint(checkpointer=InMemorySaver())
    async def workflow(_: Any) -> list[str]:
        return [await ask("james"), await ask("will")]

    config = thread("task-interrupt")
    first = await workflow.ainvoke("start", config)
    assert [i.value for i in first["__interrupt__"]] == ["add james?"]
    second = await workflow.ainvoke(Command(resume="yes"), config)
    assert [i.value for i in second["__interrupt__"]] == ["add will?"]
    assert await workflow.ainvoke(Command(resume="no"), config) == ["james: yes", "will: no"]
    assert calls == ["james", "james", "will", "will"]  # each resumed once, not repeated after


async def test_a_failed_run_resumes_without_repeating_finished_tasks() -> None:
    calls: list[str] = []
    fail = True

    @task
    async def expensive(x: int) -> int:
        calls.append("expensive")
        return x * 100

    @task
    async def fragile(x: int) -> int:
        calls.append("fragile")
        if fail:
            raise RuntimeError("down")
        return x

    @entrypoint(checkpointer=InMemorySaver())
    async def workflow(x: int) -> int:
        return await expensive(x) + await fragile(x)

    config = thread("crash")
    with pytest.raises(RuntimeError, match="down"):
        await workflow.ainvoke(1, config)
    fail = False
    assert await workflow.ainvoke(None, config) == 101
    assert calls == ["expensive", "fragile", "fragile"]


# -- cancellation: the four guarantees hold for tasks -------------------------------------


def _blocking_workflow(log: list[str], started: list[anyio.Event]) -> Any:
    @task
    async def worker(name: str) -> str:
        log.append(f"{name}:start")
        started[int(name[-1])].set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            log.append(f"{name}:cancelled")
            raise
        finally:
            log.append(f"{name}:cleanup-start")
            with anyio.CancelScope(shield=True):
                await anyio.sleep(CLEANUP_SLEEP)
            log.append(f"{name}:cleanup-done")
        return name

    @entrypoint()
    async def workflow(_: Any) -> list[str]:
        futures = [worker("w0"), worker("w1")]
        try:
            return [await f for f in futures]
        finally:
            log.append("entrypoint:unwound")

    return workflow


def _check_cleanup(log: list[str]) -> None:
    for name in ("w0", "w1"):
        assert log.count(f"{name}:cancelled") == 1  # once per cause
        cleanup = log.index(f"{name}:cleanup-start")
        assert log[cleanup:].count(f"{name}:cleanup-done") == 1  # the shield held
    assert "entrypoint:unwound" in log


@pytest.mark.parametrize("api", ["ainvoke", "astream", "open_stream"])
async def test_cancelling_an_entrypoint_cancels_its_tasks_once(api: str) -> None:
    log: list[str] = []
    started = [anyio.Event(), anyio.Event()]
    workflow = _blocking_workflow(log, started)

    async def consume() -> None:
        if api == "ainvoke":
            await workflow.ainvoke("go")
        elif api == "astream":
            async for _ in workflow.astream("go"):
                pass
        else:
            async with workflow.open_stream("go") as stream:
                async for _ in stream:
                    pass

    with no_task_left():
        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            for event in started:
                await event.wait()
            await anyio.wait_all_tasks_blocked()
            tg.cancel_scope.cancel()
    # The run returned (the block above ended) only once both cleanups had finished.
    _check_cleanup(log)


async def test_deadline_on_a_sync_entrypoint_unblocks_its_thread() -> None:
    """A sync entrypoint waits for a task in ``.result()`` in its worker thread: the
    cancelled task's future wakes the thread, and the run returns with nothing left."""
    log: list[str] = []
    blocked = threading.Event()

    @task
    async def slow() -> str:
        blocked.set()
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(CLEANUP_SLEEP)
            log.append("slow:cleanup-done")
        return "never"

    @entrypoint()
    def workflow(_: Any) -> str:
        future = slow()
        try:
            return future.result()
        finally:
            log.append(f"entrypoint:unwound:{future.cancelled()}")

    with no_task_left():
        with anyio.move_on_after(5) as outer:
            async with anyio.create_task_group() as tg:
                tg.start_soon(workflow.ainvoke, "go")
                await anyio.to_thread.run_sync(blocked.wait)
                await anyio.wait_all_tasks_blocked()
                tg.cancel_scope.cancel()
    assert not outer.cancelled_caught
    assert log == ["slow:cleanup-done", "entrypoint:unwound:True"]


async def test_future_cancel_cancels_only_that_task() -> None:
    log: list[str] = []
    started = anyio.Event()

    @task
    async def slow(x: int) -> int:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            log.append("slow:unwound")
        return x

    @task
    async def quick(x: int) -> int:
        return x

    @entrypoint()
    async def workflow(x: int) -> list[Any]:
        doomed = slow(x)
        await started.wait()
        doomed.cancel()
        await anyio.lowlevel.checkpoint()
        return [doomed.cancelled(), await quick(x)]

    with no_task_left():
        assert await workflow.ainvoke(7) == [True, 7]
    assert log == ["slow:unwound"]


async def test_timing_of_streamed_task_updates() -> None:
    """Updates reach the consumer when each task finishes, not when the run ends."""
    release = anyio.Event()

    @task
    async def early() -> str:
        return "early"

    @task
    async def late() -> str:
        await release.wait()
        return "late"

    @entrypoint()
    async def workflow(_: Any) -> list[str]:
        return [await early(), await late()]

    seen: list[Any] = []
    async with workflow.open_stream("x") as stream:
        async for chunk in stream:
            seen.append(chunk)
            if chunk == {"early": "early"}:
                release.set()
    assert seen == [{"early": "early"}, {"late": "late"}, {"workflow": ["early", "late"]}]


async def test_astream_events_order_of_task_updates_and_the_entrypoint(
    anyio_backend: str,
) -> None:
    """LangGraph's order: a task's ``updates`` chunk once its caller has gone on (after
    the entrypoint's output event when it returns right after the await), and the
    entrypoint's end before the root chunk of its update."""

    @task
    async def my_task(number: int) -> int:
        await anyio.lowlevel.checkpoint()
        return number * 2

    @task
    async def fails(number: int) -> int:
        await anyio.lowlevel.checkpoint()
        raise ValueError("boom")

    @entrypoint()
    async def my_workflow(number: int) -> str:
        await my_task(number)
        with pytest.raises(ValueError, match="boom"):
            await fails(number)
        await my_task(number)
        return "done"

    events = [
        (e["event"], e["name"], e["data"].get("chunk"))
        async for e in my_workflow.astream_events(1, version="v2")
    ]
    expected = [
        ("on_chain_start", "LangGraph", None),
        ("on_chain_start", "my_workflow", None),
        ("on_chain_start", "my_task", None),
        ("on_chain_stream", "my_task", 2),
        ("on_chain_end", "my_task", None),
        ("on_chain_stream", "LangGraph", {"my_task": 2}),
        ("on_chain_start", "fails", None),
        ("on_chain_start", "my_task", None),
        ("on_chain_stream", "my_task", 2),
        ("on_chain_end", "my_task", None),
        ("on_chain_stream", "my_workflow", "done"),
        ("on_chain_stream", "LangGraph", {"my_task": 2}),
        ("on_chain_end", "my_workflow", None),
        ("on_chain_stream", "LangGraph", {"my_workflow": "done"}),
        ("on_chain_end", "LangGraph", None),
    ]
    if anyio_backend == "asyncio":
        assert events == expected
    else:  # trio runs a woken caller and the finished task in either order
        assert sorted(map(repr, events)) == sorted(map(repr, expected))
        assert events[-3:] == expected[-3:]


def test_sync_invoke_and_stream() -> None:
    @task
    def add_one(x: int) -> int:
        time.sleep(0.001)
        return x + 1

    @entrypoint(checkpointer=InMemorySaver())
    def workflow(xs: list[int]) -> list[int]:
        futures = [add_one(x) for x in xs]
        return [f.result() for f in futures]

    assert workflow.invoke([1, 2], thread("sync")) == [2, 3]
    chunks = list(workflow.stream([5], thread("sync2")))
    assert chunks == [{"add_one": 6}, {"workflow": [6]}]
    assert workflow.get_state(thread("sync2")).values == [6]


async def test_entrypoint_subgraph_call_from_a_task() -> None:
    class State(TypedDict):
        a: int
        b: int

    def add(state: State) -> dict[str, int]:
        return {"a": state["a"] + state["b"]}

    adder = StateGraph(State).add_node("add", add).add_edge(START, "add").add_edge("add", END)
    compiled = adder.compile()

    @task
    async def call_subgraph(a: int, b: int) -> int:
        result = await compiled.ainvoke({"a": a, "b": b})
        return int(result["a"])

    @entrypoint(checkpointer=InMemorySaver())
    async def parent(pair: list[int]) -> int:
        return await call_subgraph(*pair)

    assert await parent.ainvoke([2, 3], thread("sub")) == 5


async def test_a_retried_entrypoint_calls_its_tasks_under_the_same_ids() -> None:
    """The entrypoint's retry runs it again: its task calls count from 0 again, so the
    calls that finished in the failed attempt are not called a second time."""
    calls: list[str] = []
    attempts = 0

    @task
    async def step(name: str) -> str:
        calls.append(name)
        return name

    policy = RetryPolicy(max_attempts=2, initial_interval=0, jitter=False)

    @entrypoint(checkpointer=InMemorySaver(), retry_policy=policy)
    async def workflow(_: Any) -> list[str]:
        nonlocal attempts
        attempts += 1
        first = await step("a")
        if attempts == 1:
            raise ConnectionError("flaky")
        return [first, await step("b")]

    assert await workflow.ainvoke("go", thread("retry")) == ["a", "b"]
    assert calls == ["a", "b"]


async def test_a_sync_graph_node_reads_a_task_result() -> None:
    class State(TypedDict):
        out: int

    @task
    def double(x: int) -> int:
        return x * 2

    def node(state: State) -> State:
        return {"out": double(state["out"]).result()}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    assert await graph.ainvoke({"out": 4}) == {"out": 8}


async def test_result_in_async_code_names_the_fix() -> None:
    @task
    async def slow() -> int:
        await anyio.sleep(0.001)
        return 1

    @entrypoint()
    async def workflow(_: Any) -> int:
        future = slow()
        with pytest.raises(RuntimeError, match="await future"):
            future.result()
        result: int = await future  # still there: the mistake lost nothing
        return result

    assert await workflow.ainvoke("go") == 1


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_raw_asyncio_task_cancel_cancels_the_tasks_once() -> None:
    """``asyncio.Task.cancel()`` of the task awaiting ``ainvoke`` (what a web framework
    does on a disconnect): the same guarantees as a cancel scope."""
    log: list[str] = []
    started = [anyio.Event(), anyio.Event()]
    workflow = _blocking_workflow(log, started)
    with no_task_left():
        runner = asyncio.get_running_loop().create_task(workflow.ainvoke("go"))
        for event in started:
            await event.wait()
        await anyio.wait_all_tasks_blocked()
        runner.cancel()
        await asyncio.wait({runner})
        assert runner.cancelled()
    _check_cleanup(log)


async def test_cancelling_cancels_nested_tasks_once() -> None:
    """A task that awaits a task it called: a cancelled run cancels both once, and both
    shielded cleanups complete before the run returns."""
    log: list[str] = []
    inner_started = anyio.Event()

    @task
    async def inner() -> str:
        inner_started.set()
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            log.append("inner:cancelled")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(CLEANUP_SLEEP)
            log.append("inner:cleanup-done")
        return "never"

    @task
    async def outer() -> str:
        try:
            return await inner()
        except anyio.get_cancelled_exc_class():
            log.append("outer:cancelled")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(CLEANUP_SLEEP)
            log.append("outer:cleanup-done")

    @entrypoint()
    async def workflow(_: Any) -> str:
        return await outer()

    with no_task_left():
        with anyio.move_on_after(30) as deadline:
            async with anyio.create_task_group() as tg:
                tg.start_soon(workflow.ainvoke, "go")
                await inner_started.wait()
                await anyio.wait_all_tasks_blocked()
                tg.cancel_scope.cancel()
        assert not deadline.cancelled_caught
    assert log.count("inner:cancelled") == 1
    assert log.count("outer:cancelled") == 1
    assert "inner:cleanup-done" in log
    assert "outer:cleanup-done" in log


async def test_sync_tasks_call_sync_tasks() -> None:
    """Sync tasks run in worker threads; a call from one starts the inner task on the
    event loop (``from_thread``), on asyncio and trio alike."""

    @task
    def leaf(x: int) -> str:
        return str(x)

    @task
    def branch(x: int) -> str:
        return leaf(x).result() * 2

    @entrypoint(checkpointer=InMemorySaver())
    def workflow(xs: list[int]) -> list[str]:
        futures = [branch(x) for x in xs]
        return [f.result() for f in futures]

    chunks = [c async for c in workflow.astream([1, 2], thread("nested-sync"))]
    assert sorted(map(str, chunks[:-1])) == sorted(
        map(str, [{"leaf": "1"}, {"leaf": "2"}, {"branch": "11"}, {"branch": "22"}])
    )
    assert chunks[-1] == {"workflow": ["11", "22"]}


async def test_task_results_survive_in_a_sqlite_file(tmp_path: Path) -> None:
    """The state survives the process: a new saver on the same file (a restarted
    program) resumes the entrypoint, and the tasks that had finished are not called."""
    calls: list[int] = []

    def build(saver: SqliteSaver) -> Any:
        @task
        async def fetch(x: int) -> dict[str, int]:
            calls.append(x)
            return {"x": x}

        @entrypoint(checkpointer=saver)
        async def workflow(xs: list[int]) -> list[Any]:
            fetched = [await fetch(x) for x in xs]
            return [*fetched, interrupt("ok?")]

        return workflow

    path = tmp_path / "functional.db"
    with SqliteSaver(path) as first:
        paused = await build(first).ainvoke([1, 2], thread("file"))
    assert [i.value for i in paused["__interrupt__"]] == ["ok?"]
    with SqliteSaver(path) as second:
        done = await build(second).ainvoke(Command(resume="yes"), thread("file"))
    assert done == [{"x": 1}, {"x": 2}, "yes"]
    assert calls == [1, 2]


def test_entrypoint_deprecated_keywords_warn_and_count() -> None:
    policy = RetryPolicy(max_attempts=2, initial_interval=0, jitter=False)
    with pytest.warns(DeprecationWarning, match="retry_policy"):
        decorator: entrypoint[Any] = entrypoint(retry=policy)
    assert decorator.retry_policy == policy
    with pytest.raises(TypeError, match="unexpected keyword argument 'retries'"):
        entrypoint(retries=3)


def test_task_deprecated_retry_keyword() -> None:
    policy = RetryPolicy(max_attempts=2, initial_interval=0, jitter=False)
    with pytest.warns(DeprecationWarning, match="retry_policy"):
        decorate = task(retry=policy)
    assert decorate(lambda: 1).retry_policy == (policy,)
    with pytest.raises(TypeError, match="unexpected keyword argument 'retries'"):
        task(retries=3)  # type: ignore[call-overload]


async def test_tasks_called_from_a_graph_node_start_at_once() -> None:
    """As in LangGraph: a node that calls tasks hosts them; each starts when called and
    they run concurrently (these two wait for each other: run one at a time, they hang)."""

    class State(TypedDict):
        out: list[str]

    ready = {"a": anyio.Event(), "b": anyio.Event()}

    @task
    async def meet(me: str, other: str) -> str:
        ready[me].set()
        await ready[other].wait()
        return me

    async def node(state: State) -> State:
        first, second = meet("a", "b"), meet("b", "a")
        return {"out": [await first, await second]}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    with anyio.fail_after(5), no_task_left():
        assert await graph.ainvoke({"out": []}) == {"out": ["a", "b"]}


async def test_a_task_never_awaited_in_a_graph_node_still_runs() -> None:
    class State(TypedDict):
        out: int

    ran: list[int] = []

    @task
    async def forgotten(x: int) -> int:
        await anyio.lowlevel.checkpoint()
        ran.append(x)
        return x

    async def node(state: State) -> State:
        forgotten(state["out"])  # never awaited: it runs, and the node waits for it
        return {"out": 1}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    chunks = [c async for c in graph.astream({"out": 7})]
    assert ran == [7]
    assert sorted(map(str, chunks)) == sorted(map(str, [{"forgotten": 7}, {"node": {"out": 1}}]))


async def test_a_failing_graph_node_cancels_the_tasks_it_started() -> None:
    class State(TypedDict):
        out: int

    started = anyio.Event()
    log: list[str] = []

    @task
    async def slow() -> int:
        try:
            started.set()
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(CLEANUP_SLEEP)
                log.append("slow:unwound")
        return 0

    async def node(state: State) -> State:
        slow()
        await started.wait()
        raise ValueError("node failed")

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    with no_task_left(), pytest.raises(ValueError, match="node failed"):
        await graph.ainvoke({"out": 0})
    assert log == ["slow:unwound"]


async def test_the_chunks_of_a_graph_nodes_tasks_follow_the_nodes_end() -> None:
    """LangGraph's order: a StateGraph node's task chunks come after the node's end
    event (and its routing function's), before the node's own update."""

    class State(TypedDict):
        a: int

    @task
    async def double(x: int) -> int:
        return x * 2

    async def n(state: State) -> State:
        return {"a": await double(state["a"])}

    async def m(state: State) -> State:
        return {"a": state["a"] + 1}

    graph = (
        StateGraph(State)
        .add_node("n", n)
        .add_node("m", m)
        .add_edge(START, "n")
        .add_conditional_edges("n", lambda s: "m", ["m"])
        .compile()
    )
    events = [
        (e["event"], e["name"], e["data"].get("chunk"))
        async for e in graph.astream_events(
            {"a": 1}, version="v2", stream_mode=["updates", "tasks"]
        )
    ]
    root_chunks = [c for kind, name, c in events if name == "LangGraph" and c is not None]
    assert [c for c in root_chunks if c[0] == "updates"] == [
        ("updates", {"double": 2}),
        ("updates", {"n": {"a": 2}}),
        ("updates", {"m": {"a": 3}}),
    ]
    n_end = events.index(("on_chain_end", "n", None))
    assert events[n_end + 1] == ("on_chain_stream", "LangGraph", ("updates", {"double": 2}))
    tasks = [c[1] for c in root_chunks if c[0] == "tasks" and "result" in c[1]]
    assert [t["name"] for t in tasks] == ["double", "n", "m"]


async def test_a_sync_graph_node_runs_its_tasks_concurrently() -> None:
    class State(TypedDict):
        out: list[int]

    both = threading.Barrier(2, timeout=5)

    @task
    def rendezvous(x: int) -> int:
        both.wait()  # two sync tasks in two threads: they meet only if both run at once
        return x

    def node(state: State) -> State:
        futures = [rendezvous(1), rendezvous(2)]
        return {"out": [f.result() for f in futures]}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    assert await graph.ainvoke({"out": []}) == {"out": [1, 2]}


async def test_a_task_reached_only_through_a_container_runs_when_awaited() -> None:
    """A task the node's code does not name (here, from a dict) is not found: the node
    does not host it, so it runs when awaited, and one never awaited warns."""

    class State(TypedDict):
        out: int

    @task
    async def forgotten(x: int) -> int:
        return x

    tasks = {"forgotten": forgotten}

    async def node(state: State) -> State:
        tasks["forgotten"](state["out"])  # never awaited: it never runs
        return {"out": 1}

    graph = StateGraph(State).add_node("node", node).add_edge(START, "node").compile()
    assert await graph.ainvoke({"out": 0}) == {"out": 1}
    with pytest.warns(RuntimeWarning, match="'forgotten' was called from a StateGraph node"):
        gc.collect()


def test_the_module_has_langgraphs_names() -> None:
    import langgraph.func

    import scopegraph.func

    assert set(langgraph.func.__all__) <= set(scopegraph.func.__all__)


async def test_the_entrypoints_store_reaches_the_function_and_its_tasks() -> None:
    from scopegraph.store.memory import InMemoryStore

    memory = InMemoryStore()

    @task
    async def remember(fact: str, store: Any = None) -> str:
        await store.aput(("facts",), fact, {"text": fact})
        return fact

    @entrypoint(store=memory)
    async def workflow(fact: str, *, store: Any, runtime: Any) -> list[str]:
        assert store is memory
        assert runtime.store is memory
        await remember(fact)
        return [item.key for item in await store.asearch(("facts",))]

    assert await workflow.ainvoke("otters hold hands") == ["otters hold hands"]
