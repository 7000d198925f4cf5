"""Integration hooks: how an optional integration reaches into a node without the core
importing it.

The core never imports an integration (LangChain, LangGraph). An integration module
registers itself here under the name of the third-party package it needs; the core asks
:func:`node_hooks` on each node, which loads the integration only once the user's program
has imported that package (a program that never imports ``langchain_core`` never pays for
LangChain's callbacks). ``scopegraph/__init__.py`` registers the LangChain callbacks
(:mod:`scopegraph._langchain`).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

__all__ = (
    "NodeHooks",
    "flush_task_chunks",
    "node_hooks",
    "register_node_hooks",
    "register_task_host",
    "task_host",
)


class NodeHooks(Protocol):
    """What an integration does around each node (``scopegraph._langchain`` does this).

    ``ctx`` is the node's ``NodeContext`` (typed ``Any`` here: this module sits below it).
    """

    def callbacks_for(self, ctx: Any, user_callbacks: Any) -> Any:
        """The ``callbacks`` entry of the node's config."""

    def extend_configurable(self, ctx: Any, configurable: dict[str, Any]) -> dict[str, Any]:
        """The node's ``config["configurable"]`` with the integration's keys (the
        LangGraph config contract that LangGraph-built nodes read)."""

    async def call_runnable(self, runnable: Any, node_input: Any, ctx: Any) -> Any:
        """Run a node that is a LangChain ``Runnable``; returns its result."""

    def is_runnable(self, value: Any) -> bool:
        """Whether ``value`` (what a node function returned) is a LangChain ``Runnable``,
        which LangGraph invokes in the node's place."""

    def enter_node(self, ctx: Any, node_input: Any) -> tuple[Any, set[str] | None]:
        """Called before the node runs; returns a token for :meth:`exit_node` and the
        message ids the node was given (None: the ``messages`` mode is off)."""

    def exit_node(self, token: Any, output: Any, error: BaseException | None) -> None:
        """Called after the node ran, on every path, with its result or its error."""

    def enter_run(self, run: Any) -> Any:
        """Called when a root run with ``callbacks`` in its config starts (``run`` is
        the ``_loop.Run``); returns a token for :meth:`exit_run`."""

    def exit_run(self, token: Any, output: Any, error: BaseException | None) -> None:
        """Called when the root run ends, on every path, with its values or its error."""

    async def graph_lifecycle(self, run: Any, kind: str) -> None:
        """Called when a run with ``callbacks`` resumes from a checkpoint
        (``kind="resume"``, before its first step; a subgraph's run too) or when a root
        run stops at interrupts (``"interrupt"``)."""

    def emit_output_messages(self, ctx: Any, output: Any, seen: set[str]) -> None:
        """Called with a node's update when it finished."""


_loaders: dict[str, Callable[[], NodeHooks]] = {}
_loaded: NodeHooks | None = None


def register_node_hooks(package: str, load: Callable[[], NodeHooks]) -> None:
    """Call ``load()`` (once) when a node runs and ``package`` has been imported."""
    _loaders[package] = load


def node_hooks() -> NodeHooks | None:
    """The integration's hooks, or None while the package it needs is not imported.

    Called for every node: the common answers (loaded, or nothing registered is imported)
    cost a global read and a dict lookup or two.
    """
    global _loaded
    if _loaded is None:
        modules = sys.modules
        for package, load in _loaders.items():
            if package in modules:
                _loaded = load()
                break
    return _loaded


TaskHost = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]
task_host: TaskHost | None = None
"""How a StateGraph node whose function calls tasks is run (``scopegraph._func`` sets
it when imported, which any task needs): with a task group that hosts the tasks."""
flush_task_chunks: Callable[[Any], None] | None = None
"""Called with the ``NodeContext`` of such a node once it ended: its tasks' chunks."""


def register_task_host(host: TaskHost, flush: Callable[[Any], None]) -> None:
    global task_host, flush_task_chunks
    task_host = host
    flush_task_chunks = flush
