"""LangGraph's ``langgraph.callbacks``: graph lifecycle callbacks (interrupt, resume).

Subclass :class:`GraphCallbackHandler` and pass an instance in ``config["callbacks"]``
(alone, in a list with other LangChain handlers, or in a LangChain callback manager):
when a root run stops at interrupts its ``on_interrupt`` gets a
:class:`GraphInterruptEvent`, and when a run resumes from a checkpoint (``None`` or a
``Command`` as its input) its ``on_resume`` gets a :class:`GraphResumeEvent`, before the
first node runs; a subgraph that resumes inside it sends one more, under its
``checkpoint_ns`` path (as LangGraph). Only handlers of this class get these events; the
methods may be ``async def``. A handler that raises is logged and the run goes on,
unless the handler has ``raise_error = True`` (LangChain's flag): then the run raises its
error (the checkpoint is stored first). Needs langchain_core (``pip install
'scopegraph[langchain]'``).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import inspect
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias
from uuid import UUID

import anyio

try:
    from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
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
    "get_async_graph_callback_manager_for_config",
    "get_sync_graph_callback_manager_for_config",
)

logger = logging.getLogger("scopegraph")

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
    """The graph's namespace path: ``()`` for a root run, ``("node:task_id", ...)`` for
    a subgraph's."""


GraphLifecycleEvent: TypeAlias = GraphInterruptEvent | GraphResumeEvent
"""Either lifecycle event."""


class GraphCallbackHandler(BaseCallbackHandler):
    """Base class of the handlers that observe a graph's lifecycle (see the module)."""

    def on_interrupt(self, event: GraphInterruptEvent) -> Any:
        """The run stopped at one or more interrupts."""

    def on_resume(self, event: GraphResumeEvent) -> Any:
        """The run resumed from a stored checkpoint."""


def graph_handlers(callbacks: Any) -> list[GraphCallbackHandler]:
    """The :class:`GraphCallbackHandler` s among a config's ``callbacks`` (a handler, a
    list of handlers, or a LangChain manager: its ``handlers``, as LangGraph reads them)."""
    if isinstance(callbacks, GraphCallbackHandler):
        return [callbacks]
    handlers = getattr(callbacks, "handlers", callbacks)
    if not isinstance(handlers, Sequence) or isinstance(handlers, str | bytes):
        return []
    return [h for h in handlers if isinstance(h, GraphCallbackHandler)]


def _failed(handler: GraphCallbackHandler, method: str, exc: Exception) -> None:
    if handler.raise_error:
        raise exc
    logger.warning("Error in %s.%s callback: %r", type(handler).__name__, method, exc)


async def adispatch(handlers: Sequence[GraphCallbackHandler], method: str, event: Any) -> None:
    """Call ``method`` of each handler with ``event``, awaiting ``async def`` ones (on
    asyncio and trio); a failure is logged, or raised by a ``raise_error`` handler."""
    for handler in handlers:
        try:
            result = getattr(handler, method)(event)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            _failed(handler, method, exc)


def dispatch(handlers: Sequence[GraphCallbackHandler], method: str, event: Any) -> None:
    """:func:`adispatch` from sync code: an ``async def`` method is run to its end in a
    fresh event loop (``anyio.run``; in a worker thread when this thread runs one), as
    LangChain runs async handlers from sync code."""
    for handler in handlers:
        try:
            result = getattr(handler, method)(event)
            if inspect.iscoroutine(result):
                _run_to_end(result)
        except Exception as exc:
            _failed(handler, method, exc)


def _run_to_end(coro: Any) -> None:
    async def wait() -> None:
        await coro

    try:
        anyio.get_current_task()
    except RuntimeError:  # no event loop in this thread
        anyio.run(wait)
        return
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(anyio.run, wait).result()


class _GraphCallbackManager(BaseCallbackManager):
    """The graph handlers of a config, and the run they are about (LangGraph's)."""

    def __init__(self, handlers: Sequence[GraphCallbackHandler], run_id: UUID | None) -> None:
        super().__init__(handlers=list(handlers), inheritable_handlers=list(handlers))
        self.run_id = run_id

    def on_interrupt(self, event: GraphInterruptEvent) -> None:
        dispatch(self.handlers, "on_interrupt", event)  # type: ignore[arg-type]

    def on_resume(self, event: GraphResumeEvent) -> None:
        dispatch(self.handlers, "on_resume", event)  # type: ignore[arg-type]


class _AsyncGraphCallbackManager(BaseCallbackManager):
    """The async twin of the sync manager: its methods await the handlers."""

    def __init__(self, handlers: Sequence[GraphCallbackHandler], run_id: UUID | None) -> None:
        super().__init__(handlers=list(handlers), inheritable_handlers=list(handlers))
        self.run_id = run_id

    @property
    def is_async(self) -> bool:
        return True

    async def on_interrupt(self, event: GraphInterruptEvent) -> None:
        await adispatch(self.handlers, "on_interrupt", event)  # type: ignore[arg-type]

    async def on_resume(self, event: GraphResumeEvent) -> None:
        await adispatch(self.handlers, "on_resume", event)  # type: ignore[arg-type]


def get_sync_graph_callback_manager_for_config(
    config: Mapping[str, Any], *, run_id: UUID | None = None
) -> _GraphCallbackManager:
    """A manager of the :class:`GraphCallbackHandler` s in ``config["callbacks"]`` whose
    ``on_interrupt(event)`` / ``on_resume(event)`` call them (LangGraph's)."""
    return _GraphCallbackManager(graph_handlers(config.get("callbacks")), run_id)


def get_async_graph_callback_manager_for_config(
    config: Mapping[str, Any], *, run_id: UUID | None = None
) -> _AsyncGraphCallbackManager:
    """The async twin of :func:`get_sync_graph_callback_manager_for_config`."""
    return _AsyncGraphCallbackManager(graph_handlers(config.get("callbacks")), run_id)
