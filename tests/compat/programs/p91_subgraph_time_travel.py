"""Time travel inside a subgraph and ``__copy__`` forks: replay the parent from a
subgraph's checkpoint (its nodes before it do not run again, its interrupt asks again),
and fork a checkpoint as it is with ``update_state(config, None, as_node="__copy__")``
(LangGraph docs: "Use time-travel", "Subgraphs")."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "time travel to a subgraph checkpoint; update_state as_node='__copy__' forks"


class State(TypedDict):
    value: Annotated[list[str], operator.add]


async def main() -> Any:
    calls: list[str] = []

    async def step_a(state: State) -> dict[str, Any]:
        calls.append("step_a")
        return {"value": ["a"]}

    async def ask(state: State) -> dict[str, Any]:
        calls.append("ask")
        return {"value": [f"ask:{interrupt('question?')}"]}

    sub = StateGraph(State)
    sub.add_node("step_a", step_a)
    sub.add_node("ask", ask)
    sub.add_edge(START, "step_a")
    sub.add_edge("step_a", "ask")
    builder = StateGraph(State)
    builder.add_node("executor", sub.compile(checkpointer=True))
    builder.add_edge(START, "executor")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "1"}}

    await graph.ainvoke({"value": []}, config)
    sub_state: Any = (await graph.aget_state(config, subgraphs=True)).tasks[0].state
    at_interrupt = sub_state.config
    done = await graph.ainvoke(Command(resume="first"), config)
    calls.clear()
    replay = await graph.ainvoke(None, at_interrupt)
    replay_calls = list(calls)
    resumed = await graph.ainvoke(Command(resume="second"), config)

    history = [s async for s in graph.aget_state_history(config)]
    before = next(s for s in reversed(history) if s.next == ("executor",))
    fork = await graph.aupdate_state(before.config, None, as_node="__copy__")
    copied: Any = await graph.aget_state(fork)
    return {
        "done": done,
        "replay_interrupts": [i.value for i in replay["__interrupt__"]],
        "replay_calls": replay_calls,
        "resumed": resumed,
        "copy": (copied.metadata["source"], copied.next, copied.values),
        "copy_parent_is_original_parent": copied.parent_config == before.parent_config,
    }
