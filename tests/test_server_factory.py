"""Graph factories and package-relative imports in a ``langgraph.json`` project, through
real ``scopegraph serve`` / ``scopegraph worker`` processes and LangGraph's Python SDK.

The project is written by the tests as LangGraph's template projects lay theirs out
(``src/agent/graph.py`` importing ``from .tools import ...``), with three graphs: a static
one, a factory of the run's config (the config chooses the prompt and the node's name),
and an async context manager factory whose enter and exit are logged, as is its node's
shielded cleanup (``factory.log`` beside the graph)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any, TypedDict, cast

import anyio
import pytest
from langgraph_sdk import get_client

import _pg
import _redis
from _cluster import running_cluster
from _server import running_server
from scopegraph import END, START, StateGraph
from scopegraph.server._graphs import GraphFactory, open_graph

pytestmark = pytest.mark.anyio

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

GRAPH = """
from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, TypedDict

import anyio

from langgraph_sdk.runtime import ServerRuntime

from scopegraph import END, START, StateGraph, get_stream_writer

from .tools import reply

LOG = Path(__file__).with_name("factory.log")


def log(line: str) -> None:
    with LOG.open("a") as f:
        f.write(line + "\\n")


class State(TypedDict, total=False):
    text: str
    out: str


def build(prompt: str, node: str) -> Any:
    async def respond(state: State) -> State:
        return {"out": reply(prompt, state["text"])}

    builder = StateGraph(State)
    builder.add_node(node, respond)
    builder.add_edge(START, node)
    builder.add_edge(node, END)
    return builder.compile()


graph = build("static", "respond")


def make_graph(config: dict[str, Any]) -> Any:
    configurable = config["configurable"]
    return build(configurable.get("prompt", "default"), configurable.get("model", "respond"))


async def slow(state: State) -> State:
    log(f"node-start {state['text']}")
    get_stream_writer()({"started": True})
    try:
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.sleep(0.05)  # a real cleanup step that awaits
            log(f"node-cleanup {state['text']}")
    return {}


async def make_graph_async(config: dict[str, Any]) -> Any:
    return build("async " + config["configurable"].get("prompt", "default"), "respond")


@contextlib.contextmanager
def sync_managed() -> Any:
    log("sync-enter")
    try:
        yield build("sync", "respond")
    finally:
        log("sync-exit")


def langgraph_factory(config: dict[str, Any]) -> Any:
    from langgraph.graph import END as LG_END, START as LG_START, StateGraph as LGStateGraph

    prompt = config["configurable"].get("prompt", "default")

    def respond(state: State) -> State:
        return {"out": reply("langgraph " + prompt, state["text"])}

    builder = LGStateGraph(State)
    builder.add_node("respond", respond)
    builder.add_edge(LG_START, "respond")
    builder.add_edge("respond", LG_END)
    return builder.compile()


def two_configs(config: Any, other: Any) -> Any:
    return graph


def with_runtime(runtime: ServerRuntime, config: dict[str, Any]) -> Any:
    context = getattr(runtime, "context", None)
    log(f"runtime {runtime.access_context} {context} {sorted(config['configurable'])}")
    return build(f"rt {runtime.access_context}", "respond")


@contextlib.asynccontextmanager
async def managed_graph(config: dict[str, Any]) -> Any:
    thread = config["configurable"].get("thread_id")
    log(f"enter {thread}")
    builder = StateGraph(State)
    builder.add_node("slow", slow)
    builder.add_edge(START, "slow")
    builder.add_edge("slow", END)
    try:
        yield builder.compile()
    finally:
        await anyio.sleep(0.05)  # only completes when the server shields the exit
        log(f"exit {thread}")
"""

TOOLS = """
def reply(prompt: str, text: str) -> str:
    return f"{prompt}: {text}"
"""


def write_project(root: Path) -> Path:
    """A template-like project: ``langgraph.json`` and the package ``src/agent``."""
    package = root / "src" / "agent"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""The agent package."""\n')
    (package / "tools.py").write_text(textwrap.dedent(TOOLS))
    (package / "graph.py").write_text(GRAPH)
    graphs = {
        "agent": "./src/agent/graph.py:graph",
        "made": "./src/agent/graph.py:make_graph",
        "managed": {"path": "./src/agent/graph.py:managed_graph"},
        "made_async": "./src/agent/graph.py:make_graph_async",
        "sync_managed": "./src/agent/graph.py:sync_managed",
        "by_module": "agent.graph:make_graph",  # found in the dependencies folder
        "with_runtime": "./src/agent/graph.py:with_runtime",
        "langgraph_made": "./src/agent/graph.py:langgraph_factory",
    }
    config = {"dependencies": ["./src"], "graphs": graphs}
    (root / "langgraph.json").write_text(json.dumps(config))
    return package


