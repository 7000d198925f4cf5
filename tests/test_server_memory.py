"""Issue 13 item 9: the server's memory does not grow with what it has stored.

- ``history`` with ``limit`` reads only the checkpoints it returns (the saver's query
  applies the limit): the older checkpoints of the thread are never read, so a thread
  whose oldest checkpoint cannot be decoded still answers ``limit=2``; with a metadata
  filter it reads page after page until it has ``limit`` matches (nothing is missed).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, TypedDict

import pytest

from scopegraph import END, START, StateGraph
from scopegraph.checkpoint import SqliteSaver


class Count(TypedDict):
    n: int


def counting_graph(saver: SqliteSaver) -> Any:
    builder = StateGraph(Count)
    builder.add_node("step", lambda state: {"n": state["n"] + 1})
    builder.add_edge(START, "step")
    builder.add_edge("step", END)
    return builder.compile(checkpointer=saver)


def config(thread: str = "t1") -> Any:
    return {"configurable": {"thread_id": thread}}


def break_oldest_checkpoints(path: Path, keep: int) -> None:
    """Overwrite every checkpoint of the thread but the newest ``keep`` with bytes that
    cannot be decoded: reading one of them raises CorruptCheckpointError."""
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE scopegraph_checkpoints SET data = x'00' WHERE seq NOT IN "
            "(SELECT seq FROM scopegraph_checkpoints ORDER BY seq DESC LIMIT ?)",
            (keep,),
        )
    conn.close()


@pytest.mark.anyio
async def test_history_with_limit_reads_only_what_it_returns(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.db"
    with SqliteSaver(path) as saver:
        graph = counting_graph(saver)
        for _ in range(5):
            await graph.ainvoke({"n": 0}, config())
        every = [s async for s in graph.aget_state_history(config())]
        assert len(every) == 15  # input, loop and step checkpoint of each of the 5 runs
        break_oldest_checkpoints(path, keep=3)

        newest = [s async for s in graph.aget_state_history(config(), limit=3)]
        assert [s.config for s in newest] == [s.config for s in every[:3]]
        assert len(list(graph.get_state_history(config(), limit=2))) == 2


@pytest.mark.anyio
async def test_history_with_a_filter_reads_pages_until_it_has_enough(tmp_path: Path) -> None:
    with SqliteSaver(tmp_path / "checkpoints.db") as saver:
        graph = counting_graph(saver)
        for _ in range(80):  # 240 checkpoints: more than one page of 100
            await graph.ainvoke({"n": 0}, config())
        inputs = [s async for s in graph.aget_state_history(config(), filter={"source": "input"})]
        assert len(inputs) == 80
        # the first run's input checkpoint only, the oldest of all: on the third page
        first = [s async for s in graph.aget_state_history(config(), filter={"step": -1})]
        assert [s.config for s in first] == [inputs[-1].config]
        two = [s async for s in graph.aget_state_history(config(), filter={"step": -1}, limit=2)]
        assert [s.config for s in two] == [inputs[-1].config]
        some = list(graph.get_state_history(config(), filter={"source": "loop"}, limit=75))
        assert len(some) == 75
        oldest = [s async for s in graph.aget_state_history(config())][-1]
        before = [
            s
            async for s in graph.aget_state_history(
                config(), filter={"source": "input"}, before=oldest.config
            )
        ]
        assert before == []
