"""The cancellation model of scopegraph, top to bottom.

Everything that decides who cancels whom, who waits for whom, and which exception comes
out lives in this module. The guarantees it gives, on asyncio and trio alike:

1. **Shielded cleanup completes.** Every node runs inside an anyio cancel scope that is
   nested in the caller's scope tree, and a run is cancelled only by cancelling one of
   those scopes, once. anyio then delivers the cancellation to each node task and
   respects ``with anyio.CancelScope(shield=True):`` inside it. Nothing here calls
   ``Task.cancel()`` or awaits a task from a cancelled scope without a shield.
2. **Structured unwind.** When a run API returns or raises, every node of the run has
   finished, cleanup included, and no task of the run is alive. Inner cleanup (the
   node's) finishes before the caller sees the cancellation.
3. **One cancellation per cause.** A node sees its cancellation once per cause; cleanup
   that shields itself is never cancelled again by the runtime.

How a run is hosted, per API:

- ``ainvoke`` (and ``invoke``): :func:`run_step` runs in the caller's own task. A step
  with one task runs that node inline, in the caller's task; a step with several tasks
  runs them in a task group nested in the caller's scope.
- ``open_stream`` (an async context manager): :func:`open_run` starts the run in a task
  group that the context manager owns, so the run is again inside the caller's scope
  tree; leaving the block cancels the run and waits for it.
- ``astream`` / ``astream_events`` (async generators): a generator cannot own a task group
  across ``yield`` (PEP 789), so :func:`iterate_detached` runs the graph in a task of its
  own (:mod:`._detach`). The generator's ``finally:`` cancels that run's scope and waits,
  shielded, until the run has unwound. That ``finally:`` runs when the consumer is
  cancelled while awaiting the generator, when the generator is ``aclose()``-d, and when
  the consumer's ``async for`` ends. A consumer that abandons the generator without
  closing it (``break`` without ``aclose()``) leaves the run going until the generator is
  garbage-collected, when the event loop's async-generator finalizer closes it; use
  ``open_stream`` or ``contextlib.aclosing`` to avoid that.

Errors: a failing node cancels its siblings, their cleanup is awaited, and then the
ORIGINAL exception of the node that failed first is raised — never an ExceptionGroup.
A node's ``timeout`` (a :class:`TimeoutPolicy`) is the deadline of the node's own cancel
scope: ``run_timeout`` fixes it when the attempt starts, ``idle_timeout`` moves it later
on each sign of progress (:meth:`Attempt.progress`). When it fires, the node is cancelled
like any other, and ``NodeTimeoutError`` is raised after its cleanup has finished; a node
that swallows that cancellation still fails with it. The graph's ``step_timeout`` is the
deadline of one more scope around a whole superstep (:func:`run_step_within`). A
``RunControl`` drain cancels nothing: the loop stops before the next superstep.
"""

from __future__ import annotations

import contextvars
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Literal, Protocol, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread

from ._detach import spawn_detached
from ._errors import NodeTimeoutError
from ._output import RunOutput
from ._types import RetryPolicy, TimeoutPolicy

__all__ = (
    "Attempt",
    "StepTask",
    "iterate_detached",
    "open_run",
    "run_attempts",
    "run_step",
    "run_step_within",
    "sync_api_run",
    "unwrap_exception_group",
)

T = TypeVar("T")


class StepTask(Protocol):
    error: BaseException | None
    failed_at: int


TaskT = TypeVar("TaskT", bound=StepTask)


class Executable(Protocol):
    output: RunOutput | None

    async def execute(self) -> Any: ...


# -- one superstep ------------------------------------------------------------------------

_failure_counter = 0


def _record_failure(task: StepTask, exc: BaseException) -> None:
    global _failure_counter
    _failure_counter += 1
    task.error = exc
    task.failed_at = _failure_counter


