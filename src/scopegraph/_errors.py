"""Every exception scopegraph defines, in one tree.

The hierarchy (each class also subclasses the built-in in brackets, so that LangGraph-style
``except ValueError:`` handlers keep working)::

    Exception
    └── ScopegraphError                     base class of every scopegraph error
        ├── GraphValidationError            [ValueError] invalid graph, raised by the builder
        ├── InvalidInputError               [ValueError] run input / context does not fit its schema
        ├── InvalidUpdateError              [ValueError] a node wrote or routed where it may not
        ├── GraphRecursionError             [RecursionError] ``recursion_limit`` reached
        ├── NodeTimeoutError                [TimeoutError] a node exceeded its ``timeout``
        ├── ContextError                    [RuntimeError] a node helper used outside a node
        ├── GraphInterrupt                  raised by ``interrupt()`` to pause a node; the
        │                                   runtime catches it (let it propagate in node code)
        ├── ParentCommand                   internal: carries ``Command(graph=PARENT)`` out of
        │                                   a subgraph to its parent's node; never escapes a run
        ├── checkpoint.CheckpointError      persistence (``scopegraph/checkpoint/_model.py``)
        │   ├── CheckpointNotFoundError     [KeyError] no such thread / checkpoint
        │   ├── CheckpointConflictError     another writer moved the thread's head
        │   ├── CorruptCheckpointError      a stored row cannot be read back
        │   ├── SchemaVersionError          the store was written by another schema version
        │   ├── SerializationError          [TypeError] a value the codec cannot store
        │   └── CheckpointConnectionError   [ConnectionError] the PostgreSQL server is
        │                                   unreachable (``scopegraph/checkpoint/_postgres.py``)
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

Cancellation is never wrapped, subclassed or swallowed: a cancelled run raises the
backend's own cancellation exception (``asyncio.CancelledError`` / ``trio.Cancelled``).
A failing node's ORIGINAL exception is raised, never an ``ExceptionGroup``.
"""

from __future__ import annotations

from typing import Any

__all__ = (
    "ContextError",
    "GraphInterrupt",
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

    Internal: the parent's node turns it back into a ``Command``; it never escapes a run.
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
