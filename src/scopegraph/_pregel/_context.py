"""What a run is built from (:class:`RunOptions`) and what a running node can reach of it
(:class:`NodeContext`).

A run is constructed from one frozen :class:`RunOptions` and never reconfigured: the
compiled graph decides everything (stream modes, sink, checkpointer, thread, durability,
static interrupts) before the run exists. The node's context is also what the public
helpers (``get_config()``, ``get_stream_writer()``, ``interrupt()``...) find through a
context variable.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, Literal, Protocol

import anyio.from_thread

from .._ids import new_id
from .._output import RunOutput
from .._run import Attempt
from .._runtime import ExecutionInfo, RunControl, Runtime, ServerInfo
from .._spec import GraphSpec
from .._types import RunnableConfig
from ..checkpoint._base import BaseCheckpointSaver
from . import _hooks
from ._task import Task

__all__ = (
    "CONFIG_KEY_NODE",
    "Durability",
    "NodeContext",
    "ParsedConfig",
    "RunOptions",
    "PersistOptions",
    "RunView",
    "StreamOptions",
    "Sink",
    "current",
    "merge_configs",
    "parse_config",
    "store_of",
)

Sink = Callable[[tuple[str, ...], str, Any], None]
"""Receives ``(namespace, mode, chunk)`` for every stream chunk of a run."""

Durability = Literal["sync", "async", "exit"]

CONFIG_KEY_NODE = "__scopegraph_node"
"""Key in ``config["configurable"]`` under which a node's config carries its context."""

current: ContextVar[NodeContext | None] = ContextVar("scopegraph_node", default=None)
"""The node running in this context (``get_config()`` and friends read it)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ParsedConfig:
    """A ``RunnableConfig`` as the run reads it."""

    config: dict[str, Any]
    """The user's config without ``metadata``, ``configurable``, ``run_name``, ``run_id``."""
    configurable: dict[str, Any]
    user_tags: tuple[str, ...]
    user_metadata: dict[str, Any]
    """The user's metadata (plus ``thread_id``): node and event metadata start from it."""
    checkpoint_metadata: dict[str, Any]
    """The user's metadata plus the user's own configurable keys (LangGraph's rule)."""
    run_name: str
    run_id: str | None
    recursion_limit: int
    max_concurrency: int | None
    has_callbacks: bool = False
    """``config["callbacks"]`` is set: the integration's hooks have handlers to tell."""

    def with_run_id(self) -> ParsedConfig:
        """The same config with a run id (made now if the user gave none)."""
        if self.run_id is not None:
            return self
        return dataclasses.replace(self, run_id=new_id())


_NOT_USER_CHECKPOINT_KEYS = frozenset(
    ("thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint_map")
)


def merge_configs(*configs: RunnableConfig | None) -> RunnableConfig:
    """Configs merged as LangGraph merges a graph's bound config (``with_config``) with a
    run's: later values win, except that ``metadata`` and ``configurable`` merge per key,
    ``tags`` and ``callbacks`` add up; empty values are skipped."""
    merged: dict[str, Any] = {}
    for config in configs:
        items: dict[str, Any] = dict(config or {})
        for key, value in items.items():
            if not value:
                continue
            old = merged.get(key)
            if key in ("metadata", "configurable") and old:
                merged[key] = {**old, **value}
            elif key == "tags" and old:
                merged[key] = [*old, *value]
            elif key == "callbacks" and old:
                merged[key] = _merge_callbacks(old, value)
            else:
                merged[key] = value
    merged.setdefault("configurable", {})
    return merged  # type: ignore[return-value]


def _merge_callbacks(old: Any, new: Any) -> Any:
    """Two ``callbacks`` values: lists of handlers, or LangChain callback managers."""
    if isinstance(old, list) and isinstance(new, list):
        return [*old, *new]
    if isinstance(old, list):  # new is a manager: it gets the handlers too
        old, new = new, old
    if isinstance(new, list):
        manager = old.copy()
        for handler in new:
            manager.add_handler(handler, inherit=True)
        return manager
    return old.merge(new)


_PROPAGATE_TO_METADATA = (
    "thread_id",
    "checkpoint_id",
    "checkpoint_ns",
    "task_id",
    "run_id",
    "assistant_id",
    "graph_id",
)
"""The ``configurable`` keys that also go to the nodes' metadata (LangGraph's list)."""