async def run_step(
    tasks: Sequence[TaskT],
    run_task: Callable[[TaskT], Awaitable[None]],
    limiter: anyio.CapacityLimiter | None = None,
) -> None:
    """Run the tasks of one superstep concurrently; raise the first failure, unwrapped.

    ``run_task`` does the node's work. An ``Exception`` it raises is recorded on the task,
    and the step's scope is cancelled so that the siblings unwind; cancellation and other
    ``BaseException``\\s propagate untouched.

    Workers are started adaptively: a worker runs tasks one after another, and the host
    starts another worker each time the running ones are all suspended (the host gets
    the CPU back only then). Nodes that finish without awaiting anything therefore cost
    no task each, while nodes that wait (for I/O, a sleep, an event) all run at once, as
    if each had its own task: once a turn of the event loop passes with every earlier
    worker still waiting in its node, the host starts one worker per task left, in one
    turn (so the step's waiting nodes all start within three turns, close to LangGraph's
    task per node, all started in one turn: only a wait of the first two nodes shorter
    than those turns can end before the last node starts). Every worker is a child of
    the step's task
    group, so each node runs inside the caller's cancel-scope tree. A node may see
    contextvars that a sibling node of the same step set without resetting them.
    """
    if len(tasks) == 1:
        # One task: run it inline, in the caller's task, inside the caller's scopes.
        task = tasks[0]
        try:
            await run_task(task)
        except Exception as exc:
            _record_failure(task, exc)
            raise
        return

    remaining = iter(tasks)
    left = len(tasks)

    async def worker(scope: anyio.CancelScope) -> None:
        nonlocal left
        for task in remaining:
            left -= 1
            try:
                if limiter is None:
                    await run_task(task)
                else:
                    async with limiter:
                        await run_task(task)
            except Exception as exc:
                _record_failure(task, exc)
                scope.cancel()
                return
            if scope.cancel_called:
                return

    async with anyio.create_task_group() as tg:
        scope = tg.cancel_scope
        started = 0
        while left and not scope.cancel_called:
            before = left
            tg.start_soon(worker, scope)
            started += 1
            # Let the new worker run until its node suspends (or until all are done).
            await anyio.lowlevel.checkpoint()
            if started > 1 and before - left <= 1 and left and not scope.cancel_called:
                # Only the new worker took a task: the others still wait in their nodes,
                # longer than a turn. Start the rest together (see the docstring).
                for _ in range(left):
                    tg.start_soon(worker, scope)
                break
    failures = [t for t in tasks if t.error is not None]
    if failures:
        error = min(failures, key=lambda t: t.failed_at).error
        assert error is not None
        raise error


async def run_step_within(seconds: float, step: Callable[[], Awaitable[None]]) -> None:
    """A superstep under the graph's ``step_timeout``: its own cancel scope, whose
    deadline cancels the step's nodes like any cancellation; once they have unwound,
    ``TimeoutError("Timed out")`` (LangGraph's) is raised."""
    with anyio.CancelScope(deadline=anyio.current_time() + seconds) as scope:
        await step()
    if scope.cancelled_caught:
        await anyio.lowlevel.checkpoint_if_cancelled()  # an outer cancellation wins
        raise TimeoutError("Timed out")


# -- one node: timeout and retries --------------------------------------------------------


class Attempt:
    """The attempts of one node call: which one runs, and its timeout's cancel scope."""

    __slots__ = (
        "first_started",
        "idle_timeout",
        "number",
        "refresh_on_output",
        "run_deadline",
        "scope",
    )

    def __init__(self) -> None:
        self.number = 0
        self.first_started = time.time()
        """When the first attempt started (Unix time)."""
        self.scope: anyio.CancelScope | None = None
        """The running attempt's own scope, while it has an ``idle_timeout``."""
        self.idle_timeout: float | None = None
        self.refresh_on_output = False
        """Whether the node's stream output counts as progress (``refresh_on="auto"``)."""
        self.run_deadline = math.inf

    def progress(self) -> None:
        """The node made progress: move its idle deadline (event loop thread only)."""
        scope = self.scope
        if scope is not None and self.idle_timeout is not None:
            scope.deadline = min(self.run_deadline, anyio.current_time() + self.idle_timeout)


async def run_attempts(
    name: str,
    call: Callable[[Attempt], Awaitable[T]],
    timeout: TimeoutPolicy | None,  # noqa: ASYNC109 - a node's own limit, enforced with its own scope
    retry_policies: Sequence[RetryPolicy] | None,
) -> T:
    """Call a node, each attempt in its own cancel scope for ``timeout``, with
    LangGraph's retries: the first policy whose ``retry_on`` matches the error decides,
    with the attempts counted over all of them (as in LangGraph)."""
    attempt = Attempt()
    while True:
        attempt.number += 1
        try:
            if timeout is None:
                return await call(attempt)
            return await _timed_attempt(name, call, attempt, timeout)
        except Exception as exc:
            policy = next((p for p in retry_policies or () if p.should_retry(exc)), None)
            if policy is None or attempt.number >= policy.max_attempts:
                raise
        await _pause_between_attempts(policy.interval(attempt.number))


