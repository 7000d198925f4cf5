"""The small value types of the public API: Send, Command, RetryPolicy, TimeoutPolicy,
StateUpdate, Overwrite, TracePolicy, RunnableConfig."""

from __future__ import annotations

import dataclasses
import datetime
import json
import random
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypedDict, TypeVar

__all__ = (
    "CachePolicy",
    "Command",
    "CheckpointStreamPart",
    "CustomStreamPart",
    "DebugStreamPart",
    "EntrypointFinal",
    "GraphOutput",
    "Interrupt",
    "Overwrite",
    "RetryPolicy",
    "RunnableConfig",
    "MessagesStreamPart",
    "Send",
    "StateUpdate",
    "StreamMode",
    "StreamPart",
    "TasksStreamPart",
    "TimeoutPolicy",
    "TracePolicy",
    "UpdatesStreamPart",
    "ValuesStreamPart",
    "default_cache_key",
    "default_retry_on",
    "from_langgraph",
    "omit_payload",
)

StreamMode = Literal["values", "updates", "custom", "messages", "debug", "tasks", "checkpoints"]

StreamWriter = Callable[[Any], None]
"""What ``get_stream_writer()`` returns, and what a node's ``writer`` parameter receives."""
STREAM_MODES: frozenset[str] = frozenset(
    ("values", "updates", "custom", "messages", "debug", "tasks", "checkpoints", "tools")
)
"""The modes a run streams: :data:`StreamMode`'s, and ``"tools"`` (LangGraph 1.2's
tool-call events, which its ``StreamMode`` literal does not list either)."""


# -- version="v2": LangGraph 1.2's typed stream parts and invoke result ---------------------


_StateT = TypeVar("_StateT")
_OutputT = TypeVar("_OutputT")


class ValuesStreamPart(TypedDict, Generic[_OutputT]):
    """A ``values`` part of ``astream(..., version="v2")``: the state after a step, and
    the interrupts the run stopped at (LangGraph's ``__interrupt__`` key, moved out)."""

    type: Literal["values"]
    ns: tuple[str, ...]
    data: _OutputT
    interrupts: tuple[Interrupt, ...]


class UpdatesStreamPart(TypedDict):
    """An ``updates`` part: node name -> its update (or ``__interrupt__``)."""

    type: Literal["updates"]
    ns: tuple[str, ...]
    data: dict[str, Any]


class MessagesStreamPart(TypedDict):
    """A ``messages`` part: ``(message chunk, metadata)``."""

    type: Literal["messages"]
    ns: tuple[str, ...]
    data: tuple[Any, dict[str, Any]]


class CustomStreamPart(TypedDict):
    """A ``custom`` part: what a node passed to its stream writer."""

    type: Literal["custom"]
    ns: tuple[str, ...]
    data: Any


class CheckpointStreamPart(TypedDict, Generic[_StateT]):
    """A ``checkpoints`` part: the checkpoint as ``get_state`` shows it."""

    type: Literal["checkpoints"]
    ns: tuple[str, ...]
    data: dict[str, Any]


class TasksStreamPart(TypedDict):
    """A ``tasks`` part: a task's start (``input``, ``triggers``) or its result."""

    type: Literal["tasks"]
    ns: tuple[str, ...]
    data: dict[str, Any]


class DebugStreamPart(TypedDict, Generic[_StateT]):
    """A ``debug`` part: ``{"step", "timestamp", "type", "payload"}``."""

    type: Literal["debug"]
    ns: tuple[str, ...]
    data: dict[str, Any]


# (StateT first: StreamPart[State, Output], as LangGraph's type parameters)
StreamPart = (
    CheckpointStreamPart[_StateT]
    | ValuesStreamPart[_OutputT]
    | UpdatesStreamPart
    | MessagesStreamPart
    | CustomStreamPart
    | TasksStreamPart
    | DebugStreamPart[_StateT]
)
"""What ``astream(..., version="v2")`` yields: narrow on ``part["type"]``."""


