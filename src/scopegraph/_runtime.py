"""The :class:`Runtime` value a node receives (LangGraph's ``langgraph.runtime.Runtime``),
with what it carries: :class:`ExecutionInfo` and :class:`RunControl`.

Data only: the public module :mod:`scopegraph.runtime` re-exports it with ``get_runtime()``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ("ExecutionInfo", "RunControl", "Runtime")

ContextT = TypeVar("ContextT")


def _no_writer(chunk: Any) -> None:
    return None


def _no_heartbeat() -> None:
    return None


@dataclasses.dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """Where and how often the running node executes (LangGraph's fields)."""

    checkpoint_id: str
    """The checkpoint the node's step started from ("" without a checkpointer)."""
    checkpoint_ns: str
    """The node's checkpoint namespace."""
    task_id: str
    """The node's task id."""
    thread_id: str | None = None
    """``configurable["thread_id"]``, if the run has one."""
    run_id: str | None = None
    """``config["run_id"]``, if given."""
    node_attempt: int = 1
    """This attempt's number (1 for the first; retries count up)."""
    node_first_attempt_time: float | None = None
    """When the first attempt started (Unix time, seconds)."""

    def patch(self, **overrides: Any) -> ExecutionInfo:
        """A copy with the given fields replaced."""
        return dataclasses.replace(self, **overrides)


class RunControl:
    """Asks a run to stop between two supersteps (``ainvoke(..., control=RunControl())``).

    After :meth:`request_drain`, the run finishes the step that is running (its nodes
    are not cancelled), saves its checkpoint, and raises
    :class:`~scopegraph.errors.GraphDrained` instead of starting another step; with a
    checkpointer, ``ainvoke(None, config)`` resumes it. To give up on a step that does
    not finish in time, cancel the run as any other (``anyio.move_on_after`` around
    the call): its nodes' cleanup then completes, as on every cancellation. Safe to call
    from any thread. One control per run: a drained control stays drained.
    """

    __slots__ = ("_drain_reason",)

    def __init__(self) -> None:
        self._drain_reason: str | None = None

    def request_drain(self, reason: str = "shutdown") -> None:
        """Stop the run before its next superstep."""
        self._drain_reason = reason

    @property
    def drain_requested(self) -> bool:
        return self._drain_reason is not None

    @property
    def drain_reason(self) -> str | None:
        return self._drain_reason


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
    execution_info: ExecutionInfo | None = None
    """The running node's task and attempt (None outside a node)."""
    control: RunControl | None = None
    """The run's :class:`RunControl` (``ainvoke(..., control=...)``), if any."""
    heartbeat: Callable[[], None] = _no_heartbeat
    """Tells an ``idle_timeout`` that the node is making progress."""
