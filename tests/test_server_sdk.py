"""The official LangGraph SDK (``langgraph-sdk``) against a real ``scopegraph serve``.

Every test talks HTTP + SSE on loopback to a server process started by
``tests/_server.py`` with the example graphs of ``examples/server_graph.py``:

- ``agent`` streams 8 tokens in node ``think`` and 24 in node ``answer`` as custom events
  ``{"node", "token"}``; each node's ``finally:`` does a shielded cleanup that writes
  ``cleanup-start`` / ``cleanup-done <node> <run_id>`` to the server's cleanup log.
- ``approval`` drafts, calls ``interrupt()``, then publishes.

The SDK is an asyncio library (it sleeps with ``asyncio.sleep`` and encodes bodies in
asyncio's executor), so these tests run on asyncio only; the server's trio behaviour is
covered in ``test_server_trio.py``. Nothing here sleeps to order events: a test waits for
an event on the stream, or joins the run.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import ConflictError, NotFoundError
from langgraph_sdk.schema import StreamPart

from _server import EXAMPLE, Server, running_server

pytestmark = pytest.mark.anyio

THINK = 8
ANSWER = 24


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("server"), interval=0.02) as server:
        yield server


@pytest.fixture
async def client(server: Server) -> AsyncIterator[Any]:
    async with get_client(url=server.url) as client:
        yield client


def tokens_of(prompt: str) -> list[str]:
    """The tokens the ``agent`` graph streams for ``prompt``."""
    words = prompt.split()
    return (words * THINK)[:THINK] + (words * ANSWER)[:ANSWER]


def cleanup_lines(server: Server, run_id: str) -> list[str]:
    return [line.rsplit(" ", 1)[0] for line in server.cleanups() if line.endswith(run_id)]


@contextlib.asynccontextmanager
async def stream(parts: AsyncIterator[StreamPart]) -> AsyncIterator[AsyncIterator[StreamPart]]:
    """Close the SDK's stream on leaving (that is the client disconnecting)."""
    async with contextlib.aclosing(parts) as closing:  # type: ignore[type-var]
        yield closing


async def read_until(parts: AsyncIterator[StreamPart], count: int, event: str) -> list[StreamPart]:
    """Parts up to and including the ``count``-th ``event`` part."""
    seen: list[StreamPart] = []
    matched = 0
    async for part in parts:
        seen.append(part)
        if part.event == event:
            matched += 1
            if matched == count:
                return seen
    raise AssertionError(f"the stream ended after {matched} {event!r} parts: {seen}")


async def test_thread_create_get_search_delete(client: Any) -> None:
    thread = await client.threads.create(metadata={"owner": "test-crud"})
    assert thread["status"] == "idle"
    assert (await client.threads.get(thread["thread_id"]))["metadata"] == {"owner": "test-crud"}
    found = await client.threads.search(metadata={"owner": "test-crud"})
    assert [t["thread_id"] for t in found] == [thread["thread_id"]]
    with pytest.raises(ConflictError):
        await client.threads.create(thread_id=thread["thread_id"])
    same = await client.threads.create(thread_id=thread["thread_id"], if_exists="do_nothing")
    assert same["thread_id"] == thread["thread_id"]
    await client.threads.delete(thread["thread_id"])
    with pytest.raises(NotFoundError):
        await client.threads.get(thread["thread_id"])


async def test_assistants(client: Any) -> None:
    assistants = await client.assistants.search()
    assert sorted(a["graph_id"] for a in assistants) == ["agent", "approval"]
    agent = next(a for a in assistants if a["graph_id"] == "agent")
    assert (await client.assistants.get(agent["assistant_id"]))["graph_id"] == "agent"
    schemas = await client.assistants.get_schemas(agent["assistant_id"])
    assert set(schemas["state_schema"]["properties"]) == {"prompt", "tokens", "sentences"}
    drawn = await client.assistants.get_graph("agent")
    assert {"source": "think", "target": "answer"} in drawn["edges"]


