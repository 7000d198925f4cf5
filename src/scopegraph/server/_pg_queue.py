"""RunQueue: a run queue in PostgreSQL, shared by several API and worker processes.

The building block of the multi-process ("scale-out") server: API processes enqueue
runs, worker processes claim and run them, and PostgreSQL itself is the broker (row
locks, ``FOR UPDATE SKIP LOCKED``, ``LISTEN``/``NOTIFY``); no process keeps state that
another one needs. The scale-out server (:mod:`scopegraph.server._cluster`, and the
workers of :mod:`scopegraph.server._worker`) runs on it.

Layout (all tables prefixed ``scopegraph_queue_``, in the connection's ``search_path``):

- ``scopegraph_queue_schema_version``: one row, the schema version of the tables below
  (versioned migrations, applied in one transaction under an advisory lock, by
  :mod:`scopegraph._postgres`, as for the checkpoint tables);
- ``scopegraph_queue_threads``: one row per thread: the row that :meth:`RunQueue.enqueue`
  locks (``FOR UPDATE``) so that the enqueues of one thread are serialized across
  processes, and the thread's document for the HTTP API (``metadata``; ``listed`` for a
  thread created through the API, not for the hidden thread of a stateless run);
- ``scopegraph_queue_runs``: one row per run. ``seq`` (bigserial) is the queue order;
  ``status`` is ``pending``, ``running`` or a terminal status (``success``, ``error``,
  ``timeout``, ``interrupted``); ``owner``/``attempt``/``lease_expires`` describe the
  current claim; ``cancel_action``/``cancel_reason`` are the durable cancel request;
  ``run`` is the caller's run document (JSONB); ``result`` is what the run returned (the
  final values, for ``join`` and ``wait``).

Guarantees, and what enforces each:

- *Multitask strategy, per thread, across processes.* ``enqueue`` runs in one transaction
  that first locks the thread's row in ``scopegraph_queue_threads`` (created on first use
  with ``INSERT ... ON CONFLICT DO NOTHING``). Only then does it read the thread's active
  (pending/running) runs, in a statement whose snapshot is taken after the lock was
  granted, so it sees every run that an earlier holder of the lock committed. A run only
  becomes active by being enqueued under that lock, so the answer cannot be outdated by
  the time the transaction commits (a run can only *stop* being active meanwhile, which
  at worst refuses a ``reject`` a moment too early). ``reject`` then raises
  :class:`ThreadBusyError`; ``interrupt``/``rollback`` record a durable cancel request on
  the active runs (and NOTIFY, delivered at commit) before inserting the new run behind
  them (``rollback`` deletes the pending ones, which never ran); ``enqueue`` inserts it
  behind them.
- *Exclusive claims.* ``claim`` is one ``UPDATE`` over a ``SELECT ... ORDER BY seq
  LIMIT 1 FOR UPDATE SKIP LOCKED``: a run being claimed by someone else is locked and
  skipped, and a run claimed (committed) since the statement's snapshot fails the
  re-check of ``status = 'pending'``, so each claim hands out a run that nobody else
  holds.
- *Per-thread order.* A pending run is claimable only if no earlier run (smaller ``seq``)
  of its thread is pending or running. Runs leave the active states only for a terminal
  status, never the other way, and a thread's runs are inserted (and numbered) under its
  lock, so a snapshot that shows a run also shows every earlier run of its thread. As a
  last line of defence, a partial unique index allows at most one ``running`` run per
  thread.
- *Leases.* A claim sets ``lease_expires = now() + lease_seconds`` on the server's
  clock (one clock for every process: no skew between machines); ``heartbeat`` renews it
  while the worker still owns the run. ``reap`` takes back expired leases: the run is
  pending again (owner cleared) while ``attempt < max_attempts``, else it ends in
  ``error`` with the reason; a run whose cancellation was requested ends ``interrupted``.
- *Fencing.* ``heartbeat`` and ``finish`` only change a run that is ``running`` with the
  caller's owner id and attempt number. A worker that lost its lease (reaped, perhaps
  claimed again, even by the same worker id) changes nothing and gets ``False``.
- *Durable cancel.* ``request_cancel`` writes the request into the run's row and sends
  ``NOTIFY scopegraph_cancel, '<run_id>'`` in the same transaction (a NOTIFY is delivered
  at commit, so a listener never hears of a request it cannot read). A NOTIFY reaches
  only the connections listening at that moment, so a subscriber must LISTEN *before*
  it checks the row (:meth:`RunQueue.cancel_requested`): a request committed before the
  check is in the row, one committed after it is notified. See
  :meth:`RunQueue.listen_cancels`. The channel belongs to the database, not to the
  schema: queues in two schemas of one database hear each other's (unknown) run ids.

Backends: psycopg's async API works only on asyncio. On asyncio the queue uses an
``AsyncConnectionPool``; on trio it runs the sync API (a ``ConnectionPool``) in worker
threads, and a cancelled call returns once its statement has completed. The backend is
detected at each call, as in the checkpoint saver.

At-least-once: a claim whose reply is lost (the connection broke, the caller was
cancelled) leaves the run ``running`` until its lease expires and ``reap`` re-queues it.
"""

from __future__ import annotations

import collections
import datetime
import functools
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final, Literal, Self

import anyio
import anyio.to_thread

try:
    import psycopg
    from psycopg.conninfo import make_conninfo
    from psycopg.rows import TupleRow
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the PostgreSQL run queue needs psycopg: pip install 'scopegraph[postgres]'"
    ) from exc

from .. import ScopegraphError
from .._backend import running_on_asyncio
from .._postgres import Database, ErrorKinds, Schema
from .._postgres import Op as _Op

__all__ = (
    "CANCEL_CHANNEL",
    "CancelSubscription",
    "MetadataFilter",
    "QueueConnectionError",
    "QueueError",
    "RunQueue",
    "THREAD_SORTS",
    "ThreadBusyError",
    "ThreadDeletingError",
    "ThreadNotFoundError",
)

CANCEL_CHANNEL: Final = "scopegraph_cancel"
"""The NOTIFY channel of cancel requests; the payload is the run id."""
ENQUEUE_CHANNEL: Final = "scopegraph_enqueue"
"""The NOTIFY channel that tells workers a run was queued (empty payload)."""

SCHEMA_VERSION: Final = 5
STRATEGIES: Final = frozenset({"reject", "interrupt", "rollback", "enqueue"})
TERMINAL: Final = frozenset({"success", "error", "timeout", "interrupted"})
CancelAction = Literal["interrupt", "rollback"]
_CANCEL_ACTIONS: Final = frozenset({"interrupt", "rollback"})
_LISTEN_POLL: Final = 0.05
"""Seconds a trio listener's worker thread waits for notifications before it returns
(and the listener can be cancelled)."""


