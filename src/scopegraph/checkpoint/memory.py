"""LangGraph's ``langgraph.checkpoint.memory`` names."""

from __future__ import annotations

from ._memory import InMemorySaver as InMemorySaver

MemorySaver = InMemorySaver
"""LangGraph's older name of :class:`InMemorySaver`."""

__all__ = ("InMemorySaver", "MemorySaver")
