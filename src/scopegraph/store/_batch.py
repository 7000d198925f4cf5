"""``AsyncBatchedBaseStore``: LangGraph's base class for an async store whose concurrent
calls are sent to its ``abatch`` together (``langgraph.store.base.batch``).

A subclass implements only ``abatch``. The ``aget`` / ``aput`` / ``asearch`` /
``adelete`` / ``alist_namespaces`` calls started together (in the same few event-loop
turns) are gathered, deduplicated (:func:`_dedupe_ops`) and sent as one ``abatch``; each
caller gets its own result, or the batch's error.

**How the gathering is scoped.** LangGraph runs a background asyncio task per store that
drains a queue. scopegraph runs no task of its own: the first caller becomes the batch's
*leader*; it lets event-loop turns pass while other calls join its batch (until two
turns in a row bring none: ``_QUIET_TURNS``), then runs ``abatch`` in its own task and
hands every joined caller its result. So nothing runs once the callers have returned (a
run that used the store leaves nothing behind), the store needs no event loop to be
created, and it works the same on asyncio and trio. A caller already cancelled does not
join; one cancelled while it waits is taken out if it runs before the leader takes the
batch (as LangGraph skips a cancelled future), else only stops waiting. Cancelling the
leader while ``abatch`` runs cancels that ``abatch``, and the callers that joined it
send their operations again, in a batch of their own (a read repeated; a put written
again, with the same value).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterable, Mapping
from functools import partial
from typing import Any, Literal, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

from ._base import BaseStore, _listing
from ._types import (
    NOT_PROVIDED,
    GetOp,
    Item,
    ListNamespacesOp,
    NamespacePath,
    NotProvided,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    ensure_refresh,
    ensure_ttl,
    validate_namespace,
    validate_namespace_labels,
)

__all__ = ("AsyncBatchedBaseStore", "_dedupe_ops")

_T = TypeVar("_T")

_QUIET_TURNS = 2
"""A batch's leader lets event-loop turns pass (the calls started in them join) and
sends the batch once this many turns in a row brought no caller. One would do for the
calls of an ``asyncio.gather``; scopegraph starts the waiting nodes of a superstep over a
few turns (``_run.run_step``), and with two the parallel nodes of a graph step share one
batch, as their tasks do in LangGraph, where they all start in one turn."""
_GATHER_TURNS_MAX = 12
"""The most turns a leader waits, however many callers keep joining."""


def _dedupe_ops(values: list[Op]) -> tuple[list[int] | None, list[Op]]:
    """The operations of a gathered batch without repeats, and where each original
    operation's result is (LangGraph's rule): equal reads run once; of several puts to
    one key only the last runs, at the place of the first; other operations as they
    are. ``listen`` is None for a batch of one (nothing to map)."""
    if len(values) <= 1:
        return None, list(values)
    deduped: list[Op] = []
    listen: list[int] = []
    puts: dict[tuple[tuple[str, ...], str], int] = {}
    reads: dict[Op, int] = {}
    for op in values:
        if isinstance(op, GetOp | SearchOp | ListNamespacesOp):
            try:
                ix = reads.setdefault(op, len(deduped))
            except TypeError:  # a filter dict makes the op unhashable: compare instead
                try:
                    ix = deduped.index(op)
                except ValueError:
                    ix = len(deduped)
            if ix == len(deduped):
                deduped.append(op)
            listen.append(ix)
        elif isinstance(op, PutOp):
            ix = puts.setdefault((op.namespace, op.key), len(deduped))
            if ix == len(deduped):
                deduped.append(op)
            else:
                deduped[ix] = op  # the last put of a key wins
            listen.append(ix)
        else:  # an operation type of a subclass's own: run as is
            listen.append(len(deduped))
            deduped.append(op)
    return listen, deduped


class _Call:
    """One caller's operation in a gathered batch, and how it ended."""

    __slots__ = ("done", "error", "op", "result", "retry")

    def __init__(self, op: Op) -> None:
        self.op = op
        self.done: anyio.Event | None = None
        """Set when the call ended (a joined call's; the leader needs none)."""
        self.result: Result = None
        self.error: BaseException | None = None
        self.retry = False
        """The leader was cancelled before the batch ended: send the operation again."""

    def finish(self) -> None:
        assert self.done is not None  # a joined call
        self.done.set()


