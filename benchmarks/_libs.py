"""The two libraries under test, behind one small interface that the graphs are written
against: ``lib.StateGraph``, ``lib.START``, ``lib.Send``, ``lib.get_stream_writer()``,
``await lib.adispatch_custom_event(name, data, config=config)``, and the checkpointers
``async with lib.sqlite_saver(path) as saver`` / ``lib.postgres_saver(dsn)`` (set up,
ready for ``compile(checkpointer=saver)``)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
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
    sqlite_saver: Callable[[str], AbstractAsyncContextManager[Any]]
    """An async checkpointer on a SQLite file, created and set up on entry."""
    postgres_saver: Callable[[str], AbstractAsyncContextManager[Any]]
    """An async checkpointer on a PostgreSQL database (a DSN), set up on entry."""
    react_agent: Callable[[Any, Sequence[Any]], Any]
    """``react_agent(model, tools)``: LangChain's ``create_agent`` graph, run on this
    library's engine (scopegraph adopts it: ``scopegraph.langgraph.adopt``)."""


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
        sqlite_saver=_scopegraph_sqlite_saver,
        postgres_saver=_scopegraph_postgres_saver,
        react_agent=_scopegraph_react_agent,
    )


def _scopegraph_react_agent(model: Any, tools: Sequence[Any]) -> Any:
    from scopegraph.langgraph import adopt

    return adopt(_langgraph_react_agent(model, tools))


@contextlib.asynccontextmanager
async def _scopegraph_sqlite_saver(path: str) -> AsyncIterator[Any]:
    from scopegraph.checkpoint import SqliteSaver

    async with SqliteSaver(path) as saver:  # opens the file and creates the tables
        yield saver


@contextlib.asynccontextmanager
async def _scopegraph_postgres_saver(dsn: str) -> AsyncIterator[Any]:
    from scopegraph.checkpoint import PostgresSaver

    async with PostgresSaver(dsn) as saver:  # connects and creates the tables
        yield saver


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
        sqlite_saver=_langgraph_sqlite_saver,
        postgres_saver=_langgraph_postgres_saver,
        react_agent=_langgraph_react_agent,
    )


def _langgraph_react_agent(model: Any, tools: Sequence[Any]) -> Any:
    from langchain.agents import create_agent

    return create_agent(model, tools)


@contextlib.asynccontextmanager
async def _langgraph_sqlite_saver(path: str) -> AsyncIterator[Any]:
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with AsyncSqliteSaver.from_conn_string(path) as saver:
        await saver.setup()
        yield saver


@contextlib.asynccontextmanager
async def _langgraph_postgres_saver(dsn: str) -> AsyncIterator[Any]:
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    async with AsyncPostgresSaver.from_conn_string(dsn) as saver:
        await saver.setup()
        yield saver
