"""Foreign code inside a node: LangGraph's interrupts, and LangChain's async code.

Which task owns an interrupt and its id (:func:`interrupt_owner`, :func:`interrupt_id`)
are the same for both. Nodes built by LangGraph or LangChain (``ToolNode``,
``create_agent``'s human-in-the-loop middleware) call ``langgraph.types.interrupt``,
which reads a scratchpad from the node's config: :class:`LangGraphScratchpad` is that
scratchpad over the owning task's answers, and :func:`from_langgraph_error` turns the
``GraphInterrupt`` LangGraph then raises into scopegraph's. Nothing here imports LangGraph:
its objects are recognized by their module.

LangChain's async code (a ``Runnable``'s ``ainvoke``, ``ToolNode``'s and ``create_agent``'s
async functions, the async tools they run) calls asyncio directly; :func:`asyncio_code`
runs it from a node on either backend and cancels it the one way it survives.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import anyio
import anyio.to_thread

from .._backend import borrowed_loop, running_on_asyncio
from .._errors import ContextError, GraphInterrupt, NodeCancelledError, is_invalid_resume
from .._types import Interrupt
from ._algo import NULL_ANSWER
from ._context import NodeContext, current

__all__ = (
    "NEEDS_CHECKPOINTER",
    "LangGraphScratchpad",
    "asyncio_code",
    "from_langgraph_error",
    "interrupt_id",
    "interrupt_owner",
    "next_answer",
)

NEEDS_CHECKPOINTER = (
    "interrupt() needs a checkpointer to save the run while it waits: compile the "
    "graph with checkpointer=InMemorySaver() (or SqliteSaver/PostgresSaver) and "
    'pass config={"configurable": {"thread_id": ...}}'
)


def interrupt_owner(ctx: NodeContext) -> tuple[NodeContext | None, NodeContext]:
    """(the node whose task owns an interrupt raised in ``ctx``, the root run's node).

    The owner is the nearest node whose run keeps checkpoints (a subgraph with
    checkpoints resumes in its own node, not in its parent's); None when no run has a
    checkpointer. The root node's run holds the answers of ``Command(resume=...)``.
    """
    owner: NodeContext | None = None
    root = ctx
    while True:
        if owner is None and root.run.opts.persist is not None:
            owner = root
        parent = root.run.opts.parent
        if parent is None:
            return owner, root
        root = parent


def interrupt_id(task_id: str, index: int) -> str:
    """The id of a task's ``index``-th interrupt."""
    return hashlib.md5(f"{task_id}:{index}".encode(), usedforsecurity=False).hexdigest()


def next_answer(owner: NodeContext, root: NodeContext, index: int | None = None) -> bool:
    """Move the answer to the owner task's interrupt ``index`` (default: its next
    unanswered one), if the caller gave one, into its ``resume`` list; whether there
    was one."""
    task = owner.task
    answers = root.run.answers
    key = interrupt_id(task.id, len(task.resume) if index is None else index)
    if key in answers:
        task.resume.append(answers.pop(key))
        return True
    if NULL_ANSWER in answers:
        task.resume.append(answers.pop(NULL_ANSWER))
        return True
    return False


class LangGraphScratchpad:
    """What ``langgraph.types.interrupt`` reads from ``config["configurable"]
    ["__pregel_scratchpad"]``: the owning task's interrupt counter and answers."""

    __slots__ = ("_ctx", "answered")

    def __init__(self, ctx: NodeContext) -> None:
        self._ctx = ctx
        self.answered: tuple[NodeContext, str] | None = None
        """(owner, interrupt id) of the last answer handed to LangGraph's interrupt()."""

    def _owner(self) -> tuple[NodeContext, NodeContext]:
        owner, root = interrupt_owner(self._ctx)
        if owner is None:
            raise ContextError(NEEDS_CHECKPOINTER)
        return owner, root

    def interrupt_counter(self) -> int:
        task = self._owner()[0].task
        index = task.interrupt_index
        task.interrupt_index += 1
        return index

    @property
    def resume(self) -> list[Any]:
        return self._owner()[0].task.resume

    def get_null_resume(self, consume: bool = False) -> Any:
        """The answer to the next unanswered interrupt, moved out of the run's answers
        (LangGraph then appends it to :attr:`resume` itself); None if there is none."""
        owner, root = self._owner()
        task = owner.task
        index = len(task.resume)
        if not next_answer(owner, root):
            return None
        self.answered = (owner, interrupt_id(task.id, index))
        return task.resume.pop()


def from_langgraph_error(exc: Exception, ctx: NodeContext) -> Exception | None:
    """scopegraph's ``GraphInterrupt`` for LangGraph's (raised by ``langgraph.types
    .interrupt`` in a node, a tool or a middleware); None for any other error.

    An answer that LangGraph's ``interrupt(response_schema=...)`` rejected leaves its
    interrupt waiting, as scopegraph's own does (the error is raised as it is)."""
    if is_invalid_resume(exc):
        _keep_waiting(ctx)
        return None
    cls = type(exc)
    if cls.__name__ != "GraphInterrupt" or not cls.__module__.startswith("langgraph."):
        return None
    owner, _ = interrupt_owner(ctx)
    if owner is None:
        return ContextError(NEEDS_CHECKPOINTER)
    index = len(owner.task.resume)
    found = exc.args[0] if exc.args else ()
    interrupts = tuple(
        Interrupt(
            value=getattr(item, "value", None),
            id=interrupt_id(owner.task.id, index + i),
            response_schema=getattr(item, "response_schema", None),
        )
        for i, item in enumerate(found)
    )
    return GraphInterrupt(interrupts)


def _keep_waiting(ctx: NodeContext) -> None:
    config = ctx._config
    pad = None if config is None else dict.get(config["configurable"], "__pregel_scratchpad")
    if not isinstance(pad, LangGraphScratchpad) or pad.answered is None:
        return
    owner, answered = pad.answered
    task = owner.task
    task.interrupts = [i for i in task.answered if i.id == answered] or task.interrupts


# -- LangChain's async code ------------------------------------------------------------------


async def asyncio_code(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Await ``make()``, code that calls asyncio directly, from a node, in its context.

    On asyncio it runs in a task of its own that a cancellation of the node cancels
    exactly once; the node then waits, shielded, until that task has ended. Why: LangChain
    gathers asyncio tasks of its own (``ToolNode`` runs each tool call in one); anyio
    re-delivers a cancellation to the node's task on every loop iteration while it waits,
    and asyncio forwards each delivery into the gathered tasks, which kills a tool's
    shielded cleanup (docs/guarantees.md).

    On trio, where that code cannot run, it runs on an asyncio event loop in a worker
    thread, cancelled the same way: what LangGraph's ``ainvoke`` runs (async tools, a
    middleware's async hooks) runs, and a cancelled async tool's shielded cleanup
    completes before the node returns.
    """
    if running_on_asyncio():
        return await _cancelled_once(make())
    return await _on_asyncio_in_a_thread(make)


async def _cancelled_once(coro: Coroutine[Any, Any, Any]) -> Any:
    task = asyncio.get_running_loop().create_task(coro, context=contextvars.copy_context())
    done = anyio.Event()
    task.add_done_callback(lambda _: done.set())
    try:
        await done.wait()
    except BaseException:
        with anyio.CancelScope(shield=True):
            task.cancel()
            await done.wait()
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller sees
        raise
    return task.result()


class _AsyncioThread:
    """An asyncio event loop in a worker thread, running one coroutine; :meth:`cancel`
    (from any thread) cancels it once, even before it started."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None
        self.cancelled = False

    def run(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        async def main() -> Any:
            with self.lock:
                self.loop = asyncio.get_running_loop()
                self.task = asyncio.current_task()
                if self.cancelled:
                    self.task.cancel()  # type: ignore[union-attr]
            try:
                return await make()
            finally:
                with self.lock:
                    self.loop = None

        with borrowed_loop():
            return asyncio.run(main())

    def cancel(self) -> None:
        with self.lock:
            self.cancelled = True
            if self.loop is not None and self.task is not None:
                self.loop.call_soon_threadsafe(self.task.cancel)


async def _on_asyncio_in_a_thread(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    worker = _AsyncioThread()
    outcome: dict[str, Any] = {}
    done = anyio.Event()

    async def host() -> None:
        try:
            outcome["value"] = await anyio.to_thread.run_sync(worker.run, make)
        except (Exception, asyncio.CancelledError) as exc:
            outcome["error"] = exc
        finally:
            done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(host)
        try:
            await done.wait()
        except anyio.get_cancelled_exc_class():
            worker.cancel()
            with anyio.CancelScope(shield=True):
                await done.wait()
            raise
    error = outcome.get("error")
    if isinstance(error, asyncio.CancelledError):  # the node's code cancelled itself
        ctx = current.get()
        raise NodeCancelledError(ctx.task.name if ctx is not None else "?") from error
    if error is not None:
        raise error
    return outcome["value"]
