"""The server's layers on their own: the domain errors and their status codes, and the one
run executor (``scopegraph.server._executor``) that the in-process run manager and the
scale-out worker share, driven directly on a real checkpointer."""

from __future__ import annotations

import operator
import uuid
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from scopegraph import END, START, ScopegraphError, StateGraph
from scopegraph.checkpoint import CheckpointNotFoundError, InMemorySaver
from scopegraph.server import _executor as executor
from scopegraph.server._domain import CancelAction
from scopegraph.server._errors import (
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    ServerError,
    UnavailableError,
)
from scopegraph.server._http import status_of
from scopegraph.server.cluster._redis_events import EventLogConnectionError, EventLogError


class State(TypedDict, total=False):
    steps: Annotated[list[str], operator.add]


def test_domain_errors_are_scopegraph_errors_with_their_builtins_and_statuses() -> None:
    cases: list[tuple[ServerError, type[Exception], int, str]] = [
        (NotFoundError("thread t not found"), LookupError, 404, "NotFound"),
        (ConflictError("run r is running"), Exception, 409, "Conflict"),
        (InvalidRequestError("bad", code="InvalidId"), ValueError, 422, "InvalidId"),
        (UnavailableError("shutting down"), ConnectionError, 503, "ServiceUnavailable"),
    ]
    for error, builtin, status, name in cases:
        assert isinstance(error, ScopegraphError)
        assert isinstance(error, builtin)
        assert status_of(error) == (status, name)
    assert status_of(CheckpointNotFoundError("checkpoint c")) == (404, "NotFound")


def test_event_log_errors_are_scopegraph_errors() -> None:
    assert issubclass(EventLogError, ScopegraphError)
    assert issubclass(EventLogConnectionError, EventLogError)


def two_steps(log: list[str], started: anyio.Event) -> Any:
    """``a`` finishes at once; ``b`` runs until cancelled, with a shielded cleanup."""

    async def a(state: State) -> State:
        return {"steps": ["a"]}

    async def b(state: State) -> State:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)
                log.append("b cleanup done")
        return {"steps": ["b"]}

    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_node("b", b)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    return builder.compile(checkpointer=InMemorySaver())


def one_step() -> Any:
    async def a(state: State) -> State:
        return {"steps": ["a"]}

    builder = StateGraph(State)
    builder.add_node("a", a)
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    return builder.compile(checkpointer=InMemorySaver())


def spec_of(graph: Any, thread_id: str, **payload: Any) -> executor.RunSpec:
    return executor.RunSpec(
        run_id=str(uuid.uuid4()),
        thread_id=thread_id,
        graph_id="g",
        assistant_id=None,
        graph=graph,
        payload={"input": {"steps": []}, "stream_mode": "values", **payload},
    )


async def execute(
    spec: executor.RunSpec,
    *,
    cancel_when: anyio.Event | None = None,
    action: CancelAction | None = None,
    cancelled_at_once: bool = False,
) -> tuple[executor.Outcome, list[tuple[str, Any]]]:
    """Run ``spec`` as both backends do: stream in a scope, then settle shielded."""
    events: list[tuple[str, Any]] = []
    scope = anyio.CancelScope()
    failure: BaseException | None = None
    values: Any = None

    async def emit(event: str, chunk: Any) -> None:
        events.append((event, chunk))

    async with anyio.create_task_group() as tg:
        if cancel_when is not None:

            async def cancel() -> None:
                await cancel_when.wait()
                scope.cancel()

            tg.start_soon(cancel)
        if cancelled_at_once:
            scope.cancel()
        with scope:
            executor.start_clock(scope, spec, None)
            try:
                values = await executor.stream(spec, emit)
            except Exception as exc:
                failure = exc
        with anyio.CancelScope(shield=True):
            outcome = await executor.settle(
                spec, scope, failure=failure, values=values, action=action
            )
    return outcome, events


