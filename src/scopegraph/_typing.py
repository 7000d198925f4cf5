"""The type variables of the generic graph classes, as LangGraph's ``langgraph.typing``.

``StateGraph[State, Context, Input, Output]`` and ``CompiledStateGraph[...]`` take them;
``Context`` defaults to None and ``Input``/``Output`` to the state, so that
``StateGraph[State]`` works in annotations and at runtime as in LangGraph.
"""

from __future__ import annotations

import sys
from typing import Any

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:  # TypeVar defaults (PEP 696); anyio requires typing_extensions before 3.15
    from typing_extensions import TypeVar

__all__ = ("ContextT", "InputT", "OutputT", "StateT")

StateT = TypeVar("StateT", default=Any)
"""The graph's state schema."""
ContextT = TypeVar("ContextT", default=None)
"""The run context's schema (``context_schema``)."""
InputT = TypeVar("InputT", default=StateT)
"""The run input's schema (``input_schema``); the state schema by default."""
OutputT = TypeVar("OutputT", default=StateT)
"""The run output's schema (``output_schema``); the state schema by default."""