sync_api_run: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "scopegraph_sync_api_run", default=False
)
"""True in the private event loop of a sync API call (``invoke``)."""


async def _pause_between_attempts(seconds: float) -> None:
    """The wait before a retry. A sync API run waits with ``time.sleep`` (looked up now,
    in a worker thread that a cancellation waits for: at most this one interval), as
    LangGraph's sync runner does, so that programs which patch ``time.sleep`` to
    speed up their retries behave the same."""
    if sync_api_run.get():
        await anyio.to_thread.run_sync(time.sleep, seconds)
    else:
        await anyio.sleep(seconds)


def _seconds(value: float | timedelta | None) -> float | None:
    return value.total_seconds() if isinstance(value, timedelta) else value


async def _timed_attempt(
    name: str,
    call: Callable[[Attempt], Awaitable[T]],
    attempt: Attempt,
    timeout: TimeoutPolicy,  # noqa: ASYNC109 - see run_attempts
) -> T:
    run_timeout, idle_timeout = _seconds(timeout.run_timeout), _seconds(timeout.idle_timeout)
    started = anyio.current_time()
    attempt.run_deadline = math.inf if run_timeout is None else started + run_timeout
    attempt.idle_timeout = idle_timeout
    attempt.refresh_on_output = idle_timeout is not None and timeout.refresh_on == "auto"
    idle_deadline = math.inf if idle_timeout is None else started + idle_timeout
    with anyio.CancelScope(deadline=min(attempt.run_deadline, idle_deadline)) as scope:
        attempt.scope = scope
        try:
            result = await call(attempt)
        finally:
            attempt.scope = None
    if not scope.cancel_called:
        return result
    # The node's own deadline fired and its cleanup has finished (a node that swallowed
    # the cancellation still timed out). If an outer scope was cancelled at the same
    # moment, that cancellation wins.
    await anyio.lowlevel.checkpoint_if_cancelled()
    now = anyio.current_time()
    kind: Literal["idle", "run"] = "run" if now >= attempt.run_deadline else "idle"
    raise NodeTimeoutError(
        name, now - started, kind=kind, idle_timeout=idle_timeout, run_timeout=run_timeout
    )


# -- hosting a streamed run ---------------------------------------------------------------


@asynccontextmanager
async def unwrap_exception_group() -> AsyncIterator[None]:
    """Re-raise the sole exception of a one-exception group as itself."""
    try:
        yield
    except BaseExceptionGroup as group:
        inner: BaseException = group
        while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
            inner = inner.exceptions[0]
        if inner is group:
            raise
        raise inner from inner.__cause__


@asynccontextmanager
async def open_run(run: Executable) -> AsyncIterator[anyio.CancelScope]:
    """Run ``run`` in a task group owned by this context manager.

    Yields the run's own cancel scope. Leaving the block cancels the run if it is still
    going and waits for it to unwind.
    """
    out = run.output
    assert out is not None
    run_scope = anyio.CancelScope()

    async def host() -> None:
        try:
            with run_scope:
                await run.execute()
        except Exception as exc:
            out.close(exc)
        else:
            out.close()

    async with unwrap_exception_group(), anyio.create_task_group() as tg:
        tg.start_soon(host)
        try:
            yield run_scope
        finally:
            out.consumer_gone()
            run_scope.cancel()


async def iterate_detached(run: Executable) -> AsyncGenerator[Any, None]:
    """Yield the run's output while the run executes in a detached task.

    On every way out of the generator (exhausted, failed, cancelled, closed), the run is
    cancelled and awaited under a shield, so that it has fully unwound before the
    consumer sees the generator end.
    """
    out = run.output
    assert out is not None
    done = anyio.Event()
    run_scope = anyio.CancelScope()

    async def host() -> None:
        # Runs in a task owned by nobody, so it must not let anything escape.
        try:
            with run_scope:
                await run.execute()
        except BaseException as exc:
            out.close(exc)
        else:
            out.close()
        finally:
            done.set()

    spawn_detached(host, contextvars.copy_context())
    try:
        while True:
            try:
                batch = await out.get_batch()
            except StopAsyncIteration:
                return
            for item in batch:
                yield item
    finally:
        run_scope.cancel()
        out.consumer_gone()
        with anyio.CancelScope(shield=True):
            await done.wait()
