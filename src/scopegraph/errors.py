"""LangGraph's ``langgraph.errors`` names (``from scopegraph.errors import ...``)."""

from __future__ import annotations

from ._errors import GraphDrained as GraphDrained
from ._errors import GraphInterrupt as GraphInterrupt
from ._errors import GraphRecursionError as GraphRecursionError
from ._errors import InvalidUpdateError as InvalidUpdateError
from ._errors import NodeCancelledError as NodeCancelledError
from ._errors import NodeError as NodeError
from ._errors import NodeTimeoutError as NodeTimeoutError
from ._errors import ParentCommand as ParentCommand
from ._errors import is_invalid_resume as is_invalid_resume

__all__ = (
    "GraphDrained",
    "GraphInterrupt",
    "GraphRecursionError",
    "InvalidUpdateError",
    "NodeCancelledError",
    "NodeError",
    "NodeTimeoutError",
    "ParentCommand",
    "is_invalid_resume",
)
