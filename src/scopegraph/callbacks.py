"""LangGraph's ``langgraph.callbacks``: graph lifecycle callbacks (interrupt, resume).

Subclass :class:`GraphCallbackHandler` and pass an instance in ``config["callbacks"]``
(alone, in a list with other LangChain handlers, or in a LangChain callback manager):
when a root run stops at interrupts its ``on_interrupt`` gets a
:class:`GraphInterruptEvent`, and when a run resumes from a checkpoint (``None`` or a
``Command`` as its input) its ``on_resume`` gets a :class:`GraphResumeEvent`, before the
first node runs. Only handlers of this class get these events; the methods may be
``async def``. A handler that raises is logged and the run goes on, unless the handler
has ``raise_error = True`` (LangChain's flag): then the run raises its error (the
checkpoint is stored first). Needs langchain_core (``pip install 'scopegraph[langchain]'``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, TypeAlias
from uuid import UUID

try:
    from langchain_core.callbacks import BaseCallbackHandler
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "graph lifecycle callbacks need langchain_core: pip install 'scopegraph[langchain]'"
    ) from exc

from ._types import Interrupt

__all__ = (
    "GraphCallbackHandler",
    "GraphInterruptEvent",
    "GraphLifecycleEvent",
    "GraphLifecycleStatus",
    "GraphResumeEvent",
)

GraphLifecycleStatus: TypeAlias = Literal[
    "input", "pending", "done", "interrupt_before", "interrupt_after", "out_of_steps"
]
"""The run's status when a lifecycle event was taken (LangGraph's values): ``"pending"``
for a resume and for ``interrupt()`` calls, ``"interrupt_before"`` /
``"interrupt_after"`` for static interrupts."""


@dataclasses.dataclass(frozen=True)
class GraphInterruptEvent:
    """A root run stopped at interrupts."""

    run_id: UUID | None
    """The run's id (its LangChain chain run's)."""
    status: GraphLifecycleStatus
    """``"pending"`` (``interrupt()`` in a node), ``"interrupt_before"`` or
    ``"interrupt_after"`` (static interrupts)."""
    checkpoint_id: str
    """The checkpoint the run stopped at (empty without a checkpointer)."""
    checkpoint_ns: tuple[str, ...]
    """The graph's namespace path: ``()`` for a root run."""
    interrupts: tuple[Interrupt, ...]
    """What the nodes asked (empty for a static interrupt)."""


@dataclasses.dataclass(frozen=True)
class GraphResumeEvent:
    """A run resumed from a stored checkpoint."""

    run_id: UUID | None
    """The run's id (its LangChain chain run's)."""
    status: GraphLifecycleStatus
    """``"pending"``: the run is about to run its next step."""
    checkpoint_id: str
    """The checkpoint the run resumed from."""
    checkpoint_ns: tuple[str, ...]
    """The graph's namespace path: ``()`` for a root run."""


GraphLifecycleEvent: TypeAlias = GraphInterruptEvent | GraphResumeEvent
"""Either lifecycle event."""


class GraphCallbackHandler(BaseCallbackHandler):
    """Base class of the handlers that observe a graph's lifecycle (see the module)."""

    def on_interrupt(self, event: GraphInterruptEvent) -> Any:
        """The run stopped at one or more interrupts."""

    def on_resume(self, event: GraphResumeEvent) -> Any:
        """The run resumed from a stored checkpoint."""
