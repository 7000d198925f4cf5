"""The Functional API's short-term memory: ``previous`` and ``entrypoint.final``, and
``update_state`` on an entrypoint (LangGraph docs: "Functional API > Short-term memory")."""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.func import entrypoint

FEATURE = "Functional API: previous, entrypoint.final, update_state"


async def main() -> Any:
    @entrypoint(checkpointer=InMemorySaver())
    async def counter(n: int, *, previous: Any = None) -> entrypoint.final[int, int]:
        total = (previous or 0) + n
        return entrypoint.final(value=previous or 0, save=total)

    config: Any = {"configurable": {"thread_id": "1"}}
    returned = [await counter.ainvoke(n, config) for n in (1, 2, 3)]
    values = (await counter.aget_state(config)).values
    await counter.aupdate_state(config, 100)
    after_update = await counter.ainvoke(1, config)
    chunks = [c async for c in counter.astream(5, config, stream_mode=["values", "updates"])]
    return {
        "returned": returned,
        "values": values,
        "after_update": after_update,
        "chunks": chunks,
    }
