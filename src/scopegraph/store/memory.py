"""``InMemoryStore``, where LangGraph has it: ``langgraph.store.memory``."""

from __future__ import annotations

from ._memory import InMemoryStore as InMemoryStore

__all__ = ("InMemoryStore",)
