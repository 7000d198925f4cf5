"""``add_node(trace_policy=TracePolicy(...))``: a LangChain tracer records what the
processors make of a node's input and output; a plain callback handler, the result and
the streams get the real values."""

from __future__ import annotations

from typing import Any, TypedDict

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.tracers.base import BaseTracer
from langchain_core.tracers.schemas import Run
from langgraph.graph import START, StateGraph
from langgraph.types import TracePolicy, omit_payload

FEATURE = "TracePolicy: what tracers record of a node (process_inputs / process_outputs)"


class State(TypedDict):
    value: int


class Tracer(BaseTracer):
    def __init__(self) -> None:
        super().__init__()
        self.ended: list[tuple[str, Any, Any]] = []

    def _persist_run(self, run: Run) -> None:
        pass

    def _on_chain_end(self, run: Run) -> None:
        self.ended.append((run.name, run.inputs, run.outputs))


class Handler(BaseCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def on_chain_start(self, serialized: Any, inputs: Any, **kwargs: Any) -> None:
        if kwargs.get("name") in ("scrubbed", "omitted", "plain"):
            self.seen.append((kwargs["name"], inputs))


async def main() -> Any:
    def scrubbed(state: State) -> State:
        return {"value": state["value"] + 1}

    async def omitted(state: State) -> State:
        return {"value": state["value"] * 10}

    def plain(state: State) -> State:
        return {"value": state["value"] - 1}

    policy = TracePolicy(
        process_inputs=lambda value: {"in": sorted(value)},
        process_outputs=lambda value: {"out": sorted(value)},
    )
    graph = (
        StateGraph(State)
        .add_node("scrubbed", scrubbed, trace_policy=policy)
        .add_node("omitted", omitted, trace_policy=TracePolicy(process_inputs=omit_payload))
        .add_node("plain", plain)
        .add_edge(START, "scrubbed")
        .add_edge("scrubbed", "omitted")
        .add_edge("omitted", "plain")
        .compile()
    )
    tracer, handler = Tracer(), Handler()
    config: Any = {"callbacks": [handler, tracer]}
    result = await graph.ainvoke({"value": 1}, config)
    updates = [chunk async for chunk in graph.astream({"value": 1}, config)]
    nodes = [entry for entry in tracer.ended if entry[0] != "LangGraph"]
    return {"result": result, "updates": updates, "tracer": nodes, "handler": handler.seen}
