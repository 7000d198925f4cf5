"""The served graphs: assistants, run requests checked against a graph, and a thread's
state read and written through the public graph API (``aget_state``, ``aupdate_state``,
``aget_state_history``). Shared by both backends; raises domain errors only."""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import inspect
import logging
import uuid
import weakref
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

import anyio

from .. import Command, CompiledStateGraph, Send
from ..checkpoint import BaseCheckpointSaver, CheckpointTuple
from ..types import StateUpdate as GraphUpdate
from ._errors import BadRequestError, ConflictError, InvalidRequestError, NotFoundError
from ._models import RunCreate, StateUpdate, Superstep
from ._wire import check_input, is_uuid, snapshot_json

__all__ = (
    "BOTH_CONFIGURABLE_AND_CONTEXT",
    "GraphFactory",
    "Graphs",
    "Served",
    "command_of",
    "is_bridged",
    "is_factory",
    "open_graph",
    "served_graph",
)

_ASSISTANT_NAMESPACE = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")

log = logging.getLogger("scopegraph.server")


def is_bridged(graph: Any) -> bool:
    """Whether ``graph`` is a LangGraph graph served through scopegraph.langgraph.bridge."""
    return bool(getattr(graph, "bridged", False))


class Served(NamedTuple):
    """A graph as the server runs it, and how: ``"scopegraph"`` (built with scopegraph),
    ``"adopted"`` (built with LangGraph, rebuilt on scopegraph's engine) or
    ``"bridged"`` (built with LangGraph, run on LangGraph's engine; ``reason`` says why)."""

    graph: Any
    engine: str
    reason: str = ""

    def describe(self, name: str) -> str:
        """One line of the server's start-up log."""
        if self.engine == "adopted":
            return f"graph {name!r}: built with LangGraph, adopted (runs on scopegraph's engine)"
        if self.engine == "bridged":
            return (
                f"graph {name!r}: built with LangGraph, bridged (runs on LangGraph's engine: "
                f"asyncio only, no scale-out, no rollback): {self.reason}"
            )
        if self.engine == "factory":
            return f"graph {name!r}: a factory, made per run"
        return f"graph {name!r}: scopegraph"


Access = Literal["threads.create_run", "threads.update", "threads.read", "assistants.read"]
"""LangGraph's access contexts of a graph factory's ``ServerRuntime``: why it is made."""


