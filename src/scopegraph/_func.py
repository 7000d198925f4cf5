"""The Functional API: ``@entrypoint`` and ``@task``, as LangGraph's ``langgraph.func``.

An entrypoint is a graph of one node (LangGraph's model): a root state holds its return
value, and two more keys hold its input (``__start__``) and the value it saved for the
next run on the thread (``__previous__``). It runs on the superstep loop like any graph,
so checkpoints, interrupts, ``Command(resume=...)``, stream modes, time travel and
``update_state`` are the graph's.

A task call returns a :class:`TaskFuture` at once; the task runs concurrently, in a
task group that the entrypoint's node owns (inside the run's cancel-scope tree, so a
cancelled run cancels its tasks once, waits for their cleanup, and leaves none running).
The node returns only when every task it started has finished. Each task is a task of
the step (LangGraph's PUSH task): its id is derived from its caller's id and the call's
place among its caller's calls, its result is stored as a record under the step's
checkpoint as soon as it is known, and a resumed run (after an ``interrupt()``, a
failure or a crash) takes a finished task's result from that record instead of calling
it again. Retries, timeouts and caching are the node's (``run_attempts``, the graph's
``cache``).

Called from a ``StateGraph`` node (no entrypoint around it), a task has no task group to
run in: it runs when its future is first awaited (or ``.result()`` is asked for).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import hashlib
import inspect
import sys
import threading
import typing
import warnings
import weakref
from collections.abc import Awaitable, Callable, Generator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import (
    Any,
    ClassVar,
    Generic,
    Literal,
    ParamSpec,
    Protocol,
    TypedDict,
    TypeVar,
    Unpack,
    cast,
    get_args,
    get_origin,
    overload,
)

import anyio
import anyio.abc
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from ._compiled import CompiledStateGraph
from ._constants import PREVIOUS, RETURN, START
from ._errors import ContextError, GraphInterrupt
from ._graph import StateGraph
from ._ids import new_id
from ._lazy import integration
from ._pregel import _emit, _hooks
from ._pregel._context import NodeContext, current
from ._pregel._loop import STREAMED_INTERRUPTS
from ._pregel._node import in_worker_thread
from ._pregel._task import Task, task_id
from ._run import Attempt, run_attempts, unwrap_exception_group
from ._schema import StateSchema
from ._spec import NodeSpec
from ._types import CachePolicy, EntrypointFinal, RetryPolicy, TimeoutPolicy
from .checkpoint._model import SerializationError

__all__ = ("EntrypointGraph", "TaskFunction", "TaskFuture", "entrypoint", "task")

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")
P = ParamSpec("P")

PUSH = "__pregel_push"
CACHE_NS_WRITES = "__pregel_ns_writes"
INJECTED = ("config", "writer", "store", "runtime")
"""The parameters a task's function gets from the run unless the call passes them."""

SYNC_TIMEOUT = (
    "Node timeouts are only supported for async nodes because sync Python execution "
    "cannot be safely cancelled in-process."
)


# -- futures --------------------------------------------------------------------------------


class TaskFuture(concurrent.futures.Future[T]):
    """The result of a task call: ``await future`` in async code, ``future.result()`` in
    sync code (LangGraph's ``SyncAsyncFuture``). ``cancel()`` cancels the running task."""

    def __init__(self) -> None:
        super().__init__()
        self._finished = anyio.Event()
        self._scope: anyio.CancelScope | None = None
        self._lazy: _Call | None = None
        """A call with no task group to run in: it runs on the first await/result."""
        self._loop_thread = threading.get_ident()

    def __del__(self) -> None:
        lazy = self._lazy
        if lazy is not None and sys.meta_path is not None:  # (not at interpreter exit)
            # Like a coroutine never awaited: the call never ran.
            warnings.warn(
                f"task {lazy.task.name!r} was called from a StateGraph node but its future "
                "was never awaited, so it never ran: outside an @entrypoint a task runs "
                "when its future is awaited (or its result() is asked for)",
                RuntimeWarning,
                stacklevel=2,
            )

    def __await__(self) -> Generator[Any, None, T]:
        return self._wait().__await__()

    async def _wait(self) -> T:
        lazy = self._lazy
        if lazy is not None:
            self._lazy = None
            await _run_call(lazy)
        if not self.done():
            await self._finished.wait()
        return self.result()

    def result(self, timeout: float | None = None) -> T:
        lazy = self._lazy
        if lazy is not None:
            if threading.get_ident() == self._loop_thread:
                raise RuntimeError(
                    f"task {lazy.task.name!r} was called from async code: use "
                    "`await future`, not future.result()"
                )
            self._lazy = None
            anyio.from_thread.run(_run_call, lazy)
        elif not self.done() and threading.get_ident() == self._loop_thread:
            raise RuntimeError(
                "future.result() would block the event loop: in an async function, "
                "use `await future`"
            )
        return super().result(timeout)

    def cancel(self) -> bool:
        scope = self._scope
        if scope is not None and not self.done():
            scope.cancel()
        return super().cancel()

    def _resolve(self, value: Any) -> None:
        if not self.done():  # (cancel() may have come first)
            self.set_result(value)

    def _fail(self, error: BaseException) -> None:
        if not self.done():
            self.set_exception(error)

    def _settle(self) -> None:
        """The task ended (whichever way): wake the awaiting tasks."""
        if not self.done():
            super().cancel()
        self._finished.set()


