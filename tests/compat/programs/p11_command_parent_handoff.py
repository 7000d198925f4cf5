"""Multi-agent handoff: a node inside a subgraph returns
``Command(graph=Command.PARENT, goto=..., update=...)`` to continue in the parent graph
(LangGraph docs: "Navigate to a node in a parent graph")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

FEATURE = "Command(graph=Command.PARENT) handoff from a subgraph"


class State(TypedDict):
    log: Annotated[list[str], operator.add]


async def agent_step(state: State) -> Command[Any]:
    return Command(graph=Command.PARENT, goto="other_agent", update={"log": ["handoff"]})


async def other_agent(state: State) -> dict[str, Any]:
    return {"log": [f"other agent saw {state['log']}"]}


async def main() -> Any:
    sub = StateGraph(State)
    sub.add_node("agent_step", agent_step)
    sub.add_edge(START, "agent_step")
    sub.add_edge("agent_step", END)
    builder = StateGraph(State)
    builder.add_node("agent", sub.compile(), destinations=("other_agent",))
    builder.add_node("other_agent", other_agent)
    builder.add_edge(START, "agent")
    builder.add_edge("other_agent", END)
    graph = builder.compile()
    return {
        "invoke": await graph.ainvoke({"log": ["start"]}),
        "updates": [c async for c in graph.astream({"log": ["start"]})],
    }
