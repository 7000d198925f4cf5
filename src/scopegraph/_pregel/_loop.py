"""The superstep loop of one run (or of one subgraph call), as in LangGraph's Pregel loop.

Each superstep runs every triggered node concurrently (see :mod:`.._run` for how they are
scheduled and cancelled), then applies their updates in a deterministic order (nodes
triggered by edges in alphabetical order of name, then ``Send`` tasks in the order they
were sent), and plans the next step from the routes the nodes took
(:mod:`._algo`). Checkpoints are :mod:`._persist`'s, node calls :mod:`._node`'s, stream
payloads and events :mod:`._emit`'s.
"""

from __future__ import annotations

import functools
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import anyio
import anyio.lowlevel

from .._constants import START
from .._errors import WAITING_INTERRUPTS, GraphDrained, GraphRecursionError
from .._ids import new_id
from .._output import RunOutput
from .._run import run_step, run_step_within, unwrap_exception_group
from .._types import Command, Interrupt, Send
from . import _algo, _emit, _hooks
from ._context import NodeContext, RunOptions
from ._node import route, run_task
from ._persist import Persistence
from ._task import Task, sort_key

__all__ = ("STREAMED_INTERRUPTS", "Run")

STREAMED_INTERRUPTS = "streamed_interrupts"
"""The attribute of a ``Run`` naming the interrupts already streamed (by id)."""

YIELD_EVERY = 0.001
"""Seconds of supersteps after which the loop yields to the event loop once."""