# -- tasks --------------------------------------------------------------------------------


def _name_of(func: Any) -> str:
    if hasattr(func, "__name__"):
        return str(func.__name__)
    if isinstance(func, functools.partial):
        return _name_of(func.func)
    return type(func).__name__


def _is_async(func: Any) -> bool:
    while isinstance(func, functools.partial):
        func = func.func
    if inspect.iscoroutinefunction(func):
        return True
    call = getattr(func, "__call__", None)  # noqa: B004 - a callable object's method
    return call is not None and inspect.iscoroutinefunction(call)


def _identifier(func: Any) -> str | None:
    """``module.qualname`` of a task's function, its cache namespace (LangGraph's)."""
    name = getattr(func, "__qualname__", None)
    module = getattr(func, "__module__", None)
    if name is None or module is None:
        return None
    return f"{module}.{name}"


def _injectable(func: Any, names: Sequence[str]) -> dict[str, int | None]:
    """The injectable parameters ``func`` takes: name -> positional index (None for a
    keyword-only one)."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return {}
    found: dict[str, int | None] = {}
    for index, p in enumerate(params):
        if p.name not in names:
            continue
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            found[p.name] = index
        elif p.kind is inspect.Parameter.KEYWORD_ONLY:
            found[p.name] = None
    return found


class TaskFunction(Generic[P, T]):
    """A function made a task by :func:`task`: calling it returns a :class:`TaskFuture`."""

    scopegraph_task: ClassVar[bool] = True
    """What a StateGraph node's function is searched for (:meth:`NodeSpec.calls_tasks`):
    a node that calls tasks hosts them, so that they start at once (LangGraph's)."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        name: str | None,
        retry_policy: tuple[RetryPolicy, ...],
        cache_policy: CachePolicy | None,
        timeout: TimeoutPolicy | None,
    ) -> None:
        if name is not None:
            if hasattr(func, "__func__") and hasattr(func, "__self__"):
                # A bound method: rename a partial of it, not the class's function.
                method = functools.partial(func.__func__, func.__self__)
                method.__name__ = name  # type: ignore[attr-defined,unused-ignore]
                func = method
            else:
                func.__name__ = name
        self.func = func
        self.name = _name_of(func)
        self.retry_policy = retry_policy
        self.cache_policy = cache_policy
        self.timeout = timeout
        self.is_async = _is_async(func)
        self.injected = _injectable(func, INJECTED)
        self._spec: NodeSpec | None = None
        try:
            self._signature: inspect.Signature | None = inspect.signature(func)
        except (TypeError, ValueError):
            self._signature = None
        functools.update_wrapper(self, func)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> TaskFuture[T]:
        ctx = current.get()
        if ctx is None:
            raise ContextError(
                f"task {self.name!r} was called outside a run: call it from an "
                "@entrypoint function, another @task, or a StateGraph node"
            )
        host = _host.get()
        if threading.get_ident() == ctx.run.loop_thread:
            return _start(host, ctx, self, args, kwargs)
        return cast(
            "TaskFuture[T]", anyio.from_thread.run_sync(_start, host, ctx, self, args, kwargs)
        )

    def explode(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """A call's arguments by parameter name (its input in events and traces)."""
        if self._signature is None:
            return (args, kwargs)
        try:
            bound = self._signature.bind_partial(*args, **kwargs)
        except TypeError:
            return (args, kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self", None)
        arguments.pop("cls", None)
        for name, param in self._signature.parameters.items():
            if param.kind is inspect.Parameter.VAR_KEYWORD and name in arguments:
                arguments.update(arguments.pop(name))
        return arguments

    def spec(self) -> NodeSpec:
        """The task as a node of its run (what its stream events and records name)."""
        spec = self._spec
        if spec is None:
            kind: Literal["async", "sync"] = "async" if self.is_async else "sync"
            spec = self._spec = NodeSpec(
                self.name, self.func, kind, False, False, False, False, None, None, {}, None
            )
        return spec

    def _cache_ns(self) -> tuple[str, ...]:
        return (CACHE_NS_WRITES, _identifier(self.func) or "__dynamic__")

    def clear_cache(self, cache: Any) -> None:
        """Delete this task's cached results from ``cache``."""
        if self.cache_policy is not None:
            cache.clear([self._cache_ns()])

    async def aclear_cache(self, cache: Any) -> None:
        """Delete this task's cached results from ``cache``."""
        if self.cache_policy is not None:
            await cache.aclear([self._cache_ns()])


class _TaskDecorator(Protocol):
    @overload
    def __call__(self, func: Callable[P, Awaitable[T]], /) -> TaskFunction[P, T]: ...
    @overload
    def __call__(self, func: Callable[P, T], /) -> TaskFunction[P, T]: ...


class _DeprecatedTaskKeywords(TypedDict, total=False):
    retry: RetryPolicy | Sequence[RetryPolicy]
    """LangGraph's deprecated spelling of ``retry_policy``."""


@overload
def task(
    __func_or_none__: None = None,
    *,
    name: str | None = None,
    retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
    cache_policy: CachePolicy | None = None,
    timeout: float | timedelta | TimeoutPolicy | None = None,
    **deprecated: Unpack[_DeprecatedTaskKeywords],
) -> _TaskDecorator: ...


@overload
def task(__func_or_none__: Callable[P, Awaitable[T]]) -> TaskFunction[P, T]: ...


@overload
def task(__func_or_none__: Callable[P, T]) -> TaskFunction[P, T]: ...


def task(
    __func_or_none__: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
    cache_policy: CachePolicy | None = None,
    timeout: float | timedelta | TimeoutPolicy | None = None,
    **deprecated: Any,
) -> Any:
    """Make a function a task: calling it (from an entrypoint, a task or a node) starts
    it and returns a future; ``await`` it (async) or call ``.result()`` (sync).

    Args:
        name: the task's name in stream chunks and events (default: the function's).
        retry_policy: retry the task when it fails (one policy or a list of them).
        cache_policy: reuse the result of a call with the same arguments (needs the
            entrypoint's ``cache``).
        timeout: seconds, a ``timedelta`` or a ``TimeoutPolicy`` for each attempt
            (async tasks only).
    """
    unknown = sorted(set(deprecated) - {"retry"})
    if unknown:
        raise TypeError(f"task() got an unexpected keyword argument {unknown[0]!r}")
    if "retry" in deprecated:  # LangGraph's deprecated spelling: it warns, and counts
        warnings.warn(
            "`retry` is deprecated and will be removed. Please use `retry_policy` instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        if retry_policy is None:
            retry_policy = deprecated["retry"]
    policies: tuple[RetryPolicy, ...] = (
        ()
        if retry_policy is None
        else (retry_policy,)
        if isinstance(retry_policy, RetryPolicy)
        else tuple(retry_policy)
    )
    limit = TimeoutPolicy.coerce(timeout)

    def decorator(func: Callable[..., Any]) -> TaskFunction[..., Any]:
        if limit is not None and not _is_async(func):
            shown = name or getattr(func, "__name__", type(func).__name__)
            raise ValueError(f"{SYNC_TIMEOUT} Task {shown!r} is sync.")
        return TaskFunction(
            func, name=name, retry_policy=policies, cache_policy=cache_policy, timeout=limit
        )

    if __func_or_none__ is not None:
        return decorator(__func_or_none__)
    return decorator


# -- running task calls ---------------------------------------------------------------------


async def _hosting(
    call: Callable[[], Awaitable[Any]],
    retry_policy: tuple[RetryPolicy, ...] = (),
    cache_policy: CachePolicy | None = None,
    deferred: list[Callable[[], None]] | None = None,
) -> Any:
    """``call()`` with a task group of its own for the tasks it calls (an entrypoint's
    function, or a StateGraph node's that calls tasks): they start at once and run
    concurrently, and this returns only once every one has finished, awaited or not.

    An ``interrupt()`` lets the running tasks finish, then pauses; any other failure
    cancels them first. A future read after its task was cancelled is the run's
    cancellation when the run is being cancelled."""
    paused: GraphInterrupt | None = None
    cancelled: concurrent.futures.CancelledError | None = None
    result: Any = None
    async with unwrap_exception_group(), anyio.create_task_group() as group:
        token = _host.set(_Host(group, retry_policy, cache_policy, deferred))
        try:
            result = await call()
        except GraphInterrupt as exc:
            paused = exc  # the tasks still running finish; then the node pauses
        except concurrent.futures.CancelledError as exc:
            cancelled = exc  # a cancelled task's future: see below
            group.cancel_scope.cancel()
        except BaseException:
            group.cancel_scope.cancel()  # its tasks are cancelled with it
            raise
        finally:
            _host.reset(token)
    if cancelled is not None:
        # The function read the future of a task that was cancelled: when the run is
        # being cancelled, that is its cancellation (raised here), not a failure.
        await anyio.lowlevel.checkpoint_if_cancelled()
        raise cancelled
    if paused is not None:
        raise paused
    return result


async def _host_graph_node(call: Callable[[], Awaitable[Any]]) -> Any:
    """A StateGraph node that calls tasks (``_pregel._node.call_node`` asks): hosted as
    an entrypoint is; its tasks' chunks wait for the node's end (:func:`flush_chunks`),
    or, if it fails or stops, go out now."""
    ctx = current.get()
    assert ctx is not None
    deferred: list[Callable[[], None]] = []
    try:
        result = await _hosting(call, deferred=deferred)
    except BaseException:
        _emit_all(deferred)
        raise
    ctx.task_chunks = deferred
    return result


def flush_chunks(ctx: NodeContext) -> None:
    """The node of ``ctx`` ended: its tasks' chunks go out (after its end event and
    before its own ``updates`` chunk, LangGraph's order)."""
    chunks = getattr(ctx, "task_chunks", None)
    if chunks:
        ctx.task_chunks = None
        _emit_all(chunks)


def _emit_all(chunks: list[Callable[[], None]]) -> None:
    for emit in chunks:
        emit()
    chunks.clear()


_hooks.register_task_host(_host_graph_node, flush_chunks)


@dataclass(slots=True)
class _Host:
    """Where an entrypoint's (or a StateGraph node's) task calls run: its node's task
    group, and its defaults."""

    group: anyio.abc.TaskGroup
    retry_policy: tuple[RetryPolicy, ...]
    cache_policy: CachePolicy | None
    deferred: list[Callable[[], None]] | None = None
    """A StateGraph node's: its tasks' stream chunks, streamed after the node's end."""


@dataclass(slots=True)
class _Call:
    fn: TaskFunction[..., Any]
    task: Task
    ctx: NodeContext
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    future: TaskFuture[Any]
    host: _Host | None


_host: ContextVar[_Host | None] = ContextVar("scopegraph_task_host", default=None)
task_caller: ContextVar[NodeContext | None] = ContextVar("scopegraph_task_caller", default=None)
"""While a task call's node hooks start: the node (or task) that called it, whose
LangChain run is the parent of the call's."""
_counters: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()
"""Per run: how many tasks each caller (by task id) has called so far."""
_finished: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
"""Per run: the results of the task calls that finished (a retried caller's calls)."""


def _start(
    host: _Host | None,
    caller: NodeContext,
    fn: TaskFunction[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> TaskFuture[Any]:
    """Make the call's task (in the event loop's thread) and start it."""
    run = caller.run
    parent = caller.task
    counts = _counters.setdefault(run, {})
    index = counts.get(parent.id, 0)
    counts[parent.id] = index + 1
    path = (PUSH, parent.path, index, True)
    task = Task(fn.spec(), (args, kwargs), (PUSH,), path, (2, index))
    task._id = task_id(parent.id, (PUSH, index))
    future: TaskFuture[Any] = TaskFuture()
    call = _Call(fn, task, caller, args, dict(kwargs), future, host)
    if host is None:
        future._lazy = call
    else:
        host.group.start_soon(_run_call, call, name=f"scopegraph task {fn.name}")
    return future


async def _run_call(call: _Call) -> None:
    """Run one task call to its end; its outcome goes to its future, never up the task
    group (a failing task fails only whoever awaits it, as in LangGraph)."""
    ctx = NodeContext(call.ctx.run, call.task)
    token = current.set(ctx)
    host_token = _host.set(call.host)
    future = call.future
    try:
        with anyio.CancelScope() as scope:
            future._scope = scope
            await _execute(call, ctx)
    finally:
        _host.reset(host_token)
        current.reset(token)
        future._settle()


async def _execute(call: _Call, ctx: NodeContext) -> None:
    run, task, future, fn = ctx.run, call.task, call.future, call.fn
    finished = _finished.setdefault(run, {})
    if task.id in finished:
        # Called before in this run (its caller is being retried): the same result.
        future._resolve(finished[task.id])
        return
    persistence = getattr(run, "persistence", None)
    record = None if persistence is None else persistence.records.get(task.id)
    if record is not None and record.status == "done":
        # Finished before this run (which resumes its step): its result, not a new call.
        task.restore(record)
        if "tasks" in run.stream.modes or "debug" in run.stream.modes:
            _emit.emit_task_start(run, task)  # (LangGraph's: its start, not its result)
        future._resolve(dict(record.writes).get(RETURN))
        return
    if record is not None and record.status == "interrupted":
        task.resume = list(record.resume)
        task.answered = list(record.interrupts)
    host = call.host
    cache_policy = fn.cache_policy or (None if host is None else host.cache_policy)
    cache = run.opts.spec.cache
    key = None
    if cache_policy is not None and cache is not None:
        digest = cache_policy.key_func(*call.args, **call.kwargs)
        key = (fn._cache_ns(), _digest(digest))
        found = await cache.aget([key])
        if key in found:
            hit = found[key]
            task.writes = [(RETURN, hit)]
            task.done = True
            await _record(persistence, task, "done")
            if "updates" in run.stream.modes:
                chunk = {task.name: hit, "__metadata__": {"cached": True}}
                run.stream.sink(run.stream.ns, "updates", chunk)
            future._resolve(hit)
            return
    stream = run.stream
    modes = stream.modes
    if "tasks" in modes or "debug" in modes:
        _emit.emit_task_start(run, task)
    retry = fn.retry_policy or (() if host is None else host.retry_policy)
    inputs = fn.explode(call.args, call.kwargs)
    event: dict[str, Any] | None = None
    if stream.events:
        event = _event_base(ctx, call.ctx)
        _emit.put_event(run, event, "on_chain_start", {"input": inputs})
    hooks = _hooks.node_hooks()
    hooks_token: Any = None
    if hooks is not None:
        caller_token = task_caller.set(call.ctx)
        hooks_token, _ = hooks.enter_node(ctx, inputs)
        task_caller.reset(caller_token)
    value: Any = None
    try:
        try:
            if fn.timeout is None and not retry:
                value = await _call_function(call, ctx)
            else:

                async def attempt(current_attempt: Attempt) -> Any:
                    ctx.attempt = current_attempt
                    return await _call_function(call, ctx)

                value = await run_attempts(task.name, attempt, fn.timeout, retry)
        finally:
            if hooks is not None:
                hooks.exit_node(hooks_token, value, sys.exc_info()[1])
    except GraphInterrupt as exc:
        task.interrupted = True
        task.interrupts = list(exc.interrupts)
        _stream_interrupts(run, task.interrupts)  # (and no task result: LangGraph's)
        await _record(persistence, task, "interrupted")
        future._fail(exc)
        return
    except Exception as exc:
        if "tasks" in modes or "debug" in modes:
            _emit.emit_task_result(run, task, exc)
        future._fail(exc)
        return
    task.writes = [(RETURN, value)]
    task.done = True
    finished[task.id] = value
    await _record(persistence, task, "done")
    if key is not None and cache is not None:
        assert cache_policy is not None
        try:
            await cache.aset({key: (value, cache_policy.ttl)})
        except SerializationError:
            pass  # a result the cache cannot store is not cached; the run goes on
    if event is not None:
        _emit.put_event(run, event, "on_chain_stream", {"chunk": value})
        _emit.put_event(run, event, "on_chain_end", {"output": value, "input": inputs})
    future._resolve(value)
    if "updates" in modes or "tasks" in modes or "debug" in modes:
        emit = functools.partial(_stream_result, run, task, value)
        if host is not None and host.deferred is not None:
            host.deferred.append(emit)  # a StateGraph node's task: after the node's end
            return
        # LangGraph streams a finished task's update from its runner's commit callback,
        # which runs after the caller was woken: the caller goes on to its next wait (or
        # returns) first. So here: wake the caller, let it run, then stream (on asyncio
        # this is LangGraph's order; trio runs the two in either order).
        future._finished.set()
        await anyio.lowlevel.cancel_shielded_checkpoint()
        emit()


def _stream_result(run: Any, task: Task, value: Any) -> None:
    """A finished task's ``updates`` chunk and ``tasks`` / ``debug`` result."""
    stream = run.stream
    modes = stream.modes
    if "updates" in modes:
        stream.sink(stream.ns, "updates", {task.name: value})
    if "tasks" in modes or "debug" in modes:
        _emit.emit_task_result(run, task, None)


def _stream_interrupts(run: Any, interrupts: list[Any]) -> None:
    """A task stopped at an ``interrupt()``: the root run streams it now, as LangGraph
    does for the functional API (once: the run's pause does not stream it again)."""
    stream = run.stream
    if run.opts.parent is not None or not ("updates" in stream.modes or "values" in stream.modes):
        return
    streamed = getattr(run, STREAMED_INTERRUPTS, None)
    if streamed is None:
        streamed = set()
        setattr(run, STREAMED_INTERRUPTS, streamed)
    streamed.update(i.id for i in interrupts)
    chunk = {"__interrupt__": tuple(interrupts)}
    if "updates" in stream.modes:
        stream.sink(stream.ns, "updates", chunk)
    if "values" in stream.modes:
        values = run.snapshot() if hasattr(run, "snapshot") else None
        shown = {**values, **chunk} if isinstance(values, dict) else dict(chunk)
        stream.sink(stream.ns, "values", shown)


def _event_base(ctx: NodeContext, caller: NodeContext) -> dict[str, Any]:
    """What the ``astream_events`` envelopes of a task call share (LangGraph's: a child
    of its caller's run)."""
    ctx.run_id = new_id()
    return {
        "name": ctx.task.name,
        "tags": ["seq:step:1", *ctx.run.opts.cfg.user_tags],
        "run_id": ctx.run_id,
        "metadata": ctx.event_metadata(),
        "parent_ids": [*caller.parent_ids, caller.run_id or ""],
    }


def _digest(key: str | bytes) -> str:
    return hashlib.sha256(key.encode() if isinstance(key, str) else key).hexdigest()


async def _record(persistence: Any, task: Task, status: Any) -> None:
    """Store a task call's outcome under the step's checkpoint, shielded: a cancellation
    that comes now does not lose a result that a resumed run would otherwise redo."""
    if persistence is None:
        return
    with anyio.CancelScope(shield=True):
        await persistence.record(task, status)


def _restart_calls(ctx: NodeContext) -> None:
    """The node or task of ``ctx`` starts (again, on a retry): its calls count from 0,
    so that they get the ids they had in the attempt or run it repeats."""
    counts = _counters.get(ctx.run)
    if counts is not None:
        counts.pop(ctx.task.id, None)


async def _call_function(call: _Call, ctx: NodeContext) -> Any:
    _restart_calls(ctx)
    fn = call.fn
    args, kwargs = call.args, call.kwargs
    if fn.injected:
        kwargs = dict(kwargs)
        for name, position in fn.injected.items():
            if name in kwargs or (position is not None and position < len(args)):
                continue  # the call passes it
            kwargs[name] = _injected_value(name, ctx)
    if fn.is_async:
        return await fn.func(*args, **kwargs)
    # A task call runs in a task of its own, which nothing but its scope cancels: the
    # worker thread needs no task group of its own (``in_worker_thread``'s reason).
    return await anyio.to_thread.run_sync(functools.partial(fn.func, *args, **kwargs))


def _injected_value(name: str, ctx: NodeContext) -> Any:
    if name == "config":
        return ctx.config
    if name == "writer":
        return ctx.write_custom
    if name == "store":
        return ctx.run.opts.store
    return ctx.runtime


# -- entrypoints ----------------------------------------------------------------------------


class EntrypointGraph(CompiledStateGraph[Any, Any, Any, Any]):
    """What ``@entrypoint`` returns: a compiled graph of one node, the function."""

    input_type: Any = Any
    output_type: Any = Any

    def __repr__(self) -> str:
        return f"<EntrypointGraph {next(iter(self.nodes))!r}>"

    def get_input_jsonschema(self, config: Any = None) -> dict[str, Any]:
        """The JSON schema of the entrypoint's input (its first parameter's type)."""
        return _value_jsonschema(self.input_type, self.get_name("Input"))

    def get_output_jsonschema(self, config: Any = None) -> dict[str, Any]:
        """The JSON schema of the entrypoint's return value."""
        return _value_jsonschema(self.output_type, self.get_name("Output"))


def _value_jsonschema(tp: Any, title: str) -> dict[str, Any]:
    schemas = integration("json schema")
    if schemas is None:
        raise ImportError(
            "JSON schemas are made with pydantic, which is not installed: "
            "pip install 'scopegraph[server]' (or pip install pydantic)"
        )
    return cast("dict[str, Any]", schemas.value_jsonschema(tp, title))


class entrypoint(Generic[T]):  # LangGraph's name
    """Make a function a graph: ``@entrypoint(checkpointer=...)`` over
    ``def workflow(input, *, previous=None)``.

    The function takes the run's input as its first parameter, and may take
    ``previous`` (what the previous run on the thread returned, or saved with
    :class:`entrypoint.final`), ``config``, ``writer``, ``store`` and ``runtime``. It calls
    tasks (:func:`task`) and ``interrupt()``. The result is a compiled graph
    (``invoke``/``ainvoke``, ``stream``/``astream``, ``get_state``, ``update_state``...).
    """

    def __init__(
        self,
        checkpointer: Any = None,
        store: Any = None,
        cache: Any = None,
        context_schema: type[T] | None = None,
        cache_policy: CachePolicy | None = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
        **deprecated: Any,
    ) -> None:
        unknown = sorted(set(deprecated) - {"config_schema", "retry"})
        if unknown:
            raise TypeError(f"entrypoint() got an unexpected keyword argument {unknown[0]!r}")
        for old, new in (("config_schema", "context_schema"), ("retry", "retry_policy")):
            if old in deprecated:  # LangGraph's deprecated spellings: they warn, and count
                warnings.warn(
                    f"`{old}` is deprecated and will be removed. Please use `{new}` instead.",
                    DeprecationWarning,
                    stacklevel=2,
                )
        if context_schema is None:
            context_schema = deprecated.get("config_schema")
        if retry_policy is None:
            retry_policy = deprecated.get("retry")
        self.checkpointer = checkpointer
        self.store = store
        self.cache = cache
        self.context_schema = context_schema
        self.cache_policy = cache_policy
        self.retry_policy = retry_policy
        self.timeout = TimeoutPolicy.coerce(timeout)

    class final(EntrypointFinal[R, S]):  # LangGraph's name
        """``return entrypoint.final(value=..., save=...)``: return ``value`` to the
        caller and save ``save`` for the next run's ``previous``."""

    def __call__(self, func: Callable[..., Any]) -> EntrypointGraph:
        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise NotImplementedError("Generators are not supported in the Functional API.")
        if self.timeout is not None and not _is_async(func):
            raise ValueError(f"{SYNC_TIMEOUT} Node {func.__name__!r} is sync.")
        signature = inspect.signature(func)
        params = list(signature.parameters.values())
        if not params:
            raise ValueError("Entrypoint function must have at least one parameter")
        hints = _type_hints(func)
        first = params[0]
        input_type = hints.get(first.name, Any)
        output_type = _output_type(hints.get("return", signature.return_annotation))
        policies: tuple[RetryPolicy, ...] = (
            ()
            if self.retry_policy is None
            else (self.retry_policy,)
            if isinstance(self.retry_policy, RetryPolicy)
            else tuple(self.retry_policy)
        )
        name = func.__name__
        node = _entry_node(func, policies, self.cache_policy)
        builder: StateGraph[Any, Any, Any, Any] = StateGraph(
            object, context_schema=self.context_schema
        )  # a root state: the return value
        builder.add_node(
            name,
            node,
            retry_policy=policies or None,
            cache_policy=self.cache_policy,
            timeout=self.timeout,
        )
        builder.add_edge(START, name)
        # compile() checks them
        builder.compile(checkpointer=self.checkpointer, cache=self.cache, store=self.store)
        graph = EntrypointGraph(
            builder,
            checkpointer=self.checkpointer,
            context_schema=self.context_schema,
            cache=self.cache,
            store=self.store,
        )
        graph.spec = dataclasses.replace(
            graph.spec,
            reducers={**graph.spec.reducers, START: None, PREVIOUS: None},
            input_schema=cast("StateSchema", _EntrypointInput(graph.spec.input_schema)),
            node_views={name: _read_input},
            pull_info={name: ((START,), *graph.spec.pull_info[name][1:])},
            functional=True,
        )
        graph.input_type = input_type
        graph.output_type = output_type
        return graph


def _type_hints(func: Any) -> dict[str, Any]:
    """The function's annotations, resolved (``from __future__ import annotations``); a
    name that does not resolve leaves them all as written, as strings mean ``Any``."""
    try:
        return typing.get_type_hints(func)
    except Exception:
        raw = getattr(func, "__annotations__", {})
        return {k: v for k, v in raw.items() if not isinstance(v, str)}


def _output_type(annotation: Any) -> Any:
    if annotation is inspect.Signature.empty or annotation is entrypoint.final:
        return Any
    if get_origin(annotation) is entrypoint.final:
        args = get_args(annotation)
        if len(args) != 2:
            raise TypeError(
                "Please an annotation for both the return_ and the save values. For "
                "example, `-> entrypoint.final[int, str]` would assign a return_ a type "
                "of `int` and save the type `str`."
            )
        return args[0]
    return annotation


def _read_input(values: dict[str, Any]) -> Any:
    return values.get(START)


class _EntrypointInput:
    """An entrypoint's input schema: the input is written, whatever it is, to
    ``__start__`` (the node's input), not to the state."""

    def __init__(self, base: Any) -> None:
        self.base = base
        self.kind = "entrypoint"
        self.channels = base.channels
        self.name = base.name
        self.cls = base.cls

    def coerce_input(self, value: Any, *, allowed: Any, strict: bool = False) -> dict[str, Any]:
        return {START: value}

    def view(self, values: dict[str, Any]) -> Any:
        return values.get(START)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)


def _entry_node(
    func: Callable[..., Any],
    retry_policy: tuple[RetryPolicy, ...],
    cache_policy: CachePolicy | None,
) -> Callable[[Any], Awaitable[Any]]:
    """The node that calls ``func`` with the run's input and what it asks for, hosting
    the tasks it calls in a task group of its own."""
    is_async = _is_async(func)
    wants = _injectable(func, (*INJECTED, "previous"))

    async def node(value: Any) -> Any:
        ctx = current.get()
        assert ctx is not None
        _restart_calls(ctx)
        previous = ctx.run.values.get(PREVIOUS)
        store = ctx.run.opts.store  # the entrypoint's (or the run server's)
        kwargs: dict[str, Any] = {}
        for name in wants:
            if name == "previous":
                kwargs[name] = previous
            elif name == "runtime":
                kwargs[name] = ctx.runtime.override(store=store, previous=previous)
            elif name == "config":
                kwargs[name] = ctx.config
            elif name == "writer":
                kwargs[name] = ctx.write_custom
            else:
                kwargs[name] = store

        async def call() -> Any:
            if is_async:
                result = await func(value, **kwargs)
            else:
                result = await in_worker_thread(functools.partial(func, value, **kwargs))
            if ctx.run.stream.events:
                # Its output event as soon as it returns, before its tasks are done
                # (LangGraph's order; the node itself then only ends).
                _emit.node_event(ctx, "on_chain_stream", {"chunk": result})
            return result

        # (an entrypoint.final too: the run's collect takes it apart)
        return await _hosting(call, retry_policy, cache_policy)

    node.__name__ = func.__name__
    return node
