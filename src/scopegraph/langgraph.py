"""Graphs built with LangGraph: ``adopt(graph)`` runs them on scopegraph's engine;
``bridge(compiled_graph)`` keeps them on LangGraph's, with scopegraph's cancellation.

``adopt`` (:mod:`scopegraph._adopt`) rebuilds a LangGraph ``StateGraph`` (or a compiled
one, such as ``create_agent``'s) as a scopegraph graph and raises :class:`AdoptionError`
for what it cannot rebuild; the rest of this docstring is about the bridge, the fallback.

For teams that cannot migrate yet. The bridged graph's ``astream``, ``astream_events``
and ``ainvoke`` run LangGraph in a task of their own, outside the caller's cancel scopes,
and cancel it exactly once. That is the whole trick: LangGraph loses a node's shielded
cleanup because anyio re-delivers the caller's cancellation on every loop iteration, and
asyncio forwards each delivery into the node's task (see "Bridging LangGraph graphs" in
docs/migrating.md for the full account). With the bridge, on real LangGraph:

- a node's shielded cleanup completes when the consumer is cancelled or stops early;
- the cleanup has finished before the consumer sees its cancellation (or the end of the
  stream);
- no asyncio task started by the run is left alive: every task the run created is
  tracked (through the loop's task factory and a context variable), cancelled once if it
  outlived LangGraph's own unwinding, and awaited.

What does not hold for bridged graphs (each is tested in tests/test_langgraph_bridge.py):

- trio: LangGraph runs on asyncio only; the bridge raises a clear error on trio.
- sync nodes: LangGraph runs them in executor threads, which nothing can cancel. The
  bridged call returns while such a node may still be running.
- a timeout or error raised by LangGraph itself is LangGraph's: the bridge passes it on.

Needs LangGraph: ``pip install 'scopegraph[langgraph]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import anyio

from ._backend import running_on_asyncio

try:
    from langgraph.pregel import Pregel
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "scopegraph.langgraph needs LangGraph: pip install 'scopegraph[langgraph]'"
    ) from exc

from ._adopt import adopt as adopt
from ._errors import AdoptionError as AdoptionError

__all__ = ("AdoptionError", "BridgedGraph", "adopt", "bridge")

_run_tasks: contextvars.ContextVar[set[asyncio.Task[Any]] | None] = contextvars.ContextVar(
    "scopegraph_bridge_tasks", default=None
)
_loops_with_factory: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def _track_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Install (once per loop) a task factory that records each task created inside a
    bridged run in that run's set. It wraps any factory already installed."""
    if loop in _loops_with_factory:
        return
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        tracked = _run_tasks.get()
        if tracked is not None:
            tracked.add(task)  # type: ignore[arg-type]
        return task  # type: ignore[return-value]

    loop.set_task_factory(factory)
    _loops_with_factory.add(loop)


def _require_asyncio() -> asyncio.AbstractEventLoop:
    if not running_on_asyncio():
        raise RuntimeError(
            "a bridged LangGraph graph runs on asyncio only (LangGraph does not support "
            "trio); run it under asyncio, or migrate the graph to scopegraph's StateGraph"
        )
    return asyncio.get_running_loop()


class _DetachedRun:
    """One LangGraph call running in a task that the caller's cancel scopes do not reach."""

    def __init__(self, start: Callable[[], Any], *, stream: bool) -> None:
        self.loop = _require_asyncio()
        _track_tasks(self.loop)
        self.send, self.receive = anyio.create_memory_object_stream[Any](16 if stream else 0)
        self.stream = stream
        self.done = asyncio.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        context = contextvars.copy_context()
        context.run(_run_tasks.set, self.tasks)
        self.task = self.loop.create_task(self._host(start), context=context)
        self.tasks.discard(self.task)

    async def _host(self, start: Callable[[], Any]) -> None:
        try:
            async with self.send:
                if self.stream:
                    async for item in start():
                        await self.send.send(item)
                else:
                    self.result = await start()
        except BaseException as exc:  # forwarded to the caller, never left in the task
            self.error = exc
        finally:
            self.done.set()

    async def close(self) -> None:
        """Cancel the run once if it is still going; wait until it and every task it
        started have ended. Shielded: the caller may itself be cancelled."""
        with anyio.CancelScope(shield=True):
            if not self.task.done():
                self.task.cancel()
            await self.done.wait()
            while True:
                left = [t for t in self.tasks if not t.done()]
                if not left:
                    break
                for task in left:
                    task.cancel()
                await asyncio.wait(left)
            self.receive.close()

    def raise_error(self) -> None:
        error = self.error
        if error is not None and not isinstance(error, asyncio.CancelledError):
            raise error


