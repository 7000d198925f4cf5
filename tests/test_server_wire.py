"""Wire parity with LangGraph's server, through the Python SDK (``langgraph-sdk``) where
it exposes the behaviour, else raw HTTP, against a real ``scopegraph serve``.

The JS SDK's view of the same answers, in one process and in scale-out, is
``tests/test_server_js_sdk.py``. The SDK is an asyncio library: these tests run on
asyncio; the server's trio behaviour is covered in ``test_server_trio.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError

from _server import DEFAULT_GRAPHS, Server, running_server

pytestmark = pytest.mark.anyio

BOOM = f"boom={Path(__file__).with_name('_wire_graphs.py')}:boom"
TOKENS = 32


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("wire"), graphs=(*DEFAULT_GRAPHS, BOOM), interval=0.003
    ) as server:
        yield server


@pytest.fixture
async def client(server: Server) -> AsyncIterator[Any]:
    async with get_client(url=server.url) as client:
        yield client


async def test_streams_close_after_the_last_event_without_end(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    parts = [
        p
        async for p in client.runs.stream(
            tid, "agent", input={"prompt": "a"}, stream_mode=["custom", "values"]
        )
    ]
    assert [p.event for p in parts].count("custom") == TOKENS
    assert parts[-1].event == "values"  # the last event: the final values; no `end`
    assert parts[-1].data["tokens"] == ["a"] * TOKENS
    # the SDK's v2 parts see the same stream
    v2 = [
        p
        async for p in client.runs.stream(
            tid, "agent", input={"prompt": "b"}, stream_mode="custom", version="v2"
        )
    ]
    assert [p["type"] for p in v2].count("custom") == TOKENS


async def test_join_stream_minus_one_and_a_finished_resumable_run(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(
        tid, "agent", input={"prompt": "r"}, stream_mode="custom", stream_resumable=True
    )
    replayed = [p async for p in client.runs.join_stream(tid, run["run_id"], last_event_id="-1")]
    assert replayed[0].event == "metadata"
    assert [p.data["token"] for p in replayed if p.event == "custom"] == ["r"] * TOKENS
    await client.runs.join(tid, run["run_id"])
    again = [p async for p in client.runs.join_stream(tid, run["run_id"])]
    assert [(p.event, p.data) for p in again] == [(p.event, p.data) for p in replayed]
    # a run that was not resumable: its finished stream closes at once
    plain = await client.runs.create(tid, "agent", input={"prompt": "p"}, stream_mode="custom")
    await client.runs.join(tid, plain["run_id"])
    assert [p async for p in client.runs.join_stream(tid, plain["run_id"])] == []


async def test_error_bodies_carry_detail_and_the_statuses_of_langgraph(
    client: Any, server: Server
) -> None:
    missing = str(uuid.uuid4())
    with pytest.raises(NotFoundError) as not_found:
        await client.threads.get(missing)
    body: Any = not_found.value.body
    assert body["detail"] == body["message"]
    assert missing in body["detail"]
    tid = (await client.threads.create())["thread_id"]
    with pytest.raises(UnprocessableEntityError) as unknown:  # not a graph, not a UUID
        await client.runs.create(tid, "no-such-graph", input={})
    refused: Any = unknown.value.body
    assert refused["error"] == "InvalidAssistant"
    with pytest.raises(NotFoundError):  # a UUID that names no assistant
        await client.runs.create(tid, missing, input={})
    async with httpx.AsyncClient(base_url=server.url) as http:
        malformed = await http.post(
            "/threads", content=b'{"metadata": ', headers={"content-type": "application/json"}
        )
    assert malformed.status_code == 422
    assert malformed.json()["detail"] == "the request body is not valid JSON"


async def test_cancel_wait_answers_the_final_values_then_404(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    answer: Any = None
    run_id = ""
    async for part in client.runs.stream(
        tid, "agent", input={"prompt": "stop"}, stream_mode=["custom"]
    ):
        if part.event == "metadata":
            run_id = part.data["run_id"]
        if part.event == "custom" and answer is None:
            answer = await client.runs.cancel(tid, run_id, wait=True)
    # 200 with the values the run left (the `think` node was cancelled: none yet)
    state = await client.threads.get_state(tid)
    assert answer == state["values"]
    assert (await client.runs.get(tid, run_id))["status"] == "interrupted"
    with pytest.raises(NotFoundError) as ended:
        await client.runs.cancel(tid, run_id)
    gone: Any = ended.value.body
    assert "already ended" in gone["detail"]


async def test_metadata_flows_into_runs_threads_and_checkpoints(client: Any) -> None:
    thread = await client.threads.create(metadata={"owner": "ada"})
    tid = thread["thread_id"]
    assert thread["state_updated_at"] == thread["created_at"]
    assert thread["error"] is None
    await client.runs.wait(
        tid,
        "agent",
        input={"prompt": "m"},
        metadata={"tag": "t"},
        config={"metadata": {"via": "config"}},
    )
    after = await client.threads.get(tid)
    assistant_id = after["metadata"]["assistant_id"]
    assert after["metadata"] == {"owner": "ada", "graph_id": "agent", "assistant_id": assistant_id}
    assistant = await client.assistants.get("agent")
    assert assistant_id == assistant["assistant_id"]
    assert after["state_updated_at"] > thread["state_updated_at"]
    (run,) = await client.runs.list(tid)
    assert run["metadata"] == {
        "created_by": "system",  # the assistant's metadata comes first, as on LangGraph
        "owner": "ada",
        "tag": "t",
        "via": "config",
        "assistant_id": assistant_id,
    }
    state = await client.threads.get_state(tid)
    for key, value in run["metadata"].items():
        assert state["metadata"][key] == value, key


async def test_a_failed_run_leaves_its_error_on_the_thread(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    parts = [p async for p in client.runs.stream(tid, "boom", input={"n": 7})]
    assert parts[-1].event == "error"
    thread = await client.threads.get(tid)
    assert thread["status"] == "error"
    assert thread["error"] == {"error": "ValueError", "message": "boom at n=7"}
