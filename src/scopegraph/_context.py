"""What a running node can reach without being handed it: its config, its stream writer,
custom events, and a cancellation check for sync nodes running in worker threads."""

from __future__ import annotations

import functools
import hashlib
import importlib
import threading
from collections.abc import Callable
from typing import Any

import anyio.from_thread
import anyio.lowlevel

from ._errors import INVALID_RESUME, ContextError, GraphInterrupt
from ._pregel import CONFIG_KEY_NODE, NodeContext
from ._pregel import current as _current
from ._pregel._algo import NULL_ANSWER
from ._types import Interrupt, RunnableConfig

__all__ = (
    "adispatch_custom_event",
    "check_cancelled",
    "current_node",
    "dispatch_custom_event",
    "get_config",
    "get_store",
    "get_stream_writer",
    "interrupt",
)


def current_node(config: RunnableConfig | None = None, *, what: str) -> NodeContext:
    if config is not None:
        ctx = config.get("configurable", {}).get(CONFIG_KEY_NODE)
        if ctx is not None:
            return ctx  # type: ignore[no-any-return]
    ctx = _current.get()
    if ctx is None:
        raise ContextError(
            f"{what} was called outside a running scopegraph node; call it from inside a "
            "node function (or pass the node's config=...)"
        )
    return ctx


def get_config() -> RunnableConfig:
    """The config of the node that is running now."""
    return current_node(what="get_config()").config


def get_store() -> Any:
    """The store of the running graph (``compile(store=...)``), or None without one.

    Example::

        def node(state):
            memories = get_store().search(("memories", state["user"]))
    """
    return current_node(what="get_store()").run.opts.store


def get_stream_writer() -> Callable[[Any], None]:
    """A function that writes a chunk to the run's ``custom`` stream.

    Example::

        async def node(state):
            write = get_stream_writer()
            write({"progress": 0.5})
    """
    return current_node(what="get_stream_writer()").write_custom


async def adispatch_custom_event(
    name: str, data: Any, *, config: RunnableConfig | None = None
) -> None:
    """Send a custom event to ``astream_events`` (as ``on_custom_event``).

    This is a cancellation point, and it waits while the consumer is far behind.
    """
    ctx = _current.get() or current_node(config, what="adispatch_custom_event()")
    ctx.custom_event(name, data)
    out = ctx.run.output
    if out is None:
        await anyio.lowlevel.checkpoint_if_cancelled()
    elif not out.has_credit():
        await out.wait_for_space()


def dispatch_custom_event(name: str, data: Any, *, config: RunnableConfig | None = None) -> None:
    """Synchronous ``adispatch_custom_event``, for sync nodes (which run in worker threads)."""
    ctx = current_node(config, what="dispatch_custom_event()")
    if threading.get_ident() == ctx.run.loop_thread:
        ctx.custom_event(name, data)
    else:
        anyio.from_thread.run_sync(ctx.custom_event, name, data)


def interrupt(value: Any, response_schema: Any = None) -> Any:
    """Pause the run here and ask the caller for input.

    The first time, the run stops after the current step with ``value`` in its
    ``__interrupt__`` output, and its state is saved. Resuming with
    ``graph.ainvoke(Command(resume=answer), config)`` runs the node again from its start;
    this time ``interrupt()`` returns ``answer``. Needs a checkpointer. ``response_schema``
    tells the caller what shape of answer is expected: a JSON schema (a dict), or a class
    (a pydantic model, a TypedDict, a dataclass; needs pydantic), whose JSON schema the
    ``Interrupt`` carries and which validates the answer: ``interrupt()`` then returns the
    validated value, and an answer that does not match raises pydantic's
    ``ValidationError`` (``is_invalid_resume(error)`` is true) and leaves the interrupt
    waiting for another answer.
    """
    ctx = current_node(what="interrupt()")
    # The task of the nearest run that keeps checkpoints owns the interrupt: a
    # subgraph with checkpoints resumes in its own node, not in its parent's.
    owner: NodeContext | None = None
    root = ctx
    while True:
        if owner is None and root.run.opts.persist is not None:
            owner = root
        parent = root.run.opts.parent
        if parent is None:
            break
        root = parent
    if owner is None:
        raise ContextError(
            "interrupt() needs a checkpointer to save the run while it waits: compile the "
            "graph with checkpointer=InMemorySaver() (or SqliteSaver/PostgresSaver) and "
            'pass config={"configurable": {"thread_id": ...}}'
        )
    task = owner.task
    index = task.interrupt_index
    task.interrupt_index += 1
    adapter: Any = None
    if response_schema is not None and not isinstance(response_schema, dict):
        adapter = _type_adapter(response_schema)
    if index < len(task.resume) and adapter is None:
        return task.resume[index]
    interrupt_id = _interrupt_id(task.id, index)
    answers = root.run.answers
    if interrupt_id in answers:
        task.resume.append(answers.pop(interrupt_id))
    elif NULL_ANSWER in answers and index >= len(task.resume):
        task.resume.append(answers.pop(NULL_ANSWER))
    schema = response_schema if adapter is None else adapter.json_schema()
    pending = Interrupt(value=value, id=interrupt_id, response_schema=schema)
    if index < len(task.resume):
        if adapter is None:
            return task.resume[index]
        try:
            return adapter.validate_python(task.resume[index])
        except Exception as exc:
            # The interrupt keeps waiting: the run stores it again, without this answer.
            setattr(exc, INVALID_RESUME, True)
            del task.resume[index:]
            task.interrupts = [pending]
            raise
    raise GraphInterrupt((pending,))


def _interrupt_id(task_id: str, index: int) -> str:
    return hashlib.md5(f"{task_id}:{index}".encode(), usedforsecurity=False).hexdigest()


def check_cancelled() -> None:
    """Raise the backend's cancellation exception if the run of this sync node was cancelled.

    A worker thread cannot be interrupted: the run waits for a sync node to return.
    Long-running sync nodes call this now and then so that a cancelled run ends early.
    """
    ctx = _current.get()
    if ctx is not None and threading.get_ident() == ctx.run.loop_thread:
        raise ContextError(
            "check_cancelled() is for sync nodes running in worker threads; in an async "
            "node use `await anyio.lowlevel.checkpoint_if_cancelled()` instead"
        )
    anyio.from_thread.check_cancelled()


@functools.lru_cache(maxsize=256)
def _type_adapter(schema: Any) -> Any:
    """pydantic's TypeAdapter of a response_schema class (made once per class)."""
    try:
        # pydantic is an optional dependency: a class response_schema needs it.
        pydantic = importlib.import_module("pydantic")
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise ContextError(
            f"interrupt(response_schema={schema!r}) needs pydantic to validate the "
            "answer: pip install pydantic, or pass a JSON schema (a dict)"
        ) from exc
    return pydantic.TypeAdapter(schema)
