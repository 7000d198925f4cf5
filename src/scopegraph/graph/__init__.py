"""LangGraph's ``langgraph.graph`` names, so that ``from langgraph.graph import ...``
becomes ``from scopegraph.graph import ...``. ``MessagesState`` and ``add_messages`` need
langchain_core (``pip install 'scopegraph[langchain]'``) and load it on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._compiled import CompiledStateGraph as CompiledStateGraph
from .._constants import END as END
from .._constants import START as START
from .._graph import StateGraph as StateGraph

if TYPE_CHECKING:
    from .message import MessagesState as MessagesState
    from .message import add_messages as add_messages

__all__ = ("END", "START", "CompiledStateGraph", "MessagesState", "StateGraph", "add_messages")


def __getattr__(name: str) -> Any:
    if name in ("MessagesState", "add_messages"):
        from . import message

        return getattr(message, name)
    raise AttributeError(f"module 'scopegraph.graph' has no attribute {name!r}")
