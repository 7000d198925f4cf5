"""The request bodies and query values of the LangGraph server API, as the SDKs send them.

Every field of LangGraph's API is declared. Those this server does not implement
(a run's ``feedback_keys``, a history's ``checkpoint``...) are :func:`unsupported`: their
default (or null, or an empty list or object, as the SDKs send them) is accepted, and any
other value is refused with 422 naming the field ("not supported by this server"), never
accepted and ignored; the OpenAPI schema marks them ``x-scopegraph-supported: false``.
Fields that LangGraph's API does not know are ignored, as LangGraph's server ignores them.
"""

from __future__ import annotations

import datetime
import logging
import typing
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ..checkpoint._limits import unstorable
from ._errors import InvalidRequestError
from ._wire import ALWAYS_SENT, check_state_select

log = logging.getLogger("scopegraph.server")

__all__ = (
    "CRON_RUN_FIELDS",
    "RESERVED_CONFIGURABLE",
    "RESERVED_METADATA",
    "CronCount",
    "CronCreate",
    "CronPatch",
    "CronRun",
    "CronSearch",
    "AssistantCount",
    "AssistantCreate",
    "AssistantField",
    "AssistantLatest",
    "AssistantPatch",
    "AssistantSearch",
    "AssistantSortBy",
    "AssistantVersionsQuery",
    "CommandBody",
    "HistoryQuery",
    "RunCreate",
    "RunField",
    "RunStatus",
    "RunsCancel",
    "StateCheckpoint",
    "StateUpdate",
    "StoreDelete",
    "StoreNamespaces",
    "StorePut",
    "StoreSearch",
    "StreamModeName",
    "Superstep",
    "ThreadCount",
    "ThreadCreate",
    "ThreadPatch",
    "ThreadPrune",
    "ThreadTTL",
    "ThreadField",
    "ThreadSearch",
    "ThreadSortBy",
    "refuse_unsupported",
    "stream_filter",
)

StreamModeName = Literal[
    "values",
    "updates",
    "custom",
    "events",
    "debug",
    "tasks",
    "checkpoints",
    "messages",
    "messages-tuple",
    "tools",
    "lifecycle",
]
RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
RunField = Literal[
    "run_id",
    "thread_id",
    "assistant_id",
    "created_at",
    "updated_at",
    "status",
    "metadata",
    "kwargs",
    "multitask_strategy",
    "cancel_reason",  # the SDK's list has it
    "langsmith_session_name",  # LangGraph's server's has it
]


_SUPPORTED = "x-scopegraph-supported"


def unsupported(default: Any = None) -> Any:
    """A field of LangGraph's API that this server does not implement: only its default
    (or null, ``[]``, ``{}``) is accepted."""
    return Field(
        default=default,
        description=f"Not supported by this server: only {default!r} (the default) or "
        "null is accepted; any other value is refused with 422.",
        json_schema_extra={_SUPPORTED: False},
    )


RESERVED_CONFIGURABLE = frozenset(
    {
        "langgraph_auth_user",
        "langgraph_auth_user_id",
        "langgraph_auth_permissions",
        "langgraph_request_id",
        "__langsmith_project__",
        "__langsmith_example_id__",
        "__request_start_time_ms__",
        "__after_seconds__",
        "__otel_traceparent__",
        "__otel_tracestate__",
        "__dd_trace_headers__",
        "__pregel_node_finished",
        "__context_provided__",
    }
)
"""The configurable keys only the server sets (LangGraph's server's list): the user custom
auth authenticated, and LangGraph's own bookkeeping. A request's ``config.configurable``,
``configurable`` and ``context`` lose them, as on LangGraph's server, so that no client
can pass itself off as a user."""


RESERVED_METADATA = frozenset(
    {"thread_id", "assistant_id", "run_id", "cron_id", "counters_since_delta_snapshot"}
)
"""The metadata keys only the server sets (LangGraph's server's list). The ``metadata``
and ``config.metadata`` of a request that writes metadata (a thread's, an assistant's, a
run's, a cron's) lose them, as on LangGraph's server."""


def _without(data: Any, places: tuple[tuple[str, ...], ...], reserved: frozenset[str]) -> Any:
    """``data`` (a request body) without the ``reserved`` keys of the dicts at ``places``
    (paths of keys into it); a warning names what was dropped. ``data`` is not changed:
    the dicts on the way to a stripped one are copied."""
    if not isinstance(data, dict):
        return data
    for path in places:
        holder: Any = data
        for key in path:
            holder = holder.get(key) if isinstance(holder, dict) else None
        found = [key for key in holder if key in reserved] if isinstance(holder, dict) else []
        if not found:
            continue
        log.warning("Stripped reserved keys %s from the request's %s", found, ".".join(path))
        data = _replaced(data, path, {k: v for k, v in holder.items() if k not in reserved})
    return data


