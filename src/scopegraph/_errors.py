"""Exceptions raised by scopegraph.

The hierarchy::

    Exception
    ├── ScopegraphError                 base class of every scopegraph error
    │   ├── GraphValidationError        (also ValueError) invalid graph, raised by the builder
    │   ├── InvalidInputError           (also ValueError) run input does not fit the state schema
    │   ├── InvalidUpdateError          (also ValueError) a node wrote something it may not
    │   ├── GraphRecursionError         (also RecursionError) ``recursion_limit`` reached
    │   ├── NodeTimeoutError            (also TimeoutError) a node exceeded its ``timeout``
    │   ├── ContextError                (also RuntimeError) a helper used outside a node
    │   └── checkpoint.CheckpointError  persistence errors (see scopegraph.checkpoint)
    └── GraphInterrupt                  raised by interrupt() to pause a node; the runtime
                                        catches it (do not catch it in node code)
    └── ...

Cancellation is never wrapped, subclassed or swallowed: a cancelled run raises the
backend's own cancellation exception (``asyncio.CancelledError`` / ``trio.Cancelled``).
A failing node's ORIGINAL exception is raised, never an ``ExceptionGroup``.
"""

from __future__ import annotations

from typing import Any

__all__ = (
    "ContextError",
    "GraphInterrupt",
    "GraphRecursionError",
    "GraphValidationError",
    "InvalidInputError",
    "InvalidUpdateError",
    "NodeTimeoutError",
    "ScopegraphError",
)


class ScopegraphError(Exception):
    """Base class of every error scopegraph raises itself."""


class GraphValidationError(ScopegraphError, ValueError):
    """The graph being built is invalid; the message names the problem and the fix."""


class InvalidInputError(ScopegraphError, ValueError):
    """The input of a run does not match the graph's input schema."""


class InvalidUpdateError(ScopegraphError, ValueError):
    """A node returned something that is not a valid state update."""


class GraphRecursionError(ScopegraphError, RecursionError):
    """The run reached ``config["recursion_limit"]`` supersteps without finishing."""


class NodeTimeoutError(ScopegraphError, TimeoutError):
    """A node ran longer than its ``timeout``.

    Raised only after the node's own cleanup (``finally:`` blocks, shielded or not)
    has finished.
    """

    def __init__(self, node: str, timeout: float) -> None:
        super().__init__(
            f"node {node!r} timed out after {timeout:g} s; its cleanup has finished. "
            f"Raise the limit with add_node({node!r}, ..., timeout=...) or make the node faster."
        )
        self.node = node
        self.timeout = timeout


class GraphInterrupt(Exception):
    """Raised inside a node by ``interrupt()``; the runtime pauses the run on it.

    It is an Exception so that the run can stop the node and save its state; node code
    must let it propagate (avoid bare ``except Exception:`` around ``interrupt()``).
    """

    def __init__(self, interrupts: tuple[Any, ...]) -> None:
        super().__init__(interrupts)
        self.interrupts = interrupts


class ContextError(ScopegraphError, RuntimeError):
    """A run-context helper (``get_config()``, ``get_stream_writer()``...) was called
    outside a running node."""
