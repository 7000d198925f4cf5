"""The Functional API's stream modes: ``values``, ``updates``, ``tasks``, ``checkpoints``
and ``debug`` of an entrypoint whose task stops at an ``interrupt()``, then resumed
(LangGraph docs: "Functional API > Streaming")."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint, task
from langgraph.types import Command, interrupt

FEATURE = "Functional API: every stream mode, an interrupt inside a task, the resume"

MODES: Any = ["values", "updates", "tasks", "checkpoints", "debug"]


async def main() -> Any:
    @task
    async def prepare(topic: str) -> str:
        return f"draft about {topic}"

    @task
    async def ask(draft: str) -> str:
        return str(interrupt({"review": draft}))

    @entrypoint(checkpointer=InMemorySaver())
    async def workflow(topic: str) -> dict[str, str]:
        draft = await prepare(topic)
        verdict = await ask(draft)
        return {"draft": draft, "verdict": verdict}

    config: Any = {"configurable": {"thread_id": "1"}}
    first = [c async for c in workflow.astream("otters", config, stream_mode=MODES)]
    second = [c async for c in workflow.astream(Command(resume="ok"), config, stream_mode=MODES)]
    return {"first": first, "second": second}