class _Gathering:
    """The calls gathered in one thread's event loop, until the leader takes them."""

    __slots__ = ("calls", "closed")

    def __init__(self, leader: _Call) -> None:
        self.calls = [leader]
        self.closed = False


def _running_loop() -> object | None:
    """The event loop running in this thread (asyncio's loop, trio's token), or None."""
    try:
        return anyio.lowlevel.current_token().native_token
    except RuntimeError:  # NoEventLoopError, sniffio's AsyncLibraryNotFoundError
        return None


class AsyncBatchedBaseStore(BaseStore):
    """A store whose concurrent async calls reach :meth:`abatch` as one batch.

    Subclass it and implement ``abatch`` (``batch`` is provided: it runs ``abatch`` on
    the event loop the store was created in, from another thread). Calls made in the
    same few event-loop turns (``asyncio.gather``, a task group's tasks, the parallel
    nodes of a graph step) are deduplicated
    and sent together; each caller gets its own result or the batch's error. No
    background task: see the module's docstring.

    Example::

        class MyStore(AsyncBatchedBaseStore):
            async def abatch(self, ops):
                return await my_backend.run_all(ops)  # one result per op, in order

        items = await asyncio.gather(store.aget(("a",), "1"), store.aget(("b",), "2"))
        # one abatch([GetOp(("a",), "1"), GetOp(("b",), "2")])

    The sync methods are for other threads: called on the thread of the event loop the
    store was created in, they raise ``asyncio.InvalidStateError`` (they would wait for
    that loop while blocking it), as LangGraph's do.
    """

    __slots__ = ("_gathering", "_token")

    def __init__(self) -> None:
        super().__init__()
        self._gathering: dict[int, _Gathering] = {}
        """thread id -> the batch its event loop is gathering (each key touched only
        from its own thread)."""
        try:
            token: anyio.lowlevel.EventLoopToken | None = anyio.lowlevel.current_token()
        except RuntimeError:
            token = None
        self._token = token
        """The loop the sync methods call into (LangGraph's store keeps its loop too)."""

    # -- the async operations: gathered ----------------------------------------------------

    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        validate_namespace_labels(namespace)
        op = GetOp(namespace, key, refresh_ttl=ensure_refresh(self.ttl_config, refresh_ttl))
        return await self._submit(op)  # type: ignore[return-value]

    async def asearch(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        # The filter is the subclass's to interpret (LangGraph's class does not check it).
        validate_namespace_labels(namespace_prefix)
        refresh = ensure_refresh(self.ttl_config, refresh_ttl)
        op = SearchOp(namespace_prefix, filter, limit, offset, query, refresh_ttl=refresh)
        return await self._submit(op)  # type: ignore[return-value]

    async def aput(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        # As LangGraph's class: the value and a TTL go to abatch as given (the subclass
        # decides what it supports), after the namespace rules of a write.
        validate_namespace(namespace)
        op = PutOp(namespace, key, value, index, ttl=ensure_ttl(self.ttl_config, ttl))
        await self._submit(op)

    async def adelete(self, namespace: tuple[str, ...], key: str) -> None:
        validate_namespace_labels(namespace)
        await self._submit(PutOp(namespace, key, None))

    async def alist_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        op = _listing(prefix, suffix, max_depth, limit, offset)
        return await self._submit(op)  # type: ignore[return-value]

    async def _submit(self, op: Op) -> Result:
        """Join the batch this loop is gathering, or lead a new one; the op's result."""
        # One gathering per thread: a thread runs one event loop at a time, and the
        # thread id costs less than anyio's loop token.
        loop = threading.get_ident()
        # A caller already cancelled does not join (asyncio delivers the cancellation
        # at its next step, after the leader may have taken the batch).
        await anyio.lowlevel.checkpoint_if_cancelled()
        while True:
            call = _Call(op)
            gathering = self._gathering.get(loop)
            if gathering is None:
                return await self._lead(loop, call)
            call.done = done = anyio.Event()
            gathering.calls.append(call)
            try:
                await done.wait()
            except BaseException:
                if not gathering.closed:  # not taken yet: the batch goes without it
                    gathering.calls.remove(call)
                raise
            if call.error is not None:
                raise call.error
            if not call.retry:
                return call.result

    async def _lead(self, loop: int, leader: _Call) -> Result:
        gathering = _Gathering(leader)
        self._gathering[loop] = gathering
        try:
            # the calls of these turns join meanwhile (see _QUIET_TURNS)
            turns = quiet = 0
            while quiet < _QUIET_TURNS and turns < _GATHER_TURNS_MAX:
                size = len(gathering.calls)
                await anyio.lowlevel.checkpoint()
                turns += 1
                quiet = 0 if len(gathering.calls) > size else quiet + 1
        finally:
            gathering.closed = True
            del self._gathering[loop]
        joined = gathering.calls[1:]
        try:
            listen, ops = _dedupe_ops([call.op for call in gathering.calls])
            results = await self.abatch(ops)
            if len(results) != len(ops):
                raise ValueError(
                    f"{type(self).__name__}.abatch returned {len(results)} results for "
                    f"{len(ops)} operations: it must return one result per operation, "
                    "in order"
                )
        except Exception as exc:
            for call in joined:
                call.error = exc
                call.finish()
            raise
        except BaseException:  # cancelled (or the interpreter stopping): the others retry
            for call in joined:
                call.retry = True
                call.finish()
            raise
        if listen is not None:
            results = [results[ix] for ix in listen]
        for call, result in zip(joined, results[1:], strict=True):
            call.result = result
            call.finish()
        return results[0]

    # -- the sync operations: from other threads, on the store's loop ----------------------

    def _blocking(self, name: str, func: Callable[[], Awaitable[_T]]) -> _T:
        """Run ``func()`` on the store's event loop from this (other) thread."""
        loop = _running_loop()
        if loop is not None and (self._token is None or loop == self._token.native_token):
            raise asyncio.InvalidStateError(
                f"Synchronous calls to {type(self).__name__} detected in the main event "
                "loop. This can lead to deadlocks or performance issues. Please use the "
                "asynchronous interface for main thread operations. Specifically, "
                f"replace `store.{name}(...)` with `await store.a{name}(...)`"
            )

        async def call() -> _T:
            return await func()

        try:
            return anyio.from_thread.run(call, token=self._token)
        except anyio.NoEventLoopError:
            raise RuntimeError(
                f"{type(self).__name__}.{name}() runs the store's async code on the event "
                "loop the store was created in, and this store was created outside any "
                f"event loop: create it in async code, or use `await store.a{name}(...)`"
            ) from None

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        return self._blocking("batch", partial(self.abatch, ops))

    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        return self._blocking("get", partial(self.aget, namespace, key, refresh_ttl=refresh_ttl))

    def search(
        self,
        namespace_prefix: tuple[str, ...],
        /,
        *,
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh_ttl: bool | None = None,
    ) -> list[SearchItem]:
        search = partial(
            self.asearch,
            namespace_prefix,
            query=query,
            filter=filter,
            limit=limit,
            offset=offset,
            refresh_ttl=refresh_ttl,
        )
        return self._blocking("search", search)

    def put(
        self,
        namespace: tuple[str, ...],
        key: str,
        value: Mapping[str, Any],
        index: Literal[False] | list[str] | None = None,
        *,
        ttl: float | NotProvided | None = NOT_PROVIDED,
    ) -> None:
        validate_namespace(namespace)  # before reaching the loop, as LangGraph's
        self._blocking("put", partial(self.aput, namespace, key, value, index, ttl=ttl))

    def delete(self, namespace: tuple[str, ...], key: str) -> None:
        self._blocking("delete", partial(self.adelete, namespace, key))

    def list_namespaces(
        self,
        *,
        prefix: NamespacePath | None = None,
        suffix: NamespacePath | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[tuple[str, ...]]:
        listing = partial(
            self.alist_namespaces,
            prefix=prefix,
            suffix=suffix,
            max_depth=max_depth,
            limit=limit,
            offset=offset,
        )
        return self._blocking("list_namespaces", listing)
