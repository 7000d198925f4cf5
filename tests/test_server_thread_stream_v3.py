"""The SDK's ``client.threads.stream`` (LangGraph's thread-centric streaming protocol)
against a real ``scopegraph serve``, in one process and in scale-out.

The official Python SDK drives every scenario: ``run.start`` and the run's ``values``,
``updates``, ``custom``, ``lifecycle`` and ``messages`` (a fake chat model's tokens as
content-block events, the same events LangGraph's ``astream_events(version="v3")`` makes
of them); an interrupt and ``input.respond``; a subgraph's namespace; reading the events
again from a ``since`` cursor; protocol errors; and a client that leaves the events
stream (the run goes on, as on LangGraph's server). The graphs are in
``tests/_protocol_graphs.py``.

The main scenarios run on both of the SDK's transports: SSE (``POST .../stream/events``)
and WebSocket (commands over HTTP, events on a socket at ``.../stream/events``); the
socket's handshake gets the HTTP checks (API key, host, origin, custom auth).

The SDK's thread stream runs on asyncio only (its transports use asyncio's primitives),
and so do the servers here: the chat graph's LangChain model gathers with asyncio. In
scale-out, commands go to one API process and events are read from the other.
"""

from __future__ import annotations

import json
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

import _pg
import _redis
from _cluster import running_cluster
from _server import running_server

pytestmark = pytest.mark.anyio

pg_server = _pg.pg_server
redis_server = _redis.redis_server

GRAPHS_FILE = Path(__file__).with_name("_protocol_graphs.py")
NAMES = ("chat", "approve", "nested", "slow", "weather")
GRAPHS = tuple(f"{name}={GRAPHS_FILE}:{name}_graph" for name in NAMES)
ALL = ["values", "updates", "messages", "tools", "lifecycle", "input", "checkpoints", "tasks"]
ALL += ["custom"]
HELLO = {"messages": [{"role": "user", "content": "hi there"}]}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the SDK's thread stream is asyncio's


@dataclass
class Deployment:
    commands: str
    """The URL commands go to."""
    events: str
    """The URL events are read from (another process's in scale-out)."""


@pytest.fixture(scope="module", params=["serve", "cluster"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp(request.param)
    if request.param == "cluster":
        request.getfixturevalue("pg_server")
        redis = request.getfixturevalue("redis_server")
        redis.flush()
        with running_cluster(
            folder,
            _pg.fresh_database_dsn(),
            redis.url(),
            apis=2,
            workers=1,
            worker_backend="asyncio",  # LangChain's chat model gathers with asyncio
            extra_graphs=GRAPHS,
        ) as cluster:
            yield Deployment(cluster.apis[0], cluster.apis[1])
        return
    with running_server(folder, graphs=GRAPHS) as server:
        yield Deployment(server.url, server.url)


@pytest.fixture(params=["sse", "websocket"])
def transport(request: pytest.FixtureRequest) -> str:
    """The SDK's transport of the thread's events."""
    return str(request.param)


@pytest.fixture
async def client(deployment: Deployment) -> AsyncIterator[Any]:
    async with get_client(url=deployment.commands) as client:
        yield client


def brief(event: dict[str, Any]) -> tuple[str, list[str], Any]:
    params = event["params"]
    return event["method"], params["namespace"], params["data"]


async def read_events(
    url: str, thread_id: str, body: dict[str, Any], runs: int = 1
) -> list[dict[str, Any]]:
    """The events of ``POST /threads/{id}/stream/events`` until the root's lifecycle
    event that ends the ``runs``-th run (``completed``, ``failed``, ``interrupted``)."""
    out: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=url, timeout=30) as http,
        http.stream("POST", f"/threads/{thread_id}/stream/events", json=body) as response,
    ):
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            out.append(event)
            method, namespace, data = brief(event)
            if method == "lifecycle" and not namespace and data["event"] != "running":
                runs -= 1
                if not runs:
                    return out
    raise AssertionError(f"the stream ended before the run did: {out}")