class QueueError(ScopegraphError):
    """A run queue operation failed; the message says why."""


class QueueConnectionError(QueueError, ConnectionError):
    """The PostgreSQL server cannot be reached, or rejected the connection.

    The message names what to check in the connection string.
    """


class ThreadDeletingError(QueueError):
    """The thread is being deleted (:meth:`RunQueue.begin_delete_thread`): it takes no
    new run."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(
            f"thread {thread_id} is being deleted and takes no new runs; create a new thread"
        )


class ThreadNotFoundError(QueueError):
    """``enqueue(..., existing_thread=True)`` and the thread does not exist (any more)."""

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        super().__init__(f"thread {thread_id} not found; create it first")


class ThreadBusyError(QueueError):
    """``multitask_strategy='reject'`` and the thread has a pending or running run."""

    def __init__(self, thread_id: str, active: list[str]) -> None:
        self.thread_id = thread_id
        self.active = active
        runs = ", ".join(active)
        super().__init__(
            f"thread {thread_id} is busy with run {runs}; wait for it to finish, or "
            "enqueue with multitask_strategy='enqueue', 'interrupt' or 'rollback'"
        )


# -- schema ------------------------------------------------------------------------------

# _MIGRATIONS[i] upgrades the tables from schema version i to i + 1.
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """
        CREATE TABLE scopegraph_queue_threads (
            thread_id TEXT PRIMARY KEY,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """,
        """
        CREATE TABLE scopegraph_queue_runs (
            seq BIGSERIAL PRIMARY KEY,
            run_id TEXT NOT NULL UNIQUE,
            thread_id TEXT NOT NULL
                REFERENCES scopegraph_queue_threads (thread_id) ON DELETE CASCADE,
            multitask_strategy TEXT NOT NULL
                CHECK (multitask_strategy IN ('reject', 'interrupt', 'rollback', 'enqueue')),
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
                ('pending', 'running', 'success', 'error', 'timeout', 'interrupted')),
            owner TEXT,
            attempt INTEGER NOT NULL DEFAULT 0,
            lease_expires TIMESTAMPTZ,
            cancel_action TEXT CHECK (cancel_action IN ('interrupt', 'rollback')),
            cancel_reason TEXT,
            error TEXT,
            run JSONB NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            CHECK (status <> 'running' OR (owner IS NOT NULL AND lease_expires IS NOT NULL))
        )
        """,
        # claim: the pending runs in queue order
        "CREATE INDEX scopegraph_queue_runs_pending ON scopegraph_queue_runs (seq)"
        " WHERE status = 'pending'",
        # claim's per-thread order check, and enqueue's look at a thread's active runs
        "CREATE INDEX scopegraph_queue_runs_active ON scopegraph_queue_runs (thread_id, seq)"
        " WHERE status IN ('pending', 'running')",
        # defence in depth: never two running runs on one thread
        "CREATE UNIQUE INDEX scopegraph_queue_runs_one_running"
        " ON scopegraph_queue_runs (thread_id) WHERE status = 'running'",
        # reap: the expired leases
        "CREATE INDEX scopegraph_queue_runs_leases ON scopegraph_queue_runs (lease_expires)"
        " WHERE status = 'running'",
    ),
    (
        "ALTER TABLE scopegraph_queue_threads"
        " ADD COLUMN metadata JSONB NOT NULL DEFAULT '{}'::jsonb,"
        " ADD COLUMN updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
        " ADD COLUMN listed BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE scopegraph_queue_runs ADD COLUMN result JSONB",
        # a thread's runs, newest first (list_runs), and its latest run (thread status)
        "CREATE INDEX scopegraph_queue_runs_thread ON scopegraph_queue_runs (thread_id, seq)",
        "CREATE INDEX scopegraph_queue_threads_listed ON scopegraph_queue_threads (created_at)"
        " WHERE listed",
    ),
    (
        # what happened to the run, in order: [{"event": ..., "at": ...}, ...]
        "ALTER TABLE scopegraph_queue_runs ADD COLUMN lifecycle JSONB NOT NULL DEFAULT '[]'::jsonb",
    ),
    (
        # a thread being deleted takes no new run (begin_delete_thread, enqueue)
        "ALTER TABLE scopegraph_queue_threads ADD COLUMN deleting BOOLEAN NOT NULL DEFAULT FALSE",
    ),
    (
        # the OpenTelemetry context of the request that queued the run (W3C trace
        # context: {"traceparent": ..., "tracestate": ...}), the parent of the worker's
        # run span; NULL when the queueing process does not trace
        "ALTER TABLE scopegraph_queue_runs ADD COLUMN trace_context JSONB",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION

_SCHEMA = Schema(
    what="the PostgreSQL run queue tables",
    version_table="scopegraph_queue_schema_version",
    # Serializes migrations between processes: pg_advisory_xact_lock(key), held until commit.
    lock_key=int.from_bytes(b"sg-queue", "big"),
    migrations=_MIGRATIONS,
    error=QueueError,
)

# -- statements --------------------------------------------------------------------------

_FIELDS: Final = (
    "seq",
    "run_id",
    "thread_id",
    "status",
    "multitask_strategy",
    "owner",
    "attempt",
    "lease_expires",
    "cancel_action",
    "cancel_reason",
    "error",
    "run",
    "result",
    "lifecycle",
    "created_at",
    "updated_at",
    "trace_context",
)
_COLUMNS = ", ".join(f"r.{name}" for name in _FIELDS)
_ACTIVE = "('pending', 'running')"


def _entry(what: str) -> str:
    """SQL for a one-event lifecycle list (``what``: an SQL text expression)."""
    return (
        "jsonb_build_array(jsonb_build_object("
        f"'event', {what}, 'at', to_char(now() AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\')))'
    )


def _event(what: str) -> str:
    """SQL appending one lifecycle event (``what``: an SQL text expression) to a run."""
    return f"lifecycle = r.lifecycle || {_entry(what)}"


_SELECT_RUN = f"SELECT {_COLUMNS} FROM scopegraph_queue_runs r WHERE r.run_id = %(run_id)s"
_CREATE_THREAD = """
INSERT INTO scopegraph_queue_threads (thread_id) VALUES (%(thread_id)s)
ON CONFLICT (thread_id) DO NOTHING
"""
_LOCK_THREAD = """
SELECT listed, deleting FROM scopegraph_queue_threads WHERE thread_id = %(thread_id)s FOR UPDATE
"""
_MARK_DELETING = """
UPDATE scopegraph_queue_threads SET deleting = TRUE WHERE thread_id = %(thread_id)s
"""
_SELECT_ACTIVE = f"""
SELECT run_id FROM scopegraph_queue_runs
WHERE thread_id = %(thread_id)s AND status IN {_ACTIVE} ORDER BY seq
"""
_INSERT_RUN = f"""
WITH r AS (
    INSERT INTO scopegraph_queue_runs (run_id, thread_id, multitask_strategy, run, trace_context)
    VALUES (%(run_id)s, %(thread_id)s, %(strategy)s, %(run)s::jsonb, %(trace)s::jsonb)
    RETURNING *
)
SELECT {_COLUMNS}, pg_notify('{ENQUEUE_CHANNEL}', '')::text FROM r
"""
# The durable cancel request of the active runs that match {where}, and their NOTIFY
# (sent when the transaction commits). A pending run never started: it ends at once. A
# rollback request overrides an interrupt request, not the other way round; a request
# that changes nothing is not recorded again (the run's lifecycle does not grow with it).
_CHANGES_CANCEL = (
    "(r.cancel_action IS NULL OR (%(action)s = 'rollback' AND r.cancel_action <> 'rollback'))"
)
_REQUEST_CANCEL = f"""
WITH marked AS (
    UPDATE scopegraph_queue_runs r SET
        cancel_action = CASE WHEN r.cancel_action IS NULL OR %(action)s = 'rollback'
                             THEN %(action)s ELSE r.cancel_action END,
        cancel_reason = COALESCE(r.cancel_reason, %(reason)s),
        status = CASE WHEN r.status = 'pending' THEN 'interrupted' ELSE r.status END,
        lifecycle = CASE WHEN {_CHANGES_CANCEL}
            THEN r.lifecycle || {_entry("format('cancel requested (%%s)', %(reason)s::text)")}
            ELSE r.lifecycle END,
        updated_at = now()
    WHERE {{where}} AND r.status IN {_ACTIVE}
    RETURNING r.seq, r.run_id, r.status
)
SELECT run_id, status, pg_notify('{CANCEL_CHANNEL}', run_id)::text FROM marked ORDER BY seq
"""
_CANCEL_THREAD = _REQUEST_CANCEL.format(where="r.thread_id = %(thread_id)s")
_CANCEL_RUN = _REQUEST_CANCEL.format(where="r.run_id = %(run_id)s")
_SELECT_CANCEL = "SELECT cancel_action FROM scopegraph_queue_runs WHERE run_id = %(run_id)s"
# The oldest pending run whose thread has no earlier active run. A run locked by another
# claimer is skipped; one claimed since this statement's snapshot fails the re-check of
# its (new) row, and the next candidate is taken (LockRows is below Limit).
_CLAIM = f"""
WITH candidate AS (
    SELECT c.seq FROM scopegraph_queue_runs c
    WHERE c.status = 'pending'
      AND (c.run->>'not_before' IS NULL OR (c.run->>'not_before')::timestamptz <= now())
      AND NOT EXISTS (
          SELECT 1 FROM scopegraph_queue_runs e
          WHERE e.thread_id = c.thread_id AND e.seq < c.seq AND e.status IN {_ACTIVE}
      )
    ORDER BY c.seq
    LIMIT %(limit)s
    FOR UPDATE OF c SKIP LOCKED
)
UPDATE scopegraph_queue_runs r SET
    status = 'running',
    owner = %(worker_id)s,
    attempt = r.attempt + 1,
    lease_expires = now() + make_interval(secs => %(lease)s),
    {_event("format('run started (attempt %%s, %%s)', r.attempt + 1, %(worker_id)s::text)")},
    updated_at = now()
