"""The request bodies and query values of the LangGraph server API, as the SDKs send them."""

from __future__ import annotations

import typing
from typing import Any, Literal

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
    "StreamModeName",
    "ThreadCreate",
    "ThreadPatch",
    "ThreadSearch",
    "stream_filter",
)

StreamModeName = Literal[
    "values", "updates", "custom", "events", "debug", "tasks", "checkpoints", "messages-tuple"
]
RunStatus = Literal["pending", "running", "error", "success", "timeout", "interrupted"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

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
    timeout: float | None = Field(default=None, gt=0)
    """scopegraph's extension: seconds after which the run is cancelled (``timeout``)."""

    def payload(self) -> dict[str, Any]:
        """The body as a run record keeps it (both backends store the same)."""
        payload = self.model_dump()
        if self.command is not None:
            payload["command"] = self.command.model_dump(exclude_none=True)
        return payload


class ThreadCreate(_Body):
    thread_id: str | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None


class ThreadPatch(_Body):
    metadata: dict[str, Any] | None = None


class ThreadSearch(_Body):
    metadata: dict[str, Any] | None = None
    status: Literal["idle", "busy", "interrupted", "error"] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class AssistantSearch(_Body):
    graph_id: str | None = None
    metadata: dict[str, Any] | None = None
    limit: int = Field(default=10, ge=1, le=1000)
    offset: int = Field(default=0, ge=0)


class StateUpdate(_Body):
    values: dict[str, Any] | list[Any] | None = None
    as_node: str | None = None
    checkpoint_id: str | None = None
    checkpoint: dict[str, Any] | None = None


class HistoryQuery(_Body):
    limit: int = Field(default=10, ge=1, le=1000)
    before: dict[str, Any] | str | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: dict[str, Any] | None = None


class StateCheckpoint(_Body):
    checkpoint: dict[str, Any]
    subgraphs: bool = False


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
