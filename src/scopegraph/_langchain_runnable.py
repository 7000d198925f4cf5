"""A compiled graph in a LangChain chain: ``graph | runnable`` and ``runnable | graph``
(an integration, loaded only when ``langchain_core`` is installed).

LangGraph's compiled graph is a LangChain ``Runnable``, so programs compose it with
``|``. scopegraph's is not (the core never imports LangChain): its ``__or__`` /
``__ror__`` wrap it in :class:`GraphRunnable`, a ``Runnable`` whose ``invoke``,
``stream`` and their async forms are the graph's (a chain's ``stream`` yields the graph's
chunks, as LangGraph's does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.runnables import Runnable, RunnableConfig

__all__ = ("GraphRunnable",)


class GraphRunnable(Runnable[Any, Any]):
    """A compiled graph as a LangChain ``Runnable`` (see the module docstring)."""

    def __init__(self, graph: Any) -> None:
        self.graph = graph
        self.name = graph.name

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return self.graph.invoke(input, config, **kwargs)

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Any:
        return await self.graph.ainvoke(input, config, **kwargs)

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[Any]:
        yield from self.graph.stream(input, config, **kwargs)

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Any]:
        async for chunk in self.graph.astream(input, config, **kwargs):
            yield chunk
