"""Reserved node names and keys shared by the builder and the runtime."""

from __future__ import annotations

from typing import Final

START: Final = "__start__"
"""The virtual node every run begins at: ``graph.add_edge(START, "first")``."""

END: Final = "__end__"
"""The virtual node a run finishes at: ``graph.add_edge("last", END)``."""

PREVIOUS: Final = "__previous__"
"""An entrypoint's saved value, which its next run on the thread reads as ``previous``."""

RETURN: Final = "__return__"
"""The key of a functional API task's result in its stored writes (LangGraph's)."""

RESERVED_NAMES: Final = frozenset({START, END})
RESERVED_CHARS: Final = ("|", ":")
"""Characters a node name may not contain: they separate namespace parts."""

DEFAULT_GRAPH_NAME: Final = "LangGraph"
"""The name the root graph carries in ``astream_events`` (LangGraph's own default)."""

DEFAULT_RECURSION_LIMIT: Final = 10007
"""LangGraph 1.x's default ``recursion_limit`` (supersteps per run)."""