async def test_stream_custom_updates_values(client: Any, server: Server) -> None:
    thread = await client.threads.create()
    parts = [
        p
        async for p in client.runs.stream(
            thread["thread_id"],
            "agent",
            input={"prompt": "one two"},
            stream_mode=["custom", "updates", "values"],
        )
    ]
    assert parts[0].event == "metadata"
    run_id = parts[0].data["run_id"]
    # no closing `end` event: the stream closes, as LangGraph's server closes it
    assert [p.event for p in parts if p.event in ("end", "error")] == []
    custom = [p.data["token"] for p in parts if p.event == "custom"]
    assert custom == tokens_of("one two")
    updates = [p.data for p in parts if p.event == "updates"]
    assert [list(u) for u in updates] == [["think"], ["answer"]]
    values = [p.data for p in parts if p.event == "values"]
    assert values[0] == {"prompt": "one two", "tokens": []} or values[0] == {"prompt": "one two"}
    assert values[-1]["tokens"] == tokens_of("one two")
    run = await client.runs.get(thread["thread_id"], run_id)
    assert run["status"] == "success"
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["tokens"] == tokens_of("one two")
    assert state["next"] == []
    assert (await client.threads.get(thread["thread_id"]))["status"] == "idle"


@pytest.mark.parametrize(
    "mode", ["values", "updates", "custom", "events", "debug", "tasks", "checkpoints"]
)
async def test_each_stream_mode(client: Any, mode: str) -> None:
    parts = [
        p
        async for p in client.runs.stream(
            None,
            "agent",
            input={"prompt": "a"},
            stream_mode=mode,
        )
    ]
    events = [p.event for p in parts]
    assert events[0] == "metadata"
    assert "end" not in events
    assert "error" not in events
    body = [p.data for p in parts[1:]]
    assert body, f"no {mode} events"
    assert set(events[1:-1]) == {mode}
    if mode == "values":
        assert body[-1]["tokens"] == tokens_of("a")
    elif mode == "updates":
        assert body == [
            {"think": {"tokens": tokens_of("a")[:THINK]}},
            {"answer": {"tokens": tokens_of("a")[THINK:]}},
        ]
    elif mode == "custom":
        assert [b["token"] for b in body] == tokens_of("a")
    elif mode == "events":
        kinds = [b["event"] for b in body]
        assert kinds[0] == "on_chain_start"
        assert kinds[-1] == "on_chain_end"
        assert kinds.count("on_custom_event") == 0  # custom writes are not events
        assert {"on_chain_start", "on_chain_stream", "on_chain_end"} <= set(kinds)
    elif mode == "debug":
        assert {b["type"] for b in body} == {"checkpoint", "task", "task_result"}
    elif mode == "tasks":
        starts = [b for b in body if "input" in b]
        assert [b["name"] for b in starts] == ["think", "answer"]
    elif mode == "checkpoints":
        assert body[-1]["values"]["tokens"] == tokens_of("a")
        assert body[-1]["next"] == []


async def test_disconnect_cancels_run_after_cleanup(client: Any, server: Server) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    async with stream(
        client.runs.stream(
            tid,
            "agent",
            input={"prompt": "stop me"},
            stream_mode="custom",
            on_disconnect="cancel",
        )
    ) as parts:
        seen = await read_until(parts, 3, "custom")
    run_id = seen[0].data["run_id"]
    # The client is gone; join waits until the run has ended.
    await client.runs.join(tid, run_id)
    run = await client.runs.get(tid, run_id)
    assert run["status"] == "interrupted"
    lifecycle = [e["event"] for e in run["lifecycle"]]
    assert lifecycle[0] == "run started"
    assert lifecycle[1].startswith("cancel requested")
    assert lifecycle[2:] == ["cleanup finished", "checkpoint saved"]
    assert cleanup_lines(server, run_id) == ["cleanup-start think", "cleanup-done think"]
    # The checkpoint is saved: the thread resumes where it stopped, re-running `think`.
    state = await client.threads.get_state(tid)
    assert state["next"] == ["think"]
    assert (await client.threads.get(tid))["status"] == "interrupted"
    result = await client.runs.wait(tid, "agent", input=None)
    assert result["tokens"] == tokens_of("stop me")


async def test_continue_and_rejoin_with_last_event_id(client: Any) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    async with stream(
        client.runs.stream(
            tid,
            "agent",
            input={"prompt": "resume"},
            stream_mode="custom",
            stream_resumable=True,
            on_disconnect="continue",
        )
    ) as parts:
        first = await read_until(parts, 5, "custom")
    run_id = first[0].data["run_id"]
    last_id = first[-1].id
    assert last_id is not None
    rest = [p async for p in client.runs.join_stream(tid, run_id, last_event_id=last_id)]
    assert rest
    assert [p.event for p in rest if p.event in ("end", "error")] == []
    ids = [int(p.id) for p in first + rest if p.id is not None]
    assert ids == list(range(len(ids))), "a gap or a duplicate in the event ids"
    tokens = [p.data["token"] for p in first + rest if p.event == "custom"]
    assert tokens == tokens_of("resume")
    assert (await client.runs.get(tid, run_id))["status"] == "success"


