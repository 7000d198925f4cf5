"""A real agent served end to end: ``examples/agent/`` behind ``scopegraph serve``, driven
with the LangGraph SDK, gives LangGraph's transcript turn by turn.

The example is a ``langchain.agents.create_agent`` agent with a scripted chat model, a
long-term memory tool on the server's Store, a slow tool with shielded cleanup and
``HumanInTheLoopMiddleware`` before that tool. The server serves the folder's
``langgraph.json`` (and adopts the agent: it runs on scopegraph's engine). Each turn runs
on the server through the SDK and on LangGraph in this process (the same agent with its
own ``InMemorySaver`` and ``InMemoryStore``, the same inputs and resumes); the messages
(type, content, name, tool calls, tool results) and interrupts must be the same.

Stopping a run mid-tool (``runs.cancel``, or a stream that disconnects with
``on_disconnect="cancel"``): the run ends ``interrupted`` once the tool's shielded
cleanup has completed (its record is written when the API returns), its lifecycle says
so in order, nothing of it runs on, and the thread then goes on as on LangGraph.

The deployments: one ``scopegraph serve`` process (asyncio), and a scale-out cluster: an
API process and a worker on trio (``scopegraph worker``), on PostgreSQL and Redis. The
SDK is asyncio-only: the tests run on asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from langchain_core.messages import BaseMessage
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.store.memory import InMemoryStore
from langgraph.types import Command, Interrupt
from langgraph_sdk import get_client

import _pg
import _redis
from _cluster import running_cluster
from _server import ROOT, running_server

pytestmark = pytest.mark.anyio

pg_server = _pg.pg_server
redis_server = _redis.redis_server

FOLDER = ROOT / "examples" / "agent"
ASSISTANT = "assistant"
APPROVE = {"decisions": [{"type": "approve"}]}
ADOPTED = f"graph '{ASSISTANT}': built with LangGraph, adopted (runs on scopegraph's engine)"
"""The start-up log's line: the agent runs on scopegraph's engine, not bridged."""


def load_example() -> Any:
    """The example's module, imported from its file (it is not a package)."""
    name = "scopegraph_example_agent"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, FOLDER / "agent.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while building
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the LangGraph SDK client; the servers run on both backends


# -- the deployments ---------------------------------------------------------------------


@dataclass
class Deployment:
    url: str
    cleanup_log: Path
    log: Any  # () -> str: the processes' output, for failure messages

    def cleanups(self) -> list[str]:
        if not self.cleanup_log.exists():
            return []
        return self.cleanup_log.read_text().splitlines()


@contextlib.contextmanager
def agent_env(cleanup_log: Path) -> Iterator[None]:
    """``AGENT_CLEANUP_LOG`` for the processes a fixture starts (they inherit os.environ)."""
    before = os.environ.get("AGENT_CLEANUP_LOG")
    os.environ["AGENT_CLEANUP_LOG"] = str(cleanup_log)
    try:
        yield
    finally:
        if before is None:
            del os.environ["AGENT_CLEANUP_LOG"]
        else:
            os.environ["AGENT_CLEANUP_LOG"] = before