FROM candidate WHERE r.seq = candidate.seq
RETURNING {_COLUMNS}
"""
_FENCE = """
r.run_id = %(run_id)s AND r.status = 'running' AND r.owner = %(worker_id)s
AND (%(attempt)s::integer IS NULL OR r.attempt = %(attempt)s::integer)
"""
_HEARTBEAT = f"""
UPDATE scopegraph_queue_runs r SET
    lease_expires = now() + make_interval(secs => %(lease)s), updated_at = now()
WHERE {_FENCE}
"""
_FINISH = f"""
UPDATE scopegraph_queue_runs r SET
    status = %(status)s, lease_expires = NULL, error = %(error)s,
    result = %(result)s::jsonb, lifecycle = r.lifecycle || %(events)s::jsonb, updated_at = now()
WHERE {_FENCE}
"""
# Hand a claimed run back to the queue (its worker is stopping): pending again, fenced.
_RELEASE = f"""
UPDATE scopegraph_queue_runs r SET
    status = 'pending', owner = NULL, lease_expires = NULL,
    {_event("format('handed back (worker %%s stopping)', r.owner)")}, updated_at = now()
WHERE {_FENCE}
"""
# Every running run whose lease expired: pending again (a new attempt), or ended. A run
# locked by a heartbeat or finish in progress is skipped; one renewed or finished since
# the snapshot fails the re-check.
_REAP = f"""
WITH expired AS (
    SELECT x.seq FROM scopegraph_queue_runs x
    WHERE x.status = 'running' AND x.lease_expires < now()
    FOR UPDATE OF x SKIP LOCKED
), reaped AS (
    UPDATE scopegraph_queue_runs r SET
        status = CASE WHEN r.cancel_action IS NOT NULL THEN 'interrupted'
                      WHEN r.attempt >= %(max_attempts)s THEN 'error'
                      ELSE 'pending' END,
        error = CASE WHEN r.cancel_action IS NULL AND r.attempt >= %(max_attempts)s
                     THEN format('the lease of worker %%s expired on attempt %%s of %%s '
                                 '(the worker died or stopped heartbeating); not retried',
                                 r.owner, r.attempt, %(max_attempts)s)
                     ELSE r.error END,
        {_event("format('lease of worker %%s expired', r.owner)")},
        owner = NULL,
        lease_expires = NULL,
        updated_at = now()
    FROM expired WHERE r.seq = expired.seq
    RETURNING r.seq, r.run_id
)
SELECT run_id FROM reaped ORDER BY seq
"""

# Threads, as the HTTP API shows them. ``busy``: a run is pending or running; ``last``:
# the status of the thread's latest run.
_THREAD_FIELDS: Final = ("thread_id", "metadata", "created_at", "updated_at", "busy", "last")
_THREAD_COLUMNS = f"""
t.thread_id, t.metadata, t.created_at, t.updated_at,
EXISTS (SELECT 1 FROM scopegraph_queue_runs a
        WHERE a.thread_id = t.thread_id AND a.status IN {_ACTIVE}) AS busy,
