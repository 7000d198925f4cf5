"""The :class:`Runtime` value a node receives (LangGraph's ``langgraph.runtime.Runtime``),
with :class:`ExecutionInfo`, :class:`ServerInfo` and :class:`RunControl`.

Data only: the public module :mod:`scopegraph.runtime` re-exports them with
``get_runtime()`` and ``DEFAULT_RUNTIME``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Generic

from ._typing import ContextT

__all__ = ("DEFAULT_RUNTIME", "ExecutionInfo", "RunControl", "Runtime", "ServerInfo")


def _no_writer(chunk: Any) -> None:
    return None


def _no_heartbeat() -> None:
    return None


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
class ExecutionInfo:
    """Where a node runs: its checkpoint, namespace, task, thread, run and attempt."""

    checkpoint_id: str
    """The id of the checkpoint the node's step started from."""
    checkpoint_ns: str
    """The node's checkpoint namespace (``"node:task_id"``, ``|``-joined in subgraphs)."""
    task_id: str
    """The node's task id."""
    thread_id: str | None = None
    """The run's thread id; None without a checkpointer."""
    run_id: str | None = None
    """The run id given in the config, else None."""
    node_attempt: int = 1
    """Which attempt of the node this is (1 the first; retries count up)."""
    node_first_attempt_time: float | None = None
    """When the first attempt started (Unix time, seconds)."""

    def patch(self, **overrides: Any) -> ExecutionInfo:
        """A copy with the given fields replaced."""
        return dataclasses.replace(self, **overrides)


@dataclasses.dataclass(frozen=True, slots=True)
class ServerInfo:
    """What the run server says about a run: ``assistant_id``, ``graph_id`` (from the
    config's ``configurable``) and the authenticated ``user``, if any."""

    assistant_id: str
    graph_id: str
    user: Any = None


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Runtime(Generic[ContextT]):
    """What a node can reach of its run besides the state."""

    context: ContextT = None  # type: ignore[assignment]
    """The run's context (``ainvoke(..., context=...)``), or None."""
    store: Any = None
    """The graph's store (``compile(store=...)``, see :mod:`scopegraph.store`), or None."""
    stream_writer: Callable[[Any], None] = _no_writer
    """Writes a chunk to the ``custom`` stream, as ``get_stream_writer()``."""
    heartbeat: Callable[[], None] = _no_heartbeat
    """Marks progress for an idle timeout; does nothing where none applies."""
    previous: Any = None
    """The functional API's previous return value: not used by StateGraph (None)."""
    execution_info: ExecutionInfo | None = None
    """Where the node runs (set for every node of a run)."""
    server_info: ServerInfo | None = None
    """Set when the config's ``configurable`` names ``assistant_id`` and ``graph_id``."""
    control: RunControl | None = None
    """The run's :class:`RunControl` (``ainvoke(..., control=...)``), if any."""

    def merge(self, other: Runtime[ContextT]) -> Runtime[ContextT]:
        """``other``'s values where they are set (truthy), this runtime's elsewhere."""
        return Runtime(
            context=other.context or self.context,
            store=other.store or self.store,
            stream_writer=(
                self.stream_writer if other.stream_writer is _no_writer else other.stream_writer
            ),
            heartbeat=self.heartbeat if other.heartbeat is _no_heartbeat else other.heartbeat,
            previous=self.previous if other.previous is None else other.previous,
            execution_info=other.execution_info or self.execution_info,
            server_info=other.server_info or self.server_info,
            control=other.control or self.control,
        )

    def override(self, **overrides: Any) -> Runtime[ContextT]:
        """A copy with the given fields replaced."""
        return dataclasses.replace(self, **overrides)

    def patch_execution_info(self, **overrides: Any) -> Runtime[ContextT]:
        """A copy whose ``execution_info`` has the given fields replaced."""
        if self.execution_info is None:
            raise RuntimeError("Cannot patch execution_info before it has been set")
        return dataclasses.replace(self, execution_info=self.execution_info.patch(**overrides))

    @property
    def drain_requested(self) -> bool:
        """Whether the run was asked to drain (False without a control)."""
        return bool(getattr(self.control, "drain_requested", False))

    @property
    def drain_reason(self) -> str | None:
        """Why the run was asked to drain, if it was."""
        return getattr(self.control, "drain_reason", None)


DEFAULT_RUNTIME: Runtime[Any] = Runtime()
"""A runtime with nothing set: no context, store, writer, execution info or control."""
