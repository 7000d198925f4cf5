"""Cancellation guarantees of scopegraph, proved on asyncio and on trio.

The guarantees (stated in ``scopegraph._run``):

1. Shielded cleanup in a node completes, whatever cancelled the run.
2. Structured unwind: a node's cleanup finishes before the caller sees the cancellation
   (or the error), and when a run API returns or raises, no task of the run is alive.
3. One cancellation per cause: a node sees its cancellation once; code in a shield
   never sees it.

Every test orders its tasks with Events and ``anyio.wait_all_tasks_blocked()``. The only
sleeps are inside shielded cleanup, to prove that the cleanup really awaits. A node's
cleanup logs ``<node>:cleanup-start`` then ``<node>:cleanup-done``; the latter is
missing when the cleanup was cancelled. The consumer logs ``outer:cancelled`` when the
cancellation reaches it, and ``no_task_left()`` checks for leaked tasks at the moment a
run API returns or raises.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from contextlib import AbstractContextManager
from typing import Any, Literal, TypedDict

import anyio
import anyio.lowlevel
import pytest

from _helpers import live_tasks, no_task_left
from scopegraph import (
    END,
    START,
    CompiledStateGraph,
    NodeTimeoutError,
    RunnableConfig,
    Send,
    StateGraph,
    adispatch_custom_event,
    check_cancelled,
    dispatch_custom_event,
    get_stream_writer,
)

pytestmark = pytest.mark.anyio

Api = Literal["ainvoke", "astream", "astream_events", "open_stream"]
APIS: tuple[Api, ...] = ("ainvoke", "astream", "astream_events", "open_stream")
GENERATOR_APIS: tuple[Api, ...] = ("astream", "astream_events")

Cause = Literal["cancel_scope", "fail_after", "move_on_after", "asyncio_task_cancel"]
CAUSES: tuple[Cause, ...] = ("cancel_scope", "fail_after", "move_on_after", "asyncio_task_cancel")
SCOPE_AND_TASK_CANCEL: tuple[Cause, ...] = ("cancel_scope", "asyncio_task_cancel")

CLEANUP_SLEEP = 0.01
"""How long a shielded cleanup awaits: enough to be cancelled if the shield leaked."""

TICK = "tick"
INPUT: dict[str, Any] = {"n": 0}

NodeFn = Callable[[Any], Awaitable[dict[str, Any]]]


class State(TypedDict, total=False):
    n: int
    i: int


# -- nodes that log how they unwind --------------------------------------------------------


def is_tick(item: Any) -> bool:
    """Whether a stream item is the tick a worker node emits (in any API's shape)."""
    if isinstance(item, dict) and item.get("event") == "on_custom_event":
        return bool(item["name"] == TICK)
    if isinstance(item, tuple):  # subgraphs=True: (namespace, chunk)
        item = item[-1]
    return bool(item == TICK)


class Probe:
    """The event log and the Events shared by the nodes of one test and its consumer."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.got_item = anyio.Event()
        self.never = anyio.Event()
        """Set by nobody: nodes wait on it forever."""
        self._started: dict[str, anyio.Event] = {}

    def started(self, name: str) -> anyio.Event:
        """Set once node ``name`` has started (and emitted its tick)."""
        return self._started.setdefault(name, anyio.Event())

    def on_item(self, item: Any) -> None:
        if is_tick(item):
            self.log.append("outer:got-item")
            self.got_item.set()

    def entries(self, name: str) -> list[str]:
        """The log entries of one node, in order."""
        return [e for e in self.log if e.startswith(f"{name}:")]

    def worker(self, name: str | None = None, *, emit: bool = True) -> NodeFn:
        """A node that emits one tick, then waits forever, and has shielded cleanup.

        Its tick reaches every API: ``get_stream_writer()`` feeds ``stream_mode="custom"``
        and ``adispatch_custom_event`` feeds ``astream_events``. Without ``name`` the
        node is named after its input's ``i`` (for ``Send`` fan-outs).
        """

        async def worker(state: dict[str, Any]) -> dict[str, Any]:
            label = name if name is not None else f"worker{state['i']}"
            self.log.append(f"{label}:started")
            try:
                if emit:
                    get_stream_writer()(TICK)
                    await adispatch_custom_event(TICK, {"node": label})
                self.started(label).set()
                await self.never.wait()
            except anyio.get_cancelled_exc_class():
                self.log.append(f"{label}:cancelled")
                raise
            finally:
                self.log.append(f"{label}:cleanup-start")
                with anyio.CancelScope(shield=True):
                    await anyio.sleep(CLEANUP_SLEEP)
                self.log.append(f"{label}:cleanup-done")
            return {}

        return worker


def unwound(name: str) -> list[str]:
    """The log of a node cancelled while it waited, whose shielded cleanup completed."""
    return [f"{name}:cancelled", f"{name}:cleanup-start", f"{name}:cleanup-done"]


def single_node_graph(name: str, node: Any, **node_options: Any) -> CompiledStateGraph:
    builder = StateGraph(State)
    builder.add_node(name, node, **node_options)
    builder.add_edge(START, name)
    builder.add_edge(name, END)
    graph: CompiledStateGraph = builder.compile()
    return graph


def parallel_graph(*nodes: tuple[str, Any]) -> CompiledStateGraph:
    """START -> each node -> END: all the nodes run in one superstep."""
    builder = StateGraph(State)
    for name, node in nodes:
        builder.add_node(name, node)
        builder.add_edge(START, name)
        builder.add_edge(name, END)
    graph: CompiledStateGraph = builder.compile()
    return graph


def send_fan_out_graph(worker: NodeFn, count: int) -> CompiledStateGraph:
    """START sends ``{"i": 0}`` ... ``{"i": count - 1}`` to ``worker``, all in parallel."""

    def fan_out(state: State) -> list[Send]:
        return [Send("worker", {"i": i}) for i in range(count)]

    builder = StateGraph(State)
    builder.add_node("worker", worker)
    builder.add_conditional_edges(START, fan_out)
    builder.add_edge("worker", END)
    graph: CompiledStateGraph = builder.compile()
    return graph


# -- consumers and the ways to cancel them -------------------------------------------------


def open_generator(api: Api, graph: CompiledStateGraph) -> AsyncGenerator[Any, None]:
    if api == "astream":
        return graph.astream(INPUT, stream_mode="custom", subgraphs=True)
    assert api == "astream_events"
    return graph.astream_events(INPUT, version="v2")


async def run_graph(api: Api, graph: CompiledStateGraph, probe: Probe) -> None:
    """Run ``graph`` through ``api`` to its end, logging each tick it streams."""
    if api == "ainvoke":
        await graph.ainvoke(INPUT)
    elif api == "open_stream":
        async with graph.open_stream(INPUT, stream_mode="custom", subgraphs=True) as stream:
            async for chunk in stream:
                probe.on_item(chunk)
    else:
        async for item in open_generator(api, graph):
            probe.on_item(item)


async def consume(api: Api, graph: CompiledStateGraph, probe: Probe) -> None:
    """The caller of the API: logs the cancellation when it arrives, checks for leaks."""
    try:
        with no_task_left():
            await run_graph(api, graph, probe)
    except anyio.get_cancelled_exc_class():
        probe.log.append("outer:cancelled")
        raise


async def failure_of(call: Awaitable[None], log: list[str]) -> Exception:
    """Await ``call``, which must fail; log and return its exception."""
    try:
        await call
    except Exception as exc:
        log.append(f"outer:raised {type(exc).__name__}")
        return exc
    raise AssertionError("the run was expected to fail")


async def cancel_when_ready(
    cause: Cause,
    consumer: Callable[[], Coroutine[Any, Any, None]],
    ready: Callable[[], Awaitable[object]],
    backend: str,
) -> None:
    """Run ``consumer`` in a task of its own and cancel it by ``cause`` once it is blocked.

    ``ready()`` returns once the run is where the test wants it (a node started, an item
    received); then every task is left to block before the cancellation. Returns when
    the consumer's task has ended, after checking that it ended by that cancellation.

    - ``cancel_scope``: ``scope.cancel()`` from another task.
    - ``fail_after`` / ``move_on_after``: the scope's deadline is moved to now; the
      event loop's deadline handling cancels it (``fail_after`` raises TimeoutError).
    - ``asyncio_task_cancel``: a raw ``asyncio.Task.cancel()`` of the consumer's task.
    """
    if cause == "asyncio_task_cancel":
        assert backend == "asyncio", "call skip_unless_supported() first"
        task = asyncio.get_running_loop().create_task(consumer())
        await ready()
        await anyio.wait_all_tasks_blocked()
        task.cancel()
        await asyncio.wait({task})
        assert task.cancelled(), f"the consumer ended with {task.exception()!r}"
        return

    scopes: list[anyio.CancelScope] = []

    async def consume_in(scope_cm: AbstractContextManager[anyio.CancelScope]) -> None:
        with scope_cm as scope:
            scopes.append(scope)
            await consumer()

    async def run_consumer() -> None:
        if cause == "cancel_scope":
            scope = anyio.CancelScope()
            await consume_in(scope)
            assert scope.cancelled_caught
        elif cause == "fail_after":
            with pytest.raises(TimeoutError):
                await consume_in(anyio.fail_after(None))
        else:
            scope = anyio.move_on_after(None)
            await consume_in(scope)
            assert scope.cancelled_caught

    async with anyio.create_task_group() as tg:
        tg.start_soon(run_consumer)
        await ready()
        await anyio.wait_all_tasks_blocked()
        if cause == "cancel_scope":
            scopes[0].cancel()
        else:
            scopes[0].deadline = anyio.current_time()


def skip_unless_supported(cause: Cause, backend: str) -> None:
    if cause == "asyncio_task_cancel" and backend != "asyncio":
        pytest.skip("a raw Task.cancel() exists only on asyncio")


def ready_when(*events: anyio.Event) -> Callable[[], Awaitable[None]]:
    async def ready() -> None:
        for event in events:
            await event.wait()

    return ready


def readiness(api: Api, probe: Probe, *nodes: str) -> Callable[[], Awaitable[None]]:
    """Ready once the nodes started and, for a streaming API, its tick reached the consumer."""
    events = [probe.started(name) for name in nodes]
    if api != "ainvoke":
        events.append(probe.got_item)
    return ready_when(*events)


# -- the leak checker can fail --------------------------------------------------------------


async def test_leak_checker_reports_a_task_left_running_in_a_task_group() -> None:
    release = anyio.Event()
    before = live_tasks()
    async with anyio.create_task_group() as tg:
        with pytest.raises(AssertionError, match="tasks left alive"), no_task_left():  # noqa: PT012
            tg.start_soon(release.wait)
            await anyio.wait_all_tasks_blocked()
        release.set()
    assert live_tasks() == before


async def test_leak_checker_reports_a_detached_task(anyio_backend: str) -> None:
    """Like the task that hosts an ``astream`` run: owned by no task group."""
    release = anyio.Event()
    before = live_tasks()
    with pytest.raises(AssertionError, match="tasks left alive"), no_task_left():  # noqa: PT012
        if anyio_backend == "trio":
            import trio

            trio.lowlevel.spawn_system_task(release.wait)
        else:
            task = asyncio.get_running_loop().create_task(release.wait())
        await anyio.wait_all_tasks_blocked()
    release.set()
    if anyio_backend == "asyncio":
        await task
    await anyio.wait_all_tasks_blocked()
    assert live_tasks() == before


# -- 1. shielded cleanup completes, whatever cancelled the run -------------------------------


@pytest.mark.parametrize("cause", CAUSES)
@pytest.mark.parametrize("api", APIS)
async def test_cancelled_consumer_resumes_only_after_the_node_shielded_cleanup_completed(
    api: Api, cause: Cause, anyio_backend: str
) -> None:
    skip_unless_supported(cause, anyio_backend)
    probe = Probe()
    graph = single_node_graph("inner", probe.worker("inner"))
    with no_task_left():
        await cancel_when_ready(
            cause, lambda: consume(api, graph, probe), readiness(api, probe, "inner"), anyio_backend
        )
    received = [] if api == "ainvoke" else ["outer:got-item"]
    assert probe.log == ["inner:started", *received, *unwound("inner"), "outer:cancelled"]


@pytest.mark.parametrize("api", GENERATOR_APIS)
async def test_aclose_after_one_item_returns_after_the_node_shielded_cleanup_completed(
    api: Api,
) -> None:
    probe = Probe()
    graph = single_node_graph("inner", probe.worker("inner"))
    with no_task_left():
        agen = open_generator(api, graph)
        while not probe.got_item.is_set():
            probe.on_item(await anext(agen))
        await agen.aclose()
    probe.log.append("outer:closed")
    assert probe.log == ["inner:started", "outer:got-item", *unwound("inner"), "outer:closed"]


async def test_leaving_open_stream_block_early_waits_for_the_node_shielded_cleanup() -> None:
    probe = Probe()
    graph = single_node_graph("inner", probe.worker("inner"))
    with no_task_left():
        async with graph.open_stream(INPUT, stream_mode="custom") as stream:
            async for chunk in stream:
                probe.on_item(chunk)
                break
    probe.log.append("outer:left-block")
    assert probe.log == ["inner:started", "outer:got-item", *unwound("inner"), "outer:left-block"]


async def test_run_stream_cancel_ends_iteration_after_the_node_shielded_cleanup() -> None:
    probe = Probe()
    graph = single_node_graph("inner", probe.worker("inner"))
    with no_task_left():
        async with graph.open_stream(INPUT, stream_mode="custom") as stream:
            async for chunk in stream:
                probe.on_item(chunk)
                stream.cancel()
            probe.log.append("outer:iteration-ended")
            assert stream.cancelled
    assert probe.log == [
        "inner:started",
        "outer:got-item",
        *unwound("inner"),
        "outer:iteration-ended",
    ]


@pytest.mark.parametrize("api", APIS)
async def test_node_timeout_raises_node_timeout_error_after_its_shielded_cleanup(api: Api) -> None:
    probe = Probe()
    graph = single_node_graph("inner", probe.worker("inner"), timeout=0.05)
    with no_task_left():
        exc = await failure_of(run_graph(api, graph, probe), probe.log)
    assert type(exc) is NodeTimeoutError
    assert exc.node == "inner"
    # Whether the tick reached a stream consumer before the timeout is timing; the
    # node's own unwind and its place before the error are not.
    assert probe.entries("inner") == ["inner:started", *unwound("inner")]
    assert probe.log[-1] == "outer:raised NodeTimeoutError"


@pytest.mark.parametrize("api", APIS)
async def test_failing_sibling_raises_the_plain_error_after_the_other_node_cleanup(
    api: Api,
) -> None:
    probe = Probe()

    async def b(state: State) -> dict[str, Any]:
        await probe.started("a").wait()
        probe.log.append("b:raising")
        raise ValueError("b failed")

    graph = parallel_graph(("a", probe.worker("a", emit=False)), ("b", b))
    with no_task_left():
        exc = await failure_of(run_graph(api, graph, probe), probe.log)
    assert type(exc) is ValueError
    assert str(exc) == "b failed"
    assert probe.log == ["a:started", "b:raising", *unwound("a"), "outer:raised ValueError"]


@pytest.mark.parametrize("cause", SCOPE_AND_TASK_CANCEL)
@pytest.mark.parametrize("api", APIS)
async def test_cancelling_five_parallel_nodes_completes_every_shielded_cleanup(
    api: Api, cause: Cause, anyio_backend: str
) -> None:
    skip_unless_supported(cause, anyio_backend)
    probe = Probe()
    names = [f"w{i}" for i in range(5)]
    graph = parallel_graph(*[(n, probe.worker(n, emit=n == "w0")) for n in names])
    with no_task_left():
        await cancel_when_ready(
            cause,
            lambda: consume(api, graph, probe),
            readiness(api, probe, *names),
            anyio_backend,
        )
    for name in names:
        assert probe.entries(name) == [f"{name}:started", *unwound(name)]
        assert probe.log.index(f"{name}:cleanup-done") < probe.log.index("outer:cancelled")
    assert probe.log[-1] == "outer:cancelled"


@pytest.mark.parametrize("cause", SCOPE_AND_TASK_CANCEL)
@pytest.mark.parametrize("api", APIS)
async def test_cancelling_a_send_fan_out_of_ten_completes_every_shielded_cleanup(
    api: Api, cause: Cause, anyio_backend: str
) -> None:
    skip_unless_supported(cause, anyio_backend)
    probe = Probe()
    names = [f"worker{i}" for i in range(10)]
    graph = send_fan_out_graph(probe.worker(emit=False), 10)
    with no_task_left():
        await cancel_when_ready(
            cause,
            lambda: consume(api, graph, probe),
            ready_when(*[probe.started(n) for n in names]),
            anyio_backend,
        )
    for name in names:
        assert probe.entries(name) == [f"{name}:started", *unwound(name)]
    assert sum(e.endswith(":cleanup-done") for e in probe.log) == 10
    assert probe.log[-1] == "outer:cancelled"


@pytest.mark.parametrize("cause", SCOPE_AND_TASK_CANCEL)
@pytest.mark.parametrize("api", APIS)
async def test_subgraph_node_cleanup_completes_before_the_consumer_sees_cancellation(
    api: Api, cause: Cause, anyio_backend: str
) -> None:
    skip_unless_supported(cause, anyio_backend)
    probe = Probe()
    subgraph = single_node_graph("inner", probe.worker("inner"))
    graph = single_node_graph("sub", subgraph)
    with no_task_left():
        await cancel_when_ready(
            cause,
            lambda: consume(api, graph, probe),
            readiness(api, probe, "inner"),
            anyio_backend,
        )
    received = [] if api == "ainvoke" else ["outer:got-item"]
    assert probe.log == ["inner:started", *received, *unwound("inner"), "outer:cancelled"]


@pytest.mark.parametrize("cause", SCOPE_AND_TASK_CANCEL)
@pytest.mark.parametrize("api", APIS)
async def test_graph_invoked_from_a_node_unwinds_inner_then_node_then_consumer(
    api: Api, cause: Cause, anyio_backend: str
) -> None:
    skip_unless_supported(cause, anyio_backend)
    probe = Probe()
    subgraph = single_node_graph("inner", probe.worker("inner", emit=False))

    async def middle(state: State) -> dict[str, Any]:
        get_stream_writer()(TICK)
        await adispatch_custom_event(TICK, {"node": "middle"})
        try:
            await subgraph.ainvoke(INPUT)
        except anyio.get_cancelled_exc_class():
            probe.log.append("middle:cancelled")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(CLEANUP_SLEEP)
            probe.log.append("middle:cleanup-done")
        return {}

    graph = single_node_graph("middle", middle)
    with no_task_left():
        await cancel_when_ready(
            cause,
            lambda: consume(api, graph, probe),
            readiness(api, probe, "inner"),
            anyio_backend,
        )
    # The middle node's tick and the inner node's start race; only the unwind is ordered.
    assert probe.log.count("outer:got-item") == (0 if api == "ainvoke" else 1)
    assert [e for e in probe.log if e != "outer:got-item"] == [
        "inner:started",
        *unwound("inner"),
        "middle:cancelled",
        "middle:cleanup-done",
        "outer:cancelled",
    ]


# -- 2. the seed scenario unwinds inside out -------------------------------------------------

SEED_UNWIND = [
    "Detected Cancel (inside)",
    "Finalize (inside)",
    "Finalize complete (inside)",
    "Detected Cancel (outside)",
    "Finalize (outside)",
    "Finalize complete (outside)",
]


@pytest.mark.parametrize("api", ["astream_events", "astream", "ainvoke"])
async def test_seed_scenario_unwinds_node_cleanup_then_consumer_cleanup_in_six_steps(
    api: Api,
) -> None:
    """The LangGraph issue's server, with Starlette's disconnect handling reduced to a
    task group whose scope is cancelled once the first chunk has been sent."""
    log: list[str] = []
    sent: list[str] = []
    node_started = anyio.Event()
    first_chunk_sent = anyio.Event()
    never = anyio.Event()

    async def node(state: State, config: RunnableConfig) -> dict[str, Any]:
        try:
            for i in range(100):
                if api == "astream":
                    get_stream_writer()({"text": f"Node {i}"})
                else:
                    await adispatch_custom_event(
                        "my_custom_chunk", {"text": f"Node {i}"}, config=config
                    )
                node_started.set()
                await never.wait()
        except anyio.get_cancelled_exc_class():
            log.append("Detected Cancel (inside)")
            raise
        finally:
            log.append("Finalize (inside)")
            with anyio.CancelScope(shield=True):
                try:
                    await anyio.sleep(CLEANUP_SLEEP)
                    log.append("Finalize complete (inside)")
                except BaseException as exc:
                    log.append(f"Exception await (inside): {exc!r}")
                    raise
        return {}

    graph = single_node_graph("stream_generator", node)

    async def chunks() -> AsyncGenerator[str, None]:
        if api == "astream_events":
            async for event in graph.astream_events(INPUT, version="v2"):
                match event:
                    case {
                        "event": "on_custom_event",
                        "name": "my_custom_chunk",
                        "data": {"text": text},
                    }:
                        yield f"data: {text}\n\n"
        elif api == "astream":
            async for chunk in graph.astream(INPUT, stream_mode="custom"):
                yield f"data: {chunk['text']}\n\n"
        else:
            await graph.ainvoke(INPUT)
            yield "data: done\n\n"

    async def sse_generator() -> AsyncGenerator[str, None]:
        try:
            async for chunk in chunks():
                yield chunk
        except anyio.get_cancelled_exc_class():
            log.append("Detected Cancel (outside)")
            raise
        finally:
            with anyio.CancelScope(shield=True):
                log.append("Finalize (outside)")
                await anyio.sleep(CLEANUP_SLEEP)
                log.append("Finalize complete (outside)")

    async def stream_response() -> None:
        async for chunk in sse_generator():
            sent.append(chunk)
            first_chunk_sent.set()

    with no_task_left():
        async with anyio.create_task_group() as tg:
            tg.start_soon(stream_response)
            await (node_started if api == "ainvoke" else first_chunk_sent).wait()
            await anyio.wait_all_tasks_blocked()
            tg.cancel_scope.cancel()  # the client disconnected
    assert log == SEED_UNWIND
    assert sent == ([] if api == "ainvoke" else ["data: Node 0\n\n"])


# -- 3. one cancellation per cause -------------------------------------------------------------


@pytest.mark.parametrize("cause", CAUSES)
@pytest.mark.parametrize("api", APIS)
async def test_node_sees_one_cancellation_and_its_shielded_code_none(
    api: Api, cause: Cause, anyio_backend: str
) -> None:
    """The cleanup awaits several times and waits for another task while the run stays
    cancelled; after it, the node re-raises and awaits again in a second shield."""
    skip_unless_supported(cause, anyio_backend)
    probe = Probe()
    seen: list[str] = []
    cleanup_waiting = anyio.Event()
    release_cleanup = anyio.Event()
    cancelled_exc = anyio.get_cancelled_exc_class()

    async def node(state: State) -> dict[str, Any]:
        try:
            try:
                probe.log.append("inner:started")
                get_stream_writer()(TICK)
                await adispatch_custom_event(TICK, {})
                probe.started("inner").set()
                await probe.never.wait()
            except cancelled_exc:
                seen.append("node body")
                raise
            finally:
                with anyio.CancelScope(shield=True):
                    try:
                        for _ in range(3):
                            await anyio.lowlevel.checkpoint()
                        cleanup_waiting.set()
                        await release_cleanup.wait()
                        for _ in range(3):
                            await anyio.lowlevel.checkpoint()
                    except cancelled_exc:
                        seen.append("shielded cleanup")
                        raise
                probe.log.append("inner:cleanup-done")
        finally:
            # The cancellation is on its way out of the node: shielded code still runs.
            with anyio.CancelScope(shield=True):
                try:
                    for _ in range(3):
                        await anyio.lowlevel.checkpoint()
                except cancelled_exc:
                    seen.append("shield after re-raise")
                    raise
            probe.log.append("inner:after-reraise-done")
        return {}

    async def release_when_cleanup_waits() -> None:
        await cleanup_waiting.wait()
        # Let the event loop run until everything blocks: anyio re-delivers a scope's
        # cancellation on every iteration to unshielded tasks, so any leak through the
        # shield would happen now.
        await anyio.wait_all_tasks_blocked()
        probe.log.append("test:released-cleanup")
        release_cleanup.set()

    graph = single_node_graph("inner", node)
    with no_task_left():
        async with anyio.create_task_group() as tg:
            tg.start_soon(release_when_cleanup_waits)
            await cancel_when_ready(
                cause,
                lambda: consume(api, graph, probe),
                readiness(api, probe, "inner"),
                anyio_backend,
            )
    assert seen == ["node body"]
    received = [] if api == "ainvoke" else ["outer:got-item"]
    assert probe.log == [
        "inner:started",
        *received,
        "test:released-cleanup",
        "inner:cleanup-done",
        "inner:after-reraise-done",
        "outer:cancelled",
    ]


# -- 4. no task left after a run that ends normally ------------------------------------------


@pytest.mark.parametrize("api", APIS)
async def test_completed_run_leaves_no_task(api: Api) -> None:
    log: list[str] = []

    async def quick(state: dict[str, Any]) -> dict[str, Any]:
        get_stream_writer()(TICK)
        await adispatch_custom_event(TICK, {})
        log.append(f"worker{state['i']}:done")
        return {}

    probe = Probe()
    graph = send_fan_out_graph(quick, 3)
    with no_task_left():
        await run_graph(api, graph, probe)
    assert sorted(log) == ["worker0:done", "worker1:done", "worker2:done"]
    ticks = 0 if api == "ainvoke" else 3
    assert probe.log == ["outer:got-item"] * ticks


# -- 5. an abandoned generator -------------------------------------------------------------


@pytest.mark.parametrize("api", GENERATOR_APIS)
async def test_break_without_aclose_leaves_the_run_going_until_aclose_unwinds_it(
    api: Api,
) -> None:
    """Documented in scopegraph._run: a generator left with ``break`` keeps its run
    going (until garbage collection closes it); ``aclose()`` then unwinds it fully."""
    probe = Probe()
    graph = single_node_graph("inner", probe.worker("inner"))
    before = live_tasks()
    agen = open_generator(api, graph)
    async for item in agen:
        probe.on_item(item)
        if probe.got_item.is_set():
            break
    await anyio.wait_all_tasks_blocked()
    assert probe.log == ["inner:started", "outer:got-item"]
    assert live_tasks() - before, "the abandoned run should still be running"

    await agen.aclose()
    assert live_tasks() - before == set()
    assert probe.log == ["inner:started", "outer:got-item", *unwound("inner")]


# -- 7. sync nodes in worker threads ---------------------------------------------------------


@pytest.mark.parametrize("cause", CAUSES)
@pytest.mark.parametrize("api", APIS)
async def test_sync_node_polling_check_cancelled_finishes_its_finally_before_the_api_raises(
    api: Api, cause: Cause, anyio_backend: str
) -> None:
    skip_unless_supported(cause, anyio_backend)
    probe = Probe()
    thread_started = threading.Event()
    api_ended = threading.Event()
    thread_done = threading.Event()
    cancelled_exc = anyio.get_cancelled_exc_class()  # the thread has no event loop to ask

    def node(state: State) -> dict[str, Any]:
        probe.log.append("thread:started")
        get_stream_writer()(TICK)
        dispatch_custom_event(TICK, {})
        thread_started.set()
        try:
            # Bounded, and stopped once the API has ended, so that a failing test
            # neither hangs nor leaves a thread spinning into the next tests.
            for _ in range(5000):
                check_cancelled()
                if api_ended.wait(0.001):
                    probe.log.append("thread:still-running-after-the-api-ended")
                    break
        except cancelled_exc:
            probe.log.append("thread:cancelled")
            raise
        finally:
            probe.log.append("thread:finally")
            thread_done.set()
        return {}

    async def ready() -> None:
        await anyio.to_thread.run_sync(thread_started.wait)
        if api != "ainvoke":
            await probe.got_item.wait()

    async def consume_then_stop_the_thread() -> None:
        try:
            await consume(api, graph, probe)
        finally:
            api_ended.set()

    graph = single_node_graph("thread", node)
    with no_task_left():
        await cancel_when_ready(cause, consume_then_stop_the_thread, ready, anyio_backend)
    # Already set when the test passes; when it fails, lets the log show the whole story.
    assert await anyio.to_thread.run_sync(thread_done.wait, 5)
    received = [] if api == "ainvoke" else ["outer:got-item"]
    assert probe.log == [
        "thread:started",
        *received,
        "thread:cancelled",
        "thread:finally",
        "outer:cancelled",
    ]
