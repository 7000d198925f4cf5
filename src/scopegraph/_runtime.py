"""The :class:`Runtime` value a node receives (LangGraph's ``langgraph.runtime.Runtime``).

Data only: the public module :mod:`scopegraph.runtime` re-exports it with ``get_runtime()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ("Runtime",)

ContextT = TypeVar("ContextT")


def _no_writer(chunk: Any) -> None:
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class Runtime(Generic[ContextT]):
    """What a node can reach of its run besides the state."""

    context: ContextT
    """The run's context (``ainvoke(..., context=...)``), or None."""
    store: Any = None
    """A long-term memory store: scopegraph has none yet (always None)."""
    stream_writer: Callable[[Any], None] = _no_writer
    """Writes a chunk to the ``custom`` stream, as ``get_stream_writer()``."""
    previous: Any = None
    """The functional API's previous return value: not used by StateGraph (None)."""