async def test_run_start_streams_lifecycle_values_updates_custom_and_messages(
    client: Any, deployment: Deployment, transport: str
) -> None:
    async with client.threads.stream(assistant_id="chat", transport=transport) as thread:
        started = await thread.run.start(input=HELLO)
        events = [brief(e) async for e in thread.subscribe(ALL)]
        output = await thread.output
    assert started["run_id"]
    assert events[0] == ("lifecycle", [], {"event": "running", "graph_name": "chat"})
    assert events[-1] == ("lifecycle", [], {"event": "completed", "graph_name": "chat"})
    assert ("custom", [], {"payload": {"thinking": 1}}) in events
    updates = [data for method, _, data in events if method == "updates"]
    assert updates[-1]["messages"][0]["content"] == "you said: hi there"
    values = [data for method, _, data in events if method == "values"]
    assert [m["content"] for m in values[-1]["messages"]] == ["hi there", "you said: hi there"]
    assert values[-1] == output
    messages = [data for method, _, data in events if method == "messages"]
    assert messages[0]["event"] == "message-start"
    deltas = [m["delta"]["text"] for m in messages if m["event"] == "content-block-delta"]
    assert deltas == ["you", " ", "said:", " ", "hi", " ", "there"]  # one per token
    assert messages[-2] == {
        "event": "content-block-finish",
        "index": 0,
        "content": {"type": "text", "text": "you said: hi there"},
    }
    assert messages[-1] == {"event": "message-finish"}
    # the thread was made by run.start (the SDK minted its id)
    assert (await client.threads.get(thread.thread_id))["status"] == "idle"


async def test_messages_projection_assembles_the_streamed_reply(client: Any) -> None:
    async with client.threads.stream(assistant_id="chat") as thread:
        await thread.run.start(input=HELLO)
        # a message's events reach it as the projection is iterated: read them all first
        messages = [message async for message in thread.messages]
    assert [await message.text for message in messages] == ["you said: hi there"]
    assert messages[0].node is None  # LangGraph's server sends no metadata to name it


async def test_messages_are_the_events_langgraphs_v3_stream_makes(client: Any) -> None:
    """The same graph on LangGraph (its library's ``astream_events(version="v3")``)
    gives the same content-block events, the message id apart (LangGraph's is the
    model call's run id there)."""
    from langchain_core._api.beta_decorator import LangChainBetaWarning
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.runnables import RunnableConfig
    from langgraph.graph import END, START, MessagesState, StateGraph

    async def chat(state: MessagesState, config: RunnableConfig) -> dict[str, Any]:
        reply = AIMessage(f"you said: {state['messages'][-1].content}", id="reply-1")
        model = GenericFakeChatModel(messages=iter([reply]))
        return {"messages": [await model.ainvoke(state["messages"], config)]}

    builder = StateGraph(MessagesState)
    builder.add_node("chat", chat)
    builder.add_edge(START, "chat")
    builder.add_edge("chat", END)
    with warnings.catch_warnings():  # "The v3 streaming protocol ... is experimental"
        warnings.simplefilter("ignore", LangChainBetaWarning)
        graph_input: Any = HELLO  # a MessagesState, as the SDK's dict
        run = await builder.compile().astream_events(graph_input, version="v3")
        expected = [ev["params"]["data"][0] async for ev in run if ev["method"] == "messages"]
    async with client.threads.stream(assistant_id="chat") as thread:
        await thread.run.start(input=HELLO)
        served = [e["params"]["data"] async for e in thread.subscribe(["messages"])]
    for events in (expected, served):
        assert events[0]["event"] == "message-start"
        events[0].pop("id")
    assert served == expected