def _replaced(data: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of ``data`` with ``value`` at ``path`` (the dicts on the way copied)."""
    head, *rest = path
    return {**data, head: _replaced(data[head], tuple(rest), value) if rest else value}


_CONFIGURABLE_PLACES = (("config", "configurable"), ("configurable",), ("context",))
_METADATA_PLACES = (("metadata",), ("config", "metadata"))


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")  # as LangGraph's server: unknown fields

    @model_validator(mode="before")
    @classmethod
    def _strip_reserved(cls, data: Any) -> Any:
        """A client cannot set what only the server sets (:data:`RESERVED_CONFIGURABLE`):
        those keys are dropped, as LangGraph's server drops them. The server's own
        configurable (the user) is set after validation (``model_copy``)."""
        return _without(data, _CONFIGURABLE_PLACES, RESERVED_CONFIGURABLE)

    @model_validator(mode="after")
    def _refuse_unsupported(self) -> typing.Self:
        for name, field in type(self).model_fields.items():
            extra = field.json_schema_extra
            if not isinstance(extra, dict) or extra.get(_SUPPORTED) is not False:
                continue
            value = getattr(self, name)
            if not _is_default(value, field.default):
                raise PydanticCustomError("not_supported", _not_supported(name, field.default))
        return self

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        """Refuse (422, naming its path) a value the stores cannot keep or give back
        unchanged (:mod:`scopegraph.checkpoint._limits`), before anything is kept."""
        found = unstorable(data, wire=True)
        if found is not None:
            path, reason = found
            raise PydanticCustomError(
                "unstorable", "{path}: {reason}", {"path": path, "reason": reason}
            )
        return data


def _is_default(value: Any, default: Any) -> bool:
    return value is None or value == default or value in ([], {})


def _not_supported(name: str, default: Any) -> str:
    return (
        f"{name} is not supported by this server (only {default!r}, its default, or null "
        "is accepted); leave it out"
    )


def refuse_unsupported(name: str, value: Any, default: Any = None) -> None:
    """A query value the server does not implement: 422 unless it is its default."""
    if not _is_default(value, default):
        raise InvalidRequestError(_not_supported(name, default), code="ValidationError")


class _WritesMetadata(_Body):
    """A request that writes metadata: it loses :data:`RESERVED_METADATA` keys."""

    @model_validator(mode="before")
    @classmethod
    def _strip_reserved_metadata(cls, data: Any) -> Any:
        return _without(data, _METADATA_PLACES, RESERVED_METADATA)


class CommandBody(_Body):
    resume: Any = None
    update: Any = None
    goto: Any = None


class RunCreate(_WritesMetadata):
    assistant_id: str
    input: dict[str, Any] | None = None
    command: CommandBody | None = None
    stream_mode: StreamModeName | list[StreamModeName] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] | None = None
    on_disconnect: Literal["cancel", "continue"] | None = None
    on_completion: Literal["delete", "keep"] | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    checkpoint_during: bool | None = None
    """Deprecated in LangGraph for ``durability``: ``False`` is ``durability="exit"``."""
    timeout: float | None = Field(default=None, gt=0)
    """scopegraph's extension: seconds after which the run is cancelled (``timeout``)."""
    webhook: str | None = None
    """A URL POSTed the run's record and final state once it has ended (:mod:`._webhook`)."""
    after_seconds: float | None = Field(default=None, ge=0)
    """Seconds to wait before the run starts."""
    feedback_keys: list[str] | None = unsupported()
    strict_resume: bool | None = unsupported(False)
    langsmith_tracer: dict[str, Any] | None = unsupported()

    def payload(self) -> dict[str, Any]:
        """The body as a run record keeps it (both backends store the same)."""
        payload = self.model_dump(exclude={*_UNSUPPORTED_RUN_FIELDS, "checkpoint_during"})
        if self.command is not None:
            payload["command"] = self.command.model_dump(exclude_none=True)
        if self.durability is None and self.checkpoint_during is not None:
            payload["durability"] = "async" if self.checkpoint_during else "exit"
        return payload


_UNSUPPORTED_RUN_FIELDS = frozenset({"feedback_keys", "strict_resume", "langsmith_tracer"})


class ThreadTTL(_Body):
    """When a thread is swept: ``ttl`` minutes from now (from its creation or the update
    that sets it), by deleting it or by keeping only its latest checkpoint."""

    ttl: float = Field(gt=0)
    strategy: Literal["delete", "keep_latest"] = "delete"


class SuperstepUpdate(_Body):
    values: Any = None
    command: CommandBody | None = None
    as_node: str


class Superstep(_Body):
    updates: list[SuperstepUpdate]


class ThreadCreate(_WritesMetadata):
    thread_id: str | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    supersteps: list[Superstep] | None = None
    """State updates applied to the new thread, superstep by superstep (its metadata's
    ``graph_id`` names the graph)."""
    ttl: ThreadTTL | Annotated[float, Field(gt=0)] | None = None

    def ttl_spec(self) -> ThreadTTL | None:
        return _ttl(self.ttl)


class ThreadPatch(_WritesMetadata):
    metadata: dict[str, Any] | None = None
    ttl: ThreadTTL | Annotated[float, Field(gt=0)] | None = None

    def ttl_spec(self) -> ThreadTTL | None:
        return _ttl(self.ttl)


def _ttl(ttl: ThreadTTL | float | None) -> ThreadTTL | None:
    """A number is minutes, with the ``delete`` strategy (as the SDK sends it)."""
    if ttl is None or isinstance(ttl, ThreadTTL):
        return ttl
    return ThreadTTL(ttl=ttl)


class ThreadCount(_Body):
    metadata: dict[str, Any] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    values: dict[str, Any] | None = None
    """A containment filter on the thread's current values (as ``metadata``'s)."""


class ThreadPrune(_Body):
    thread_ids: list[str]
    strategy: Literal["delete", "keep_latest"] = "delete"


ThreadSortBy = Literal["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
ThreadField = Literal[
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "status",
    "values",
    "interrupts",
]
_EXTRACT_ROOTS = ("config", "interrupts", "metadata", "values")
_EXTRACT_ALIAS = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ThreadSearch(ThreadCount):
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    ids: list[str] | None = None
    sort_by: ThreadSortBy | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[ThreadField] | None = None
    extract: dict[Annotated[str, Field(pattern=_EXTRACT_ALIAS)], str] | None = Field(
        default=None, max_length=10
    )
    """``{alias: path}``: each thread found gets ``extracted: {alias: the value at path}``
    (``values.messages[-1].content``; at most 10, as LangGraph's server)."""

    @model_validator(mode="after")
    def _check_extract(self) -> typing.Self:
        for alias, path in (self.extract or {}).items():
            if alias in typing.get_args(ThreadField):
                raise PydanticCustomError(
                    "extract_alias",
                    "extract key {alias!r} is a thread field's name: pick another alias",
                    {"alias": alias},
                )
            if path.split(".")[0].split("[")[0] not in _EXTRACT_ROOTS:
                raise PydanticCustomError(
                    "extract_path",
                    "extract path {path!r} must start with one of: {roots}",
                    {"path": path, "roots": ", ".join(_EXTRACT_ROOTS)},
                )
        return self


AssistantField = Literal[
    "assistant_id",
    "graph_id",
    "config",
    "context",
    "metadata",
    "name",
    "description",
    "version",
    "created_at",
    "updated_at",
]
AssistantSortBy = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]


class AssistantCreate(_WritesMetadata):
    graph_id: str
    assistant_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    name: str | None = None
    description: str | None = None


class AssistantPatch(_WritesMetadata):
    graph_id: str | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = None
    description: str | None = None


class AssistantCount(_Body):
    graph_id: str | None = None
    metadata: dict[str, Any] | None = None
    name: str | None = None


class AssistantSearch(AssistantCount):
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    sort_by: AssistantSortBy | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: list[AssistantField] | None = None


class AssistantVersionsQuery(_Body):
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class RunsCancel(_Body):
    """``POST /runs/cancel``: the runs of a thread by id, or every run with a status."""

    thread_id: str | None = None
    run_ids: list[str] | None = None
    status: Literal["pending", "running", "all"] | None = None

    @model_validator(mode="after")
    def _one_way(self) -> typing.Self:
        if self.status is not None and (self.thread_id or self.run_ids):
            raise PydanticCustomError(
                "cancel_filter",
                "When providing a 'status', 'thread_id' and 'run_ids' must be omitted. The "
                "'status' parameter cancels all runs with the given status, regardless of "
                "thread or run ID.",
            )
        if self.status is None and not (self.thread_id and self.run_ids):
            raise PydanticCustomError(
                "cancel_filter",
                "Must provide either a status, or both 'thread_id' and 'run_ids'",
            )
        return self


class CronRun(_WritesMetadata):
    """The run a cron makes at each tick (LangGraph's cron payload)."""

    input: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    checkpoint_during: bool | None = None
    interrupt_before: Literal["*"] | list[str] | None = None
    interrupt_after: Literal["*"] | list[str] | None = None
    webhook: str | None = None
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] | None = None
    stream_mode: StreamModeName | list[StreamModeName] | None = None
    stream_subgraphs: bool | None = None
    stream_resumable: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None