def factory_log(package: Path) -> list[str]:
    path = package / "factory.log"
    return path.read_text().splitlines() if path.exists() else []


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # LangGraph's SDK runs on asyncio only


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write_project(tmp_path / "project")


def serve(tmp_path: Path, project: Path) -> Any:
    config = project.parent.parent / "langgraph.json"
    return running_server(tmp_path, graphs=(), extra_args=["--config", str(config)])


async def test_relative_imports_of_a_template_package(tmp_path: Path, project: Path) -> None:
    with serve(tmp_path, project) as server:
        async with get_client(url=server.url) as client:
            with anyio.fail_after(60):
                result = await client.runs.wait(None, "agent", input={"text": "hi"})
                by_module: Any = await client.runs.wait(
                    None,
                    "by_module",
                    input={"text": "hi"},
                    config={"configurable": {"prompt": "M"}},
                )
                made_async: Any = await client.runs.wait(
                    None,
                    "made_async",
                    input={"text": "hi"},
                    config={"configurable": {"prompt": "P"}},
                )
                sync: Any = await client.runs.wait(None, "sync_managed", input={"text": "hi"})
                thread = (await client.threads.create())["thread_id"]
                langgraph_made: Any = await client.runs.wait(
                    thread,
                    "langgraph_made",
                    input={"text": "hi"},
                    config={"configurable": {"prompt": "L"}},
                )
                history = await client.threads.get_history(thread)
        assert result == {"text": "hi", "out": "static: hi"}
        assert by_module == {"text": "hi", "out": "M: hi"}
        assert made_async == {"text": "hi", "out": "async P: hi"}
        assert sync == {"text": "hi", "out": "sync: hi"}
        assert langgraph_made == {"text": "hi", "out": "langgraph L: hi"}
        assert history[0]["values"] == langgraph_made  # kept by the server's checkpointer
        assert factory_log(project) == ["sync-enter", "sync-exit"]


async def test_a_factory_taking_a_server_runtime(tmp_path: Path, project: Path) -> None:
    with serve(tmp_path, project) as server:
        async with get_client(url=server.url) as client:
            with anyio.fail_after(60):
                result: Any = await client.runs.wait(
                    None, "with_runtime", input={"text": "hi"}, context={"user": "u1"}
                )
                await client.assistants.get_schemas("with_runtime")
        assert result == {"text": "hi", "out": "rt threads.create_run: hi"}
        ids = ["assistant_id", "graph_id", "run_id", "thread_id"]
        assert factory_log(project) == [
            f"runtime threads.create_run {{'user': 'u1'}} {ids}",
            "runtime assistants.read None []",
        ]


