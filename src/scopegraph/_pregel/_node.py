"""Node execution: one task from its call to its stream chunks.

:func:`run_task` calls a node with its timeout and retries (:func:`.._run.run_attempts`),
in the node's own context (:class:`._context.NodeContext`, found by ``get_config()`` and
friends), turns its result into writes and routes (:func:`._algo.collect`, then its
conditional edges), records its outcome when siblings may still run, and emits its
chunks and events. Sync nodes run in worker threads (:func:`in_worker_thread`).
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import anyio
import anyio.to_thread

from .._backend import cancellation_requested
from .._constants import START
from .._errors import (
    WAITING_INTERRUPTS,
    GraphDrained,
    GraphInterrupt,
    NodeCancelledError,
    NodeError,
    is_invalid_resume,
)
from .._ids import new_id
from .._run import Attempt, run_attempts
from .._spec import Branch, NodeSpec
from .._types import Command, Interrupt, Send
from ..checkpoint._model import SerializationError
from . import _algo, _emit, _hooks
from ._context import NodeContext, RunView, current
from ._foreign import from_langgraph_error
from ._persist import Persistence
from ._task import ParentCommand, Task

__all__ = (
    "ExecutingRun",
    "call_node",
    "call_with_policies",
    "in_worker_thread",
    "route",
    "run_task",
)


class ExecutingRun(RunView, Protocol):
    """What node execution needs of its run besides :class:`RunView` (``_loop.Run``)."""

    persistence: Persistence | None


async def run_task(run: ExecutingRun, task: Task) -> None:
    """Run one task of a step to its end: call, collect, record, emit."""
    ctx = NodeContext(run, task)
    opts = run.opts
    stream = run.stream
    events = stream.events
    if events:
        ctx.run_id = new_id()
        _emit.node_event(ctx, "on_chain_start", {"input": task.input})
    cache_key = None
    if task.node.cache_policy is not None and opts.spec.cache is not None:
        cache_key = _cache_key(task.node, task.input)
        if await _from_cache(run, task, cache_key):
            return
    token = current.set(ctx)
    hooks = _hooks.node_hooks()
    if hooks is not None:
        hooks_token, seen = hooks.enter_node(ctx, task.input)
    result: Any = None
    node = task.node
    try:
        try:
            if node.timeout is None and node.retry_policy is None:
                result = await call_node(node, task.input, ctx)  # one frame fewer: hot path
            else:
                result = await call_with_policies(node, task.input, ctx)
        except Exception as exc:
            if not _handled(task.node, exc):
                raise
            ctx = await _switch_to_error_handler(run, task, ctx, exc)
            current.set(ctx)
            result = await call_with_policies(task.node, task.input, ctx)
            task.recorded = False  # the handler's outcome replaces the failure's record
        spec = opts.spec
        _algo.collect(spec, task, result, subgraph=opts.parent is not None)
        if task.name in spec.branches:
            await route_branches(run, task, ctx)
    except GraphInterrupt as exc:
        if run.persistence is None and run.opts.parent is not None:
            raise  # the nearest run with checkpoints (or the root run) owns interrupts
        await _interrupted(run, task, exc.interrupts)
        return
    except Exception as exc:
        waiting = _waiting(task, exc) if run.persistence is not None else None
        if waiting:
            # An answer that does not match its response_schema (here, or in a subgraph
            # this node ran): the interrupt waits again; the step's other tasks finish,
            # then the run raises the error.
            task.error = exc
            await _interrupted(run, task, waiting)
            return
        if not isinstance(exc, ParentCommand):
            exc.add_note(f"During task with name '{task.name}' and id '{task.id}'")
            if "tasks" in stream.modes or "debug" in stream.modes:
                _emit.emit_task_result(run, task, exc)
        raise
    finally:
        current.reset(token)
        if hooks is not None:
            hooks.exit_node(hooks_token, result, sys.exc_info()[1])
    task.done = True
    if cache_key is not None and task.failure is None:
        await _to_cache(run, task, cache_key)
    persistence = run.persistence
    if persistence is not None and persistence.step_size > 1:
        # Siblings may still run: store this task's outcome now, so that a crash or a
        # cancellation does not make it run again. (A step's only task is stored by
        # the checkpoint that follows it.)
        with anyio.CancelScope(shield=True):
            await persistence.record(task, "done")
    modes = stream.modes
    if events:
        if not opts.spec.functional:  # (an entrypoint streams its output when it returns)
            _emit.node_event(ctx, "on_chain_stream", {"chunk": result})
        _emit.node_event(ctx, "on_chain_end", {"output": result, "input": task.input})
    if hooks is not None and seen is not None:
        hooks.emit_output_messages(ctx, task.update, seen)
    if node.task_calls:  # (its tasks' chunks follow its end, as in LangGraph)
        flush = _hooks.flush_task_chunks
        assert flush is not None
        flush(ctx)
    if "updates" in modes:
        stream.sink(stream.ns, "updates", {task.name: task.update})
    if "tasks" in modes or "debug" in modes:
        _emit.emit_task_result(run, task, None)


def _waiting(task: Task, exc: Exception) -> list[Interrupt] | None:
    """The interrupts still waiting after an answer ``exc`` rejected (this task's own, or
    those of a subgraph it ran); None if ``exc`` is no such error."""
    if not is_invalid_resume(exc):
        return None
    return task.interrupts or list(getattr(exc, WAITING_INTERRUPTS, ()))


def _cache_key(node: NodeSpec, arg: Any) -> tuple[tuple[str, ...], str]:
    assert node.cache_policy is not None
    key = node.cache_policy.key_func(arg)
    digest = hashlib.sha256(key.encode() if isinstance(key, str) else key).hexdigest()
    return node.cache_ns, digest


async def _from_cache(run: ExecutingRun, task: Task, key: tuple[tuple[str, ...], str]) -> bool:
    """The node's writes for this input, if cached: the task is done without running,
    and its update is streamed with ``"__metadata__": {"cached": True}`` (LangGraph's)."""
    found = await run.opts.spec.cache.aget([key])
    if key not in found:
        return False
    cached = found[key]
    task.writes = list(cached["writes"])
    task.update = cached["update"]
    task.next = list(cached["next"])
    task.done = True
    stream = run.stream
    if "updates" in stream.modes:
        stream.sink(
            stream.ns, "updates", {task.name: task.update, "__metadata__": {"cached": True}}
        )
    return True


async def _to_cache(run: ExecutingRun, task: Task, key: tuple[tuple[str, ...], str]) -> None:
    policy = task.node.cache_policy
    assert policy is not None
    value = {"writes": list(task.writes), "update": task.update, "next": list(task.next)}
    try:
        await run.opts.spec.cache.aset({key: (value, policy.ttl)})
    except SerializationError:
        pass  # a result the codec cannot store is not cached; the run goes on


async def call_with_policies(node: NodeSpec, arg: Any, ctx: NodeContext) -> Any:
    """Call the node with its timeout and retries, if it has any."""
    if node.timeout is None and node.retry_policy is None:
        return await call_node(node, arg, ctx)

    async def attempt(current: Attempt) -> Any:
        ctx.attempt = current
        return await call_node(node, arg, ctx)

    return await run_attempts(node.name, attempt, node.timeout, node.retry_policy)


def _handled(node: NodeSpec, exc: Exception) -> bool:
    """Whether the node's error handler takes this failure (not a pause, a routing or
    an answer to an interrupt that does not fit)."""
    return (
        node.error_handler is not None
        and not isinstance(exc, GraphInterrupt | ParentCommand | GraphDrained)
        and not is_invalid_resume(exc)
    )


async def _switch_to_error_handler(
    run: ExecutingRun, task: Task, ctx: NodeContext, exc: Exception
) -> NodeContext:
    """The node failed after its retries: the task becomes its error handler's (same
    step, same input, with ``NodeError``), as LangGraph's runner schedules it. The
    failure is streamed as the node's result and, with a checkpointer, stored first:
    a run resumed after the handler crashed runs the handler again, not the node."""
    if "tasks" in run.stream.modes or "debug" in run.stream.modes:
        _emit.emit_task_result(run, task, exc)
    if run.persistence is not None:
        with anyio.CancelScope(shield=True):
            await run.persistence.record(task, "error", exc)
    assert task.node.error_handler is not None
    handler = run.opts.spec.nodes[task.node.error_handler]
    task.hand_to_error_handler(handler, NodeError(task.name, exc))
    handler_ctx = NodeContext(run, task)
    handler_ctx.run_id = ctx.run_id
    return handler_ctx


async def _interrupted(run: ExecutingRun, task: Task, interrupts: Sequence[Interrupt]) -> None:
    """The node called ``interrupt()``: keep its interrupts and record it, shielded."""
    task.interrupted = True
    run.interrupted_tasks += 1
    task.interrupts = list(interrupts)
    modes = run.stream.modes
    if "tasks" in modes or "debug" in modes:
        _emit.emit_task_result(run, task, None)
    if run.persistence is not None:
        with anyio.CancelScope(shield=True):
            await run.persistence.record(task, "interrupted")


async def call_node(node: NodeSpec, arg: Any, ctx: NodeContext, *, hosted: bool = False) -> Any:
    """Call the node's function (or subgraph, or runnable) with what it asks for.

    A subgraph it runs (as the node, or from its function) that returned
    ``Command(graph=Command.PARENT)`` makes that command the node's result. A function
    that calls tasks is called inside their host (``hosted``: it is).
    """
    kind = node.kind
    fn = node.fn
    try:
        if kind == "async" or kind == "sync":
            if not hosted and node.task_calls is not False and node.calls_tasks():
                host = _hooks.task_host
                assert host is not None  # (a task exists: scopegraph.func was imported)
                return await host(functools.partial(call_node, node, arg, ctx, hosted=True))
            if kind == "async" and not (
                node.config_kw
                or node.config_pos
                or node.writer_kw
                or node.runtime_kw
                or node.store_kw
                or node.error_kw
            ):
                result = await fn(arg)  # the state alone: no arguments to build
                if type(result) is dict or result is None:
                    return result
                return await _invoke_returned(result, arg, ctx)
            kwargs: dict[str, Any] = {}
            if node.config_kw:
                kwargs["config"] = ctx.config
            if node.writer_kw:
                kwargs["writer"] = ctx.write_custom
            if node.runtime_kw:
                kwargs["runtime"] = ctx.runtime
            if node.store_kw:
                kwargs["store"] = ctx.run.opts.store
            if node.error_kw:
                kwargs["error"] = ctx.task.failure
            args = (arg, ctx.config) if node.config_pos else (arg,)
            if kind == "async":
                result = await fn(*args, **kwargs)
            else:
                result = await in_worker_thread(functools.partial(fn, *args, **kwargs))
            if type(result) is dict or result is None:  # (the common results: no check)
                return result
            return await _invoke_returned(result, arg, ctx)
        if kind == "graph":
            return await fn.run_as_node(arg, ctx)
        hooks = _hooks.node_hooks()
        if hooks is not None:  # a LangChain Runnable (ToolNode, create_agent's nodes)
            return await hooks.call_runnable(fn, arg, ctx)
        return await fn.ainvoke(arg, ctx.config)
    except ParentCommand as parent:
        command = parent.command
        return Command(update=command.update, goto=command.goto, resume=command.resume)
    except anyio.get_cancelled_exc_class() as exc:
        if cancellation_requested():
            raise  # a real cancellation: untouched
        raise NodeCancelledError(node.name) from exc
    except Exception as exc:
        # LangGraph's interrupt() (in a LangGraph-built node, a tool, a middleware)
        # raises LangGraph's GraphInterrupt: the run pauses on it as on its own.
        converted = from_langgraph_error(exc, ctx)
        if converted is None:
            raise
        raise converted from None


async def _invoke_returned(result: Any, arg: Any, ctx: NodeContext) -> Any:
    """A node function that returned a runnable gets it run with its own input and
    config, as LangGraph's nodes do (``RunnableCallable(recurse=True)``): a compiled
    graph runs as this node's subgraph, a LangChain ``Runnable`` is invoked."""
    if isinstance(result, Command | list | tuple | str):
        return result
    if callable(getattr(result, "run_as_node", None)):  # a compiled graph of scopegraph
        return await result.run_as_node(arg, ctx)
    hooks = _hooks.node_hooks()
    if hooks is not None and hooks.is_runnable(result):
        return await hooks.call_runnable(result, arg, ctx)
    return result


async def collect(run: RunView, task: Task, ctx: NodeContext, result: Any) -> None:
    """Turn a node's return value into writes and routing; evaluate its branches."""
    spec = run.opts.spec
    _algo.collect(spec, task, result, subgraph=run.opts.parent is not None)
    if task.name in spec.branches:
        await route_branches(run, task, ctx)


async def route_branches(run: RunView, task: Task, ctx: NodeContext) -> None:
    """Add the routes of the task's conditional edges, which see its writes applied."""
    spec = run.opts.spec
    fresh = run.values
    if task.writes:
        fresh = _algo.updated_values(fresh, spec.reducers, task.writes)
    for branch in spec.branches[task.name]:
        task.next.extend(await route(run, branch, task, ctx, fresh))


async def route(
    run: RunView, branch: Branch, task: Task, ctx: NodeContext, fresh: dict[str, Any]
) -> list[str | Send]:
    """Call a conditional edge's path function and check what it returned."""
    spec = run.opts.spec
    schema = branch.input_schema or spec.state_schema
    arg = schema.view(_algo.with_managed(spec, fresh, run.remaining))
    path = branch.path
    child: dict[str, Any] | None = None
    if run.stream.events and branch.traced:
        child = _emit.child_event_base(ctx, branch.name, task.name == START)
        _emit.put_event(run, child, "on_chain_start", {"input": arg})
    if branch.config_kw or branch.config_pos:
        config = ctx.config
        result = path(arg, config=config) if branch.config_kw else path(arg, config)
    else:
        result = path(arg)
    if branch.is_async:
        result = await result
    if child is not None:
        _emit.put_event(run, child, "on_chain_end", {"output": result, "input": arg})
    return _algo.check_route(spec, branch, task.name, result)


async def in_worker_thread(call: Callable[[], Any]) -> Any:
    """Run a sync node in a worker thread, hosted by a task group of its own.

    The task group matters when the node runs inline in the caller's task and that task
    receives a raw ``Task.cancel()``: anyio then cancels the group's scope (so the
    thread's ``check_cancelled()`` sees it) and keeps waiting for the thread, instead of
    abandoning it.
    """
    result: Any = None
    error: BaseException | None = None

    async def run() -> None:
        nonlocal result, error
        try:
            result = await anyio.to_thread.run_sync(call)
        except Exception as exc:
            error = exc
        except anyio.get_cancelled_exc_class() as exc:
            if cancellation_requested():
                raise
            error = exc  # raised by the node's code itself: call_node makes it a failure

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
    if error is not None:
        raise error
    return result