async def test_a_tool_call_on_tools_and_messages(client: Any, transport: str) -> None:
    async with client.threads.stream(assistant_id="weather", transport=transport) as thread:
        await thread.run.start(input={"messages": [{"role": "user", "content": "weather?"}]})
        events = [brief(e) async for e in thread.subscribe(["tools", "messages"])]
    async with client.threads.stream(assistant_id="weather", transport=transport) as thread:
        await thread.run.start(input={"messages": [{"role": "user", "content": "weather?"}]})
        (call,) = [c async for c in thread.tool_calls]
    assert (call.name, call.input) == ("weather", {"city": "Paris"})
    assert (await call.output)["content"] == "sunny in Paris"
    tools = [data for method, _, data in events if method == "tools"]
    assert [t["event"] for t in tools] == ["tool-started", "tool-finished"]
    assert tools[0] == {
        "event": "tool-started",
        "tool_call_id": "call-1",
        "tool_name": "weather",
        "input": {"city": "Paris"},
    }
    messages = [(ns, data) for method, ns, data in events if method == "messages"]
    # the model's message, returned whole by ``call``: a finished tool_call block
    assert messages[:4] == [
        ([], {"event": "message-start", "role": "ai", "id": "ask-1"}),
        (
            [],
            {
                "event": "content-block-start",
                "index": 0,
                "content": {"type": "tool_call", "id": "call-1", "name": "weather", "args": {}},
            },
        ),
        (
            [],
            {
                "event": "content-block-finish",
                "index": 0,
                "content": {
                    "type": "tool_call",
                    "id": "call-1",
                    "name": "weather",
                    "args": {"city": "Paris"},
                },
            },
        ),
        ([], {"event": "message-finish"}),
    ]
    # the tool's output again, as a tool message under its call (LangGraph's server's)
    text = {"type": "text", "text": "sunny in Paris"}
    start = {"event": "message-start", "role": "tool", "id": "tool-call-1"}
    assert messages[4:] == [
        (["tools:call-1"], data)
        for data in (
            {**start, "tool_call_id": "call-1"},
            {"event": "content-block-start", "index": 0, "content": {"type": "text", "text": ""}},
            {"event": "content-block-delta", "index": 0, "content": text},
            {"event": "content-block-finish", "index": 0, "content": text},
            {"event": "message-finish", "metadata": {}},
        )
    ]


async def test_interrupt_then_input_respond_resumes_the_run(
    client: Any, deployment: Deployment, transport: str
) -> None:
    async with client.threads.stream(assistant_id="approve", transport=transport) as thread:
        await thread.run.start(input={"topic": "otters"})
        async for _ in thread.subscribe(["lifecycle"]):
            pass  # the SDK ends its subscriptions when the run asks for input
        assert thread.interrupted
        (pending,) = thread.interrupts
        assert pending["namespace"] == []
        await thread.run.respond("yes")
        output = await thread.output
    assert output == {"topic": "otters", "steps": ["draft", "review", "publish"], "answer": "yes"}
    body = {"channels": ["lifecycle", "input", "updates"]}
    events = [brief(e) for e in await read_events(deployment.events, thread.thread_id, body, 2)]
    asked = {"interrupt_id": pending["interrupt_id"], "payload": {"question": "publish otters?"}}
    assert [e for e in events if e[0] != "updates"] == [
        ("lifecycle", [], {"event": "running", "graph_name": "approve"}),
        ("input.requested", [], asked),
        ("lifecycle", [], {"event": "interrupted", "graph_name": "approve"}),
        ("lifecycle", [], {"event": "running", "graph_name": "approve"}),  # the resumed run
        ("lifecycle", [], {"event": "completed", "graph_name": "approve"}),
    ]
    resumed = events.index(("lifecycle", [], {"event": "running", "graph_name": "approve"}), 1)
    assert ("updates", [], {"steps": ["review"], "answer": "yes"}) in events[resumed:]


async def test_a_subgraph_has_its_namespace_and_lifecycle(
    client: Any, deployment: Deployment, transport: str
) -> None:
    async with client.threads.stream(assistant_id="nested", transport=transport) as thread:
        await thread.run.start(input={})
        events = [brief(e) async for e in thread.subscribe(["lifecycle", "custom", "updates"])]
    # another session on the thread: its events are the thread's runs' from the start
    async with client.threads.stream(
        thread.thread_id, assistant_id="nested", transport=transport
    ) as again:
        scoped = [
            brief(e)
            async for e in again.subscribe(["custom", "updates"], namespaces=[["inner"]], depth=0)
        ]
    inner = next(ns for method, ns, _ in events if ns)
    assert len(inner) == 1
    assert inner[0].startswith("inner:")
    assert [e for e in events if e[1] == inner] == [
        ("lifecycle", inner, {"event": "started", "graph_name": "inner"}),
        ("custom", inner, {"payload": {"working": True}}),
        ("updates", inner, {"steps": ["work"]}),
        ("lifecycle", inner, {"event": "completed", "graph_name": "inner"}),
    ]
    assert ("updates", [], {"steps": ["prepare", "work"]}) in events
    # namespaces=[["inner"]] matches inner:<task id>; depth=0: nothing of the root
    assert scoped == [
        ("custom", inner, {"payload": {"working": True}}),
        ("updates", inner, {"steps": ["work"]}),
    ]