class GraphFactory:
    """A ``langgraph.json`` graph that is a function making the graph (LangGraph's
    "rebuild graph at runtime"): sync or async, taking nothing or the run's config,
    returning a graph or being a context manager (sync or async) that yields one.

    The server calls it per run with the run's config (the assistant's merged in), inside
    the run's cancel scope, and for the assistants' graph and schema endpoints and the
    threads' state with the assistant's (or a default) config. The graph it makes is
    served as a static one is (a LangGraph graph adopted, else bridged), with the
    server's checkpointer and store. A context manager's exit runs when the run ends,
    shielded: on cancel too, after the nodes' own cleanup and before the run's API call
    returns."""

    def __init__(self, name: str, make: Callable[..., Any]) -> None:
        self.name = name
        self.make = make
        self.params = _factory_params(name, make)
        """(parameter name, ``"config"`` or ``"runtime"``) of each parameter it takes."""
        self.checkpointer: Any = None
        self.store: Any = None
        self.bridge = True
        """Whether a LangGraph graph it makes may be bridged (not in a worker)."""
        self._langgraph_saver: Any = None
        """The threads' checkpointer of the bridged graphs it makes, kept across runs."""

    def __repr__(self) -> str:
        return f"GraphFactory({self.name!r}, {getattr(self.make, '__qualname__', self.make)!r})"

    @contextlib.asynccontextmanager
    async def open(
        self,
        config: Mapping[str, Any] | None = None,
        *,
        access: Access = "threads.read",
        context: Any = None,
    ) -> AsyncIterator[Any]:
        """The graph the factory makes for ``config``, ready to run; a context manager
        factory is exited (shielded) when the block ends. ``access``: LangGraph's access
        context of a ``ServerRuntime`` parameter (``threads.create_run`` for a run, whose
        ``context`` it carries; ``threads.read``, ``threads.update``, ``assistants.read``)."""
        made = self.make(**self._arguments(_factory_config(config), access, context))
        if inspect.isawaitable(made):
            made = await made
        if hasattr(made, "__aenter__") and hasattr(made, "__aexit__"):
            value = await made.__aenter__()
            try:
                yield self._ready(value)
            except BaseException as exc:
                with anyio.CancelScope(shield=True):
                    if not await made.__aexit__(type(exc), exc, exc.__traceback__):
                        raise
            else:
                with anyio.CancelScope(shield=True):
                    await made.__aexit__(None, None, None)
        elif hasattr(made, "__enter__") and hasattr(made, "__exit__"):
            with made as value:
                yield self._ready(value)
        else:
            yield self._ready(made)

    def _arguments(self, config: dict[str, Any], access: Access, context: Any) -> dict[str, Any]:
        """The factory's keyword arguments: the config, a ``ServerRuntime``, or both."""
        arguments: dict[str, Any] = {}
        for name, kind in self.params:
            if kind == "config":
                arguments[name] = config
            else:
                arguments[name] = _server_runtime(config, access, context, self.store)
        return arguments

    def _ready(self, made: Any) -> Any:
        """The graph ``made`` as the server serves it: compiled, adopted or bridged, with
        the server's checkpointer and store."""
        if hasattr(made, "compile") and not hasattr(made, "astream"):  # a StateGraph
            made = made.compile()
        try:
            served = served_graph(self.name, made, quiet=True)
        except TypeError as exc:
            raise TypeError(
                f"the graph factory {self.name!r} returned a {type(made).__name__}, not a "
                "graph: return StateGraph(...).compile() (or yield it from a context manager)"
            ) from exc
        graph = served.graph
        if served.engine == "bridged" and not self.bridge:
            raise TypeError(
                f"the graph factory {self.name!r} made a LangGraph graph that cannot be "
                f"adopted ({served.reason}); a worker runs graphs on scopegraph's engine "
                "only: serve it with scopegraph serve (one process)"
            )
        if is_bridged(graph):
            if graph.checkpointer is None:
                from langgraph.checkpoint.memory import InMemorySaver

                if self._langgraph_saver is None:
                    self._langgraph_saver = InMemorySaver()
                graph.graph.checkpointer = self._langgraph_saver
        else:
            graph.checkpointer = self.checkpointer
        give_store([graph], self.store)
        return graph

    # The state API of a graph, through a graph made for a default config (as LangGraph's
    # server makes one to read or write a thread's state).

    async def aget_state(self, config: Any, **kwargs: Any) -> Any:
        async with self.open() as graph:
            return await graph.aget_state(config, **kwargs)

    async def aupdate_state(self, config: Any, values: Any, **kwargs: Any) -> Any:
        async with self.open(access="threads.update") as graph:
            return await graph.aupdate_state(config, values, **kwargs)

    async def abulk_update_state(self, config: Any, supersteps: Any) -> Any:
        async with self.open(access="threads.update") as graph:
            return await graph.abulk_update_state(config, supersteps)

    async def aget_state_history(self, config: Any, **kwargs: Any) -> AsyncIterator[Any]:
        async with self.open() as graph:
            async for snapshot in graph.aget_state_history(config, **kwargs):
                yield snapshot


