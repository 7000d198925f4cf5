"""The request bodies and query values of the LangGraph server API, as the SDKs send them.

Every field of LangGraph's API is declared. Those this server does not implement
(``webhook``, ``after_seconds``, a thread's ``ttl``...) are :func:`unsupported`: their
default (or null, or an empty list or object, as the SDKs send them) is accepted, and any
other value is refused with 422 naming the field ("not supported by this server"), never
accepted and ignored; the OpenAPI schema marks them ``x-scopegraph-supported: false``.
Fields that LangGraph's API does not know are ignored, as LangGraph's server ignores them.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ..checkpoint._limits import unstorable
from ._errors import InvalidRequestError
from ._wire import ALWAYS_SENT

__all__ = (
    "AssistantSearch",
    "CommandBody",
    "HistoryQuery",
    "RunCreate",
    "RunStatus",
    "StateCheckpoint",
    "StateUpdate",
    "StoreDelete",
    "StoreNamespaces",
    "StorePut",
    "StoreSearch",
    "StreamModeName",
    "ThreadCreate",
    "ThreadPatch",
    "ThreadSearch",
    "refuse_unsupported",
    "stream_filter",
)

StreamModeName = Literal[
    "values", "updates", "custom", "events", "debug", "tasks", "checkpoints", "messages-tuple"
]
RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]


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


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")  # as LangGraph's server: unknown fields

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


class CommandBody(_Body):
    resume: Any = None
    update: Any = None
    goto: Any = None


class RunCreate(_Body):
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
    webhook: str | None = unsupported()
    after_seconds: float | None = unsupported()
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


_UNSUPPORTED_RUN_FIELDS = frozenset(
    {"webhook", "after_seconds", "feedback_keys", "strict_resume", "langsmith_tracer"}
)


class ThreadCreate(_Body):
    thread_id: str | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    supersteps: list[Any] | None = unsupported()
    ttl: dict[str, Any] | float | None = unsupported()


class ThreadPatch(_Body):
    metadata: dict[str, Any] | None = None
    ttl: dict[str, Any] | float | None = unsupported()


class ThreadSearch(_Body):
    metadata: dict[str, Any] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    values: dict[str, Any] | None = unsupported()
    ids: list[str] | None = unsupported()
    sort_by: str | None = unsupported("created_at")
    sort_order: str | None = unsupported("desc")
    select: list[str] | None = unsupported()
    extract: dict[str, Any] | None = unsupported()


class AssistantSearch(_Body):
    graph_id: str | None = None
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)
    name: str | None = unsupported()
    select: list[str] | None = unsupported()
    sort_by: str | None = unsupported()
    sort_order: str | None = unsupported()


class StateUpdate(_Body):
    values: dict[str, Any] | list[Any] | None = None
    as_node: str | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None


class HistoryQuery(_Body):
    limit: int = Field(default=10, ge=1, le=1000)
    before: dict[str, Any] | str | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = unsupported()
    """A subgraph's history (``checkpoint_ns``) or one checkpoint's: not implemented."""
    select: list[str] | None = unsupported()


class StateCheckpoint(_Body):
    checkpoint: dict[str, Any]
    subgraphs: bool = unsupported(False)
    select: list[str] | None = unsupported()


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
    return frozenset("messages" if m == "messages-tuple" else m for m in modes) | ALWAYS_SENT


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
