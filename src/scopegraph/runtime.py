"""Run-scoped context, as LangGraph's ``langgraph.runtime``.

``StateGraph(State, context_schema=Context)`` declares it; ``graph.ainvoke(input,
context=Context(...))`` passes it (a dict is turned into the ``context_schema`` when that
is a dataclass or a pydantic model); a node that takes a ``runtime`` parameter gets a
:class:`Runtime` whose ``context`` is it, and ``get_runtime()`` returns the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ("Runtime", "get_runtime")

ContextT = TypeVar("ContextT")


@dataclasses.dataclass(frozen=True, slots=True)
class Runtime(Generic[ContextT]):
    """What a node can reach of its run besides the state."""

    context: ContextT
    """The run's context (``ainvoke(..., context=...)``), or None."""
    store: Any = None
    """A long-term memory store: scopegraph has none yet (always None)."""
    stream_writer: Callable[[Any], None] = lambda chunk: None
    """Writes a chunk to the ``custom`` stream, as ``get_stream_writer()``."""
    previous: Any = None
    """The functional API's previous return value: not used by StateGraph (None)."""


def get_runtime(context_schema: Any = None) -> Runtime[Any]:
    """The :class:`Runtime` of the node that is running now."""
    from ._context import current_node

    return current_node(what="get_runtime()").runtime  # type: ignore[no-any-return]