def _factory_params(name: str, make: Callable[..., Any]) -> list[tuple[str, str]]:
    """The parameters a factory takes, as LangGraph's server tells them apart: none, the
    config, a ``ServerRuntime`` (known by its annotation), or one of each (passed by
    name). Any other signature is refused at load, naming the fix."""
    try:
        params = list(inspect.signature(make).parameters.values())
    except (TypeError, ValueError):
        return []
    params = [
        p
        for p in params
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    ]
    kinds = [(p.name, "runtime" if _is_runtime(p.annotation) else "config") for p in params]
    runtimes = sum(1 for _, kind in kinds if kind == "runtime")
    if len(kinds) > 2 or (len(kinds) == 2 and runtimes != 1):
        raise ValueError(
            f"graph factory {name!r} takes {len(kinds)} parameters {[n for n, _ in kinds]}; "
            "a graph factory takes nothing, the run's config, a ServerRuntime, or a config "
            "and a ServerRuntime: def make_graph(config: RunnableConfig, runtime: "
            "ServerRuntime)"
        )
    return kinds


def _is_runtime(annotation: Any) -> bool:
    """Whether a parameter's annotation (a string under ``from __future__ import
    annotations``) names LangGraph's ``ServerRuntime`` (``ServerRuntime[Ctx]`` too)."""
    if annotation is inspect.Parameter.empty:
        return False
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return "ServerRuntime" in text or "_ExecutionRuntime" in text or "_ReadRuntime" in text


def _server_runtime(config: Mapping[str, Any], access: Access, context: Any, store: Any) -> Any:
    """LangGraph's ``ServerRuntime`` for a factory that takes one: an execution runtime
    (with the run's context) for a run, a read runtime otherwise; the user is the custom
    auth's, the store the server's. Needs ``langgraph_sdk`` (the factory imports it)."""
    from langgraph_sdk.runtime import _ExecutionRuntime, _ReadRuntime

    from ._auth_user import restore_user

    user = restore_user(dict(config.get("configurable") or {})).get("langgraph_auth_user")
    if access == "threads.create_run":
        return _ExecutionRuntime(
            access_context=access, user=user, store=store, context=copy.copy(context)
        )
    return _ReadRuntime(access_context=access, user=user, store=store)


def _factory_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The config a factory is given: LangGraph's keys always present."""
    out = dict(config or {})
    out["configurable"] = dict(out.get("configurable") or {})
    out["metadata"] = dict(out.get("metadata") or {})
    out.setdefault("tags", [])
    return out


def is_factory(graph: Any) -> bool:
    """Whether ``graph`` is a :class:`GraphFactory` (made per run)."""
    return isinstance(graph, GraphFactory)


@contextlib.asynccontextmanager
async def open_graph(
    graph: Any,
    config: Mapping[str, Any] | None = None,
    *,
    access: Access = "threads.read",
    context: Any = None,
) -> AsyncIterator[Any]:
    """The graph to run or describe: a factory's, made for ``config`` (and exited at the
    end of the block; ``access`` and ``context``: see :meth:`GraphFactory.open`); a static
    graph as is (no per-run cost)."""
    if isinstance(graph, GraphFactory):
        async with graph.open(config, access=access, context=context) as made:
            yield made
    else:
        yield graph


def served_graph(name: str, graph: Any, *, quiet: bool = False) -> Served:
    """A scopegraph compiled graph as is; a LangGraph one adopted
    (:func:`scopegraph.langgraph.adopt`) when it can be, so that it gets scale-out,
    rollback and trio workers, else bridged (:func:`scopegraph.langgraph.bridge`). The
    decision is logged (``scopegraph.server``, info; ``scopegraph serve`` prints it)."""
    if is_bridged(graph):
        return Served(graph, "bridged", "passed bridged")
    if isinstance(graph, GraphFactory):
        return Served(graph, "factory")
    if isinstance(graph, CompiledStateGraph):
        return Served(graph, "scopegraph")
    if type(graph).__module__.startswith("langgraph."):
        from ..langgraph import AdoptionError, adopt, bridge

        try:
            # The server gives every scopegraph graph its checkpointer and its store.
            served = Served(adopt(graph, checkpointer=None, store=None), "adopted")
        except AdoptionError as exc:
            served = Served(bridge(graph), "bridged", str(exc))
        if not quiet:
            log.info("%s", served.describe(name))
        return served
    raise TypeError(
        f"graph {name!r} is a {type(graph).__name__}, not a compiled graph: pass "
        "StateGraph(...).compile() (scopegraph's or LangGraph's)"
    )