@dataclasses.dataclass(frozen=True)
class GraphOutput(Generic[_OutputT]):
    """What ``invoke`` / ``ainvoke`` return with ``version="v2"`` (and the default
    ``stream_mode="values"``): the output and the interrupts the run stopped at, apart,
    instead of an ``__interrupt__`` key mixed into the state."""

    value: _OutputT
    interrupts: tuple[Interrupt, ...] = ()

    def __getitem__(self, key: str) -> Any:
        """v1's ``result[key]`` (``result["__interrupt__"]`` too), deprecated as in
        LangGraph: use ``.value`` and ``.interrupts``."""
        _warn_item_access("`result[key]`")
        if key == "__interrupt__":
            return self.interrupts
        if isinstance(self.value, dict):
            return self.value[key]
        try:
            return getattr(self.value, key)
        except AttributeError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        _warn_item_access("`key in result`")
        if key == "__interrupt__":
            return bool(self.interrupts)
        if isinstance(self.value, dict):
            return key in self.value
        return isinstance(key, str) and hasattr(self.value, key)


def _warn_item_access(how: str) -> None:
    warnings.warn(
        f"Accessing GraphOutput via {how} is deprecated. Use `result.value` to "
        "access the output value directly, or `result.interrupts` for interrupts.",
        DeprecationWarning,
        stacklevel=3,
    )


class RunnableConfig(TypedDict, total=False):
    """The per-run configuration, as in LangChain / LangGraph.

    Every key is optional. scopegraph reads ``recursion_limit``, ``configurable``,
    ``tags``, ``metadata``, ``run_id``, ``run_name`` and ``max_concurrency``;
    ``callbacks`` is passed through to nodes untouched.
    """

    tags: list[str]
    metadata: dict[str, Any]
    callbacks: Any
    run_name: str
    max_concurrency: int | None
    recursion_limit: int
    configurable: dict[str, Any]
    run_id: Any


@dataclasses.dataclass(frozen=True, slots=True)
class Interrupt:
    """A pause requested by ``interrupt(value)`` inside a node.

    ``value`` is what the node asked with; ``id`` identifies this interrupt when resuming
    several at once with ``Command(resume={id: value, ...})``.
    """

    value: Any
    id: str
    response_schema: Any = None
    """The JSON schema of the answer the node expects, if it said (``interrupt(value,
    response_schema=...)``)."""


class Send:
    """Run ``node`` in the next superstep with ``arg`` as its input.

    Returned from a conditional edge (or a ``Command.goto``) to fan out::

        def fan_out(state):
            return [Send("worker", {"item": item}) for item in state["items"]]

    ``timeout`` (seconds, a ``timedelta`` or a :class:`TimeoutPolicy`) replaces the
    target node's own timeout for this one task.
    """

    __slots__ = ("arg", "node", "timeout")

    def __init__(
        self,
        node: str,
        arg: Any,
        *,
        timeout: float | datetime.timedelta | TimeoutPolicy | None = None,
    ) -> None:
        self.node = node
        self.arg = arg
        # A fan-out makes one Send per task: no call for the usual no-timeout case.
        self.timeout = None if timeout is None else TimeoutPolicy.coerce(timeout)

    def __repr__(self) -> str:
        if self.timeout is None:
            return f"Send(node={self.node!r}, arg={self.arg!r})"
        return f"Send(node={self.node!r}, arg={self.arg!r}, timeout={self.timeout!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Send) and (self.node, self.arg, self.timeout) == (
            other.node,
            other.arg,
            other.timeout,
        )

    def __hash__(self) -> int:
        return hash((self.node, repr(self.arg), self.timeout))


N = TypeVar("N")