class Run:
    """The state and the superstep loop of one run, built from one :class:`RunOptions`."""

    interrupt_status = "pending"
    """Why the run paused: ``"pending"`` (``interrupt()``), ``"interrupt_before"`` or
    ``"interrupt_after"`` (LangGraph's loop status, for the lifecycle callbacks). A class
    attribute: set on the instance only by a static interrupt."""
    lifecycle: Any = None
    """The integration hooks of a run with ``callbacks`` (LangGraph's graph lifecycle
    callbacks: a root run's resume and interrupts, a subgraph's resume); else None."""

    def __init__(self, opts: RunOptions, input: Any) -> None:
        self.opts = opts
        self.input = input
        self.stream = opts.stream
        """``opts.stream``, one attribute away on the hot path."""
        self.output: RunOutput | None = opts.stream.output
        """Where the run's chunks go (:mod:`.._run` hosts a streamed run with it)."""
        self.loop_thread = threading.get_ident()
        self.step = 0
        self.values: dict[str, Any] = {}
        self.remaining = opts.cfg.recursion_limit - 1
        """The current step's ``RemainingSteps`` (LangGraph's count: the first step of a
        run with an input reads the limit minus one; a resumed run's, the limit plus one)."""
        self.barriers: dict[int, set[str]] = {}
        """Which sources of each join edge have run since it last fired."""
        self.resuming = False
        self.interrupts: list[Interrupt] = []
        """The interrupts the run stopped at (after :meth:`execute`)."""
        self.paused = False
        self.interrupted_tasks = 0
        """Tasks of this run that stopped at an ``interrupt()``: one stops the run."""
        """The run stopped at an interrupt (a node's, or a static one)."""
        self.answers: dict[str, Any] = {}
        """``Command(resume=...)``'s answers by interrupt id (on the root run: the
        ``interrupt()`` calls of its subgraphs' nodes take theirs from here too)."""
        limit = opts.cfg.max_concurrency
        self.limiter = anyio.CapacityLimiter(limit) if limit is not None else None
        self._run_id = opts.cfg.run_id
        self._child_parent_ids: list[str] | None = None
        self.persistence = None if opts.persist is None else Persistence(self, opts.persist)

    @property
    def run_id(self) -> str:
        """The run's id (``config["run_id"]`` if given), made on first use."""
        if self._run_id is None:
            self._run_id = new_id()
        return self._run_id

    @property
    def child_parent_ids(self) -> list[str]:
        """``parent_ids`` of this run's nodes' events: outermost first."""
        ids = self._child_parent_ids
        if ids is None:
            parent = self.opts.parent
            if parent is None:
                ids = [self.run_id]
            else:
                ids = [*parent.parent_ids, parent.run_id or "", self.run_id]
            self._child_parent_ids = ids
        return ids

    def snapshot(self) -> Any:
        """A copy of the state, keys in schema order (a root state: its value)."""
        return _algo.snapshot(self.opts.spec, self.values)

    def result(self) -> Any:
        """The run's output: the state filtered to the output schema, or None if empty."""
        return _algo.output_of(self.opts.spec, self.values)

    def apply(self, writes: Any, writer: str, written: dict[str, str] | None = None) -> bool:
        """Apply one writer's writes; ``written`` tracks last-value keys across a step."""
        return _algo.apply_writes(
            self.values, self.opts.spec.reducers, writes, writer, self.step, written
        )

    # -- the loop ---------------------------------------------------------------------------

    async def execute(self) -> Any:
        """Run the supersteps to the end (or to an interrupt); return the state."""
        opts = self.opts
        stream = self.stream
        # The integration's run hooks serve the config's callbacks: without any, no call.
        hooks = None
        if opts.cfg.has_callbacks:
            hooks = _hooks.node_hooks()
            self.lifecycle = hooks  # a subgraph's run reports its resume too, as LangGraph
            if opts.parent is not None:
                hooks = None  # the graph's chain run, and its interrupts, are the root's
        token = None
        if hooks is not None:
            token = hooks.enter_run(self)
        values: Any = None
        try:
            if stream.events:
                _emit.root_event(self, "on_chain_start", {"input": self.input})
            persistence = self.persistence
            if persistence is None:
                await self._loop(await self._begin())
            elif persistence.writes_in_background:
                async with unwrap_exception_group(), anyio.create_task_group() as background:
                    persistence.background = background  # the run's writes, while it runs
                    try:
                        await self._loop(await persistence.begin())
                    finally:
                        persistence.background = None
            else:
                await self._loop(await persistence.begin())
            if hooks is not None and self.paused:
                await hooks.graph_lifecycle(self, "interrupt")
            if stream.events:
                data = {"output": self.snapshot()}
                if opts.parent is not None:
                    data["input"] = self.input
                _emit.root_event(self, "on_chain_end", data)
            values = self.values
        finally:
            if hooks is not None:  # (a try/finally costs nothing when nothing is raised)
                hooks.exit_run(token, values, sys.exc_info()[1])
        return values

    async def _begin(self) -> list[Task]:
        """Without a checkpointer: apply the input and plan the first step."""
        opts = self.opts
        stream = self.stream
        spec = opts.spec
        self.values = spec.initial_values()
        routes: Sequence[str | Send] = ()
        writes: Iterable[tuple[str, Any]]
        if isinstance(self.input, Command):  # LangGraph's Command(update=, goto=) as input
            start = _algo.command_start(spec, self.input)
            self.apply(start.writes, "the command")  # twice, as LangGraph: see Persistence
            writes, routes = start.writes, start.next
        else:
            writes = spec.input_schema.coerce_input(
                self.input, allowed=spec.input_channels, strict=spec.strict
            ).items()
        applied = self.apply(writes, "the input")
        if applied and "values" in stream.modes and not spec.functional:
            stream.sink(stream.ns, "values", self.snapshot())  # (an entrypoint's input is not)
        if spec.functional:
            self.step = -1  # no __start__ step: the node's step is 0 (LangGraph's)
        return await self.plan_start(routes)

    async def _loop(self, tasks: list[Task]) -> None:
        opts = self.opts
        stream = self.stream
        modes = stream.modes
        limit = opts.cfg.recursion_limit
        persistence = self.persistence
        interrupt_before, interrupt_after = opts.interrupt_before, opts.interrupt_after
        steps = 0
        resuming = resumed = self.resuming
        if resuming and self.lifecycle is not None:
            await self.lifecycle.graph_lifecycle(self, "resume")
        yielded = time.perf_counter()
        control = opts.control
        drained = False
        defers = opts.spec.deferred
        held: list[Task] = []
        # A local, not an attribute: held by the Run, it would make a reference cycle, and
        # every finished run (its values, tasks, options) would wait for the cyclic GC.
        run_one = functools.partial(run_task, self)
        while tasks:
            if defers:
                tasks, held = _algo.split_deferred(opts.spec, tasks, self.values)
            if interrupt_before and not resuming and any(t.name in interrupt_before for t in tasks):
                self._static_interrupt("interrupt_before")
                break
            if control is not None and control.drain_requested:
                # RunControl.request_drain(): stop between steps; the last checkpoint
                # plans the next one, so the run resumes from it.
                drained = True
                break
            resuming = False
            now = time.perf_counter()
            if now - yielded > YIELD_EVERY:
                # Nodes that never await would keep the loop (and a cancellation) waiting
                # until the run ends: give the event loop a turn now and then.
                await anyio.lowlevel.checkpoint()
                yielded = now
            self.step += 1
            if "tasks" in modes or "debug" in modes:
                for task in tasks:
                    if not task.restored:
                        _emit.emit_task_start(self, task)
            if "updates" in modes and resumed:
                # A resumed step's tasks that finished before: their writes again, as
                # LangGraph streams them (marked cached).
                for task in tasks:
                    if task.restored and task.writes:
                        cached = {task.name: task.update, "__metadata__": {"cached": True}}
                        stream.sink(stream.ns, "updates", cached)
            resumed = False
            if opts.step_timeout is not None:
                step = functools.partial(self._step, tasks, run_one)
                await run_step_within(opts.step_timeout, step)
            elif persistence is None:
                await run_step(tasks, run_one, self.limiter)
            else:
                await persistence.run_step(tasks, run_one, self.limiter)
            if self.interrupted_tasks:
                self.step -= 1  # the step did not happen: its checkpoint is the last one
                await self._pause(tasks)
                break
            ran = tasks
            tasks = self._finish_step(tasks)
            if held:
                tasks = _algo.with_held(tasks, held)
            if persistence is not None:
                await persistence.save_checkpoint(tasks, "loop", ran)
            if interrupt_after and any(t.name in interrupt_after for t in ran):
                self._static_interrupt("interrupt_after")
                break
            steps += 1
            if steps >= limit:
                raise GraphRecursionError(
                    f"Recursion limit of {limit} reached without hitting a stop condition. "
                    "You can increase the limit by setting the `recursion_limit` config key.\n"
                    f"For troubleshooting, visit: {_algo.TROUBLESHOOTING}GRAPH_RECURSION_LIMIT"
                )
        if persistence is not None:
            await persistence.settle(ended=not self.paused and not drained)
        if drained:
            assert control is not None
            raise GraphDrained(control.drain_reason or "shutdown")

    async def _step(self, tasks: list[Task], run_one: functools.partial[Any]) -> None:
        if self.persistence is None:
            await run_step(tasks, run_one, self.limiter)
        else:
            await self.persistence.run_step(tasks, run_one, self.limiter)

    def _finish_step(self, tasks: list[Task]) -> list[Task]:
        """Apply the step's writes in order, stream the new values, plan the next step."""
        written: dict[str, str] | None = None
        if len(tasks) > 1:
            tasks.sort(key=sort_key)
            written = {}
        updated = False
        opts = self.opts
        values, reducers, step = self.values, opts.spec.reducers, self.step
        for task in tasks:
            if task.writes:
                updated = (
                    _algo.apply_writes(values, reducers, task.writes, task.name, step, written)
                    or updated
                )
        if opts.spec.ephemeral:
            _algo.clear_ephemeral(opts.spec, values, tasks)
        stream = self.stream
        if updated and "values" in stream.modes:
            stream.sink(stream.ns, "values", self.snapshot())
        self.remaining -= 1
        spec = opts.spec
        values = self.values
        if spec.managed:
            values = _algo.with_managed(spec, values, self.remaining)
        return _algo.plan_next(spec, tasks, self.barriers, values)

    async def plan_start(self, routes: Sequence[str | Send] = ()) -> list[Task]:
        """The first step's tasks: START's edges, its conditional edges' routes, and
        ``routes`` (the ``goto`` of a ``Command`` that starts a thread)."""
        opts = self.opts
        stream = self.stream
        spec = opts.spec
        targets: list[str | Send] = list(spec.edges_from.get(START, ()))
        targets.extend(routes)
        branches = spec.branches.get(START)
        if branches:
            start = _algo.start_task(spec, dict(self.values))
            ctx = NodeContext(self, start)
            inp = self.input
            if stream.events:
                _emit.node_event(ctx, "on_chain_start", {"input": inp}, hidden=True)
            for branch in branches:
                targets.extend(await route(self, branch, start, ctx, self.values))
            if stream.events:
                _emit.node_event(ctx, "on_chain_stream", {"chunk": inp}, hidden=True)
                _emit.node_event(ctx, "on_chain_end", {"output": inp, "input": inp}, hidden=True)
        values = self.values
        if spec.managed:
            values = _algo.with_managed(spec, values, self.remaining)
        return _algo.make_tasks(spec, targets, {}, values)

    # -- stopping at interrupts -------------------------------------------------------------

    async def _pause(self, tasks: list[Task]) -> None:
        """Node interrupts: the step's outcome is stored; the run stops here.

        The output shows the state with the writes of the step's finished tasks applied
        (LangGraph's live view); the stored checkpoint stays the one before the step.
        A root run without a checkpointer gets here only from a subgraph's static
        interrupt (``interrupt()`` needs a checkpointer): it stops, as LangGraph's does.
        """
        interrupts = [i for t in tasks for i in t.interrupts]
        self.paused = True
        updated = False
        for task in sorted(tasks, key=sort_key):
            if task.done and task.writes:
                updated = self.apply(task.writes, task.name) or updated
        if self.persistence is not None:
            with anyio.CancelScope(shield=True):
                await self.persistence.settle()
        self.interrupts = interrupts
        stream = self.stream
        # Interrupts a functional API task streamed when it stopped (LangGraph's eager
        # output; set by scopegraph._func on this run) are not streamed again.
        streamed: set[str] = getattr(self, STREAMED_INTERRUPTS, None) or set()
        shown = tasks
        if streamed:
            shown = [t for t in tasks if not all(i.id in streamed for i in t.interrupts)]
            interrupts = [i for i in interrupts if i.id not in streamed]
        if self.opts.parent is not None:
            pass  # as LangGraph: the root run reports interrupts, its subgraphs' too
        elif "updates" in stream.modes:
            for task in shown:
                if task.interrupted:
                    stream.sink(stream.ns, "updates", {"__interrupt__": tuple(task.interrupts)})
        if (
            "values" in stream.modes
            and self.opts.parent is None
            and not (streamed and not interrupts)
        ):
            snap = self.snapshot()
            if interrupts:
                values = {
                    **(snap if isinstance(snap, dict) else {}),
                    "__interrupt__": tuple(interrupts),
                }
                stream.sink(stream.ns, "values", values)
            elif updated:  # only a subgraph's static interrupt: as LangGraph, the plain state
                stream.sink(stream.ns, "values", snap)
        for task in tasks:
            if task.error is not None:  # an answer that did not match its interrupt's schema
                if self.opts.parent is not None:  # the parent's node waits on them too
                    setattr(task.error, WAITING_INTERRUPTS, tuple(interrupts))
                raise task.error

    def _static_interrupt(self, status: str) -> None:
        """interrupt_before / interrupt_after: stop; the last checkpoint plans what is next."""
        self.interrupt_status = status
        self.interrupts = []
        self.paused = True
        stream = self.stream
        if "updates" in stream.modes and self.opts.parent is None:
            stream.sink(stream.ns, "updates", {"__interrupt__": ()})
