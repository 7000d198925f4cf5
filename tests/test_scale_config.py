"""Scale-out mode refuses what it cannot serve, with an error that names the fix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.channels.topic import Topic

from _server import EXAMPLE
from scopegraph import END, START, StateGraph
from scopegraph._cli import main
from scopegraph.checkpoint import PostgresSaver, SqliteSaver
from scopegraph.server import create_app


class TopicState(TypedDict):
    events: Annotated[list[str], Topic(str)]  # no equivalent: adopt() refuses it


def graph() -> object:
    builder = StateGraph(dict)
    builder.add_node("a", lambda state: state)
    builder.add_edge(START, "a")
    builder.add_edge("a", END)
    return builder.compile()


def test_scale_out_needs_postgres_for_runs_and_checkpoints(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"database='postgresql://\.\.\.'"):
        create_app({"g": graph()}, None, redis="redis://127.0.0.1:1/0")
    with pytest.raises(ValueError, match=r"checkpointer=PostgresSaver\(database\)"):
        create_app(
            {"g": graph()},
            SqliteSaver(tmp_path / "c.db"),
            database="postgresql://u@127.0.0.1:1/db",
            redis="redis://127.0.0.1:1/0",
        )


def test_scale_out_refuses_bridged_langgraph_graphs() -> None:
    from langgraph.graph import StateGraph as LangGraphStateGraph

    builder: Any = LangGraphStateGraph(TopicState)
    builder.add_node("a", lambda state: {"events": "a"})
    builder.set_entry_point("a")
    dsn = "postgresql://u@127.0.0.1:1/db"
    with pytest.raises(ValueError, match=r"graphs \['old'\] are bridged LangGraph graphs"):
        create_app(
            {"old": builder.compile()}, PostgresSaver(dsn), database=dsn, redis="redis://x:1/0"
        )


def test_the_command_line_names_the_missing_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = f"{EXAMPLE}:graph"
    assert main(["serve", spec, "--workers", "2"]) == 2
    assert "--workers and --no-worker are for scale-out mode: add --redis URL" in (
        capsys.readouterr().err
    )
    db = str(tmp_path / "x.db")
    assert main(["serve", spec, "--redis", "redis://127.0.0.1:1/0", "--db", db]) == 2
    assert "--redis needs --db postgresql://" in capsys.readouterr().err
    assert main(["worker", "--graph", f"g={spec}", "--db", db, "--redis", "redis://x/0"]) == 2
    assert "a worker needs a postgresql:// URL" in capsys.readouterr().err
