"""A process that runs a multi-step graph with a durable checkpointer, for the crash test.

Usage: python tests/_crash_worker.py (start|resume|reference) DB LOG

- ``start`` runs until the node ``stuck`` (step 3) blocks forever, beside ``quick``
  which finishes: the test kills the process with SIGKILL once it sees ``stuck`` running
  and ``quick``'s record stored.
- ``resume`` continues the thread with ``ainvoke(None, config)``; ``stuck`` no longer
  blocks. Prints the final state as JSON.
- ``reference`` runs the same graph start to end without a crash (InMemorySaver).

DB is a SQLite file path, or a PostgreSQL connection string (URL or ``key=value``).
Every node appends its name to LOG when it runs, so the test can count who ran.
"""

from __future__ import annotations

import json
import operator
import os
import sys
from pathlib import Path
from typing import Annotated, Any, TypedDict

import anyio

from scopegraph import END, START, StateGraph
from scopegraph.checkpoint import BaseCheckpointSaver, InMemorySaver, SqliteSaver


class State(TypedDict):
    total: int
    log: Annotated[list[str], operator.add]


def build(log_path: Path, block: bool) -> StateGraph:
    def runs(name: str) -> None:
        with log_path.open("a") as f:
            f.write(name + "\n")
            f.flush()
            os.fsync(f.fileno())

    async def first(state: State) -> dict[str, Any]:
        runs("first")
        return {"total": state["total"] + 1, "log": ["first"]}

    async def second(state: State) -> dict[str, Any]:
        runs("second")
        return {"total": state["total"] * 10, "log": ["second"]}

    async def quick(state: State) -> dict[str, Any]:
        runs("quick")
        return {"log": ["quick"]}

    async def stuck(state: State) -> dict[str, Any]:
        runs("stuck")
        if block:
            await anyio.sleep_forever()  # the test kills the process here
        return {"total": state["total"] + 5, "log": ["stuck"]}

    async def last(state: State) -> dict[str, Any]:
        runs("last")
        return {"total": state["total"] * 2, "log": ["last"]}

    graph = StateGraph(State)
    for name, fn in [
        ("first", first),
        ("second", second),
        ("quick", quick),
        ("stuck", stuck),
        ("last", last),
    ]:
        graph.add_node(name, fn)
    graph.add_edge(START, "first")
    graph.add_edge("first", "second")
    graph.add_edge("second", "quick")
    graph.add_edge("second", "stuck")
    graph.add_edge(["quick", "stuck"], "last")
    graph.add_edge("last", END)
    return graph


def open_saver(db: str) -> BaseCheckpointSaver:
    if db.startswith(("postgresql://", "postgres://")) or "dbname=" in db:
        from scopegraph.checkpoint import PostgresSaver

        return PostgresSaver(db)
    return SqliteSaver(db)


async def main(mode: str, db: str, log_path: Path) -> None:
    config: Any = {"configurable": {"thread_id": "crash-test"}}
    saver = InMemorySaver() if mode == "reference" else open_saver(db)
    # durability="sync": every checkpoint and task record is stored before the run
    # moves on, so a SIGKILL loses at most the tasks still running.
    app = build(log_path, block=mode == "start").compile(checkpointer=saver)
    if mode == "resume":
        result = await app.ainvoke(None, config, durability="sync")
    else:
        result = await app.ainvoke({"total": 1, "log": []}, config, durability="sync")
    print(json.dumps(result), flush=True)
    await saver.aclose()


if __name__ == "__main__":
    mode, db, log = sys.argv[1:4]
    anyio.run(main, mode, db, Path(log))