class BridgedGraph:
    """A LangGraph compiled graph with scopegraph's cancellation guarantees where
    LangGraph allows them; other attributes are the graph's own."""

    bridged = True

    def __init__(self, graph: Pregel[Any, Any, Any, Any]) -> None:
        if not isinstance(graph, Pregel):
            raise TypeError(
                f"bridge() takes a compiled LangGraph graph (StateGraph(...).compile()), "
                f"not {type(graph).__name__}"
            )
        self.graph = graph

    def __repr__(self) -> str:
        return f"<BridgedGraph {self.graph.get_name()!r}>"

    def __getattr__(self, name: str) -> Any:
        return getattr(self.graph, name)

    @property
    def name(self) -> str:
        return str(self.graph.get_name())

    def _call(self, method: str, input: Any, config: Any, **kwargs: Any) -> Callable[[], Any]:
        """The LangGraph call every entry point makes: ``input`` in LangGraph's terms
        (scopegraph's ``Command``/``Send`` as LangGraph's: a ``Command(resume=...)`` that
        reached LangGraph unconverted was taken as new input)."""
        converted = _langgraph_input(input)
        return lambda: getattr(self.graph, method)(converted, config, **kwargs)

    async def _iterate(self, start: Callable[[], AsyncIterator[Any]]) -> AsyncGenerator[Any, None]:
        run = _DetachedRun(start, stream=True)
        try:
            async for item in run.receive:
                yield item
            await run.close()
            run.raise_error()
        finally:
            await run.close()

    def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        """LangGraph's ``invoke`` (synchronous: not detached)."""
        return self._call("invoke", input, config, **kwargs)()

    def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        """LangGraph's ``stream`` (synchronous: not detached)."""
        return self._call("stream", input, config, **kwargs)()

    def astream(self, input: Any, config: Any = None, **kwargs: Any) -> AsyncGenerator[Any, None]:
        """LangGraph's ``astream``, run detached and cancelled once (see the module)."""
        return self._iterate(self._call("astream", input, config, **kwargs))

    def astream_events(
        self, input: Any, config: Any = None, **kwargs: Any
    ) -> AsyncGenerator[Any, None]:
        """LangGraph's ``astream_events``, run detached and cancelled once."""
        kwargs.setdefault("version", "v2")
        return self._iterate(self._call("astream_events", input, config, **kwargs))

    async def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
        """LangGraph's ``ainvoke``, run detached and cancelled once."""
        run = _DetachedRun(self._call("ainvoke", input, config, **kwargs), stream=False)
        try:
            await run.done.wait()
        finally:
            await run.close()
        run.raise_error()
        return run.result

    @contextlib.asynccontextmanager
    async def open_stream(
        self,
        input: Any,
        config: Any = None,
        *,
        stream_mode: Any = None,
        subgraphs: bool = False,
        **kwargs: Any,
    ) -> AsyncIterator[AsyncIterator[Any]]:
        """``astream`` in the structured form of scopegraph's ``open_stream``."""
        start = self._call(
            "astream", input, config, stream_mode=stream_mode, subgraphs=subgraphs, **kwargs
        )
        async with _structured(start) as reader:
            yield reader

    @contextlib.asynccontextmanager
    async def open_event_stream(
        self, input: Any, config: Any = None, *, stream_mode: Any = None, **kwargs: Any
    ) -> AsyncIterator[AsyncIterator[Any]]:
        """``astream_events`` (v2) in the structured form."""
        start = self._call(
            "astream_events", input, config, version="v2", stream_mode=stream_mode, **kwargs
        )
        async with _structured(start) as reader:
            yield reader


@contextlib.asynccontextmanager
async def _structured(start: Callable[[], AsyncIterator[Any]]) -> AsyncIterator[_Reader]:
    """A detached LangGraph stream read inside this block; leaving it cancels the run
    once and waits for it (and every task it started) to end."""
    run = _DetachedRun(start, stream=True)
    try:
        yield _Reader(run)
        await run.close()
        run.raise_error()
    finally:
        await run.close()


class _Reader:
    def __init__(self, run: _DetachedRun) -> None:
        self._receive = run.receive

    def __aiter__(self) -> _Reader:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None


def _langgraph_input(value: Any) -> Any:
    """scopegraph's Command and Send become LangGraph's (the run server makes ours)."""
    from ._types import Command, Send

    if not isinstance(value, Command):
        return value
    from langgraph.types import Command as LGCommand
    from langgraph.types import Send as LGSend

    goto = value.goto
    items = goto if isinstance(goto, list | tuple) else [goto] if goto else []
    converted = [LGSend(g.node, g.arg) if isinstance(g, Send) else g for g in items]
    return LGCommand(update=value.update, resume=value.resume, goto=converted)


def bridge(graph: Pregel[Any, Any, Any, Any]) -> BridgedGraph:
    """Give a compiled LangGraph graph scopegraph's cancellation guarantees (see module)."""
    return BridgedGraph(graph)
