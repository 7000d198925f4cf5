"""The single-process server's delayed runs (``after_seconds``), kept across restarts.

A run created with ``after_seconds`` on a thread waits in this process before it starts.
So that a restart (or a crash) does not lose it, its record stays ``pending`` in the
documents and a row of the store's delayed-runs table keeps when it starts and what the
run manager needs to make it again (its graph, assistant, thread and request). The row
goes when the run starts or ends without starting (cancelled, its thread deleted). On
start, :class:`DelayedRuns` hands back the rows: the server makes each run again, with
its id and record, and it starts at its time (at once if that has passed).

A run that had started is not made again (its row went when it started): a crash while
it runs marks it ``error``, as any run. Stateless runs (``/runs/...``) are not stored and
still wait in memory only.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import orjson

from .._store import DELAYED_RUNS, Documents, SqlOp
from .._wire import dumps

__all__ = ("Delayed", "DelayedRuns", "starts_at")


def starts_at(after_seconds: float) -> str:
    """When a run created now with ``after_seconds`` starts (ISO 8601, UTC)."""
    moment = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=after_seconds)
    return moment.isoformat()


def seconds_until(moment: str) -> float:
    """Seconds from now until ``moment`` (0 when it has passed)."""
    due = datetime.datetime.fromisoformat(moment)
    return max(0.0, (due - datetime.datetime.now(datetime.UTC)).total_seconds())


@dataclasses.dataclass(frozen=True)
class Delayed:
    """A stored delayed run: when it starts and how to make it again."""

    run_id: str
    starts_at: str
    graph_id: str
    assistant_id: str
    thread_id: str
    payload: dict[str, Any]


class DelayedRuns:
    """The rows of the delayed-runs table (see the module docstring)."""

    def __init__(self, docs: Documents) -> None:
        self.docs = docs
        self._m = docs.dialect.m

    async def add(self, run: Delayed) -> None:
        spec = {
            "graph_id": run.graph_id,
            "assistant_id": run.assistant_id,
            "thread_id": run.thread_id,
            "payload": run.payload,
        }
        m = self._m
        statement = f"INSERT INTO {DELAYED_RUNS} (run_id, starts_at, spec) VALUES ({m}, {m}, {m})"
        row = (run.run_id, run.starts_at, dumps(spec))

        def op() -> SqlOp[None]:
            yield statement, row

        await self.docs.op(op)

    async def remove(self, run_id: str) -> None:
        statement = f"DELETE FROM {DELAYED_RUNS} WHERE run_id = {self._m}"

        def op() -> SqlOp[None]:
            yield statement, (run_id,)

        await self.docs.op(op)

    async def all(self) -> list[Delayed]:
        """Every stored delayed run, the soonest first."""
        statement = f"SELECT run_id, starts_at, spec FROM {DELAYED_RUNS} ORDER BY starts_at"

        def op() -> SqlOp[list[Delayed]]:
            found = yield statement, ()
            runs = []
            for run_id, moment, spec in found.rows:
                fields = orjson.loads(bytes(spec))
                runs.append(Delayed(str(run_id), str(moment), **fields))
            return runs

        return await self.docs.op(op)
