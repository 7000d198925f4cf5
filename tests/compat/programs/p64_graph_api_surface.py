"""The graph-level API around running a graph: ``StateGraph[...]`` as a generic,
``with_config``, ``get_graph()`` (edges, conditional edges, Mermaid), the JSON schemas,
``abatch`` with ``return_exceptions``, ``Runtime.execution_info``, ``add_node(lambda)``
(LangGraph reference: Graph API, "Visualize your graph", Runnable interface)."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

FEATURE = (
    "StateGraph[...] generic, with_config, get_graph (to_json, draw_mermaid), "
    "JSON schemas, abatch(return_exceptions=True), Runtime.execution_info"
)


class State(TypedDict, total=False):
    question: str
    log: Annotated[list[str], operator.add]


class Answer(TypedDict, total=False):
    log: list[str]


@dataclass
class Context:
    user: str


def ask(state: State, runtime: Runtime[Context]) -> State:
    if state["question"] == "boom":
        raise ValueError("no answer")
    info = runtime.execution_info
    where = f"{info.thread_id}/{info.node_attempt}" if info else "-"
    return {"log": [f"ask {runtime.context.user} {where}"]}


def route(state: State) -> Literal["polish", "__end__"]:
    return "polish" if len(state["log"]) < 2 else "__end__"


def build() -> StateGraph[State, Context, State, Answer]:
    builder = StateGraph[State, Context, State, Answer](State, Context, output_schema=Answer)
    builder.add_node("ask", ask)
    builder.add_node("polish", lambda state: {"log": ["polished"]})
    builder.add_node(lambda state: {"log": ["unnamed"]})
    builder.add_edge(START, "ask")
    builder.add_conditional_edges("ask", route)
    builder.add_edge("polish", "<lambda>")
    builder.add_edge("<lambda>", END)
    return builder


async def main() -> Any:
    graph = build().compile(checkpointer=InMemorySaver())
    bound = graph.with_config({"configurable": {"thread_id": "t1"}}, tags=["bound"])
    result = await bound.ainvoke({"question": "why"}, context=Context(user="ann"))
    batch = (
        await build()
        .compile()
        .abatch(
            [{"question": "a"}, {"question": "boom"}],
            context={"user": "bob"},
            return_exceptions=True,
        )
    )
    drawn = graph.get_graph()
    return {
        "result": result,
        "state": (await bound.aget_state({"configurable": {}})).values,
        "batch": [r if isinstance(r, dict) else type(r).__name__ for r in batch],
        "bound_config": bound.config,
        "nodes": list(drawn.nodes),
        "edges": drawn.to_json()["edges"],
        "mermaid": drawn.draw_mermaid(with_styles=False),
        "input_schema": graph.get_input_jsonschema(),
        "output_schema": graph.get_output_jsonschema(),
        "context_schema": graph.get_context_jsonschema(),
    }
