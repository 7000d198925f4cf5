"""Interrupts shared by scopegraph's ``interrupt()`` and LangGraph's, from inside a node.

Which task owns an interrupt and its id (:func:`interrupt_owner`, :func:`interrupt_id`)
are the same for both. Nodes built by LangGraph or LangChain (``ToolNode``,
``create_agent``'s human-in-the-loop middleware) call ``langgraph.types.interrupt``,
which reads a scratchpad from the node's config: :class:`LangGraphScratchpad` is that
scratchpad over the owning task's answers, and :func:`from_langgraph_error` turns the
``GraphInterrupt`` LangGraph then raises into scopegraph's. Nothing here imports LangGraph:
its objects are recognized by their module.
"""

from __future__ import annotations

import hashlib
from typing import Any

from .._errors import ContextError, GraphInterrupt, is_invalid_resume
from .._types import Interrupt
from ._algo import NULL_ANSWER
from ._context import NodeContext

__all__ = (
    "NEEDS_CHECKPOINTER",
    "LangGraphScratchpad",
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