def parse_config(config: RunnableConfig, name: str, recursion_limit: int) -> ParsedConfig:
    """Split the user's config into what the run uses; check ``recursion_limit``."""
    user_config: dict[str, Any] = dict(config)
    run_name: str = user_config.pop("run_name", None) or name
    given_id = user_config.pop("run_id", None)
    limit = user_config.get("recursion_limit", recursion_limit)
    if not isinstance(limit, int) or limit < 1:
        raise ValueError(f"recursion_limit must be an int of at least 1, not {limit!r}")
    user_metadata: dict[str, Any] = dict(user_config.pop("metadata", None) or {})
    given = user_config.pop("configurable", None) or {}
    # A parent node's configurable (a subgraph's run): its own entries only, without
    # making the keys an integration adds on first need (dict.items: not an override).
    configurable: dict[str, Any] = {
        k: v
        for k, v in (dict.items(given) if isinstance(given, dict) else given.items())
        if k != CONFIG_KEY_NODE
    }
    # LangGraph's rule: only the configurable's strings, numbers and booleans (an object
    # there, such as a server's authenticated user, stays out of the checkpoint)
    checkpoint_metadata = {
        **user_metadata,
        **{
            k: v
            for k, v in configurable.items()
            if not k.startswith("__")
            and k not in _NOT_USER_CHECKPOINT_KEYS
            and isinstance(v, (str, int, float, bool))
        },
    }
    for key in _PROPAGATE_TO_METADATA:
        if key in configurable:
            user_metadata.setdefault(key, configurable[key])
    max_concurrency = user_config.get("max_concurrency")
    return ParsedConfig(
        config=user_config,
        configurable=configurable,
        user_tags=tuple(user_config.get("tags") or ()),
        user_metadata=user_metadata,
        checkpoint_metadata=checkpoint_metadata,
        run_name=run_name,
        run_id=None if given_id is None else str(given_id),
        recursion_limit=limit,
        max_concurrency=max_concurrency if isinstance(max_concurrency, int) else None,
        has_callbacks=bool(user_config.get("callbacks")),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class StreamOptions:
    """Where a run's chunks go, and which ones it makes."""

    output: RunOutput | None
    """The consumer's buffer (None: nobody streams this run)."""
    modes: frozenset[str]
    sink: Sink
    events: bool = False
    """Whether the run produces ``astream_events`` envelopes into ``output``."""
    events_v1: bool = False
    """``astream_events(version="v1")``: a model's or retriever's end event carries what
    LangChain's v1 carries (the ``LLMResult``, ``{"documents": ...}``)."""
    ns: tuple[str, ...] = ()
    """The stream namespace (a subgraph's is its parent node's path)."""
    subgraphs: bool = False
    """Whether the consumer takes subgraph chunks (``subgraphs=True``): then it takes
    the chat tokens and tool events of a graph a node runs on a thread of its own too."""


@dataclasses.dataclass(frozen=True, slots=True)
class PersistOptions:
    """How a run keeps its thread: the root run of a graph with a checkpointer, and its
    subgraphs' runs (each under its namespace, ``RunOptions.checkpoint_ns``)."""

    saver: BaseCheckpointSaver
    thread_id: str
    durability: Durability = "async"
    stateful: bool = False
    """A ``checkpointer=True`` subgraph: its namespace keeps one history across calls."""


@dataclasses.dataclass(frozen=True, slots=True)
class RunOptions:
    """Everything one run is built from, but its input. Frozen: a run is never
    reconfigured, and a graph reuses the options of its plain ``ainvoke(input)`` calls."""

    spec: GraphSpec
    cfg: ParsedConfig
    stream: StreamOptions
    context: Any = None
    """The run's context (``ainvoke(..., context=...)``), shared with subgraphs."""
    control: RunControl | None = None
    """The run's ``RunControl`` (``ainvoke(..., control=...)``), shared with subgraphs."""
    store: Any = None
    """The graph's store (``compile(store=...)``); subgraphs use their parent's."""
    step_timeout: float | None = None
    """The graph's ``step_timeout``: seconds each superstep may take."""
    parent: NodeContext | None = None
    """The node this run is a subgraph (or a nested ``ainvoke``) of."""
    checkpoint_ns: str = ""
    persist: PersistOptions | None = None
    interrupt_before: frozenset[str] = frozenset()
    """Nodes the run stops before (``interrupt_before``); with or without a checkpointer,
    as LangGraph: without one the run just ends there, with ``__interrupt__`` streamed."""
    interrupt_after: frozenset[str] = frozenset()
    """Nodes the run stops after (``interrupt_after``)."""


def store_of(run: RunView) -> Any:
    """The store of a run (``compile(store=...)`` of its graph, read when the run was
    built, so a graph given a store after compiling, as the run server does, uses it; a
    subgraph's run has its parent's), or None."""
    return run.opts.store


class RunView(Protocol):
    """What a node (and the run's helpers) see of its run; ``_loop.Run`` implements it."""

    opts: RunOptions
    stream: StreamOptions
    """``opts.stream``, one attribute away on the hot path."""
    output: RunOutput | None
    """``opts.stream.output``, on the hottest path (custom events)."""
    input: Any
    step: int
    values: dict[str, Any]
    remaining: int
    """The steps left before the recursion limit, as the current step's managed
    ``RemainingSteps`` reads it."""
    loop_thread: int
    interrupted_tasks: int
    """How many of its tasks stopped at an ``interrupt()`` (the loop checks it per step)."""
    answers: dict[str, Any]
    """``Command(resume=...)``'s answers by interrupt id (read on the root run)."""

    @property
    def run_id(self) -> str: ...

    @property
    def child_parent_ids(self) -> list[str]: ...


class NodeContext:
    """What a running node can reach: its run, its config, its stream writer."""

    __slots__ = (
        "_checkpoint_ns",
        "_config",
        "_custom",
        "_metadata",
        "attempt",
        "langchain",
        "run",
        "run_id",
        "task",
        "task_chunks",
    )

    task_chunks: list[Callable[[], None]] | None
    """The stream chunks of the tasks this ``StateGraph`` node hosted, held until its end
    (LangGraph streams them after it); unset unless the node called tasks."""

    def __init__(self, run: RunView, task: Task) -> None:
        self.run = run
        self.task = task
        self.run_id: str | None = None
        self._checkpoint_ns: str | None = None
        self._config: RunnableConfig | None = None
        self._metadata: dict[str, Any] | None = None
        self._custom: tuple[Any, ...] | bool | None = None
        """What this node's custom events share, built on the first; False: no events."""
        self.langchain: Any = None
        """The node's LangChain callback handler, once its config was built with one."""
        self.attempt: Attempt | None = None
        """The running attempt, when the node has a timeout or retries."""

    @property
    def parent_ids(self) -> list[str]:
        return self.run.child_parent_ids

    @property
    def checkpoint_ns(self) -> str:
        ns = self._checkpoint_ns
        if ns is None:
            task, parent_ns = self.task, self.run.opts.checkpoint_ns
            ns = f"{task.name}:{task.id}"
            if parent_ns:
                ns = f"{parent_ns}|{ns}"
            self._checkpoint_ns = ns
        return ns

    @property
    def metadata(self) -> dict[str, Any]:
        md = self._metadata
        if md is None:
            run, task = self.run, self.task
            md = self._metadata = {
                **run.opts.cfg.user_metadata,
                "langgraph_step": run.step,
                "langgraph_node": task.name,
                "langgraph_triggers": task.triggers,
                "langgraph_path": task.path,
                "langgraph_checkpoint_ns": self.checkpoint_ns,
            }
        return md

    def event_metadata(self) -> dict[str, Any]:
        """The metadata of this node's ``astream_events`` envelopes."""
        md = {"ls_integration": "langgraph", **self.metadata}
        opts = self.run.opts
        if opts.parent is not None:
            md["checkpoint_ns"] = opts.checkpoint_ns
        return md

    @property
    def config(self) -> RunnableConfig:
        config = self._config
        if config is None:
            cfg = self.run.opts.cfg
            configurable = {
                **cfg.configurable,
                "checkpoint_ns": self.checkpoint_ns,
                "__pregel_task_id": self.task.id,
                CONFIG_KEY_NODE: self,
            }
            hooks = _hooks.node_hooks()
            if hooks is not None:
                configurable = hooks.extend_configurable(self, configurable)
            config = self._config = {  # type: ignore[assignment]
                **cfg.config,
                "metadata": self.metadata,
                "configurable": configurable,
            }
            if hooks is not None:
                config["callbacks"] = hooks.callbacks_for(self, cfg.config.get("callbacks"))  # type: ignore[index]
        return config  # type: ignore[return-value]

    @property
    def runtime(self) -> Runtime[Any]:
        """The node's ``Runtime`` (LangGraph's): the run's context, its stream writer,
        its run control, this attempt's execution info and heartbeat, and what the run
        server said about the run."""
        opts = self.run.opts
        configurable = opts.cfg.configurable
        server = None
        if "assistant_id" in configurable and "graph_id" in configurable:
            server = ServerInfo(
                assistant_id=configurable["assistant_id"],
                graph_id=configurable["graph_id"],
                user=configurable.get("langgraph_auth_user"),
            )
        return Runtime(
            context=opts.context,
            store=store_of(self.run),
            stream_writer=self.write_custom,
            execution_info=self.execution_info(),
            server_info=server,
            control=opts.control,
            heartbeat=self.heartbeat,
        )

    def execution_info(self) -> ExecutionInfo:
        run, attempt = self.run, self.attempt
        opts = run.opts
        return ExecutionInfo(
            checkpoint_id=_step_checkpoint_id(run),
            checkpoint_ns=self.checkpoint_ns,
            task_id=self.task.id,
            thread_id=opts.cfg.configurable.get("thread_id"),
            run_id=opts.cfg.run_id,
            node_attempt=1 if attempt is None else attempt.number,
            node_first_attempt_time=time.time() if attempt is None else attempt.first_started,
        )

    def heartbeat(self) -> None:
        """``runtime.heartbeat()``: progress, for the node's ``idle_timeout``."""
        attempt = self.attempt
        if attempt is None:
            return
        if threading.get_ident() == self.run.loop_thread:
            attempt.progress()
        else:
            anyio.from_thread.run_sync(attempt.progress, token=self.loop_token())

    def loop_token(self) -> Any:
        """The event loop's token for a call from a thread anyio did not start (the
        executor threads of LangChain's ``ToolNode``): the node's LangChain handler
        took it on the loop's thread. None: anyio's worker thread knows its loop."""
        return getattr(self.langchain, "loop", None)

    def output_progress(self) -> None:
        """The node produced output (a custom chunk, a token): progress, unless its
        ``TimeoutPolicy`` counts only heartbeats."""
        attempt = self.attempt
        if attempt is not None and attempt.refresh_on_output:
            self.heartbeat()

    def write_custom(self, chunk: Any) -> None:
        """The node's ``get_stream_writer()``: a chunk for the ``custom`` stream mode."""
        run = self.run
        if self.attempt is not None:  # (output_progress, inline: this is the hot path)
            self.output_progress()
        stream = run.stream
        if "custom" not in stream.modes:
            return
        if threading.get_ident() == run.loop_thread:
            stream.sink(stream.ns, "custom", chunk)
        else:
            anyio.from_thread.run_sync(
                stream.sink, stream.ns, "custom", chunk, token=self.loop_token()
            )

    def custom_event(self, name: str, data: Any) -> None:
        custom = self._custom
        if custom is None:
            run = self.run
            output = run.stream.output
            if output is None or not run.stream.events:
                self._custom = False
                return
            # Events of one node share their tags and metadata objects: they are the same.
            custom = self._custom = (
                output.put,
                self.run_id,
                ["seq:step:1", *run.opts.cfg.user_tags],
                {**self.event_metadata(), "checkpoint_ns": self.checkpoint_ns},
                self.parent_ids,
            )
        elif custom is False or custom is True:
            return
        put, run_id, tags, metadata, parent_ids = custom
        put(
            {
                "event": "on_custom_event",
                "run_id": run_id,
                "name": name,
                "tags": tags,
                "metadata": metadata,
                "data": data,
                "parent_ids": parent_ids,
            }
        )


def _step_checkpoint_id(run: RunView) -> str:
    """The checkpoint the run's current step started from: the run's own, else that of
    the nearest parent run with a checkpointer ("" when no run has one)."""
    view: RunView | None = run
    while view is not None:
        persistence = getattr(view, "persistence", None)
        checkpoint_id = getattr(persistence, "checkpoint_id", None)
        if checkpoint_id is not None:
            return str(checkpoint_id)
        parent = view.opts.parent
        view = None if parent is None else parent.run
    return ""
