"""Run-scoped context, as LangGraph's ``langgraph.runtime``.

``StateGraph(State, context_schema=Context)`` declares it; ``graph.ainvoke(input,
context=Context(...))`` passes it (a dict is turned into the ``context_schema`` when that
is a dataclass or a pydantic model); a node that takes a ``runtime`` parameter gets a
:class:`Runtime` whose ``context`` is it, and ``get_runtime()`` returns the same.
"""

from __future__ import annotations

from typing import Any

from ._context import current_node
from ._runtime import DEFAULT_RUNTIME as DEFAULT_RUNTIME
from ._runtime import ExecutionInfo as ExecutionInfo
from ._runtime import RunControl as RunControl
from ._runtime import Runtime as Runtime
from ._runtime import ServerInfo as ServerInfo

__all__ = (
    "DEFAULT_RUNTIME",
    "ExecutionInfo",
    "RunControl",
    "Runtime",
    "ServerInfo",
    "get_runtime",
)


def get_runtime(context_schema: Any = None) -> Runtime[Any]:
    """The :class:`Runtime` of the node that is running now."""
    return current_node(what="get_runtime()").runtime