@dataclasses.dataclass(frozen=True)
class Command(Generic[N]):
    """Update the state and choose where to go next, from inside a node.

    Args:
        graph: ``None`` for the current graph, ``Command.PARENT`` for the parent graph.
        update: a state update, as a node would return it.
        resume: the value to resume an ``interrupt()`` with.
        goto: a node name, a ``Send``, or a sequence of them.
    """

    graph: str | None = None
    update: Any | None = None
    resume: Any | None = None
    goto: Send | Sequence[Send | N] | N = ()

    PARENT: ClassVar[Literal["__parent__"]] = "__parent__"

    def __new__(cls, *args: Any, **kwargs: Any) -> Command[N]:
        if cls is Command and "langgraph.types" in sys.modules:
            return object.__new__(_as_langgraphs(sys.modules["langgraph.types"]))
        return object.__new__(cls)

    def __repr__(self) -> str:
        contents = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if getattr(self, f.name)
        )
        return f"Command({contents})"


_BOTH: dict[type, type] = {}


def _as_langgraphs(types_module: Any) -> type:
    """scopegraph's ``Command`` that is also LangGraph's (made once): what ``Command(...)``
    makes once the program has imported ``langgraph.types``.

    LangGraph's own nodes (``ToolNode``) recognize only their class: a tool that returns
    scopegraph's ``Command`` (a program whose imports were switched) is then still taken
    as a command there. It stays scopegraph's in every respect (fields, equality, repr;
    pickled as a plain ``Command``)."""
    theirs = types_module.Command
    both = _BOTH.get(theirs)
    if both is None:

        def __reduce__(self: Command[Any]) -> Any:
            return (Command, (self.graph, self.update, self.resume, self.goto))

        def __setattr__(self: Command[Any], name: str, value: Any) -> None:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

        both = _BOTH[theirs] = type(
            "Command",
            (Command, theirs),
            {
                "__module__": __name__,
                "__qualname__": "Command",
                "__reduce__": __reduce__,
                "__setattr__": __setattr__,
                "__delattr__": __setattr__,
            },
        )
    return both


def from_langgraph(value: Any) -> Any:
    """LangGraph's ``Command`` and ``Send`` (from ``langgraph.types``) as scopegraph's;
    a list or tuple with such items as a list of converted items; anything else as it is.

    Nodes built by LangGraph or LangChain (``ToolNode``, ``create_agent``'s nodes and
    edges) return LangGraph's classes. Recognized by their module, without importing
    LangGraph, and only on the paths where a value was not already one of ours.
    """
    cls = type(value)
    if cls is list or cls is tuple:
        items = [from_langgraph(v) for v in value]
        changed = any(a is not b for a, b in zip(items, value, strict=True))
        return items if changed else value
    if cls.__module__ != "langgraph.types":
        return value
    if cls.__name__ == "Send":
        return Send(value.node, value.arg, timeout=getattr(value, "timeout", None))
    if cls.__name__ == "Command":
        goto = value.goto
        if isinstance(goto, str):
            converted: Any = goto
        elif type(goto).__module__ == "langgraph.types":
            converted = from_langgraph(goto)
        else:
            converted = [from_langgraph(g) for g in goto]
        return Command(graph=value.graph, update=value.update, resume=value.resume, goto=converted)
    return value


def default_retry_on(exc: Exception) -> bool:
    """LangGraph's default: retry unexpected errors, not programming errors.

    Retries ``ConnectionError`` and HTTP 5xx errors of httpx / requests; never retries
    ValueError, TypeError, ArithmeticError, ImportError, LookupError, NameError,
    SyntaxError, RuntimeError, ReferenceError, StopIteration, StopAsyncIteration or
    OSError; retries everything else.
    """
    if isinstance(exc, ConnectionError):
        return True
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if isinstance(status, int) and type(exc).__name__ in ("HTTPStatusError", "HTTPError"):
        return 500 <= status < 600
    return not isinstance(
        exc,
        (
            ValueError,
            TypeError,
            ArithmeticError,
            ImportError,
            LookupError,
            NameError,
            SyntaxError,
            RuntimeError,
            ReferenceError,
            StopIteration,
            StopAsyncIteration,
            OSError,
        ),
    )