@pytest.mark.anyio
async def test_a_cancelled_run_settles_after_its_cleanup_with_its_checkpoint(
    anyio_backend: str,
) -> None:
    log: list[str] = []
    started = anyio.Event()
    graph = two_steps(log, started)
    spec = spec_of(graph, str(uuid.uuid4()))
    with anyio.fail_after(10):
        outcome, events = await execute(spec, cancel_when=started, action="interrupt")
    assert log == ["b cleanup done"]
    assert outcome.status == "interrupted"
    assert outcome.lifecycle == ["cleanup finished", "checkpoint saved"]
    assert outcome.final == {"steps": ["a"]}
    assert outcome.interrupted  # "b" is still to run: the thread can be resumed
    assert outcome.checkpoint_id is not None
    assert outcome.event == ("end", None)
    assert ("values", {"steps": ["a"]}) in events


@pytest.mark.anyio
async def test_a_run_past_its_timeout_ends_timeout_with_the_timeout_event(
    anyio_backend: str,
) -> None:
    log: list[str] = []
    graph = two_steps(log, anyio.Event())
    spec = spec_of(graph, str(uuid.uuid4()), timeout=0.05)
    with anyio.fail_after(10):
        outcome, _ = await execute(spec)
    assert log == ["b cleanup done"]
    assert outcome.status == "timeout"
    assert outcome.lifecycle == ["timed out", "cleanup finished", "checkpoint saved"]
    assert outcome.event == ("error", executor.RUN_TIMEOUT)


@pytest.mark.anyio
async def test_a_failing_run_ends_error_and_its_final_values_name_the_error(
    anyio_backend: str,
) -> None:
    async def boom(state: State) -> State:
        raise RuntimeError("boom")

    builder = StateGraph(State)
    builder.add_node("boom", boom)
    builder.add_edge(START, "boom")
    builder.add_edge("boom", END)
    spec = spec_of(builder.compile(checkpointer=InMemorySaver()), str(uuid.uuid4()))
    outcome, _ = await execute(spec)
    error = {"error": "RuntimeError", "message": "boom"}
    assert (outcome.status, outcome.event, outcome.final) == (
        "error",
        ("error", error),
        {"__error__": error},
    )


@pytest.mark.anyio
async def test_rollback_removes_only_what_the_rolled_back_run_wrote(anyio_backend: str) -> None:
    """A rolled-back run that never wrote anything (it was still queued) leaves the
    thread's history as it was; one that ran removes its own checkpoints only."""
    graph = one_step()
    thread_id = str(uuid.uuid4())
    config = {"configurable": {"thread_id": thread_id}}
    first, _ = await execute(spec_of(graph, thread_id))
    assert first.status == "success"
    before = [s.config async for s in graph.aget_state_history(config)]
    assert before

    never_ran, _ = await execute(  # cancelled while it was still queued
        spec_of(graph, thread_id), cancelled_at_once=True, action="rollback"
    )
    assert never_ran.rolled_back
    assert [s.config async for s in graph.aget_state_history(config)] == before

    ran_spec = spec_of(graph, thread_id, input={"steps": ["x"]})
    ran, _ = await execute(ran_spec)
    assert ran.status == "success"
    after_ran = [s async for s in graph.aget_state_history(config)]
    assert ran_spec.run_id in [s.metadata.get("run_id") for s in after_ran]  # runs are named
    run = spec_of(graph, thread_id, input={"steps": ["y"]})
    outcome, _ = await execute(run, action="rollback")
    assert outcome.lifecycle == ["rolled back"]
    after = [s async for s in graph.aget_state_history(config)]
    assert [s.config for s in after] == [s.config for s in after_ran]
    assert (await graph.aget_state(config)).values == {"steps": ["a", "x", "a"]}


@pytest.mark.anyio
async def test_a_stateless_run_keeps_nothing_and_returns_its_values(anyio_backend: str) -> None:
    graph = one_step()
    thread_id = str(uuid.uuid4())
    spec = executor.RunSpec(
        run_id=str(uuid.uuid4()),
        thread_id=thread_id,
        graph_id="g",
        assistant_id=None,
        graph=graph,
        payload={"input": {"steps": []}},
        temporary=True,
    )
    outcome, _ = await execute(spec)
    assert outcome.final == {"steps": ["a"]}
    snapshot = await graph.aget_state({"configurable": {"thread_id": thread_id}})
    assert snapshot.created_at is None  # the temporary thread was deleted
