"""Graph lifecycle callbacks (``langgraph.callbacks``): a ``GraphCallbackHandler`` in the
run's callbacks hears when the run stops at an interrupt and when it resumes."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.callbacks import GraphCallbackHandler
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "GraphCallbackHandler: on_interrupt / on_resume events (a subgraph's resume too)"


class State(TypedDict):
    answer: str | None
    log: list[str]


class Recorder(GraphCallbackHandler):
    def __init__(self, log: list[Any]) -> None:
        self.log = log

    def on_interrupt(self, event: Any) -> None:
        self.log.append(
            ("interrupt", event.status, event.checkpoint_ns, [i.value for i in event.interrupts])
        )

    def on_resume(self, event: Any) -> None:
        self.log.append(("resume", event.status, event.checkpoint_ns))


async def main() -> Any:
    log: list[Any] = []

    def ask(state: State) -> dict[str, Any]:
        log.append("ask")
        return {"answer": interrupt("value?")}

    def done(state: State) -> dict[str, Any]:
        return {"log": ["done"]}

    graph = (
        StateGraph(State)
        .add_node("ask", ask)
        .add_node("done", done)
        .add_edge(START, "ask")
        .add_edge("ask", "done")
        .compile(checkpointer=InMemorySaver(), interrupt_before=["done"])
    )
    config: Any = {"configurable": {"thread_id": "t"}, "callbacks": [Recorder(log)]}
    first = await graph.ainvoke({"answer": None, "log": []}, config)
    second = await graph.ainvoke(Command(resume="yes"), config)
    third = await graph.ainvoke(None, config)

    # an interrupt inside a subgraph: the subgraph reports its resume too
    sub = StateGraph(State).add_node("ask", ask).add_edge(START, "ask").compile()
    parent = (
        StateGraph(State)
        .add_node("sub", sub)
        .add_edge(START, "sub")
        .compile(checkpointer=InMemorySaver())
    )
    sub_log_start = len(log)
    config = {"configurable": {"thread_id": "s"}, "callbacks": [Recorder(log)]}
    await parent.ainvoke({"answer": None, "log": []}, config)
    nested = await parent.ainvoke(Command(resume="sub-yes"), config)
    sub_events = [
        (e[0], e[1], [part.split(":")[0] for part in e[2]], *e[3:])
        for e in log[sub_log_start:]
        if isinstance(e, tuple)
    ]
    return {"runs": [first, second, third, nested], "log": log[:sub_log_start], "sub": sub_events}