(SELECT l.status FROM scopegraph_queue_runs l
 WHERE l.thread_id = t.thread_id ORDER BY l.seq DESC LIMIT 1) AS last
"""
_INSERT_THREAD = """
INSERT INTO scopegraph_queue_threads (thread_id, metadata, listed)
VALUES (%(thread_id)s, %(metadata)s::jsonb, TRUE)
ON CONFLICT (thread_id) DO NOTHING
"""
_SELECT_THREAD = f"""
SELECT {_THREAD_COLUMNS} FROM scopegraph_queue_threads t
WHERE t.thread_id = %(thread_id)s AND t.listed
"""
# ``status``: busy, error (exact), idle or interrupted (the threads that are neither busy
# nor in error: the checkpoint tells which), or NULL (all).
_SEARCH_THREADS = f"""
SELECT {", ".join(f"s.{name}" for name in _THREAD_FIELDS)} FROM (
    SELECT {_THREAD_COLUMNS} FROM scopegraph_queue_threads t
    WHERE t.listed AND t.metadata @> ANY(%(metadata)s::jsonb[])
      AND (%(ids)s::text[] IS NULL OR t.thread_id = ANY(%(ids)s::text[]))
) s
WHERE CASE %(status)s::text
    WHEN 'busy' THEN s.busy
    WHEN 'error' THEN NOT s.busy AND s.last = 'error'
    WHEN 'idle' THEN NOT s.busy AND s.last IS DISTINCT FROM 'error'
    WHEN 'interrupted' THEN NOT s.busy AND s.last IS DISTINCT FROM 'error'
    ELSE TRUE END
ORDER BY s.{{column}} {{order}}, s.thread_id {{order}}
LIMIT %(limit)s OFFSET %(offset)s
"""
THREAD_SORTS: Final = frozenset({"created_at", "updated_at", "thread_id"})
"""What a search of threads can be ordered by in SQL."""
_COUNT_THREADS = f"""
SELECT count(*) FROM (
    SELECT {_THREAD_COLUMNS} FROM scopegraph_queue_threads t
    WHERE t.listed AND t.metadata @> ANY(%(metadata)s::jsonb[])
      AND (%(ids)s::text[] IS NULL OR t.thread_id = ANY(%(ids)s::text[]))
) s
WHERE CASE %(status)s::text
    WHEN 'busy' THEN s.busy
    WHEN 'error' THEN NOT s.busy AND s.last = 'error'
    ELSE TRUE END
"""
_PATCH_THREAD = """
UPDATE scopegraph_queue_threads SET metadata = metadata || %(metadata)s::jsonb, updated_at = now()
WHERE thread_id = %(thread_id)s AND listed
"""
_DELETE_THREAD = "DELETE FROM scopegraph_queue_threads WHERE thread_id = %(thread_id)s"
_LIST_RUNS = f"""
SELECT {_COLUMNS} FROM scopegraph_queue_runs r
WHERE r.thread_id = %(thread_id)s AND (%(status)s::text IS NULL OR r.status = %(status)s::text)
ORDER BY r.seq DESC LIMIT %(limit)s OFFSET %(offset)s
"""
_DELETE_RUNS = "DELETE FROM scopegraph_queue_runs WHERE run_id = ANY(%(run_ids)s)"
_DELETE_RUN = f"""
DELETE FROM scopegraph_queue_runs WHERE run_id = %(run_id)s AND status NOT IN {_ACTIVE}
"""

# -- operations: generators that yield statements and receive their results -------------


def _row(values: Any) -> dict[str, Any]:
    return dict(zip(_FIELDS, values, strict=True))


def _enqueue(
    run_id: str,
    thread_id: str,
    strategy: str,
    document: str,
    existing_thread: bool,
    trace: str | None = None,
) -> _Op[dict[str, Any]]:
    """Run in ONE transaction: the thread's row stays locked until commit."""
    params = {
        "trace": trace,
        "run_id": run_id,
        "thread_id": thread_id,
        "strategy": strategy,
        "run": document,
        "action": "rollback" if strategy == "rollback" else "interrupt",
        "reason": f"multitask_strategy={strategy}",
    }
    if not existing_thread:
        yield _CREATE_THREAD, params
    locked = yield _LOCK_THREAD, params
    if not locked.rows or (existing_thread and not locked.rows[0][0]):
        raise ThreadNotFoundError(thread_id)
    if locked.rows[0][1]:
        raise ThreadDeletingError(thread_id)
    # A retry of an enqueue that did commit (its reply was lost) finds its run: return
    # it rather than reject it for keeping its own thread busy.
    existing = yield _SELECT_RUN, params
    if existing.rows:
        row = _row(existing.rows[0])
        if row["thread_id"] != thread_id:
            raise QueueError(
                f"run id {run_id} is already queued on thread {row['thread_id']}; "
                "give each run a new id"
            )
        return row
    active = yield _SELECT_ACTIVE, params
    if active.rows:
        if strategy == "reject":
            raise ThreadBusyError(thread_id, [r[0] for r in active.rows])
        if strategy in ("interrupt", "rollback"):
            cancelled = yield _CANCEL_THREAD, params
            never_ran = [r[0] for r in cancelled.rows if r[1] == "interrupted"]
            if strategy == "rollback" and never_ran:  # rolled back: as if never queued
                yield _DELETE_RUNS, {"run_ids": never_ran}
    try:
        inserted = yield _INSERT_RUN, params
    except psycopg.errors.UniqueViolation:  # the same id, queued meanwhile on another thread
        raise QueueError(
            f"run id {run_id} is already queued on another thread; give each run a new id"
        ) from None
    return _row(inserted.rows[0][:-1])


_PENDING_STATS = """
SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8
FROM scopegraph_queue_runs WHERE status = 'pending'
"""


def _pending_stats() -> _Op[tuple[int, float]]:
    found = yield _PENDING_STATS, {}
    count, age = found.rows[0]
    return int(count), float(age)


def _get(run_id: str) -> _Op[dict[str, Any] | None]:
    found = yield _SELECT_RUN, {"run_id": run_id}
    return _row(found.rows[0]) if found.rows else None


def _claim(worker_id: str, lease: float, limit: int) -> _Op[list[dict[str, Any]]]:
    claimed = yield _CLAIM, {"worker_id": worker_id, "lease": lease, "limit": limit}
    return sorted((_row(r) for r in claimed.rows), key=lambda row: int(row["seq"]))


