"""The state API's value types: ``StateSnapshot`` and ``PregelTask`` (LangGraph's shapes)."""

from __future__ import annotations

from typing import Any, NamedTuple

from ._types import Interrupt, RunnableConfig

__all__ = ("PregelTask", "StateSnapshot")


class PregelTask(NamedTuple):
    """A task planned for the next step of a thread, as ``get_state()`` shows it."""

    id: str
    name: str
    path: tuple[Any, ...]
    error: Exception | str | None = None
    interrupts: tuple[Interrupt, ...] = ()
    state: RunnableConfig | StateSnapshot | None = None
    result: Any | None = None


class StateSnapshot(NamedTuple):
    """The state of a thread at one checkpoint."""

    values: dict[str, Any] | Any
    """The channel values."""
    next: tuple[str, ...]
    """The nodes that run next."""
    config: RunnableConfig
    """The config that selects this checkpoint."""
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_config: RunnableConfig | None
    tasks: tuple[PregelTask, ...]
    """The tasks of the next step, with their errors, interrupts and results so far."""
    interrupts: tuple[Interrupt, ...] = ()
    """Interrupts waiting to be resumed."""
