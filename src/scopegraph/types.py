"""LangGraph's ``langgraph.types`` names (``from scopegraph.types import Command, Send``)."""

from __future__ import annotations

from ._context import interrupt as interrupt
from ._types import CachePolicy as CachePolicy
from ._types import CheckpointStreamPart as CheckpointStreamPart
from ._types import Command as Command
from ._types import CustomStreamPart as CustomStreamPart
from ._types import DebugStreamPart as DebugStreamPart
from ._types import GraphOutput as GraphOutput
from ._types import Interrupt as Interrupt
from ._types import MessagesStreamPart as MessagesStreamPart
from ._types import Overwrite as Overwrite
from ._types import RetryPolicy as RetryPolicy
from ._types import Send as Send
from ._types import StateUpdate as StateUpdate
from ._types import StreamMode as StreamMode
from ._types import StreamPart as StreamPart
from ._types import StreamWriter as StreamWriter
from ._types import TasksStreamPart as TasksStreamPart
from ._types import TimeoutPolicy as TimeoutPolicy
from ._types import TracePolicy as TracePolicy
from ._types import UpdatesStreamPart as UpdatesStreamPart
from ._types import ValuesStreamPart as ValuesStreamPart
from ._types import omit_payload as omit_payload

__all__ = (
    "CheckpointStreamPart",
    "CustomStreamPart",
    "DebugStreamPart",
    "GraphOutput",
    "MessagesStreamPart",
    "StreamPart",
    "TasksStreamPart",
    "UpdatesStreamPart",
    "ValuesStreamPart",
    "CachePolicy",
    "Command",
    "Interrupt",
    "Overwrite",
    "RetryPolicy",
    "Send",
    "StateUpdate",
    "StreamMode",
    "StreamWriter",
    "TimeoutPolicy",
    "TracePolicy",
    "interrupt",
    "omit_payload",
)