def _heartbeat(run_id: str, worker_id: str, attempt: int | None, lease: float) -> _Op[bool]:
    params = {"run_id": run_id, "worker_id": worker_id, "attempt": attempt, "lease": lease}
    renewed = yield _HEARTBEAT, params
    return renewed.rowcount == 1


def _finish(
    run_id: str,
    worker_id: str,
    attempt: int,
    status: str,
    error: str | None,
    result: str | None,
    events: str,
) -> _Op[bool]:
    params = {
        "run_id": run_id,
        "worker_id": worker_id,
        "attempt": attempt,
        "status": status,
        "error": error,
        "result": result,
        "events": events,
    }
    done = yield _FINISH, params
    if done.rowcount == 1:
        return True
    # A retry after a broken connection, whose first attempt did land, is not an error.
    found = yield _SELECT_RUN, params
    if not found.rows:
        return False
    row = _row(found.rows[0])
    return bool(row["status"] == status and row["owner"] == worker_id and row["attempt"] == attempt)


def _reap(max_attempts: int) -> _Op[list[str]]:
    reaped = yield _REAP, {"max_attempts": max_attempts}
    return [str(r[0]) for r in reaped.rows]


def _request_cancel(run_id: str, action: str, reason: str) -> _Op[str | None]:
    marked = yield _CANCEL_RUN, {"run_id": run_id, "action": action, "reason": reason}
    return str(marked.rows[0][1]) if marked.rows else None


def _cancel_thread(thread_id: str, action: str, reason: str) -> _Op[list[tuple[str, str]]]:
    marked = yield _CANCEL_THREAD, {"thread_id": thread_id, "action": action, "reason": reason}
    return [(str(r[0]), str(r[1])) for r in marked.rows]


def _begin_delete_thread(thread_id: str, reason: str) -> _Op[list[tuple[str, str]]]:
    """Run in ONE transaction: an enqueue in progress (it holds the thread's lock)
    commits first; every later one sees ``deleting``."""
    params = {"thread_id": thread_id, "action": "interrupt", "reason": reason}
    yield _LOCK_THREAD, params
    yield _MARK_DELETING, params
    marked = yield _CANCEL_THREAD, params
    return [(str(r[0]), str(r[1])) for r in marked.rows]


def _cancel_requested(run_id: str) -> _Op[str | None]:
    found = yield _SELECT_CANCEL, {"run_id": run_id}
    return str(found.rows[0][0]) if found.rows and found.rows[0][0] is not None else None


def _thread_row(values: Any) -> dict[str, Any]:
    return dict(zip(_THREAD_FIELDS, values, strict=True))


def _create_thread(thread_id: str, metadata: str) -> _Op[tuple[dict[str, Any], bool]]:
    params = {"thread_id": thread_id, "metadata": metadata}
    inserted = yield _INSERT_THREAD, params
    found = yield _SELECT_THREAD, params
    if not found.rows:
        raise QueueError(
            f"thread id {thread_id} is taken by a stateless run's thread; use another id"
        )
    return _thread_row(found.rows[0]), inserted.rowcount == 1


def _get_thread(thread_id: str) -> _Op[dict[str, Any] | None]:
    found = yield _SELECT_THREAD, {"thread_id": thread_id}
    return _thread_row(found.rows[0]) if found.rows else None


def _search_threads(
    metadata: list[str],
    status: str | None,
    ids: list[str] | None,
    order: tuple[str, bool],
    limit: int,
    offset: int,
) -> _Op[list[dict[str, Any]]]:
    column, descending = order
    if column not in THREAD_SORTS:
        raise ValueError(f"threads cannot be ordered by {column!r} in SQL")
    statement = _SEARCH_THREADS.format(column=column, order="DESC" if descending else "ASC")
    params = {
        "metadata": metadata,
        "status": status,
        "ids": ids,
        "limit": limit,
        "offset": offset,
    }
    found = yield statement, params
    return [_thread_row(r) for r in found.rows]


def _patch_thread(thread_id: str, metadata: str) -> _Op[dict[str, Any] | None]:
    params = {"thread_id": thread_id, "metadata": metadata}
    yield _PATCH_THREAD, params
    found = yield _SELECT_THREAD, params
    return _thread_row(found.rows[0]) if found.rows else None


def _delete_thread(thread_id: str) -> _Op[bool]:
    deleted = yield _DELETE_THREAD, {"thread_id": thread_id}
    return deleted.rowcount == 1


def _list_runs(
    thread_id: str, status: str | None, limit: int, offset: int
) -> _Op[list[dict[str, Any]]]:
    params = {"thread_id": thread_id, "status": status, "limit": limit, "offset": offset}
    found = yield _LIST_RUNS, params
    return [_row(r) for r in found.rows]


_ACTIVE_RUNS = """
SELECT run_id FROM scopegraph_queue_runs
WHERE status IN ('pending', 'running')
  AND (%(status)s::text IS NULL OR status = %(status)s)
  AND (%(assistant_id)s::text IS NULL OR run->>'assistant_id' = %(assistant_id)s)
  AND (%(thread_id)s::text IS NULL OR thread_id = %(thread_id)s)
  AND (%(run_ids)s::text[] IS NULL OR run_id = ANY(%(run_ids)s))
ORDER BY seq
"""


def _active_runs(params: dict[str, Any]) -> _Op[list[str]]:
    found = yield _ACTIVE_RUNS, params
    return [str(r[0]) for r in found.rows]


def _count_threads(metadata: list[str], status: str | None, ids: list[str] | None) -> _Op[int]:
    found = yield _COUNT_THREADS, {"metadata": metadata, "status": status, "ids": ids}
    return int(found.rows[0][0])


def _delete_run(run_id: str) -> _Op[bool]:
    deleted = yield _DELETE_RUN, {"run_id": run_id}
    return deleted.rowcount == 1


def _release(run_id: str, worker_id: str, attempt: int) -> _Op[bool]:
    released = yield _RELEASE, {"run_id": run_id, "worker_id": worker_id, "attempt": attempt}
    return released.rowcount == 1


# -- the queue ---------------------------------------------------------------------------

_ERRORS = ErrorKinds(
    label="RunQueue",
    prefix="run queue: ",
    error=QueueError,
    connection_error=QueueConnectionError,
)


def _json(value: Any, what: str) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON: {exc}") from exc


MetadataFilter = Mapping[str, Any] | Sequence[Mapping[str, Any]]
"""Metadata that a thread's must contain, or a list of which it must contain one (custom
auth's ``$or``)."""