CRON_RUN_FIELDS = tuple(CronRun.model_fields)


class CronCreate(CronRun):
    assistant_id: str
    schedule: str
    end_time: datetime.datetime | None = None
    enabled: bool = True
    timezone: str | None = None
    on_run_completed: Literal["delete", "keep"] | None = None
    """A stateless cron's: whether each run's thread is deleted after the run."""


class CronPatch(CronRun):
    schedule: str | None = None
    end_time: datetime.datetime | None = None
    enabled: bool | None = None
    timezone: str | None = None
    on_run_completed: Literal["delete", "keep"] | None = None


CronSortBy = Literal[
    "cron_id", "assistant_id", "thread_id", "created_at", "updated_at", "next_run_date", "end_time"
]


class CronCount(_Body):
    assistant_id: str | None = None
    thread_id: str | None = None
    metadata: dict[str, Any] | None = None


class CronSearch(CronCount):
    enabled: bool | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    sort_by: CronSortBy | None = None
    sort_order: Literal["asc", "desc"] | None = None
    select: (
        list[
            Literal[
                "cron_id",
                "assistant_id",
                "thread_id",
                "end_time",
                "schedule",
                "timezone",
                "created_at",
                "updated_at",
                "user_id",
                "payload",
                "next_run_date",
                "metadata",
                "enabled",
                "on_run_completed",
            ]
        ]
        | None
    ) = None


