"""LangGraph's ``langgraph.func`` names: ``from scopegraph.func import entrypoint, task``."""

from __future__ import annotations

from ._func import TaskFuture as TaskFuture
from ._func import entrypoint as entrypoint
from ._func import task as task

__all__ = ("TaskFuture", "entrypoint", "task")