def _alternatives(metadata: MetadataFilter | None) -> list[str]:
    """A metadata filter as the JSON texts of which a thread's metadata must contain one
    (``@> ANY``)."""
    wanted = [metadata or {}] if metadata is None or isinstance(metadata, Mapping) else metadata
    return [_json(dict(one), "the metadata filter") for one in wanted]


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value!r}")


class RunQueue:
    """A run queue in PostgreSQL; see the module docstring for what it guarantees.

    Args:
        dsn: a libpq connection string or URI.
        lease_seconds: how long a claim holds a run without a heartbeat.
        max_attempts: how many claims a run gets; when the lease of the last one
            expires, ``reap`` ends the run in ``error``.
        pool_size: the most connections each pool (asyncio, threads) opens; listeners
            have a connection of their own.
        connect_timeout: seconds to wait for a connection to be established, unless the
            connection string sets ``connect_timeout`` (libpq's minimum is 2).
        pool_timeout: seconds an operation waits for a free connection of the pool.

    A worker's loop::

        async with queue.listen_cancels() as cancels:   # LISTEN first, once
            ...                                          # route `cancels` to the runs
            run = await queue.claim(worker_id)
            # register the run with the router, THEN look at the durable request:
            if run["cancel_action"] or await queue.cancel_requested(run["run_id"]): ...
            ...                                          # heartbeat every lease/3
            await queue.finish(run["run_id"], worker_id, "success", attempt=run["attempt"])
    """

    def __init__(
        self,
        dsn: str,
        *,
        lease_seconds: float = 10.0,
        max_attempts: int = 3,
        pool_size: int = 10,
        connect_timeout: int = 5,
        pool_timeout: float = 30.0,
        reconnect_timeout: float = 60.0,
    ) -> None:
        _check_positive("lease_seconds", lease_seconds)
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts!r}")
        self._db = Database(
            dsn,
            schema=_SCHEMA,
            errors=_ERRORS,
            application_name="scopegraph-queue",
            pool_name="scopegraph-queue",
            pool_size=pool_size,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            reconnect_timeout=reconnect_timeout,
        )
        self.lease_seconds = float(lease_seconds)
        self.max_attempts = max_attempts

    def __repr__(self) -> str:
        return f"<RunQueue {self._db.target()}>"

    def observe_latency(self, observe: Callable[[str, float], None]) -> None:
        """Tell ``observe(operation, seconds)`` the duration of each of the queue's
        database calls from now on (the server's metrics)."""
        arun = self._db.arun

        async def timed(make_op: Callable[[], Any], **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await arun(make_op, **kwargs)
            finally:
                name = getattr(getattr(make_op, "func", make_op), "__name__", "query")
                observe(name.lstrip("_"), time.perf_counter() - start)

        self._db.arun = timed  # type: ignore[method-assign]

    # An operation may run twice: once more, on a fresh connection, when the first one
    # turns out to be broken (e.g. the server restarted while it sat in the pool). Each
    # operation is safe to repeat: enqueue finds its run by id, finish recognises its own
    # landed write, heartbeat, reap and cancel requests are idempotent. claim is not
    # repeated (a lost claim would hold a run until its lease expires).

    # -- API ---------------------------------------------------------------------------

    async def setup(self) -> None:
        """Connect, and create or migrate the tables (also done on first use).

        Idempotent, and safe when several processes do it at once: the migration runs in
        one transaction under an advisory lock.
        """
        await self._db.setup()

    async def aclose(self) -> None:
        """Close the pools; the queue is unusable afterwards. Listeners close when their
        ``async with`` block ends."""
        await self._db.aclose()

    async def __aenter__(self) -> Self:
        await self.setup()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def enqueue(
        self,
        run: Mapping[str, Any],
        *,
        thread_id: str,
        multitask_strategy: str,
        existing_thread: bool = False,
        trace_context: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Queue ``run`` (a JSON document; its ``run_id`` is used, or a new one made) on
        ``thread_id``, and return its row (status ``pending``).

        The strategy applies to the thread's pending and running runs, in the database:
        ``reject`` raises :class:`ThreadBusyError`; ``interrupt``/``rollback`` request
        their cancellation (a pending one ends ``interrupted`` at once; a running one is
        told through ``cancel_requested``/``listen_cancels``) and queue the run behind
        them; ``enqueue`` queues it behind them.

        Enqueueing a run id again on the same thread returns the stored run unchanged.
        A run whose document has ``not_before`` (an ISO 8601 time) is not claimed
        before then (a run's ``after_seconds``).

        The thread's row is created (unlisted) if it does not exist; with
        ``existing_thread`` it must exist and be listed (:class:`ThreadNotFoundError`).
        A thread being deleted takes no run (:class:`ThreadDeletingError`).
        ``trace_context``: the W3C trace context headers of the span that queued the run
        (stored in the row's ``trace_context``; the worker continues the trace).
        """
        if multitask_strategy not in STRATEGIES:
            raise ValueError(
                f"multitask_strategy must be one of {sorted(STRATEGIES)}, "
                f"got {multitask_strategy!r}"
            )
        run_id = run.get("run_id") or str(uuid.uuid4())
        if not isinstance(run_id, str):
            raise ValueError(f"run['run_id'] must be a string, got {run_id!r}")
        document = dict(run)
        document["run_id"] = run_id
        try:
            encoded = json.dumps(document)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"the run must be a JSON document: {exc}") from exc
        return await self._db.arun(
            functools.partial(
                _enqueue,
                run_id,
                thread_id,
                multitask_strategy,
                encoded,
                existing_thread,
                None if not trace_context else json.dumps(dict(trace_context)),
            ),
            transaction=True,
        )

    async def pending_stats(self) -> tuple[int, float]:
        """(the number of pending runs, the age in seconds of the oldest; 0 with none),
        on the database's clock."""
        return await self._db.arun(_pending_stats)

    async def get(self, run_id: str) -> dict[str, Any] | None:
        """The run's row, or None if there is no such run."""
        return await self._db.arun(functools.partial(_get, run_id))

    async def claim(self, worker_id: str) -> dict[str, Any] | None:
        """Claim the oldest claimable run for ``worker_id``: pending, and no earlier run
        of its thread pending or running. It becomes ``running``, owned by the worker,
        with a new attempt number and a lease of ``lease_seconds``. None when no run is
        claimable (now, or because other claimers hold every candidate)."""
        claimed = await self.claim_many(worker_id, 1)
        return claimed[0] if claimed else None

    async def claim_many(self, worker_id: str, limit: int) -> list[dict[str, Any]]:
        """:meth:`claim` up to ``limit`` runs at once (one statement), oldest first."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        return await self._db.arun(
            functools.partial(_claim, worker_id, self.lease_seconds, limit), retry=False
        )

    async def heartbeat(self, run_id: str, worker_id: str, *, attempt: int | None = None) -> bool:
        """Renew the lease for ``lease_seconds`` from now. False: the worker no longer
        owns the run (its lease was reaped, or the run finished); it must stop it
        without writing anything more. ``attempt`` (from ``claim``) also fences against
        a later claim of the same run by the same worker id.

        A lease that expired but was not reaped yet is still the worker's (nobody else
        can have claimed the run), so it is renewed: heartbeat every ``lease_seconds/3``
        or so, and stop the run if a heartbeat fails or cannot be made in time."""
        return await self._db.arun(
            functools.partial(_heartbeat, run_id, worker_id, attempt, self.lease_seconds)
        )

    async def finish(
        self,
        run_id: str,
        worker_id: str,
        status: str,
        *,
        attempt: int,
        error: str | None = None,
        result: bytes | None = None,
        lifecycle: Sequence[str] = (),
    ) -> bool:
        """Record the run's final ``status`` (``success``, ``error``, ``timeout``,
        ``interrupted``), fenced: only if it is still running with ``worker_id`` as
        owner and ``attempt`` (the claim's attempt number). False: the lease was lost,
        and nothing was changed. ``result``: a JSON document (encoded) kept with the
        run: what ``join`` and ``wait`` return. ``lifecycle``: events to add to the run's
        ``lifecycle`` list (claims, cancel requests, hand-backs and expired leases add
        theirs themselves)."""
        if status not in TERMINAL:
            raise ValueError(f"status must be one of {sorted(TERMINAL)}, got {status!r}")
        encoded = None if result is None else result.decode()
        now = datetime.datetime.now(datetime.UTC).isoformat()
        events = json.dumps([{"event": event, "at": now} for event in lifecycle])
        return await self._db.arun(
            functools.partial(_finish, run_id, worker_id, attempt, status, error, encoded, events)
        )

    async def release(self, run_id: str, worker_id: str, *, attempt: int) -> bool:
        """Hand a claimed run back (its worker is stopping): pending again, so that
        another worker claims it and resumes it from its last checkpoint. Fenced like
        :meth:`finish`; False if the worker no longer owns the run."""
        return await self._db.arun(functools.partial(_release, run_id, worker_id, attempt))

    async def reap(self) -> list[str]:
        """Take back every expired lease; return the runs taken back, oldest first.

        Each becomes pending again (owner cleared) while its ``attempt`` is below
        ``max_attempts``; else it ends in ``error``, with the reason in ``error``. A run
        whose cancellation was requested ends ``interrupted`` instead.
        """
        return await self._db.arun(functools.partial(_reap, self.max_attempts))

    async def request_cancel(
        self, run_id: str, action: CancelAction = "interrupt", *, reason: str | None = None
    ) -> str | None:
        """Request the run's cancellation: durably, in its row, and by
        ``NOTIFY scopegraph_cancel, '<run_id>'`` (both in one transaction). Returns the
        run's status after the request: ``"interrupted"`` for a pending run (it ends at
        once, and nobody will run it), ``"running"`` for a running one (its worker is
        told). None: no such run, or it has ended already."""
        if action not in _CANCEL_ACTIONS:
            raise ValueError(f"action must be 'interrupt' or 'rollback', got {action!r}")
        why = reason or f"cancel requested ({action})"
        return await self._db.arun(functools.partial(_request_cancel, run_id, action, why))

    async def cancel_thread(
        self, thread_id: str, action: CancelAction = "interrupt", *, reason: str | None = None
    ) -> list[tuple[str, str]]:
        """:meth:`request_cancel` for every pending or running run of the thread; their
        ``(run_id, status after the request)``, oldest first."""
        if action not in _CANCEL_ACTIONS:
            raise ValueError(f"action must be 'interrupt' or 'rollback', got {action!r}")
        why = reason or f"cancel requested ({action})"
        return await self._db.arun(
            functools.partial(_cancel_thread, thread_id, action, why), transaction=True
        )

    async def begin_delete_thread(
        self, thread_id: str, *, reason: str = "thread deleted"
    ) -> list[tuple[str, str]]:
        """Mark the thread ``deleting`` (from then on :meth:`enqueue` refuses its runs)
        and request the cancellation of its pending and running runs, in one
        transaction; their ``(run_id, status after the request)``, oldest first. Then
        wait for them and :meth:`delete_thread`."""
        return await self._db.arun(
            functools.partial(_begin_delete_thread, thread_id, reason), transaction=True
        )

    # -- threads and runs, as the HTTP API shows them ------------------------------------

    async def create_thread(
        self, thread_id: str, metadata: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Create a listed thread; ``(thread, created)``: created is False when it
        existed already (it is returned unchanged)."""
        encoded = _json(dict(metadata or {}), "the thread's metadata")
        return await self._db.arun(functools.partial(_create_thread, thread_id, encoded))

    async def get_thread(self, thread_id: str) -> dict[str, Any] | None:
        """The listed thread, with ``busy`` (a run is pending or running) and ``last``
        (its latest run's status, or None); None if there is no such thread."""
        return await self._db.arun(functools.partial(_get_thread, thread_id))

    async def search_threads(
        self,
        metadata: MetadataFilter | None = None,
        *,
        status: str | None = None,
        ids: Sequence[str] | None = None,
        sort_by: str = "created_at",
        descending: bool = True,
        limit: int = 10,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        """Listed threads whose metadata contains ``metadata`` (or one of a list of
        metadata) and whose id is among ``ids``, newest first (or by
        ``sort_by``, one of :data:`THREAD_SORTS`); with ``status``, those that are
        ``busy`` (a run is pending or running) or in ``error`` (their latest run
        failed), or for ``idle`` and ``interrupted`` those that are neither (their
        checkpoint tells which of the two they are)."""
        encoded = _alternatives(metadata)
        wanted = None if ids is None else list(ids)
        return await self._db.arun(
            functools.partial(
                _search_threads, encoded, status, wanted, (sort_by, descending), limit, offset
            )
        )

    async def count_threads(
        self,
        metadata: MetadataFilter | None = None,
        *,
        status: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> int:
        """How many listed threads have this metadata (and an id among ``ids``) and are
        ``busy`` or in ``error`` (``status``; None: any status)."""
        if status not in (None, "busy", "error"):
            raise ValueError(f"status must be None, 'busy' or 'error', got {status!r}")
        encoded = _alternatives(metadata)
        wanted = None if ids is None else list(ids)
        return await self._db.arun(functools.partial(_count_threads, encoded, status, wanted))

    async def patch_thread(
        self, thread_id: str, metadata: Mapping[str, Any]
    ) -> dict[str, Any] | None:
        """Merge ``metadata`` into the thread's; the thread, or None if there is none."""
        encoded = _json(dict(metadata), "the thread's metadata")
        return await self._db.arun(
            functools.partial(_patch_thread, thread_id, encoded), transaction=True
        )

    async def delete_thread(self, thread_id: str) -> bool:
        """Delete the thread and its runs (cancel the active ones first)."""
        return await self._db.arun(functools.partial(_delete_thread, thread_id))

    async def list_runs(
        self, thread_id: str, *, status: str | None = None, limit: int = 10, offset: int = 0
    ) -> list[dict[str, Any]]:
        """The thread's runs, newest first."""
        return await self._db.arun(functools.partial(_list_runs, thread_id, status, limit, offset))

    async def delete_run(self, run_id: str) -> bool:
        """Delete an ended run; False if there is no such run or it is still active."""
        return await self._db.arun(functools.partial(_delete_run, run_id))

    async def active_runs(
        self,
        *,
        status: str | None = None,
        assistant_id: str | None = None,
        thread_id: str | None = None,
        run_ids: Sequence[str] | None = None,
    ) -> list[str]:
        """The ids of the pending and running runs (only those with ``status``, of the
        assistant, of the thread, among ``run_ids``), oldest first."""
        params = {
            "status": status,
            "assistant_id": assistant_id,
            "thread_id": thread_id,
            "run_ids": None if run_ids is None else list(run_ids),
        }
        return await self._db.arun(functools.partial(_active_runs, params))

    async def cancel_requested(self, run_id: str) -> str | None:
        """The run's cancel request (``"interrupt"`` or ``"rollback"``), or None."""
        return await self._db.arun(functools.partial(_cancel_requested, run_id))

    def listen_cancels(self, on_enqueue: Callable[[], None] | None = None) -> CancelSubscription:
        """Subscribe to cancel requests: ``async with queue.listen_cancels() as cancels:``
        then ``async for run_id in cancels``.

        Entering the block returns once ``LISTEN`` is in effect, on a connection of its
        own; leaving it closes that connection. The order that loses no request: enter
        the block first, then check :meth:`cancel_requested` of the runs you care about,
        then follow the notifications. A request committed before the check is in the
        row; one committed after it is notified. A run may be reported twice.

        ``on_enqueue``: called (on the listener's task) whenever a run is queued, so that
        an idle worker claims it at once instead of at its next poll.
        """
        self._db.check_usable()
        return CancelSubscription(self._db, on_enqueue)


class CancelSubscription:
    """``LISTEN scopegraph_cancel`` on a dedicated connection; iterating yields the run
    id of each cancel request. Made by :meth:`RunQueue.listen_cancels`.

    On asyncio it waits on an async connection; on trio a worker thread polls the sync
    connection ``_LISTEN_POLL`` seconds at a time, so a cancelled iteration returns
    within that time. A lost connection raises :class:`QueueConnectionError`: subscribe
    again, then check the rows again.
    """

    def __init__(self, db: Database, on_enqueue: Callable[[], None] | None = None) -> None:
        self._db = db
        self._on_enqueue = on_enqueue
        self._conninfo = make_conninfo(db.conninfo, application_name="scopegraph-queue-listener")
        self._aconn: psycopg.AsyncConnection[TupleRow] | None = None
        self._conn: psycopg.Connection[TupleRow] | None = None
        self._buffer: collections.deque[str] = collections.deque()
        self._entered = False

    def _listen(self) -> psycopg.Connection[TupleRow]:
        try:
            conn = psycopg.Connection.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise self._db.connect_error(exc) from exc
        try:
            conn.execute(f"LISTEN {CANCEL_CHANNEL}")
            if self._on_enqueue is not None:
                conn.execute(f"LISTEN {ENQUEUE_CHANNEL}")
        except psycopg.Error as exc:
            conn.close()
            raise self._db.error(exc) from exc
        return conn

    async def _alisten(self) -> psycopg.AsyncConnection[TupleRow]:
        try:
            aconn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            raise self._db.connect_error(exc) from exc
        try:
            await aconn.execute(f"LISTEN {CANCEL_CHANNEL}")
            if self._on_enqueue is not None:
                await aconn.execute(f"LISTEN {ENQUEUE_CHANNEL}")
        except BaseException as exc:
            with anyio.CancelScope(shield=True):
                await aconn.close()
            if isinstance(exc, psycopg.Error):
                raise self._db.error(exc) from exc
            raise
        return aconn

    async def __aenter__(self) -> Self:
        if self._entered:
            raise QueueError("a CancelSubscription can be entered only once")
        self._entered = True
        if running_on_asyncio():
            self._aconn = await self._alisten()
        else:
            self._conn = await anyio.to_thread.run_sync(self._listen)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        aconn, self._aconn = self._aconn, None
        conn, self._conn = self._conn, None
        with anyio.CancelScope(shield=True):
            if aconn is not None:
                await aconn.close()
            if conn is not None:
                await anyio.to_thread.run_sync(conn.close)

    def __aiter__(self) -> Self:
        return self

    def _poll(self, conn: psycopg.Connection[TupleRow]) -> list[psycopg.Notify]:
        # Consumed to the end: notifications that arrived in one packet all come out.
        return list(conn.notifies(timeout=_LISTEN_POLL, stop_after=1))

    def _take(self, notify: psycopg.Notify) -> None:
        if notify.channel == CANCEL_CHANNEL:
            self._buffer.append(notify.payload)
        elif self._on_enqueue is not None:
            self._on_enqueue()

    async def __anext__(self) -> str:
        while not self._buffer:
            try:
                if self._aconn is not None:
                    async for notify in self._aconn.notifies(stop_after=1):
                        self._take(notify)
                elif self._conn is not None:
                    conn = self._conn
                    for notify in await anyio.to_thread.run_sync(self._poll, conn):
                        self._take(notify)
                else:
                    raise QueueError(
                        "iterate the subscription inside its block: "
                        "async with queue.listen_cancels() as cancels: async for ... in cancels"
                    )
            except psycopg.Error as exc:
                raise self._db.error(exc) from exc
        return self._buffer.popleft()