async def test_events_read_again_from_since(client: Any, deployment: Deployment) -> None:
    """Another connection (another process in scale-out) gives the same events with the
    same ids and seqs; ``since`` skips those the client has seen."""
    async with client.threads.stream(assistant_id="chat") as thread:
        await thread.run.start(input=HELLO)
        await thread.output
        thread_id = thread.thread_id
    body = {"channels": ["values", "updates", "lifecycle"]}
    first = await read_events(deployment.events, thread_id, body)
    again = await read_events(deployment.commands, thread_id, body)
    assert [(e["seq"], e["event_id"]) for e in again] == [(e["seq"], e["event_id"]) for e in first]
    cut = first[2]["seq"]
    rest = await read_events(deployment.events, thread_id, {**body, "since": cut})
    assert [e["event_id"] for e in rest] == [e["event_id"] for e in first[3:]]
    assert all(e["seq"] > cut for e in rest)


async def test_bad_commands_get_the_protocols_errors(client: Any, deployment: Deployment) -> None:
    async with client.threads.stream(assistant_id="approve") as thread:
        for method in ("state.get", "input.inject", "no.such"):
            with pytest.raises(RuntimeError, match=rf"unknown_command.*{method}"):
                await thread._send_command(method, {})
        with pytest.raises(RuntimeError, match=r"invalid_argument.*assistant_id"):
            await thread._send_command("run.start", {"input": {}})
        with pytest.raises(RuntimeError, match="no_such_run"):  # nothing to resume yet
            await thread._send_command("input.respond", {"interrupt_id": "x", "response": 1})
        await thread.run.start(input={"topic": "otters"})
        async for _ in thread.subscribe(["lifecycle"]):
            pass  # until the run asks for input
        assert thread.interrupted
        with pytest.raises(RuntimeError, match=r"no_such_interrupt.*not-an-interrupt"):
            await thread._send_command(
                "input.respond", {"interrupt_id": "not-an-interrupt", "response": 1}
            )
        with pytest.raises(RuntimeError, match=r"invalid_argument.*multitaskStrategy"):
            await thread._send_command(
                "run.start", {"assistant_id": "approve", "multitaskStrategy": "sometimes"}
            )
    async with httpx.AsyncClient(base_url=deployment.commands) as http:
        path = f"/threads/{thread.thread_id}"
        malformed = await http.post(f"{path}/commands", json={"method": "run.start"})
        assert malformed.status_code == 400
        assert malformed.json()["error"] == "invalid_argument"
        bad = await http.post(f"{path}/stream/events", json={"channels": ["values", "debug"]})
        assert bad.status_code == 400
        assert "debug" in bad.json()["detail"]
        depth = await http.post(f"{path}/stream/events", json={"channels": ["values"], "depth": -1})
        assert depth.status_code == 400
        assert "depth" in depth.json()["detail"]


async def test_leaving_the_events_stream_does_not_cancel_the_run(
    client: Any, transport: str
) -> None:
    """As on LangGraph's server: a run started by ``run.start`` runs in the background;
    a client that closes its thread stream mid-run leaves it running to its end."""
    async with client.threads.stream(assistant_id="slow", transport=transport) as thread:
        started = await thread.run.start(input={})
        async for event in thread.subscribe(["custom"]):
            assert event["params"]["data"] == {"payload": {"started": True}}
            break  # the run is in ``wait`` (2 s) when the client leaves
    run_id = started["run_id"]
    assert (await client.runs.get(thread.thread_id, run_id))["status"] == "running"
    assert await client.runs.join(thread.thread_id, run_id) == {"steps": ["start", "wait"]}
    assert (await client.runs.get(thread.thread_id, run_id))["status"] == "success"