async def test_cancel_endpoint_and_rollback(client: Any, server: Server) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "agent", input={"prompt": "first"})
    before = await client.threads.get_history(tid, limit=100)
    for action in ("interrupt", "rollback"):
        run = await client.runs.create(tid, "agent", input={"prompt": action}, stream_mode="custom")
        async with stream(client.runs.join_stream(tid, run["run_id"])) as parts:
            await read_until(parts, 2, "custom")
        await client.runs.cancel(tid, run["run_id"], wait=True, action=action)
        assert cleanup_lines(server, run["run_id"]) == ["cleanup-start think", "cleanup-done think"]
        if action == "interrupt":
            stopped = await client.runs.get(tid, run["run_id"])
            assert stopped["status"] == "interrupted"
            # Resume it to the end, so the thread is idle again for the rollback.
            await client.runs.wait(tid, "agent", input=None)
            before = await client.threads.get_history(tid, limit=100)
        else:
            with pytest.raises(NotFoundError):  # a rolled-back run is deleted
                await client.runs.get(tid, run["run_id"])
            after = await client.threads.get_history(tid, limit=100)
            assert [s["checkpoint_id"] for s in after] == [s["checkpoint_id"] for s in before]


async def start_and_wait_running(client: Any, tid: str, prompt: str) -> str:
    run = await client.runs.create(tid, "agent", input={"prompt": prompt}, stream_mode="custom")
    async with stream(client.runs.join_stream(tid, run["run_id"])) as parts:
        await read_until(parts, 1, "custom")
    return str(run["run_id"])