def test_a_factory_of_two_parameters_is_refused_at_start(project: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scopegraph._cli", "serve", f"{project / 'graph.py'}:two_configs"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "takes 2 parameters ['config', 'other']" in result.stderr
    assert "def make_graph(config: RunnableConfig, runtime: ServerRuntime)" in result.stderr


async def test_the_assistant_config_chooses_the_factory_graph(
    tmp_path: Path, project: Path
) -> None:
    with serve(tmp_path, project) as server:
        async with get_client(url=server.url) as client:
            with anyio.fail_after(60):
                alpha = await client.assistants.create(
                    "made", config={"configurable": {"prompt": "A", "model": "alpha"}}
                )
                beta = await client.assistants.create(
                    "made", config={"configurable": {"prompt": "B", "model": "beta"}}
                )
                one: Any = await client.runs.wait(None, alpha["assistant_id"], input={"text": "hi"})
                two: Any = await client.runs.wait(None, beta["assistant_id"], input={"text": "hi"})
                # the run's own config overrides the assistant's, key by key
                three: Any = await client.runs.wait(
                    None,
                    alpha["assistant_id"],
                    input={"text": "hi"},
                    config={"configurable": {"prompt": "C"}},
                )
                thread = await client.threads.create()
                await client.runs.wait(
                    thread["thread_id"], beta["assistant_id"], input={"text": "x"}
                )
                state: Any = await client.threads.get_state(thread["thread_id"])
                drawn = await client.assistants.get_graph(alpha["assistant_id"])
                default = await client.assistants.get_graph("made")
                schemas: Any = await client.assistants.get_schemas(beta["assistant_id"])
        assert one["out"] == "A: hi"
        assert two["out"] == "B: hi"
        assert three["out"] == "C: hi"
        assert state["values"] == {"text": "x", "out": "B: x"}
        assert {n["id"] for n in drawn["nodes"]} == {"__start__", "alpha", "__end__"}
        assert {n["id"] for n in default["nodes"]} == {"__start__", "respond", "__end__"}
        assert set(schemas["input_schema"]["properties"]) == {"text", "out"}


async def first_custom(parts: AsyncIterator[Any]) -> str:
    """The run id of a streamed run, once its node has written a custom chunk (the
    stream is closed then: the run goes on)."""
    run_id = ""
    stream = cast("AsyncGenerator[Any, None]", parts)  # the SDK's stream is a generator
    async with contextlib.aclosing(stream):
        async for part in stream:
            if part.event == "metadata":
                run_id = part.data["run_id"]
            if part.event == "custom":
                return run_id
    raise AssertionError("the run ended without its custom chunk")


async def test_a_context_manager_factory_exits_after_the_cleanup_of_a_cancelled_run(
    tmp_path: Path, project: Path
) -> None:
    with serve(tmp_path, project) as server:
        async with get_client(url=server.url) as client:
            with anyio.fail_after(60):
                thread = (await client.threads.create())["thread_id"]
                parts = client.runs.stream(
                    thread, "managed", input={"text": "t1"}, stream_mode="custom"
                )
                run_id = await first_custom(parts)
                await client.runs.cancel(thread, run_id, wait=True)
                # the run API returned: nothing of the run is still running
                lines = factory_log(project)
                run = await client.runs.get(thread, run_id)
        assert run["status"] == "interrupted"
        assert lines[:4] == [
            f"enter {thread}",
            "node-start t1",
            "node-cleanup t1",
            f"exit {thread}",
        ]
        # whatever else made a graph (a state read) entered and exited it too
        assert lines.count(f"enter {thread}") == lines.count(f"exit {thread}") == 1
        assert lines.count("enter None") == lines.count("exit None")


@pytest.mark.parametrize("worker_backend", ["asyncio", "trio"])
async def test_a_factory_in_scale_out(
    tmp_path: Path, project: Path, pg_dsn: str, redis_url: str, worker_backend: str
) -> None:
    """The worker makes the graph per run, on asyncio and on trio (the SDK's side is
    asyncio either way)."""
    graph = project / "graph.py"
    extra = (f"made={graph}:make_graph", f"managed={graph}:managed_graph")
    with running_cluster(
        tmp_path,
        pg_dsn,
        redis_url,
        apis=1,
        workers=1,
        worker_backend=worker_backend,
        extra_graphs=extra,
    ) as cluster:
        async with get_client(url=cluster.apis[0]) as client:
            with anyio.fail_after(60):
                alpha = await client.assistants.create(
                    "made", config={"configurable": {"prompt": "A", "model": "alpha"}}
                )
                thread = (await client.threads.create())["thread_id"]
                one: Any = await client.runs.wait(
                    thread, alpha["assistant_id"], input={"text": "hi"}
                )
                two: Any = await client.runs.wait(None, "made", input={"text": "hi"})
                managed = (await client.threads.create())["thread_id"]
                parts = client.runs.stream(
                    managed, "managed", input={"text": "t2"}, stream_mode="custom"
                )
                run_id = await first_custom(parts)
                await client.runs.cancel(managed, run_id, wait=True)
                lines = factory_log(project)
        assert one == {"text": "hi", "out": "A: hi"}
        assert two == {"text": "hi", "out": "default: hi"}
        assert lines[:4] == [
            f"enter {managed}",
            "node-start t2",
            "node-cleanup t2",
            f"exit {managed}",
        ]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_factory_exit_is_shielded_and_follows_the_node_cleanup_on_both_backends(
    backend: str,
) -> None:
    """In-process, on each backend: a run's scope cancelled while the factory's graph
    runs; the node's shielded cleanup, then the factory's exit (which awaits), then the
    block is left. Without the shield the exit's await is cancelled and never logs."""
    events: list[str] = []

    class State(TypedDict, total=False):
        text: str

    async def slow(state: State) -> State:
        events.append("node-start")
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)
                events.append("node-cleanup")
        return {}

    @contextlib.asynccontextmanager
    async def managed(config: dict[str, Any]) -> AsyncIterator[Any]:
        events.append(f"enter {config['configurable']['thread_id']}")
        builder = StateGraph(State)
        builder.add_node("slow", slow)
        builder.add_edge(START, "slow")
        builder.add_edge("slow", END)
        try:
            yield builder.compile()
        finally:
            await anyio.sleep(0.01)
            events.append("exit")

    factory = GraphFactory("managed", managed)
    started = anyio.Event()

    async def run(scope: anyio.CancelScope) -> None:
        with scope:
            async with open_graph(factory, {"configurable": {"thread_id": "t"}}) as graph:
                await graph.ainvoke({"text": "x"})
        events.append("run ended")

    async def main() -> None:
        scope = anyio.CancelScope()
        async with anyio.create_task_group() as tg:
            tg.start_soon(run, scope)
            await started.wait()
            scope.cancel()

    anyio.run(main, backend=backend)
    assert events == ["enter t", "node-start", "node-cleanup", "exit", "run ended"]