# -- the WebSocket transport: its messages and its handshake's checks ----------------------


def socket_url(http_url: str, thread_id: str) -> str:
    return f"ws{http_url.removeprefix('http')}/threads/{thread_id}/stream/events"


def subscribe(channels: list[str]) -> str:
    params = {"channels": channels}
    return json.dumps({"id": 1, "method": "subscription.subscribe", "params": params})


async def test_a_bad_first_message_gets_the_protocols_error_and_a_4400(
    deployment: Deployment,
) -> None:
    """As the SSE body is checked; the close is a 4xx, which the SDK does not retry."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedError

    bad_channel = json.loads(subscribe(["values", "debug"]))
    bad = [
        (json.dumps(bad_channel), 1, "debug"),
        (json.dumps({"id": 3, "method": "run.start", "params": {}}), 3, "subscription.subscribe"),
        ("not json", None, "not valid JSON"),
    ]
    for message, command_id, named in bad:
        async with connect(socket_url(deployment.events, str(uuid.uuid4()))) as socket:
            await socket.send(message)
            error = json.loads(await socket.recv())
            assert (error["type"], error["id"], error["error"]) == (
                "error",
                command_id,
                "invalid_argument",
            )
            assert named in error["message"]
            with pytest.raises(ConnectionClosedError) as closed:
                await socket.recv()
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4400


async def test_commands_on_the_socket_as_on_langgraphs(deployment: Deployment) -> None:
    """After the subscription, the socket's messages are commands (LangGraph's server is
    full-duplex there); a second subscription is refused, naming what to do."""
    from websockets.asyncio.client import connect

    async with connect(socket_url(deployment.commands, str(uuid.uuid4()))) as socket:
        await socket.send(subscribe(["lifecycle"]))
        subscribed = json.loads(await socket.recv())
        assert (subscribed["type"], subscribed["id"]) == ("success", 1)
        await socket.send(subscribe(["values"]).replace('"id": 1', '"id": 2'))
        again = json.loads(await socket.recv())
        assert (again["id"], again["error"]) == (2, "not_supported")
        start = {"assistant_id": "chat", "input": HELLO}
        await socket.send(json.dumps({"id": 3, "method": "run.start", "params": start}))
        run_id = None
        lifecycle: list[Any] = []
        while lifecycle[-1:] != [{"event": "completed", "graph_name": "chat"}]:
            message = json.loads(await socket.recv())
            if message.get("id") == 3:
                assert message["type"] == "success", message
                run_id = message["result"]["run_id"]
            else:
                lifecycle.append(message["params"]["data"])
    assert run_id
    assert lifecycle == [
        {"event": "running", "graph_name": "chat"},
        {"event": "completed", "graph_name": "chat"},
    ]


async def test_the_socket_gets_the_host_and_origin_checks(deployment: Deployment) -> None:
    """Without an API key, a handshake naming another host is refused (421: DNS
    rebinding), and one from a browser's page of another origin (403: a page may open a
    socket to any server); the server's own origin is served."""
    from urllib.parse import urlsplit

    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    where = urlsplit(deployment.events)
    thread_id = str(uuid.uuid4())
    url = socket_url(deployment.events, thread_id)
    rebound = socket_url(f"http://evil.example:{where.port}", thread_id)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(rebound, host=where.hostname, port=where.port):
            pass
    assert refused.value.response.status_code == 421
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    async with connect(url, origin=deployment.events) as socket:  # type: ignore[arg-type]
        await socket.send(subscribe(["values"]))
        assert json.loads(await socket.recv())["type"] == "success"