@pytest.fixture(scope="module", params=["serve", "cluster"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp(request.param)
    cleanup_log = folder / "agent-cleanup.log"
    if request.param == "cluster":
        request.getfixturevalue("pg_server")
        redis = request.getfixturevalue("redis_server")
        redis.flush()
        graph = f"{ASSISTANT}={FOLDER / 'agent.py'}:agent"
        with (
            agent_env(cleanup_log),
            running_cluster(
                folder,
                _pg.fresh_database_dsn(),
                redis.url(),
                apis=1,
                workers=1,
                worker_backend="trio",
                extra_graphs=[graph],
            ) as cluster,
        ):
            assert ADOPTED in cluster.processes["W1"].log()  # the worker runs it
            yield Deployment(cluster.apis[0], cleanup_log, cluster.logs)
        return
    config = ("--config", str(FOLDER / "langgraph.json"))
    env = {"AGENT_CLEANUP_LOG": str(cleanup_log)}
    with running_server(folder, graphs=(), extra_args=config, env=env) as server:
        assert ADOPTED in server.log()
        yield Deployment(server.url, cleanup_log, server.log)


@pytest.fixture
async def client(deployment: Deployment) -> AsyncIterator[Any]:
    async with get_client(url=deployment.url) as client:
        yield client


# -- the two sides of a transcript ---------------------------------------------------------


def shape(message: dict[str, Any]) -> dict[str, Any]:
    """What a transcript compares of a message (its id is random on both sides)."""
    shaped = {"type": message["type"], "content": message["content"], "name": message["name"]}
    if message["type"] == "ai":
        calls = message.get("tool_calls") or []
        shaped["tool_calls"] = [(c["name"], c["args"], c["id"]) for c in calls]
    if message["type"] == "tool":
        shaped["tool_call_id"] = message["tool_call_id"]
        shaped["status"] = message["status"]
    return shaped


@dataclass
class Turn:
    messages: list[dict[str, Any]]
    interrupts: list[Any]


def said(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


def served_turn(values: dict[str, Any]) -> Turn:
    """A turn as the server's ``runs.wait`` returns it (either SDK)."""
    assert "__error__" not in values, values
    interrupts = [i["value"] for i in values.get("__interrupt__", [])]
    return Turn([shape(m) for m in values["messages"]], interrupts)


@dataclass
class LangGraphThread:
    """The same thread on LangGraph, in this process."""

    graph: Any
    thread_id: str
    user: str

    @property
    def config(self) -> dict[str, Any]:
        return {"configurable": {"thread_id": self.thread_id}}

    @property
    def context(self) -> dict[str, Any]:
        return {"user_id": self.user}

    async def turn(self, *, input: Any = None, resume: Any = None) -> Turn:
        arg = input if resume is None else Command(resume=resume)
        result = await self.graph.ainvoke(arg, self.config, context=self.context)
        return Turn(
            [shape(m.model_dump()) for m in result["messages"]],
            [i.value for i in result.get("__interrupt__", [])],
        )

    async def stop(self) -> None:
        """The approved tool call's run, cancelled once the tool has started (as a
        client's stop cancels the server's run)."""
        started = asyncio.Event()

        async def resume() -> None:
            command: Command[Any] = Command(resume=APPROVE)
            async for _ in self.graph.astream(
                command, self.config, context=self.context, stream_mode="custom"
            ):
                started.set()

        task = asyncio.create_task(resume())
        await started.wait()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def state(self) -> tuple[list[str], list[dict[str, Any]]]:
        """(next, the messages) of the thread."""
        state = await self.graph.aget_state(self.config)
        messages: list[BaseMessage] = state.values["messages"]
        return list(state.next), [shape(m.model_dump()) for m in messages]


@dataclass
class Conversation:
    """One thread, on the server and on LangGraph in this process: each turn goes to both."""

    client: Any
    thread_id: str
    reference: LangGraphThread

    @classmethod
    async def start(cls, client: Any, langgraph: Any, user: str) -> Conversation:
        thread_id = (await client.threads.create())["thread_id"]
        return cls(client, thread_id, LangGraphThread(langgraph, thread_id, user))

    async def turn(self, *, input: Any = None, resume: Any = None) -> Turn:
        """Run one turn on both; assert they agree; the server's."""
        command = None if resume is None else {"resume": resume}
        served = await self.client.runs.wait(
            self.thread_id,
            ASSISTANT,
            input=input,
            command=command,
            context=self.reference.context,
        )
        on_server = served_turn(served)
        assert on_server == await self.reference.turn(input=input, resume=resume)
        return on_server


@pytest.fixture
def langgraph() -> Any:
    """The example's agent on LangGraph, with a checkpointer and a store of its own."""
    agent = load_example().agent
    return agent.copy(update={"checkpointer": InMemorySaver(), "store": InMemoryStore()})


def last(turn: Turn, n: int = 1) -> list[tuple[str, str]]:
    return [(m["type"], m["content"]) for m in turn.messages[-n:]]


# -- the scenario ----------------------------------------------------------------------------


async def test_memory_and_each_review_decision_give_langgraphs_transcript(
    client: Any, langgraph: Any, deployment: Deployment
) -> None:
    chat = await Conversation.start(client, langgraph, "ada")
    # Turn 1: a tool call that writes long-term memory.
    first = await chat.turn(input=said("remember: my favourite colour is teal"))
    assert last(first, 2) == [
        ("tool", "saved: my favourite colour is teal"),
        ("ai", "memory says: saved: my favourite colour is teal"),
    ]
    items = await client.store.search_items(("memories", "ada"))
    assert [(i["key"], i["value"]) for i in items["items"]] == [
        ("fact-1", {"fact": "my favourite colour is teal"})
    ]
    # The research tool waits for a person: an interrupt, approved.
    asked = await chat.turn(input=said("research tea"))
    assert [i["action_requests"][0]["args"] for i in asked.interrupts] == [
        {"topic": "tea", "thorough": False}
    ]
    approved = await chat.turn(resume=APPROVE)
    assert last(approved) == [("ai", "research says: tea is well documented")]
    # Asked again, edited: the tool runs with the person's arguments.
    await chat.turn(input=said("research coffee"))
    edit = {"type": "edit", "edited_action": {"name": "research", "args": {"topic": "cocoa"}}}
    edited = await chat.turn(resume={"decisions": [edit]})
    assert last(edited) == [("ai", "research says: cocoa is well documented")]
    # Rejected with a reason, then answered instead of run: no tool runs either time.
    paused = await chat.turn(input=said("research gossip"))
    state = await client.threads.get_state(chat.thread_id)
    reference_state = await chat.reference.graph.aget_state(chat.reference.config)
    assert state["next"] == list(reference_state.next)
    assert (
        [i["value"] for i in state["interrupts"]]
        == paused.interrupts
        == [i.value for i in reference_state.interrupts]
    )
    reject = {"type": "reject", "message": "not that"}
    rejected = await chat.turn(resume={"decisions": [reject]})
    await chat.turn(input=said("research rumours"))
    respond = {"type": "respond", "message": "rumours are unreliable"}
    responded = await chat.turn(resume={"decisions": [respond]})
    assert last(rejected, 2) == [
        ("tool", "User rejected the tool call for `research` with reason: not that"),
        ("ai", "research says: User rejected the tool call for `research` with reason: not that"),
    ]
    assert last(responded, 2) == [
        ("tool", "rumours are unreliable"),
        ("ai", "research says: rumours are unreliable"),
    ]
    ran = {line.split(" ", 1)[1] for line in deployment.cleanups()}
    assert {"tea", "cocoa"} <= ran
    assert not {"gossip", "rumours", "coffee"} & ran  # rejected, answered, edited away
    # A new thread of the same user reads the memory the first one wrote.
    other = await Conversation.start(client, langgraph, "ada")
    recalled = await other.turn(input=said("what do you remember?"))
    assert last(recalled) == [("ai", "memory says: my favourite colour is teal")]
    # Another user's memories are their own.
    stranger = await Conversation.start(client, langgraph, "bob")
    nothing = await stranger.turn(input=said("what do you remember?"))
    assert last(nothing) == [("ai", "memory says: nothing yet")]


@pytest.mark.parametrize("how", ["runs.cancel", "disconnect"])
async def test_stop_mid_tool_completes_its_cleanup_and_the_thread_goes_on(
    client: Any, langgraph: Any, deployment: Deployment, how: str
) -> None:
    topic = f"the ocean ({how})"
    chat = await Conversation.start(client, langgraph, "cy")
    asked = await chat.turn(input=said(f"research {topic} thoroughly"))
    assert [i["action_requests"][0]["args"] for i in asked.interrupts] == [
        {"topic": topic, "thorough": True}
    ]
    # Approved: the tool starts its long study, and the client stops the run.
    tid = chat.thread_id
    disconnect = "cancel" if how == "disconnect" else "continue"
    async with contextlib.aclosing(
        client.runs.stream(
            tid,
            ASSISTANT,
            command={"resume": APPROVE},
            context=chat.reference.context,
            stream_mode="custom",
            on_disconnect=disconnect,
        )
    ) as parts:
        run_id = None
        async for part in parts:
            if part.event == "metadata":
                run_id = part.data["run_id"]
            elif part.event == "custom":
                assert part.data == {"research": "started", "topic": topic}
                break
    assert run_id is not None
    if how == "runs.cancel":
        await client.runs.cancel(tid, run_id, wait=True)
    else:
        await client.runs.join(tid, run_id)
    # When the API returns, the tool's shielded cleanup has completed: nothing waits on it.
    assert f"research-cleanup-done {topic}" in deployment.cleanups(), deployment.log()
    run = await client.runs.get(tid, run_id)
    assert run["status"] == "interrupted"
    lifecycle = [e["event"] for e in run["lifecycle"]]
    assert lifecycle[0].startswith("run started")  # a worker adds (attempt, worker)
    assert lifecycle[1].startswith("cancel requested")
    assert lifecycle[2:] == ["cleanup finished", "checkpoint saved"]
    assert [r["status"] for r in await client.runs.list(tid)].count("interrupted") == 1
    assert await client.runs.list(tid, status="running") == []
    assert await client.runs.list(tid, status="pending") == []

    # LangGraph, stopped at the same point, is at the same place: the tool call pending.
    await chat.reference.stop()
    state = await client.threads.get_state(tid)
    reference_next, reference_messages = await chat.reference.state()
    assert state["next"] == reference_next == ["tools"]
    assert [shape(m) for m in state["values"]["messages"]] == reference_messages
    # The thread goes on: a new message; the stopped tool call stays unanswered, as there.
    after = await chat.turn(input=said("hello again"))
    assert last(after, 2) == [("human", "hello again"), ("ai", "You said: hello again")]


# -- the JS SDK ------------------------------------------------------------------------------

JS = ROOT / "tests" / "js"
EDIT = {"type": "edit", "edited_action": {"name": "research", "args": {"topic": "currents"}}}
JS_STEPS: list[dict[str, Any]] = [
    {"thread": "t1", "user": "dee", "input": "remember: I live by the sea"},
    {"thread": "t1", "user": "dee", "input": "research tides"},
    {"thread": "t1", "user": "dee", "resume": APPROVE},
    {"thread": "t1", "user": "dee", "input": "research waves"},
    {"thread": "t1", "user": "dee", "resume": {"decisions": [EDIT]}},
    {"thread": "t2", "user": "dee", "input": "what do you remember?"},
    {"thread": "t2", "user": "dee", "input": "research storms thoroughly"},
    {"thread": "t2", "user": "dee", "stop": "runs.cancel"},
    {"thread": "t2", "user": "dee", "input": "hello again"},
]


async def test_the_js_sdk_gets_langgraphs_transcript(
    deployment: Deployment, langgraph: Any
) -> None:
    """``tests/js/agent.mjs`` runs :data:`JS_STEPS` with ``@langchain/langgraph-sdk``;
    each step's result is LangGraph's for the same step."""
    node = shutil.which("node")
    assert node is not None, "Node.js is required for the JS SDK scenarios (Node 20)"
    assert (JS / "node_modules" / "@langchain" / "langgraph-sdk").is_dir(), (
        "the JS SDK is not installed: run `make install` (or `npm ci` in tests/js)"
    )
    done = await anyio.run_process(
        [node, "agent.mjs", deployment.url, json.dumps(JS_STEPS)],
        cwd=JS,
        check=False,
        env={**os.environ, "AGENT_CLEANUP_LOG": str(deployment.cleanup_log)},
    )
    assert done.returncode == 0, done.stderr.decode()
    served = json.loads(done.stdout)
    assert len(served) == len(JS_STEPS)
    threads: dict[str, LangGraphThread] = {}
    for step, result in zip(JS_STEPS, served, strict=True):
        name = step["thread"]
        reference = threads.setdefault(name, LangGraphThread(langgraph, name, step["user"]))
        if "stop" in step:
            assert "research-cleanup-done storms" in result["cleanup"]  # when cancel returned
            assert result["status"] == "interrupted"
            assert result["lifecycle"][1:] == [
                "cancel requested (cancel endpoint)",
                "cleanup finished",
                "checkpoint saved",
            ]
            assert result["running"] == 0
            await reference.stop()
            next_nodes, messages = await reference.state()
            assert (result["next"], [shape(m) for m in result["messages"]]) == (
                next_nodes,
                messages,
            )
            continue
        expected = await reference.turn(
            input=said(step["input"]) if "input" in step else None, resume=step.get("resume")
        )
        assert served_turn(result) == expected, step
    last_turn = served_turn(served[-1])
    assert [(m["type"], m["content"]) for m in last_turn.messages[-2:]] == [
        ("human", "hello again"),
        ("ai", "You said: hello again"),
    ]


# -- stream chunks ---------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A stream chunk's data as JSON-like values, messages shaped (ids left out)."""
    if isinstance(value, BaseMessage):
        return shape(value.model_dump())
    if isinstance(value, Interrupt):
        return {"value": plain(value.value)}  # ids hash the run's random task ids
    if isinstance(value, dict):
        if value.get("type") in ("human", "ai", "tool") and "content" in value:
            return shape(value)
        if set(value) in ({"value", "id"}, {"value", "id", "response_schema"}):
            return {"value": plain(value["value"])}  # an interrupt, on the wire
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


async def test_a_turns_stream_chunks_are_langgraphs(client: Any, langgraph: Any) -> None:
    """``updates``, ``values``, ``custom``, ``tools`` and ``messages`` chunks of a turn
    that calls a tool, pauses for approval and goes on: the same on the wire as
    LangGraph's chunks in process (a ``messages`` chunk's message; its metadata is the
    server's)."""
    chat = await Conversation.start(client, langgraph, "eve")
    reference = chat.reference
    modes = ["updates", "values", "custom", "tools"]
    tool_events: list[str] = []
    steps: list[dict[str, Any]] = [
        {"input": said("remember: tea, not coffee")},
        {"input": said("research teas")},
        {"command": {"resume": APPROVE}},
    ]
    for step in steps:
        parts = [
            part
            async for part in client.runs.stream(
                chat.thread_id,
                ASSISTANT,
                stream_mode=[*modes, "messages-tuple"],
                context=reference.context,
                **step,
            )
        ]
        served = [
            ("messages", plain(p.data[0])) if p.event == "messages" else (p.event, plain(p.data))
            for p in parts
            if p.event in (*modes, "messages")
        ]
        arg = step.get("input") or Command(resume=step["command"]["resume"])
        expected = [
            ("messages", plain(chunk[0])) if mode == "messages" else (mode, plain(chunk))
            async for mode, chunk in langgraph.astream(
                arg, reference.config, context=reference.context, stream_mode=[*modes, "messages"]
            )
        ]
        assert served == expected, step
        tool_events += [data["event"] for event, data in served if event == "tools"]
    # the memory tool (first turn) and the research tool (after approval) each streamed
    assert tool_events.count("tool-started") == 2, tool_events
    assert tool_events.count("tool-finished") == 2, tool_events
