"""Every exception scopegraph defines, in one tree.

The hierarchy (each class also subclasses the built-in in brackets, so that LangGraph-style
``except ValueError:`` handlers keep working)::

    Exception
    └── ScopegraphError                     base class of every scopegraph error
        ├── GraphValidationError            [ValueError] invalid graph, raised by the builder
        ├── InvalidInputError               [ValueError] run input / context does not fit its schema
        ├── InvalidUpdateError              [ValueError] a node wrote or routed where it may not
        ├── GraphRecursionError             [RecursionError] ``recursion_limit`` reached
        ├── NodeTimeoutError                a node attempt exceeded its ``timeout`` (not a
        │                                   TimeoutError, as in LangGraph: retried by default)
        ├── NodeCancelledError              a node raised ``asyncio.CancelledError`` itself
        │                                   (no cancellation asked for it): a failure
        ├── GraphDrained                    ``RunControl.request_drain()`` stopped the run
        │                                   between two steps; it can be resumed
        ├── ContextError                    [RuntimeError] a node helper used outside a node
        ├── GraphInterrupt                  raised by ``interrupt()`` to pause a node; the
        │                                   runtime catches it (let it propagate in node code)
        ├── ParentCommand                   carries ``Command(graph=PARENT)`` out of a subgraph
        │                                   to its parent's node; raised by a root run (as
        │                                   LangGraph), ``.args[0]`` is the command
        ├── checkpoint.CheckpointError      persistence (``scopegraph/checkpoint/_model.py``)
        │   ├── CheckpointNotFoundError     [KeyError] no such thread / checkpoint
        │   ├── CheckpointConflictError     another writer moved the thread's head
        │   ├── CorruptCheckpointError      a stored row cannot be read back
        │   ├── SchemaVersionError          the store was written by another schema version
        │   ├── SerializationError          [TypeError] a value the codec cannot store
        │   └── CheckpointConnectionError   [ConnectionError] the PostgreSQL server is
        │                                   unreachable (``scopegraph/checkpoint/_postgres.py``)
        ├── store.StoreError                a SQL store's database failed (``store/_sql.py``)
        │   └── StoreConnectionError        [ConnectionError] PostgreSQL is unreachable
        │                                   (``store/_postgres.py``); a bad namespace is
        │                                   LangGraph's ``InvalidNamespaceError`` [ValueError]
        └── server errors                   (``scopegraph/server/``)
            ├── ServerError                 a domain error of the run server (``_errors.py``);
            │   │                           only the HTTP edge (``_http.status_of``) turns
            │   │                           these into status codes
            │   ├── NotFoundError           [LookupError] 404
            │   ├── ConflictError           409
            │   ├── InvalidRequestError     [ValueError] 422
            │   └── UnavailableError        [ConnectionError] 503
            ├── StoreError                  the thread/run store refused a write (``_store.py``)
            │   └── StoreConnectionError    [ConnectionError] its database is unreachable
            ├── QueueError                  the run queue (``_pg_queue.py``)
            │   ├── QueueConnectionError    [ConnectionError]
            │   └── ThreadBusyError
            └── EventLogError               the Redis event log (``cluster/_redis_events.py``)
                ├── EventLogConnectionError
                └── EventsLostError

The checkpoint and server errors live next to the code that raises them. The scale-out
backend translates the queue's and the event log's errors into ``ServerError``s at its
boundary; any ``ConnectionError`` or ``StoreError`` that reaches the HTTP edge is a 503.

Not in the tree, on purpose: misuse of a run API's arguments raises the built-in
``ValueError`` / ``TypeError`` that LangGraph raises for the same mistake (scopegraph is a
drop-in; error type names are compared with LangGraph's in ``tests/compat``), and
``Command(resume=...)`` with an ambiguous value raises LangGraph's ``RuntimeError``.

``NodeError`` is not an exception: it is what a node's ``error_handler`` receives.

Cancellation is never wrapped, subclassed or swallowed: a cancelled run raises the
backend's own cancellation exception (``asyncio.CancelledError`` / ``trio.Cancelled``).
A failing node's ORIGINAL exception is raised, never an ``ExceptionGroup``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

__all__ = (
    "ContextError",
    "GraphDrained",
    "GraphInterrupt",
    "NodeCancelledError",
    "NodeError",
    "ParentCommand",
    "GraphRecursionError",
    "GraphValidationError",
    "InvalidInputError",
    "InvalidUpdateError",
    "NodeTimeoutError",
    "ScopegraphError",
    "INVALID_RESUME",
    "is_invalid_resume",
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


class NodeTimeoutError(ScopegraphError):
    """A node attempt exceeded its ``run_timeout`` or its ``idle_timeout``.

    Raised only after the node's own cleanup (``finally:`` blocks, shielded or not)
    has finished. As in LangGraph it is not a ``TimeoutError`` (an ``OSError``), so the
    default ``RetryPolicy`` retries it. ``kind`` and ``timeout`` say which limit fired;
    ``run_timeout`` and ``idle_timeout`` are the node's policy.
    """

    def __init__(
        self,
        node: str,
        elapsed: float,
        *,
        kind: Literal["idle", "run"],
        idle_timeout: float | None = None,
        run_timeout: float | None = None,
    ) -> None:
        if kind == "idle":
            if idle_timeout is None:
                raise ValueError("idle_timeout is required when kind='idle'")
            timeout = idle_timeout
            message = (
                f"Node '{node}' exceeded its idle timeout of {timeout:.3f}s without "
                f"making progress (elapsed: {elapsed:.3f}s)."
            )
        elif kind == "run":
            if run_timeout is None:
                raise ValueError("run_timeout is required when kind='run'")
            timeout = run_timeout
            message = (
                f"Node '{node}' exceeded its run timeout of {timeout:.3f}s "
                f"(elapsed: {elapsed:.3f}s)."
            )
        else:
            raise ValueError("kind must be 'idle' or 'run'")
        super().__init__(message)
        self.node = node
        self.elapsed = elapsed
        self.kind = kind
        self.timeout = timeout
        self.idle_timeout = idle_timeout
        self.run_timeout = run_timeout


class NodeCancelledError(ScopegraphError):
    """A node raised ``asyncio.CancelledError`` from its own body while nothing cancelled
    it (LangGraph's): the run fails with this instead of treating the node as cancelled
    and going on without its writes. A real cancellation is never turned into it."""

    def __init__(self, node: str, message: str | None = None) -> None:
        super().__init__(message or f"Node {node!r} raised asyncio.CancelledError")
        self.node = node


class GraphDrained(ScopegraphError):
    """The run stopped between two supersteps because ``RunControl.request_drain()``
    was called; its last checkpoint (with a checkpointer) resumes it."""

    def __init__(self, reason: str = "shutdown") -> None:
        super().__init__(f"Graph drained: {reason}")
        self.reason = reason


@dataclasses.dataclass(frozen=True, slots=True)
class NodeError:
    """What a node's ``error_handler`` receives in its ``error: NodeError`` parameter:
    the node that failed (after its retries) and its exception."""

    node: str
    error: BaseException | str
    """The exception; after a resume from a checkpoint, its stored ``repr`` (a str)."""


class GraphInterrupt(ScopegraphError):
    """Raised inside a node by ``interrupt()``; the runtime pauses the run on it.

    It is an Exception so that the run can stop the node and save its state; node code
    must let it propagate (avoid ``except Exception:`` or ``except ScopegraphError:``
    around ``interrupt()``).
    """

    def __init__(self, interrupts: tuple[Any, ...]) -> None:
        super().__init__(interrupts)
        self.interrupts = interrupts


class ContextError(ScopegraphError, RuntimeError):
    """A run-context helper (``get_config()``, ``get_stream_writer()``...) was called
    outside a running node."""


class ParentCommand(ScopegraphError):
    """Carries a ``Command(graph=Command.PARENT)`` out of a subgraph to its parent's node.

    The parent's node turns it back into a ``Command``. A root run (no parent) raises it to
    its caller, as LangGraph does: ``error.args[0]`` (or ``error.command``) is the command.
    """

    def __init__(self, command: Any) -> None:
        super().__init__(command)
        self.command = command


INVALID_RESUME = "_langgraph_invalid_resume"
"""The attribute that marks the error of a resume value that did not match its
``interrupt(response_schema=...)`` (LangGraph's name, so that its
``langgraph.errors.is_invalid_resume`` sees it too)."""


def is_invalid_resume(error: BaseException) -> bool:
    """Whether ``error`` (a pydantic ``ValidationError``) was raised because a resume value
    did not match the ``response_schema`` of its ``interrupt()``: the interrupt is still
    waiting for an answer."""
    return getattr(error, INVALID_RESUME, False) is True
