"""``scopegraph serve`` with graphs built with LangGraph: adopted when they can be,
bridged otherwise.

The LangGraph SDK against a real server process whose graph ``legacy`` is
``examples/langgraph_graph.py``: LangGraph's own StateGraph, compiled without a
checkpointer, which the server adopts (``scopegraph.langgraph.adopt``: it runs on
scopegraph's engine, with the server's checkpointer). Streaming works as for a scopegraph
graph; a client that disconnects with ``on_disconnect="cancel"`` cancels the run, and the
node's shielded cleanup completes before the run ends ``interrupted``; rollback works.
Graph ``topic`` has a channel adopt() refuses (a ``Topic``): it is bridged, and the
start-up log says which graph runs how, and why. The SDK is asyncio-only, so these tests
run on asyncio.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client

from _server import EXAMPLE, Server, running_server

pytestmark = pytest.mark.anyio

LEGACY = EXAMPLE.with_name("langgraph_graph.py")

TOPIC_GRAPH = """
import asyncio
from typing import Annotated, TypedDict

from langgraph.channels.topic import Topic
from langgraph.graph import START, StateGraph


class State(TypedDict):
    events: Annotated[list[str], Topic(str)]


async def emit(state: State) -> dict[str, str]:
    if "block" in state["events"]:  # a run that only ends when it is cancelled
        await asyncio.Event().wait()
    return {"events": "emitted"}


builder = StateGraph(State)
builder.add_node("emit", emit)
builder.add_edge(START, "emit")
graph = builder.compile()
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("lg")
    (folder / "topic_graph.py").write_text(TOPIC_GRAPH)
    graphs = [f"legacy={LEGACY}:graph", f"topic={folder / 'topic_graph.py'}:graph"]
    with running_server(folder, graphs=graphs, interval=0.02) as s:
        yield s


@pytest.fixture
async def client(server: Server) -> AsyncIterator[Any]:
    async with get_client(url=server.url) as client:
        yield client


def test_the_start_up_log_says_which_graphs_are_adopted_and_which_bridged(
    server: Server,
) -> None:
    log = server.log()
    assert "graph 'legacy': built with LangGraph, adopted (runs on scopegraph's engine)" in log
    assert (
        "graph 'topic': built with LangGraph, bridged (runs on LangGraph's engine: asyncio "
        "only, no scale-out, no rollback): LangGraph graph 'LangGraph': state key 'events' "
        "is a LangGraph Topic channel"
    ) in log


async def test_stream_a_langgraph_graph(client: Any) -> None:
    thread = await client.threads.create()
    parts = [
        p
        async for p in client.runs.stream(
            thread["thread_id"],
            "legacy",
            input={"prompt": "a b"},
            stream_mode=["custom", "updates"],
        )
    ]
    assert parts[0].event == "metadata"
    assert [p.event for p in parts if p.event in ("end", "error")] == []
    tokens = [p.data["token"] for p in parts if p.event == "custom"]
    assert tokens == (["a", "b"] * 4) + (["a", "b"] * 12)
    assert [list(p.data) for p in parts if p.event == "updates"] == [["think"], ["answer"]]
    state = await client.threads.get_state(thread["thread_id"])
    assert len(state["values"]["tokens"]) == 32


async def test_disconnect_cancels_the_langgraph_run_after_its_cleanup(
    client: Any, server: Server
) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    async with contextlib.aclosing(
        client.runs.stream(
            tid, "legacy", input={"prompt": "stop"}, stream_mode="custom", on_disconnect="cancel"
        )
    ) as parts:
        run_id = None
        async for part in parts:
            if part.event == "metadata":
                run_id = part.data["run_id"]
            elif part.event == "custom" and part.data["token"] == "stop":
                break
    assert run_id is not None
    await client.runs.join(tid, run_id)
    run = await client.runs.get(tid, run_id)
    assert run["status"] == "interrupted"
    assert [e["event"] for e in run["lifecycle"]][2:] == ["cleanup finished", "checkpoint saved"]
    assert f"cleanup-done think {run_id}" in server.cleanups()
    # LangGraph's checkpoint of the thread: it resumes at the cancelled node.
    state = await client.threads.get_state(tid)
    assert state["next"] == ["think"]
    result = await client.runs.wait(tid, "legacy", input=None)
    assert len(result["tokens"]) == 32


async def test_rollback_works_for_an_adopted_graph(client: Any) -> None:
    from langgraph_sdk.errors import NotFoundError

    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "legacy", input={"prompt": "first"})
    before = [s["checkpoint"]["checkpoint_id"] for s in await client.threads.get_history(tid)]
    run = await client.runs.create(tid, "legacy", input={"prompt": "x"}, stream_mode="custom")
    await client.runs.cancel(tid, run["run_id"], action="rollback", wait=True)
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, run["run_id"])
    after = [s["checkpoint"]["checkpoint_id"] for s in await client.threads.get_history(tid)]
    assert after == before


async def test_rollback_is_refused_for_a_bridged_graph(client: Any) -> None:
    from langgraph_sdk.errors import UnprocessableEntityError

    tid = (await client.threads.create())["thread_id"]
    # The run blocks until cancelled, so it is still live (pending or running) when the
    # rollback is asked for (a run that had ended would answer 404 instead).
    run = await client.runs.create(tid, "topic", input={"events": ["block"]})
    with pytest.raises(UnprocessableEntityError):
        await client.runs.cancel(tid, run["run_id"], action="rollback")
    await client.runs.cancel(tid, run["run_id"], action="interrupt", wait=True)
    assert (await client.runs.get(tid, run["run_id"]))["status"] == "interrupted"