async def test_multitask_reject(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    first = await start_and_wait_running(client, tid, "busy")
    with pytest.raises(ConflictError):
        await client.runs.create(tid, "agent", input={"prompt": "x"}, multitask_strategy="reject")
    await client.runs.join(tid, first)
    assert (await client.runs.get(tid, first))["status"] == "success"


async def test_multitask_interrupt(client: Any, server: Server) -> None:
    tid = (await client.threads.create())["thread_id"]
    first = await start_and_wait_running(client, tid, "old")
    second = await client.runs.create(
        tid, "agent", input={"prompt": "new"}, multitask_strategy="interrupt"
    )
    await client.runs.join(tid, second["run_id"])
    assert (await client.runs.get(tid, first))["status"] == "interrupted"
    assert (await client.runs.get(tid, second["run_id"]))["status"] == "success"
    assert cleanup_lines(server, first) == ["cleanup-start think", "cleanup-done think"]


async def test_multitask_rollback(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    first = await start_and_wait_running(client, tid, "gone")
    second = await client.runs.create(
        tid, "agent", input={"prompt": "kept"}, multitask_strategy="rollback"
    )
    await client.runs.join(tid, second["run_id"])
    with pytest.raises(NotFoundError):
        await client.runs.get(tid, first)
    state = await client.threads.get_state(tid)
    assert state["values"]["tokens"] == tokens_of("kept")
    history = await client.threads.get_history(tid, limit=100)
    assert {s["metadata"].get("run_id") for s in history} == {second["run_id"]}


async def test_multitask_enqueue(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    first = await start_and_wait_running(client, tid, "one")
    second = await client.runs.create(
        tid, "agent", input={"prompt": "two"}, multitask_strategy="enqueue"
    )
    assert second["status"] == "pending"
    await client.runs.join(tid, second["run_id"])
    one = await client.runs.get(tid, first)
    two = await client.runs.get(tid, second["run_id"])
    assert (one["status"], two["status"]) == ("success", "success")
    started = two["lifecycle"][0]
    assert started["event"] == "run started"
    assert one["updated_at"] <= started["at"]
    state = await client.threads.get_state(tid)
    assert state["values"]["tokens"] == tokens_of("one") + tokens_of("two")


async def test_interrupt_then_resume_with_command(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    parts = [
        p
        async for p in client.runs.stream(
            tid, "approval", input={"draft": "post"}, stream_mode="updates"
        )
    ]
    interrupts = [
        p.data["__interrupt__"] for p in parts if p.event == "updates" and "__interrupt__" in p.data
    ]
    assert len(interrupts) == 1
    assert interrupts[0][0]["value"]["question"] == "publish this draft?"
    thread = await client.threads.get(tid)
    assert thread["status"] == "interrupted"
    state = await client.threads.get_state(tid)
    assert state["next"] == ["review"]
    assert state["interrupts"][0]["id"] == interrupts[0][0]["id"]
    result = await client.runs.wait(tid, "approval", command={"resume": "yes"})
    assert result == {"draft": "draft: post", "approved": True, "published": "draft: post"}
    assert (await client.threads.get(tid))["status"] == "idle"


async def test_interrupt_before_at_call_time(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "agent", input={"prompt": "p"}, interrupt_before=["answer"])
    state = await client.threads.get_state(tid)
    assert state["next"] == ["answer"]
    assert state["values"]["tokens"] == tokens_of("p")[:THINK]
    result = await client.runs.wait(tid, "agent", input=None)
    assert result["tokens"] == tokens_of("p")


async def test_update_state_and_history(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "agent", input={"prompt": "h"})
    updated = await client.threads.update_state(tid, {"tokens": ["extra"]}, as_node="answer")
    state = await client.threads.get_state(tid)
    assert state["checkpoint"]["checkpoint_id"] == updated["checkpoint"]["checkpoint_id"]
    assert state["values"]["tokens"][-1] == "extra"
    history = await client.threads.get_history(tid, limit=3)
    assert len(history) == 3
    assert history[0]["checkpoint"]["checkpoint_id"] == updated["checkpoint"]["checkpoint_id"]


async def test_sigterm_during_a_run(tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as closing:
        with running_server(tmp_path, interval=0.05, grace=0.2) as server:
            client: Any = get_client(url=server.url)
            closing.push_async_callback(client.aclose)
            tid = (await client.threads.create())["thread_id"]
            parts: list[StreamPart] = []
            async with stream(
                client.runs.stream(tid, "agent", input={"prompt": "term"}, stream_mode="custom")
            ) as stream_parts:
                parts += await read_until(stream_parts, 2, "custom")
                server.process.send_signal(signal.SIGTERM)
                parts += [p async for p in stream_parts]
            assert server.process.wait(30) == 0
        run_id = parts[0].data["run_id"]
        assert parts[-1].event == "error"
        assert parts[-1].data["error"] == "ServerShuttingDown"
        assert cleanup_lines(server, run_id) == ["cleanup-start think", "cleanup-done think"]
        # A new server on the same database: the run is recorded as interrupted, and the
        # thread resumes from its checkpoint.
        with running_server(tmp_path) as again:
            client = get_client(url=again.url)
            closing.push_async_callback(client.aclose)
            run = await client.runs.get(tid, run_id)
            assert run["status"] == "interrupted"
            assert (await client.threads.get_state(tid))["next"] == ["think"]
            result = await client.runs.wait(tid, "agent", input=None)
            assert result["tokens"] == tokens_of("term")


async def test_new_runs_are_refused_while_shutting_down(tmp_path: Path) -> None:
    with running_server(tmp_path, interval=0.05, grace=30) as server:
        async with get_client(url=server.url) as client:
            tid = (await client.threads.create())["thread_id"]
            async with stream(
                client.runs.stream(tid, "agent", input={"prompt": "slow"}, stream_mode="custom")
            ) as parts:
                await read_until(parts, 1, "custom")
                server.process.send_signal(signal.SIGTERM)
                async with httpx.AsyncClient(base_url=server.url) as http:
                    for _ in range(200):  # until the server has seen the signal
                        info = (await http.get("/info")).json()
                        if not info["accepting_runs"]:
                            break
                    refused = await http.post(
                        "/runs/wait", json={"assistant_id": "agent", "input": {"prompt": "x"}}
                    )
                rest: list[Any] = [p async for p in parts]
            assert refused.status_code == 503
            assert refused.json()["error"] == "ServiceUnavailable"
            # Within the grace period the running run finished normally.
            assert rest
            assert [p.event for p in rest if p.event == "error"] == []


async def test_messages_tuple_streams_chat_model_tokens(tmp_path: Path) -> None:
    chat = EXAMPLE.with_name("chat_graph.py")
    with running_server(tmp_path, graphs=[f"chat={chat}:graph"]) as server:
        client: Any
        async with get_client(url=server.url) as client:
            parts = [
                p
                async for p in client.runs.stream(
                    None,
                    "chat",
                    input={"messages": [{"role": "user", "content": "hello there"}]},
                    stream_mode="messages-tuple",
                )
            ]
    messages = [p.data for p in parts if p.event == "messages"]
    assert "".join(m[0]["content"] for m in messages) == "you said: hello there"
    assert {m[1]["langgraph_node"] for m in messages} == {"chat"}
    assert [p.event for p in parts if p.event in ("end", "error")] == []