R = TypeVar("R")
S = TypeVar("S")


@dataclasses.dataclass(frozen=True)
class EntrypointFinal(Generic[R, S]):
    """``entrypoint.final(value=..., save=...)``: an entrypoint returns ``value`` to its
    caller and saves ``save`` for the next run's ``previous`` (both even when None)."""

    value: R
    """The value the run returns."""
    save: S
    """The value the next run on the thread gets as ``previous``."""


@dataclasses.dataclass(frozen=True, slots=True)
class Overwrite:
    """Write ``value`` to a key with a reducer as its new value, bypassing the reducer.

    A second ``Overwrite`` of the same key in one step raises ``InvalidUpdateError``; once a
    key is overwritten in a step, the step's other writes to it are ignored (LangGraph's
    rules). On a key without a reducer it is stored as it is, as in LangGraph.

    Example::

        class State(TypedDict):
            messages: Annotated[list, operator.add]

        def reset(state: State) -> dict:
            return {"messages": Overwrite(["only this"])}
    """

    value: Any
    type: Literal["__overwrite__"] = "__overwrite__"
    """LangGraph's marker: ``{"value": ..., "type": "__overwrite__"}`` (an Overwrite that
    went through JSON) and ``{"__overwrite__": value}`` are overwrites too."""


OVERWRITE: str = "__overwrite__"


def overwritten(value: Any) -> Any:
    """The value an ``Overwrite`` (or one of its dict forms) carries, else ``MISSING``."""
    if type(value) is Overwrite:
        return value.value
    if type(value) is dict:
        if len(value) == 1 and OVERWRITE in value:
            return value[OVERWRITE]
        if value.get("type") == OVERWRITE and "value" in value:
            return value["value"]
    return NOT_OVERWRITE


class _NotOverwrite:
    __slots__ = ()


NOT_OVERWRITE: Any = _NotOverwrite()


class RetryPolicy(NamedTuple):
    """How to retry a failing node (LangGraph's fields and defaults)."""

    initial_interval: float = 0.5
    """Seconds before the first retry."""
    backoff_factor: float = 2.0
    """Multiplier of the interval after each retry."""
    max_interval: float = 128.0
    """Upper bound of the interval, in seconds."""
    max_attempts: int = 3
    """Attempts in all, the first one included."""
    jitter: bool = True
    """Add up to one second of random jitter to each interval."""
    retry_on: type[Exception] | Sequence[type[Exception]] | Callable[[Exception], bool] = (
        default_retry_on
    )
    """Exception classes to retry, or a predicate that says whether to retry."""

    def should_retry(self, exc: Exception) -> bool:
        retry_on = self.retry_on
        if isinstance(retry_on, type):
            return isinstance(exc, retry_on)
        if isinstance(retry_on, Sequence):
            return isinstance(exc, tuple(retry_on))
        return bool(retry_on(exc))

    def interval(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.max_interval, self.initial_interval * self.backoff_factor ** (attempt - 1))
        return base + random.uniform(0, 1) if self.jitter else base


def _positive_seconds(value: float | datetime.timedelta | None, field: str) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)
    if not seconds > 0:
        raise ValueError(f"{field} must be greater than 0")
    return seconds


