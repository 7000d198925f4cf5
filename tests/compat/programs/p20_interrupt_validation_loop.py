"""Several ``interrupt()`` calls in one node: the node re-runs from its start on each
resume and earlier calls return their stored answers; here it re-asks until the answer
is valid (LangGraph docs: "Interrupts > Validating human input")."""

from __future__ import annotations

from typing import Any, TypedDict

from langgraph.checkpoint.memory import MemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

FEATURE = "several interrupt() calls in one node (validation loop)"


class State(TypedDict):
    age: int


async def main() -> Any:
    runs: list[str] = []

    async def get_age(state: State) -> dict[str, Any]:
        runs.append("get_age")
        prompt = "What is your age?"
        while True:
            answer = interrupt(prompt)
            runs.append(f"answer {answer!r}")
            if isinstance(answer, int) and answer > 0:
                return {"age": answer}
            prompt = f"'{answer}' is not a valid age. What is your age?"

    builder = StateGraph(State)
    builder.add_node("get_age", get_age)
    builder.add_edge(START, "get_age")
    builder.add_edge("get_age", END)
    graph = builder.compile(checkpointer=MemorySaver())
    config: Any = {"configurable": {"thread_id": "1"}}
    outputs = [await graph.ainvoke({"age": 0}, config)]
    for answer in ("ten", -3, 42):
        outputs.append(await graph.ainvoke(Command(resume=answer), config))
    return {"outputs": outputs, "runs": runs}