class AssistantLatest(_Body):
    version: int = Field(ge=1)


class StateUpdate(_Body):
    values: dict[str, Any] | list[Any] | None = None
    as_node: str | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None


StateSelect = Annotated[list[str] | None, AfterValidator(check_state_select)]
"""The SDK's ``select`` of a thread's state (:func:`~._wire.check_state_select`)."""


class CheckpointRef(_Body):
    """A checkpoint as LangGraph's server names one (``CheckpointConfig``); the thread
    id is always the path's."""

    thread_id: str | None = None
    checkpoint_ns: str = ""
    checkpoint_id: str | None = None
    checkpoint_map: dict[str, Any] | None = None

    def configurable(self) -> dict[str, Any]:
        """The keys of a graph's config, without the thread id."""
        return self.model_dump(exclude={"thread_id"}, exclude_none=True)


class HistoryQuery(_Body):
    limit: int = Field(default=10, ge=1, le=1000)
    before: dict[str, Any] | str | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: CheckpointRef | None = None
    """Where to list from, as LangGraph's server: ``checkpoint_ns`` a subgraph's
    history (the ns of its task), ``checkpoint_id`` that checkpoint."""
    select: StateSelect = None
    """The fields of each state to return (``values.<key>``: one key of the values)."""


class StateCheckpoint(_Body):
    checkpoint: dict[str, Any]
    subgraphs: bool = False
    select: StateSelect = None


def stream_filter(stream_mode: list[str] | None) -> frozenset[str] | None:
    """The events a join stream sends: those of ``stream_mode`` (None: all)."""
    modes = frozenset(m for m in stream_mode or () if m)  # the SDK sends "" for None
    unknown = modes - set(typing.get_args(StreamModeName))
    if unknown:
        raise InvalidRequestError(
            f"unknown stream_mode {sorted(unknown)}; use {list(typing.get_args(StreamModeName))}",
            code="InvalidStreamMode",
        )
    if not modes:
        return None
    events = {"messages" if m == "messages-tuple" else m for m in modes if m != "messages"}
    if "messages" in modes:  # the server's messages mode: its three events
        events |= {"messages/metadata", "messages/partial", "messages/complete"}
    return frozenset(events) | ALWAYS_SENT


# -- the store (``/store/...``) -------------------------------------------------------------

Namespace = list[Annotated[str, Field(min_length=1, pattern=r"^[^.\x00]*$")]]
"""Namespace labels: non-empty, without ``.`` (the wire joins labels with dots) or NUL."""


class StorePut(_Body):
    namespace: Namespace = Field(min_length=1)
    key: str = Field(min_length=1)
    value: dict[str, Any]
    index: Literal[False] | list[str] | None = None
    ttl: float | None = Field(default=None, ge=0)


class StoreDelete(_Body):
    namespace: Namespace = Field(min_length=1)
    key: str = Field(min_length=1)


class StoreSearch(_Body):
    namespace_prefix: Namespace = Field(default_factory=list)
    filter: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=0, le=1000)
    offset: int = Field(default=0, ge=0)
    query: str | None = None
    refresh_ttl: bool | None = None


class StoreNamespaces(_Body):
    prefix: list[str] | None = None
    suffix: list[str] | None = None
    max_depth: int | None = Field(default=None, ge=1)
    limit: int = Field(default=100, ge=0, le=1000)
    offset: int = Field(default=0, ge=0)
