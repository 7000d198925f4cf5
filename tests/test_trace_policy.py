"""``add_node(trace_policy=TracePolicy(...))``: what LangChain tracers record of a node.

The tracers among the run's ``callbacks`` record the node's input and output as the
policy's processors return them; every other handler, the state and the streams get the
real values. Processors fail open (a raising one is logged, the real value recorded). A
real ``BaseTracer`` subclass and a plain ``BaseCallbackHandler`` stand in for LangSmith and
for a user's handler; sync and async nodes, on asyncio and trio.
"""

from __future__ import annotations

import logging
from typing import Any, TypedDict
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run

from scopegraph.graph import END, START, StateGraph
from scopegraph.types import TracePolicy, omit_payload

pytestmark = pytest.mark.anyio


class State(TypedDict):
    value: int


class Tracer(BaseTracer):
    """A tracer (as LangSmith's is): the runs it finished, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.ended: dict[str, Run] = {}

    def _persist_run(self, run: Run) -> None:
        pass

    def _on_chain_end(self, run: Run) -> None:
        self.ended[run.name] = run

    def _on_chain_error(self, run: Run) -> None:
        self.ended[run.name] = run


class Handler(BaseCallbackHandler):
    """A user's handler (not a tracer): the node payloads it was given, in order."""

    def __init__(self) -> None:
        self.node_runs: set[UUID] = set()
        self.payloads: list[tuple[str, Any]] = []

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
        if kw.get("name") == "n":
            self.node_runs.add(run_id)
            self.payloads.append(("start", inputs))

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        if run_id in self.node_runs:
            self.payloads.append(("end", outputs))


def _graph(policy: TracePolicy | None, *, is_async: bool = False, fail: bool = False) -> Any:
    def incr(state: State) -> State:
        if fail:
            raise RuntimeError("node failed")
        return {"value": state["value"] + 1}

    async def aincr(state: State) -> State:
        return incr(state)

    return (
        StateGraph(State)
        .add_node("n", aincr if is_async else incr, trace_policy=policy)
        .add_edge(START, "n")
        .add_edge("n", END)
        .compile()
    )


@pytest.mark.parametrize("is_async", [False, True], ids=["sync-node", "async-node"])
async def test_tracers_record_processed_payloads_others_the_real_ones(
    anyio_backend: str, is_async: bool
) -> None:
    seen: list[Any] = []

    def process_inputs(value: Any) -> Any:
        seen.append(("in", value))
        return {"recorded": "inputs"}

    def process_outputs(value: Any) -> Any:
        seen.append(("out", value))
        return {"recorded": "outputs"}

    policy = TracePolicy(process_inputs=process_inputs, process_outputs=process_outputs)
    tracer, handler = Tracer(), Handler()
    graph = _graph(policy, is_async=is_async)

    result = await graph.ainvoke({"value": 1}, {"callbacks": [handler, tracer]})

    assert result == {"value": 2}  # the run itself is unaffected
    node = tracer.ended["n"]
    assert (node.inputs, node.outputs) == ({"recorded": "inputs"}, {"recorded": "outputs"})
    assert handler.payloads == [("start", {"value": 1}), ("end", {"value": 2})]
    assert seen == [("in", {"value": 1}), ("out", {"value": 2})]  # the real values
    # the graph's own run is not the node's: recorded as it is
    graph_run = tracer.ended["LangGraph"]
    assert (graph_run.inputs, graph_run.outputs) == ({"value": 1}, {"value": 2})
    assert node.parent_run_id == graph_run.id


async def test_one_processor_leaves_the_other_payload_real(anyio_backend: str) -> None:
    tracer = Tracer()
    graph = _graph(TracePolicy(process_outputs=omit_payload))
    assert await graph.ainvoke({"value": 5}, {"callbacks": [tracer]}) == {"value": 6}
    node = tracer.ended["n"]
    assert (node.inputs, node.outputs) == ({"value": 5}, {})


async def test_without_policy_tracers_record_real_payloads(anyio_backend: str) -> None:
    tracer = Tracer()
    assert await _graph(None).ainvoke({"value": 1}, {"callbacks": [tracer]}) == {"value": 2}
    node = tracer.ended["n"]
    assert (node.inputs, node.outputs) == ({"value": 1}, {"value": 2})


@pytest.mark.parametrize("with_callbacks", [False, True])
async def test_raising_processor_is_logged_and_the_real_value_recorded(
    anyio_backend: str, with_callbacks: bool, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(_value: Any) -> Any:
        raise RuntimeError("processor failed")

    tracer = Tracer()
    graph = _graph(TracePolicy(process_inputs=boom, process_outputs=boom))
    config: Any = {"callbacks": [tracer]} if with_callbacks else {}
    with caplog.at_level(logging.ERROR, logger="scopegraph"):
        assert await graph.ainvoke({"value": 1}, config) == {"value": 2}

    failures = [r for r in caplog.records if "TracePolicy processor raised" in r.getMessage()]
    assert len(failures) == 2  # the input's and the output's, each fail-open
    assert all(r.exc_info and "processor failed" in str(r.exc_info[1]) for r in failures)
    if with_callbacks:
        node = tracer.ended["n"]
        assert (node.inputs, node.outputs) == ({"value": 1}, {"value": 2})


async def test_failing_node_ends_its_traced_run_with_the_error(anyio_backend: str) -> None:
    outputs: list[Any] = []
    policy = TracePolicy(
        process_inputs=lambda _: {"recorded": "inputs"},
        process_outputs=lambda value: outputs.append(value),
    )
    tracer = Tracer()
    with pytest.raises(RuntimeError, match="node failed"):
        await _graph(policy, fail=True).ainvoke({"value": 1}, {"callbacks": [tracer]})
    node = tracer.ended["n"]
    assert node.inputs == {"recorded": "inputs"}
    assert node.error is not None
    assert "node failed" in node.error
    assert outputs == []  # no output to process


def test_sync_invoke_and_stream() -> None:
    policy = TracePolicy(process_inputs=omit_payload, process_outputs=omit_payload)
    tracer = Tracer()
    graph = _graph(policy)
    chunks = list(graph.stream({"value": 1}, {"callbacks": [tracer]}, stream_mode="updates"))
    assert chunks == [{"n": {"value": 2}}]  # the stream gets the real update
    node = tracer.ended["n"]
    assert (node.inputs, node.outputs) == ({}, {})


def test_trace_policy_must_be_a_trace_policy() -> None:
    with pytest.raises(TypeError, match=r"trace_policy=.*takes a TracePolicy, got dict"):
        StateGraph(State).add_node("n", lambda s: s, trace_policy={"process_inputs": None})  # type: ignore[arg-type]