@dataclasses.dataclass(frozen=True, slots=True)
class TimeoutPolicy:
    """How long one attempt of a node may take (LangGraph's fields and defaults).

    The node is cancelled through its own cancel scope, so its cleanup (``finally:``,
    shielded or not) completes before :class:`~scopegraph.errors.NodeTimeoutError` is
    raised; the node's retry policy then decides whether to try again. Only async nodes
    can have a timeout: a sync node's thread cannot be cancelled.
    """

    run_timeout: float | datetime.timedelta | None = None
    """Seconds one attempt may take in all; never extended."""
    idle_timeout: float | datetime.timedelta | None = None
    """Seconds one attempt may go without progress."""
    refresh_on: Literal["auto", "heartbeat"] = "auto"
    """What counts as progress for ``idle_timeout``: ``"auto"`` is the node's stream
    output (custom writes, messages) and ``runtime.heartbeat()``; ``"heartbeat"`` is
    ``runtime.heartbeat()`` only."""

    @classmethod
    def coerce(
        cls, value: float | datetime.timedelta | TimeoutPolicy | None
    ) -> TimeoutPolicy | None:
        """A policy with both timeouts in float seconds; a number or a ``timedelta``
        is a ``run_timeout``. None when no timeout is set."""
        if value is None:
            return None
        if not isinstance(value, TimeoutPolicy):
            value = cls(run_timeout=value)
        if value.refresh_on not in ("auto", "heartbeat"):
            raise ValueError("refresh_on must be 'auto' or 'heartbeat'")
        run = _positive_seconds(value.run_timeout, "run_timeout")
        idle = _positive_seconds(value.idle_timeout, "idle_timeout")
        if run is None and idle is None:
            return None
        if (run, idle) == (value.run_timeout, value.idle_timeout) and all(
            t is None or type(t) is float for t in (value.run_timeout, value.idle_timeout)
        ):
            return value
        return cls(run_timeout=run, idle_timeout=idle, refresh_on=value.refresh_on)


class StateUpdate(NamedTuple):
    """One update of :meth:`~scopegraph.CompiledStateGraph.bulk_update_state`: the
    values, as if written by node ``as_node`` (and its task ``task_id``)."""

    values: dict[str, Any] | None
    as_node: str | None = None
    task_id: str | None = None


def default_cache_key(*args: Any, **kwargs: Any) -> str:
    """The default ``CachePolicy.key_func``: the node's input as canonical JSON (objects
    JSON cannot hold by their ``repr``). LangGraph pickles the input; scopegraph never
    uses pickle."""
    try:
        return json.dumps([args, kwargs], sort_keys=True, default=repr, separators=(",", ":"))
    except (TypeError, ValueError):  # keys of mixed types cannot be sorted
        return repr((args, kwargs))


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class TracePolicy:
    """What a node's own trace run records (LangGraph's ``TracePolicy``).

    With ``add_node(..., trace_policy=TracePolicy(...))``, the LangChain tracers among the
    run's ``callbacks`` (``BaseTracer`` subclasses such as LangSmith's) record the node's
    input and output as the processors return them; every other callback handler, the
    streams and the graph's state get the real values. The processors run whenever the
    node runs with LangChain loaded, and fail open: one that raises is logged and the
    real value is recorded. Only the node's own run is affected: not the runs of what
    it calls, nor the graph's run. Not meant to redact secrets (use the LangSmith
    client's ``hide_inputs`` / ``hide_outputs`` for that).
    """

    process_inputs: Callable[[Any], Any] | None = None
    """The node's input -> what its trace run records as its inputs."""
    process_outputs: Callable[[Any], Any] | None = None
    """The node's output -> what its trace run records as its outputs."""


def omit_payload(_value: Any) -> dict[str, Any]:
    """A :class:`TracePolicy` processor that records an empty payload (the node's run and
    its timing stay in the trace, its input or output does not)."""
    return {}


@dataclasses.dataclass(frozen=True, slots=True)
class CachePolicy:
    """Cache a node's result by its input (LangGraph's fields and defaults); needs
    ``compile(cache=...)``. A run that finds the node's input in the cache applies the
    cached writes instead of calling the node, and streams them with
    ``"__metadata__": {"cached": True}``."""

    key_func: Callable[..., str | bytes] = default_cache_key
    """The node's input -> the cache key (hashed before use)."""
    ttl: int | None = None
    """Seconds a cached result stays valid; None: until the cache is cleared."""
