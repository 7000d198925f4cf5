"""LangGraph-built nodes inside scopegraph graphs: LangGraph's config contract, and how
a LangChain ``Runnable`` node runs (an integration, loaded by :mod:`._langchain`).

``langgraph.prebuilt.ToolNode``, ``tools_condition``, ``ValidationNode``, the nodes and
middleware of ``langchain.agents.create_agent``, tools with ``InjectedState``,
``InjectedStore``, ``InjectedToolCallId`` or ``ToolRuntime`` read their run through
LangGraph's config contract: keys of ``config["configurable"]`` that LangGraph's Pregel
loop puts there. Once the program has imported ``langgraph``, a node's config gets them:

- ``__pregel_runtime``: a ``langgraph.runtime.Runtime`` with the run's context, store,
  stream writer, heartbeat, execution and server info and run control (what
  ``RunnableCallable`` injects as ``runtime``/``store``/``writer``, and what
  ``langgraph.runtime.get_runtime()``, ``langgraph.config.get_store()`` and
  ``get_stream_writer()`` read);
- ``__pregel_store``: the store;
- ``__pregel_scratchpad`` and ``__pregel_send``: what ``langgraph.types.interrupt`` uses
  (:class:`._pregel._foreign.LangGraphScratchpad`; the run pauses on LangGraph's
  ``GraphInterrupt`` as on its own);
- ``__pregel_read`` and ``__pregel_read_state``: the state, as ``ToolNode`` reads it for
  tool calls sent to it with ``Send("tools", [tool_call])``;
- ``checkpoint_ns`` and ``__pregel_task_id`` are there for every node.

LangGraph's ``Command`` and ``Send`` returned by such nodes and edges are taken as
scopegraph's (:func:`scopegraph._types.from_langgraph`).

A LangChain ``Runnable`` node's ``ainvoke`` runs as :func:`._pregel._foreign.asyncio_code`
runs LangChain's async code: on asyncio in a task of its own that is cancelled once, on
trio on an asyncio event loop in a worker thread.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ._pregel import NodeContext
from ._pregel._algo import updated_values, with_managed
from ._pregel._context import store_of
from ._pregel._foreign import LangGraphScratchpad, asyncio_code
from ._types import from_langgraph

__all__ = ("call_runnable", "extend_configurable")

_RESUME = "__resume__"


def _langgraph_runtime(ctx: NodeContext, store: Any) -> Any:
    from langgraph.runtime import ExecutionInfo, Runtime, ServerInfo

    ours = ctx.runtime
    info = ours.execution_info
    server = ours.server_info
    return Runtime(
        context=ours.context,
        store=store,
        stream_writer=ours.stream_writer,
        heartbeat=ours.heartbeat,
        execution_info=None
        if info is None
        else ExecutionInfo(
            checkpoint_id=info.checkpoint_id,
            checkpoint_ns=info.checkpoint_ns,
            task_id=info.task_id,
            thread_id=info.thread_id,
            run_id=info.run_id,
            node_attempt=info.node_attempt,
            node_first_attempt_time=info.node_first_attempt_time,
        ),
        server_info=None
        if server is None
        else ServerInfo(
            assistant_id=server.assistant_id, graph_id=server.graph_id, user=server.user
        ),
        control=ours.control,  # type: ignore[arg-type]
    )


def _sender(ctx: NodeContext) -> Callable[[Sequence[tuple[str, Any]]], None]:
    def send(writes: Sequence[tuple[str, Any]]) -> None:
        for channel, _ in writes:
            if channel != _RESUME:  # answers to interrupts: the task keeps them already
                raise NotImplementedError(
                    f"node {ctx.task.name!r} wrote {channel!r} through LangGraph's "
                    "internal __pregel_send; scopegraph takes only interrupt answers there: "
                    "return the update from the node instead"
                )

    return send


def _reader(ctx: NodeContext) -> Callable[..., Any]:
    def read(select: str | Sequence[str], fresh: bool = False) -> Any:
        run = ctx.run
        spec = run.opts.spec
        values = with_managed(spec, run.values, run.remaining)
        if fresh and ctx.task.writes:
            values = updated_values(values, spec.reducers, ctx.task.writes)
        if isinstance(select, str):
            return values.get(select)
        return {k: values[k] for k in select if k in values}

    return read


def _state_reader(ctx: NodeContext) -> Callable[[], Any]:
    def read_state() -> Any:
        run = ctx.run
        spec = run.opts.spec
        return spec.node_views[ctx.task.name](with_managed(spec, run.values, run.remaining))

    return read_state


_CONTRACT = frozenset(
    (
        "__pregel_runtime",
        "__pregel_store",
        "__pregel_scratchpad",
        "__pregel_send",
        "__pregel_read",
        "__pregel_read_state",
    )
)


class _Configurable(dict[str, Any]):
    """A node's ``configurable`` whose contract keys (see the module) are made on first
    need: a node that reads ``thread_id`` from its config never builds a LangGraph
    ``Runtime``. Reading a contract key, or iterating or copying the dict (as LangChain's
    ``ensure_config`` does), adds them all."""

    __slots__ = ("_ctx",)

    def __init__(self, items: dict[str, Any], ctx: NodeContext) -> None:
        if not _CONTRACT.isdisjoint(items):  # a subgraph's node: its parent node's keys
            items = {k: v for k, v in items.items() if k not in _CONTRACT}
        super().__init__(items)
        self._ctx: NodeContext | None = ctx

    def _fill(self) -> None:
        ctx = self._ctx
        if ctx is not None:
            self._ctx = None
            dict.update(self, _contract(ctx))

    def __missing__(self, key: str) -> Any:
        if key in _CONTRACT and self._ctx is not None:
            self._fill()
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        if key in _CONTRACT:
            self._fill()
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        if key in _CONTRACT:
            self._fill()
        return dict.__contains__(self, key)

    def __iter__(self) -> Iterator[str]:
        self._fill()
        return dict.__iter__(self)

    def __len__(self) -> int:  # counts the keys still to make without making them
        return dict.__len__(self) + (len(_CONTRACT) if self._ctx is not None else 0)

    def keys(self) -> Any:
        self._fill()
        return dict.keys(self)

    def items(self) -> Any:
        self._fill()
        return dict.items(self)

    def values(self) -> Any:
        self._fill()
        return dict.values(self)

    def copy(self) -> dict[str, Any]:
        self._fill()
        return dict(dict.items(self))

    def __reduce__(self) -> Any:
        self._fill()
        return (dict, (dict(dict.items(self)),))


def _contract(ctx: NodeContext) -> dict[str, Any]:
    store = store_of(ctx.run)
    return {
        "__pregel_runtime": _langgraph_runtime(ctx, store),
        "__pregel_store": store,
        "__pregel_scratchpad": LangGraphScratchpad(ctx),
        "__pregel_send": _sender(ctx),
        "__pregel_read": _reader(ctx),
        "__pregel_read_state": _state_reader(ctx),
    }


def extend_configurable(ctx: NodeContext, configurable: dict[str, Any]) -> dict[str, Any]:
    """The node's ``configurable`` with LangGraph's config contract (see the module),
    once the program has imported ``langgraph``."""
    if "langgraph" not in sys.modules:
        return configurable
    return _Configurable(configurable, ctx)


async def call_runnable(runnable: Any, node_input: Any, ctx: NodeContext) -> Any:
    """Run a node that is a LangChain ``Runnable`` (see the module); LangGraph's
    ``Command`` and ``Send`` in its result become scopegraph's."""
    from langchain_core.runnables import Runnable

    config = ctx.config
    if not isinstance(runnable, Runnable):
        return await runnable.ainvoke(node_input, config)
    result = await asyncio_code(functools.partial(runnable.ainvoke, node_input, config))
    return from_langgraph(result)
