"""The Functional API: ``@entrypoint`` with ``@task`` futures run in parallel, streamed
as ``updates`` chunks, an ``interrupt()`` resumed with ``Command(resume=...)`` without
calling the finished tasks again (LangGraph docs: "Functional API")."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task
from langgraph.types import Command, interrupt

FEATURE = "Functional API: tasks, interrupt and resume without repeating finished tasks"


async def main() -> Any:
    calls: list[int] = []

    @task
    async def square(x: int) -> int:
        calls.append(x)
        return x * x

    @task
    def label(total: int) -> str:
        return f"total={total}"

    @entrypoint(checkpointer=InMemorySaver())
    async def workflow(numbers: list[int]) -> dict[str, Any]:
        squares = [await f for f in [square(n) for n in numbers]]
        approved = interrupt({"squares": squares})
        return {"label": await label(sum(squares)), "approved": approved}

    config: Any = {"configurable": {"thread_id": "1"}}
    chunks = [c async for c in workflow.astream([1, 2, 3], config)]
    state = await workflow.aget_state(config)
    resumed = await workflow.ainvoke(Command(resume=True), config)
    history = [
        (dict(s.metadata or {}).get("source"), dict(s.metadata or {}).get("step"), s.next)
        async for s in workflow.aget_state_history(config)
    ]
    return {
        "chunks": sorted(str(c) for c in chunks if "__interrupt__" not in c),
        "interrupt": [i.value for c in chunks for i in c.get("__interrupt__", ())],
        "paused_next": state.next,
        "resumed": resumed,
        "calls": sorted(calls),
        "history": history,
    }