async def test_the_socket_needs_the_api_key(tmp_path: Path) -> None:
    """The guard checks a handshake as a request: no key or a wrong one gets a 401
    before the socket is accepted, a browser page of another origin a 403; the SDK with
    the key is served."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    with running_server(tmp_path, graphs=GRAPHS, api_key="sesame") as server:
        url = socket_url(server.url, str(uuid.uuid4()))
        refusals: list[tuple[dict[str, str], int]] = [
            ({}, 401),
            ({"x-api-key": "wrong"}, 401),
            ({"x-api-key": "sesame", "Origin": "https://evil.example"}, 403),
        ]
        for headers, status in refusals:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, additional_headers=headers):
                    pass
            assert refused.value.response.status_code == status
        async with get_client(url=server.url, api_key="sesame") as client:
            # the SDK sends the client's headers with its commands, but only the stream's
            # own (``headers=``) with the socket's handshake
            key = {"x-api-key": "sesame"}
            async with client.threads.stream(
                assistant_id="chat", transport="websocket", headers=key
            ) as thread:
                await thread.run.start(input=HELLO)
                values = await thread.output
            assert values["messages"][-1]["content"] == "you said: hi there"
            async with client.threads.stream(assistant_id="chat", transport="websocket") as bare:
                await bare.run.start(input=HELLO)
                with pytest.raises(InvalidStatus) as refused:
                    await bare.output
            assert refused.value.response.status_code == 401


async def test_the_socket_gets_custom_auth(tmp_path: Path) -> None:
    """Custom auth authenticates the handshake (its headers) and the user must be
    allowed to read the thread: another user's thread is missing to them (404)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    app = Path(__file__).with_name("_auth_app.py")
    args = ["--auth", f"{app}:auth"]
    with running_server(tmp_path, graphs=GRAPHS, extra_args=args) as server:
        alice = {"Authorization": "Bearer alice-token"}
        async with (
            get_client(url=server.url, headers=alice) as client,
            client.threads.stream(
                assistant_id="chat", transport="websocket", headers=alice
            ) as thread,
        ):
            await thread.run.start(input=HELLO)
            assert (await thread.output)["messages"][-1]["content"] == "you said: hi there"
        url = socket_url(server.url, thread.thread_id)
        refusals: list[tuple[dict[str, str], int]] = [
            ({}, 401),
            ({"Authorization": "Bearer nobody"}, 401),
            ({"Authorization": "Bearer bob-token"}, 404),
        ]
        for headers, status in refusals:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(url, additional_headers=headers):
                    pass
            assert refused.value.response.status_code == status
        async with connect(url, additional_headers=alice) as socket:  # the owner's
            await socket.send(subscribe(["values"]))
            assert json.loads(await socket.recv())["type"] == "success"
            values = json.loads(await socket.recv())
        assert values["params"]["data"]["messages"][0]["content"] == "hi there"


async def test_an_authenticate_handler_asking_for_the_request_refuses_a_socket(
    tmp_path: Path,
) -> None:
    """A WebSocket has no ``Request``: LangGraph's server answers its handshake 403
    naming the parameters a handler may ask for; HTTP requests are served."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    app = tmp_path / "request_auth.py"
    app.write_text(
        "from langgraph_sdk import Auth\n"
        "from starlette.requests import Request\n"
        "auth = Auth()\n"
        "@auth.authenticate\n"
        "async def who(request: Request) -> str:\n"
        "    return 'someone'\n"
    )
    with running_server(tmp_path, graphs=GRAPHS, extra_args=["--auth", f"{app}:auth"]) as server:
        async with httpx.AsyncClient(base_url=server.url) as http:
            assert (await http.post("/threads", json={})).status_code == 200
        with pytest.raises(InvalidStatus) as refused:
            async with connect(socket_url(server.url, str(uuid.uuid4()))):
                pass
    assert refused.value.response.status_code == 403
    assert b"`request: Request`" in refused.value.response.body


async def test_the_socket_closes_with_1011_when_the_thread_is_deleted(
    client: Any, deployment: Deployment
) -> None:
    """The end of the events closes the socket as LangGraph's server does (1011, "thread
    stream ended"), a code the SDK reconnects after."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosedError

    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "chat", input=HELLO)
    async with connect(socket_url(deployment.events, thread["thread_id"])) as socket:
        await socket.send(subscribe(["lifecycle"]))
        assert json.loads(await socket.recv())["type"] == "success"
        while json.loads(await socket.recv())["params"]["data"]["event"] != "completed":
            pass
        await client.threads.delete(thread["thread_id"])
        with pytest.raises(ConnectionClosedError) as closed:
            await socket.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1011, "thread stream ended")
