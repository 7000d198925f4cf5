"""scopegraph: a LangGraph-compatible graph runtime on anyio, whose cancellation can be trusted.

Every node runs inside the caller's cancel-scope tree; shielded cleanup in a node always
completes; when a run API returns or raises, nothing of the run is still running.
"""

from __future__ import annotations

from typing import Any as _Any

from ._compiled import CompiledStateGraph as CompiledStateGraph
from ._compiled import RunStream as RunStream
from ._constants import END as END
from ._constants import START as START
from ._context import adispatch_custom_event as adispatch_custom_event
from ._context import check_cancelled as check_cancelled
from ._context import dispatch_custom_event as dispatch_custom_event
from ._context import get_config as get_config
from ._context import get_stream_writer as get_stream_writer
from ._context import interrupt as interrupt
from ._errors import ContextError as ContextError
from ._errors import GraphInterrupt as GraphInterrupt
from ._errors import GraphRecursionError as GraphRecursionError
from ._errors import GraphValidationError as GraphValidationError
from ._errors import InvalidInputError as InvalidInputError
from ._errors import InvalidUpdateError as InvalidUpdateError
from ._errors import NodeTimeoutError as NodeTimeoutError
from ._errors import ScopegraphError as ScopegraphError
from ._graph import Finding as Finding
from ._graph import StateGraph as StateGraph
from ._graph import check as check
from ._lazy import register_integration as _register_integration
from ._pregel._hooks import NodeHooks as _NodeHooks
from ._pregel._hooks import register_node_hooks as _register_node_hooks
from ._state import PregelTask as PregelTask
from ._state import StateSnapshot as StateSnapshot
from ._types import Command as Command
from ._types import Interrupt as Interrupt
from ._types import RetryPolicy as RetryPolicy
from ._types import RunnableConfig as RunnableConfig
from ._types import Send as Send
from ._types import StreamMode as StreamMode
from ._types import TimeoutPolicy as TimeoutPolicy
from ._types import default_retry_on as default_retry_on

__version__ = "0.1.0"

__all__ = (
    "END",
    "START",
    "CompiledStateGraph",
    "Command",
    "ContextError",
    "Finding",
    "GraphInterrupt",
    "GraphRecursionError",
    "GraphValidationError",
    "InvalidInputError",
    "Interrupt",
    "InvalidUpdateError",
    "NodeTimeoutError",
    "PregelTask",
    "RetryPolicy",
    "RunStream",
    "RunnableConfig",
    "ScopegraphError",
    "Send",
    "StateGraph",
    "StateSnapshot",
    "StreamMode",
    "TimeoutPolicy",
    "adispatch_custom_event",
    "check",
    "check_cancelled",
    "default_retry_on",
    "dispatch_custom_event",
    "get_config",
    "get_stream_writer",
    "interrupt",
)


def _langchain_hooks() -> _NodeHooks:
    # The integration layer sits above the core: the core only asks _hooks, which loads
    # this once the program has imported langchain_core.
    from . import _langchain

    return _langchain


_register_node_hooks("langchain_core", _langchain_hooks)


def _load_langchain_graph() -> _Any:
    # get_graph() returns LangChain's Graph, as LangGraph does, when it is installed.
    from ._langchain_graph import to_langchain_graph

    return to_langchain_graph


def _load_jsonschema() -> _Any:
    from . import _jsonschema as schemas

    return schemas


_register_integration("graph drawing", "langchain_core", _load_langchain_graph)
_register_integration("json schema", "pydantic", _load_jsonschema)


def _load_runnable() -> _Any:
    # graph | runnable: the graph as a LangChain Runnable, as LangGraph's is.
    from ._langchain_runnable import GraphRunnable

    return GraphRunnable


_register_integration("langchain runnable", "langchain_core", _load_runnable)


def _load_deprecation_warning() -> _Any:
    # astream_events(version="v1") warns with LangChain's class, as LangChain does.
    from langchain_core._api.deprecation import LangChainDeprecationWarning

    return LangChainDeprecationWarning


_register_integration("langchain deprecation warning", "langchain_core", _load_deprecation_warning)