BOTH_CONFIGURABLE_AND_CONTEXT = (
    "Cannot specify both configurable and context. Prefer setting context alone. Context "
    "was introduced in LangGraph 0.6.0 and is the long term planned replacement for "
    "configurable."
)
"""LangGraph's words (and 400) for an assistant or run given both."""


def check_id(value: str, what: str) -> str:
    """``value`` as a canonical UUID string (``InvalidRequestError`` if it is not one)."""
    if not is_uuid(value):
        raise InvalidRequestError(f"{what} {value!r} is not a UUID", code="InvalidId")
    return str(uuid.UUID(value))


_SERVER_STORES: weakref.WeakSet[Any] = weakref.WeakSet()
"""The graphs whose store a server gave (another app serving them gives its own)."""


def give_store(graphs: Iterable[Any], store: Any) -> None:
    """The server's store for the graphs compiled without one of their own."""
    if store is None:
        return
    for graph in graphs:
        target = graph.graph if is_bridged(graph) else graph
        if getattr(target, "store", None) is None or target in _SERVER_STORES:
            target.store = store
            _SERVER_STORES.add(target)


class Graphs:
    """The graphs a server serves (one assistant each) and their checkpointer.

    Each scopegraph graph gets ``checkpointer``; a LangGraph graph keeps its own
    (LangGraph's ``InMemorySaver`` if it was compiled without one)."""

    def __init__(
        self,
        graphs: Mapping[str, Any],
        checkpointer: BaseCheckpointSaver | None,
        store: Any = None,
    ) -> None:
        self.graphs = dict(graphs)
        self.checkpointer = checkpointer
        self.store = store
        give_store(self.graphs.values(), store)
        for graph in self.graphs.values():
            if not is_bridged(graph):
                graph.checkpointer = checkpointer
            elif graph.checkpointer is None:  # a LangGraph graph compiled without one
                from langgraph.checkpoint.memory import InMemorySaver

                graph.graph.checkpointer = InMemorySaver()
        self.assistants = {
            str(uuid.uuid5(_ASSISTANT_NAMESPACE, name)): name for name in self.graphs
        }

    # -- assistants ----------------------------------------------------------------------

    def assistant(self, assistant_id: str) -> tuple[str, str]:
        """(assistant_id, graph_id) of an assistant id or a graph name."""
        if assistant_id in self.graphs:
            return str(uuid.uuid5(_ASSISTANT_NAMESPACE, assistant_id)), assistant_id
        if not is_uuid(assistant_id):  # neither a graph nor an id: 422, as LangGraph
            raise InvalidRequestError(
                f"assistant {assistant_id!r} is neither a graph name nor an assistant id "
                f"(a UUID): pass one of the graphs {', '.join(map(repr, self.graphs))}, or "
                "an assistant id",
                code="InvalidAssistant",
            )
        graph_id = self.assistants.get(str(uuid.UUID(assistant_id)))
        if graph_id is None:
            raise NotFoundError(f"assistant {assistant_id} not found")
        return str(uuid.UUID(assistant_id)), graph_id

    def run_metadata(
        self,
        assistant: Mapping[str, Any],
        thread_metadata: Mapping[str, Any] | None,
        body: RunCreate,
    ) -> dict[str, Any]:
        """A run's metadata as LangGraph's server makes it: the assistant's, the thread's,
        the run's ``config.metadata`` and its ``metadata``, merged in that order, with
        ``assistant_id`` set; the run's record shows it and its checkpoints carry it."""
        config_metadata = (body.config or {}).get("metadata") or {}
        return {
            **(assistant.get("metadata") or {}),
            **(thread_metadata or {}),
            **(config_metadata if isinstance(config_metadata, dict) else {}),
            **(body.metadata or {}),
            "assistant_id": assistant["assistant_id"],
        }

    def new_thread_metadata(self, assistant: Mapping[str, Any], body: RunCreate) -> dict[str, Any]:
        """The metadata of a thread a run creates (``if_not_exists='create'``), as
        LangGraph's server makes it: the graph and assistant, the run's ``config.metadata``
        and its ``metadata`` (so that an owner a custom auth handler stamped on the run
        owns the thread too)."""
        config_metadata = (body.config or {}).get("metadata") or {}
        return {
            "graph_id": assistant["graph_id"],
            "assistant_id": assistant["assistant_id"],
            **(config_metadata if isinstance(config_metadata, dict) else {}),
            **(body.metadata or {}),
        }

    # -- graphs of threads and runs ------------------------------------------------------

    def of_thread(self, thread: Mapping[str, Any]) -> Any:
        """The graph of a thread's runs (recorded in its metadata), else the first one."""
        graph_id = thread.get("metadata", {}).get("graph_id")
        if graph_id in self.graphs:
            return self.graphs[graph_id]
        return next(iter(self.graphs.values()))

    def stateful(self, graph: Any) -> bool:
        """Whether the graph's threads keep state (a checkpointer, or a bridged graph's)."""
        return self.checkpointer is not None or is_bridged(graph)

    def require_state(self, graph: Any) -> None:
        if not self.stateful(graph):
            raise InvalidRequestError(
                "this server has no checkpointer: threads keep no state", code="NoCheckpointer"
            )

    def check_run(self, graph_id: str, body: RunCreate, *, temporary: bool) -> None:
        """Refuse a run request that cannot run on ``graph_id`` (the message says why)."""
        graph = self.graphs[graph_id]
        if (body.config or {}).get("configurable") and body.context:
            raise BadRequestError(BOTH_CONFIGURABLE_AND_CONTEXT)
        if temporary and body.command is not None and body.command.resume:
            raise BadRequestError(
                "You must provide a thread_id when resuming: a stateless run has no "
                "interrupted state to resume; run on the thread that was interrupted"
            )
        if body.input is not None and body.command is not None:
            raise InvalidRequestError(
                "pass either input or command (to resume), not both", code="InvalidRun"
            )
        # A factory's graph is made per run (its config may change it): the run checks
        # its input and nodes.
        if body.input is not None and not is_factory(graph):
            problem = check_input(graph, body.input)
            if problem is not None:
                raise InvalidRequestError(problem, code="InvalidInput")
        for key in ("interrupt_before", "interrupt_after"):
            nodes = getattr(body, key)
            if isinstance(nodes, list) and not is_factory(graph):
                unknown = [n for n in nodes if n not in graph.nodes]
                if unknown:
                    raise InvalidRequestError(
                        f"{key} names unknown nodes {unknown}; the nodes of {graph_id!r} are "
                        f"{list(graph.nodes)}",
                        code="InvalidRun",
                    )
        stateless = self.checkpointer is None and not is_bridged(graph)
        if body.input is None and body.command is None and (temporary or stateless):
            raise InvalidRequestError(
                "the input is null: pass the initial state, or run on a thread with "
                "saved state to resume it",
                code="InvalidInput",
            )

    # -- a thread's state ----------------------------------------------------------------

    async def thread_values(self, thread: Mapping[str, Any]) -> dict[str, Any]:
        """The thread as the API shows it: its record with ``values`` and ``interrupts``."""
        graph = self.of_thread(thread)
        out = dict(thread)
        # LangGraph's thread fields: when its state last changed, and its last run's error
        out.setdefault("state_updated_at", thread.get("created_at"))
        out.setdefault("error", None)
        if self.stateful(graph):
            snapshot = await graph.aget_state({"configurable": {"thread_id": thread["thread_id"]}})
            out["values"] = snapshot.values if snapshot.created_at is not None else None
            if snapshot.created_at is not None:
                out["state_updated_at"] = snapshot.created_at
            out["interrupts"] = {
                task.id: [{"value": i.value, "id": i.id} for i in task.interrupts]
                for task in snapshot.tasks
                if task.interrupts
            }
        return out

    async def values(self, thread: Mapping[str, Any]) -> Any:
        """The thread's current values (None without state)."""
        graph = self.of_thread(thread)
        if not self.stateful(graph):
            return None
        snapshot = await graph.aget_state({"configurable": {"thread_id": thread["thread_id"]}})
        return snapshot.values

    async def state(
        self, thread: Mapping[str, Any], checkpoint_id: str | None, *, subgraphs: bool = False
    ) -> dict[str, Any]:
        """The thread's state (at ``checkpoint_id``) as a ``ThreadState`` (``subgraphs``:
        with each subgraph task's state)."""
        graph = self.of_thread(thread)
        self.require_state(graph)
        configurable = {"thread_id": thread["thread_id"]}
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        snapshot = await graph.aget_state({"configurable": configurable}, subgraphs=subgraphs)
        if checkpoint_id and snapshot.created_at is None:
            raise NotFoundError(f"checkpoint {checkpoint_id} not found")
        return snapshot_json(snapshot, thread["thread_id"])

    async def update_state(
        self, thread: Mapping[str, Any], body: StateUpdate, *, busy: bool
    ) -> dict[str, Any]:
        """Write ``body.values`` as ``body.as_node``; the new checkpoint. A ``busy`` thread
        (a run is running on it) is refused."""
        graph = self.of_thread(thread)
        self.require_state(graph)
        if busy:
            raise ConflictError(f"thread {thread['thread_id']} is busy with a run")
        configurable = {"thread_id": thread["thread_id"]}
        checkpoint_id = body.checkpoint_id or (body.checkpoint or {}).get("checkpoint_id")
        if checkpoint_id:
            configurable["checkpoint_id"] = checkpoint_id
        config = await graph.aupdate_state(
            {"configurable": configurable}, body.values, as_node=body.as_node
        )
        conf = config["configurable"]
        return {
            "checkpoint": {
                "thread_id": conf["thread_id"],
                "checkpoint_ns": conf.get("checkpoint_ns", ""),
                "checkpoint_id": conf["checkpoint_id"],
                "checkpoint_map": None,
            }
        }

    async def history(
        self,
        thread: Mapping[str, Any],
        limit: int,
        before: Any,
        metadata: Any,
        checkpoint: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """The thread's checkpoints, newest first, as ``ThreadState`` s; ``checkpoint``
        (LangGraph's server): its ``checkpoint_ns`` lists a subgraph's, its
        ``checkpoint_id`` that checkpoint (the thread id is always the thread's)."""
        graph = self.of_thread(thread)
        self.require_state(graph)
        before_id = before.get("checkpoint_id") if isinstance(before, dict) else before
        before_config = {"configurable": {"checkpoint_id": before_id}} if before_id else None
        configurable = {**(checkpoint or {}), "thread_id": thread["thread_id"]}
        return [
            snapshot_json(s, thread["thread_id"])
            async for s in graph.aget_state_history(
                {"configurable": configurable},
                filter=metadata,
                before=before_config,
                limit=limit,
            )
        ]

    # -- whole threads: copy, prune, supersteps ------------------------------------------

    async def copy_state(self, thread: Mapping[str, Any], new_thread_id: str) -> None:
        """Copy the thread's checkpoints (and task records) to ``new_thread_id``, whose
        own checkpoints name it (as LangGraph's copy replaces the thread id)."""
        graph = self.of_thread(thread)
        if not self.stateful(graph):
            return
        source = str(thread["thread_id"])
        saver = graph.checkpointer
        if is_bridged(graph):
            await _langgraph_saver_call(saver, "acopy_thread", source, new_thread_id)
            return
        tuples = await saver.alist(source, "", before=None)
        await _put_history(saver, new_thread_id, list(reversed(tuples)), renamed_from=source)

    async def keep_latest(self, thread: Mapping[str, Any]) -> None:
        """Delete every checkpoint of the thread but its latest."""
        graph = self.of_thread(thread)
        if not self.stateful(graph):
            return
        thread_id = str(thread["thread_id"])
        saver = graph.checkpointer
        if is_bridged(graph):
            await _langgraph_saver_call(saver, "aprune", [thread_id], strategy="keep_latest")
            return
        latest = await saver.alist(thread_id, "", before=None, limit=1)
        await saver.adelete_thread(thread_id)
        await _put_history(saver, thread_id, latest)

    async def apply_supersteps(
        self, thread: Mapping[str, Any], supersteps: Sequence[Superstep]
    ) -> None:
        """Apply state updates to the thread, one superstep of them at a time (LangGraph's
        ``bulk_update_state``, as its server's thread creation does)."""
        graph_id = thread.get("metadata", {}).get("graph_id")
        if graph_id not in self.graphs:
            raise InvalidRequestError(
                "supersteps need the thread's graph: pass metadata={'graph_id': ...} (one of "
                f"{', '.join(map(repr, self.graphs))}) with them",
                code="InvalidThread",
            )
        graph = self.graphs[graph_id]
        self.require_state(graph)
        steps = [
            [GraphUpdate(_update_of(u.command, u.values), u.as_node) for u in step.updates]
            for step in supersteps
        ]
        try:
            await graph.abulk_update_state(
                {"configurable": {"thread_id": thread["thread_id"]}}, steps
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRequestError(
                f"thread {thread['thread_id']} was created, but its supersteps could not be "
                f"applied: {exc}",
                code="InvalidSupersteps",
            ) from exc


def _update_of(command: Any, values: Any) -> Any:
    """What one update of a superstep writes: its command, else its values."""
    if command is None:
        return values
    return command_of(command.model_dump(exclude_none=True))


def command_of(spec: dict[str, Any]) -> Command[Any]:
    """A ``Command`` from its wire form (``resume``, ``update``, ``goto`` as node names or
    ``{"node", "input"}`` sends)."""
    goto = spec.get("goto")
    if goto is not None:
        items = goto if isinstance(goto, list) else [goto]
        goto = [Send(g["node"], g.get("input")) if isinstance(g, dict) else g for g in items]
    return Command(update=spec.get("update"), resume=spec.get("resume"), goto=goto or ())


async def _put_history(
    saver: BaseCheckpointSaver,
    thread_id: str,
    tuples: Sequence[CheckpointTuple],
    *,
    renamed_from: str | None = None,
) -> None:
    """Store ``tuples`` (oldest first) as the thread's checkpoints, each with its task
    records; a checkpoint whose metadata names ``renamed_from`` names ``thread_id``."""
    expected: str | None = None
    for tup in tuples:
        checkpoint = tup.checkpoint
        if renamed_from is not None and checkpoint.metadata.get("thread_id") == renamed_from:
            metadata = {**checkpoint.metadata, "thread_id": thread_id}
            checkpoint = dataclasses.replace(checkpoint, metadata=metadata)
        await saver.aput(thread_id, "", checkpoint, expected_latest=expected)
        for task in tup.tasks:
            await saver.aput_task(thread_id, "", checkpoint.id, task)
        expected = checkpoint.id


async def _langgraph_saver_call(saver: Any, method: str, *args: Any, **kwargs: Any) -> None:
    """A thread operation of a bridged graph's LangGraph checkpointer."""
    try:
        await getattr(saver, method)(*args, **kwargs)
    except NotImplementedError as exc:
        raise InvalidRequestError(
            f"the LangGraph checkpointer {type(saver).__name__} of this bridged graph does "
            f"not implement {method}(); serve the graph with scopegraph's checkpointer",
            code="NotSupported",
        ) from exc
