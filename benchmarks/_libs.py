"""The two libraries under test, behind one small interface that the graphs are written
against: ``lib.StateGraph``, ``lib.START``, ``lib.Send``, ``lib.get_stream_writer()``,
``await lib.adispatch_custom_event(name, data, config=config)``."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from typing import Any

__all__ = ("Lib", "langgraph", "scopegraph")


@dataclasses.dataclass(frozen=True)
class Lib:
    """A graph library: what a benchmark graph needs from it."""

    name: str
    version: str
    StateGraph: Any
    START: str
    END: str
    Send: Any
    get_stream_writer: Callable[[], Callable[[Any], None]]
    adispatch_custom_event: Callable[..., Awaitable[None]]
    """Called as ``await adispatch_custom_event(name, data, config=config)``."""


@functools.cache
def scopegraph() -> Lib:
    import scopegraph as sg

    return Lib(
        name="scopegraph",
        version=sg.__version__,
        StateGraph=sg.StateGraph,
        START=sg.START,
        END=sg.END,
        Send=sg.Send,
        get_stream_writer=sg.get_stream_writer,
        adispatch_custom_event=sg.adispatch_custom_event,
    )


@functools.cache
def langgraph() -> Lib:
    from langchain_core.callbacks.manager import adispatch_custom_event
    from langgraph.config import get_stream_writer
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import Send

    return Lib(
        name="LangGraph",
        version=version("langgraph"),
        StateGraph=StateGraph,
        START=START,
        END=END,
        Send=Send,
        get_stream_writer=get_stream_writer,
        adispatch_custom_event=adispatch_custom_event,
    )
