"""Assistants, threads and runs beyond the core calls, through the official LangGraph SDK
against a real ``scopegraph serve``: with its SQLite store and with a PostgreSQL one
(the ``server`` fixture runs each module test on both), and in scale-out mode
(``test_scale_out_*``: two API processes and a worker, on PostgreSQL and Redis).

The graphs are in ``tests/_resource_graphs.py``: ``echo`` records the configurable and
the context its run saw; ``slow`` runs until it is cancelled, with a shielded cleanup
that it logs.

The SDK client is asyncio-only: these tests run on asyncio (the server's own behaviour on
trio is covered by ``test_server_trio.py``).
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import operator
import signal
import sqlite3
import sys
import uuid
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import anyio
import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)

import _pg
import _redis
from _cluster import as_url, running_cluster
from _ops import sse_events
from _receiver import Receiver, receiving
from _server import EXAMPLE, Server, free_port, running_server
from scopegraph.server._store import open_backend

pytestmark = pytest.mark.anyio
pg_server = _pg.pg_server
redis_server = _redis.redis_server
redis_url = _redis.redis_url

GRAPHS_FILE = Path(__file__).with_name("_resource_graphs.py")
GRAPHS = (
    f"echo={GRAPHS_FILE}:echo",
    f"slow={GRAPHS_FILE}:slow",
    f"nested={GRAPHS_FILE}:nested",
    f"chat={EXAMPLE}:chat",
    f"pipeline={EXAMPLE}:pipeline",
)
SWEEP = ("--ttl-sweep", "0.05", "--allow-loopback-webhooks", "--cron-interval", "0.1")
START_NAME = "__start__"
ECHO_DEFAULT = str(uuid.uuid5(uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8"), "echo"))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server of the resource graphs, on SQLite or on PostgreSQL."""
    tmp = tmp_path_factory.mktemp(f"resources-{request.param}")
    db = None
    if request.param == "postgres":
        db = as_url(_pg.create_database(request.getfixturevalue("pg_server")))
    with running_server(tmp, graphs=GRAPHS, db=db, extra_args=SWEEP) as server:
        yield server


@pytest.fixture
async def client(server: Server) -> AsyncIterator[Any]:
    async with get_client(url=server.url) as client:
        yield client


def tag() -> str:
    """A metadata value no other test uses (the server is shared by the module)."""
    return uuid.uuid4().hex


# -- assistants ----------------------------------------------------------------------------


async def test_default_assistants_are_system_created_with_langgraphs_ids(client: Any) -> None:
    found = await client.assistants.search(graph_id="echo")
    assert [a["assistant_id"] for a in found] == [ECHO_DEFAULT]
    default = found[0]
    assert default["metadata"] == {"created_by": "system"}
    assert (default["name"], default["version"], default["config"]) == ("echo", 1, {})
    assert await client.assistants.get("echo") == default


async def test_create_get_update_versions_set_latest_delete(client: Any) -> None:
    t = tag()
    created = await client.assistants.create(
        "echo", config={"tags": ["a"]}, metadata={"t": t, "k": 1}, name="First", description="d1"
    )
    aid = created["assistant_id"]
    assert uuid.UUID(aid)
    assert created["version"] == 1
    assert (created["name"], created["description"], created["graph_id"]) == ("First", "d1", "echo")
    assert await client.assistants.get(aid) == created

    updated = await client.assistants.update(aid, context={"model": "m2"}, metadata={"k": 2})
    assert updated["version"] == 2
    assert updated["metadata"] == {"t": t, "k": 2}  # merged into the current metadata
    assert updated["context"] == {"model": "m2"}
    assert updated["config"]["configurable"] == {"model": "m2"}  # kept in step with context
    assert updated["name"] == "First"

    versions = await client.assistants.get_versions(aid)
    assert [v["version"] for v in versions] == [2, 1]
    assert versions[1]["config"] == {"tags": ["a"]}
    assert [v["version"] for v in await client.assistants.get_versions(aid, limit=1)] == [2]
    filtered = await client.assistants.get_versions(aid, metadata={"k": 1})
    assert [v["version"] for v in filtered] == [1]

    back = await client.assistants.set_latest(aid, 1)
    assert (back["version"], back["config"]) == (1, {"tags": ["a"]})
    assert back["metadata"] == {"t": t, "k": 1}
    assert (await client.assistants.get(aid))["version"] == 1
    with pytest.raises(NotFoundError):
        await client.assistants.set_latest(aid, 9)

    await client.assistants.delete(aid)
    with pytest.raises(NotFoundError):
        await client.assistants.get(aid)
    with pytest.raises(NotFoundError):
        await client.assistants.get_versions(aid)
    with pytest.raises(NotFoundError):
        await client.assistants.delete(aid)


async def test_create_with_an_id_if_exists(client: Any) -> None:
    aid = str(uuid.uuid4())
    first = await client.assistants.create("echo", assistant_id=aid, name="one")
    assert first["assistant_id"] == aid
    with pytest.raises(ConflictError):
        await client.assistants.create("echo", assistant_id=aid, name="two")
    same = await client.assistants.create(
        "echo", assistant_id=aid, name="two", if_exists="do_nothing"
    )
    assert same == first
    assert (await client.assistants.create("echo", name="x"))["name"] == "x"
    assert (await client.assistants.create("echo"))["name"] == "Untitled"


async def test_create_refuses_an_unknown_graph_and_both_configurable_and_context(
    client: Any,
) -> None:
    with pytest.raises(NotFoundError, match="nope"):
        await client.assistants.create("nope")
    both: dict[str, Any] = {"config": {"configurable": {"a": 1}}, "context": {"model": "m"}}
    with pytest.raises(BadRequestError, match="configurable and context"):  # 400, as LangGraph
        await client.assistants.create("echo", **both)
    made = await client.assistants.create("echo")
    with pytest.raises(BadRequestError, match="configurable and context"):
        await client.assistants.update(made["assistant_id"], **both)
    thread = await client.threads.create()
    with pytest.raises(BadRequestError, match="configurable and context"):
        await client.runs.create(thread["thread_id"], "echo", input={}, **both)
    assert await client.runs.list(thread["thread_id"]) == []


async def test_the_400s_of_langgraphs_server(client: Any) -> None:
    """The mistakes LangGraph's server answers with 400 (not 422): the SDK raises its
    BadRequestError for them."""
    with pytest.raises(httpx.HTTPStatusError, match="thread_id when resuming") as resumed:
        await client.runs.wait(None, "echo", command={"resume": "yes"})
    assert resumed.value.response.status_code == 400
    with pytest.raises(BadRequestError, match="Invalid thread ID nope"):
        await client.threads.search(ids=["nope"])
    thread = await client.threads.create()
    cron = await client.crons.create_for_thread(thread["thread_id"], "echo", schedule="0 0 1 1 *")
    async with httpx.AsyncClient(base_url=client.http.client.base_url) as http:
        empty = await http.patch(f"/runs/crons/{cron['cron_id']}", json={})
    assert (empty.status_code, empty.json()["detail"]) == (400, "No fields to update")


async def test_search_filters_sorts_pages_selects_and_count(client: Any, server: Server) -> None:
    t = tag()
    made = [
        await client.assistants.create("echo", name=name, metadata={"t": t, "i": i})
        for i, name in enumerate(["bravo", "Alpha", "charlie-alpha"])
    ]
    ids = [a["assistant_id"] for a in made]
    found = await client.assistants.search(metadata={"t": t})
    assert [a["assistant_id"] for a in found] == ids[::-1]  # newest first
    by_name = await client.assistants.search(metadata={"t": t}, sort_by="name", sort_order="asc")
    assert [a["name"] for a in by_name] == ["Alpha", "bravo", "charlie-alpha"]
    assert [a["name"] for a in await client.assistants.search(metadata={"t": t}, name="ALPHA")] == [
        "charlie-alpha",
        "Alpha",
    ]
    page = await client.assistants.search(
        metadata={"t": t}, limit=2, offset=1, sort_by="created_at", sort_order="asc"
    )
    assert [a["assistant_id"] for a in page] == ids[1:3]
    paged = await client.assistants.search(metadata={"t": t}, limit=2, response_format="object")
    assert paged["next"] == "2"
    selected = await client.assistants.search(
        metadata={"t": t, "i": 0}, select=["assistant_id", "name"]
    )
    assert selected == [{"assistant_id": ids[0], "name": "bravo"}]
    assert await client.assistants.count(metadata={"t": t}) == 3
    assert await client.assistants.count(metadata={"t": t}, name="alpha") == 2
    assert await client.assistants.count(graph_id="slow") == 1  # its default assistant
    with pytest.raises(UnprocessableEntityError):
        await client.assistants.search(select=["nope"])
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.post("/assistants/search", json={"metadata": {"t": t}, "limit": 1})
    assert response.headers["X-Pagination-Next"] == "1"


async def test_a_run_gets_its_assistants_config_and_context_under_its_own(client: Any) -> None:
    assistant = await client.assistants.create(
        "echo", context={"model": "from-assistant", "temperature": 0.5}
    )
    aid = assistant["assistant_id"]
    thread = await client.threads.create()
    result = await client.runs.wait(
        thread["thread_id"], aid, input={"input": "one"}, context={"temperature": 0.9}
    )
    assert result["context"] == {"model": "from-assistant", "temperature": 0.9}
    assert result["configurable"] == {"model": "from-assistant", "temperature": 0.5}
    with_config = await client.assistants.create("echo", config={"configurable": {"user": "u1"}})
    result = await client.runs.wait(
        None,
        with_config["assistant_id"],
        input={"input": "two"},
        config={"configurable": {"extra": 1}},
    )
    assert result["configurable"] == {"user": "u1", "extra": 1}
    assert result["context"] == {"user": "u1"}
    # A new version is used by the next run; the default assistant adds nothing.
    await client.assistants.update(aid, context={"model": "v2"})
    result = await client.runs.wait(None, aid, input={"input": "three"})
    assert result["context"] == {"model": "v2"}
    assert (await client.runs.wait(None, "echo", input={"input": "x"}))["context"] == {}
    run = (await client.runs.list(thread["thread_id"]))[0]
    assert run["assistant_id"] == aid


async def test_graph_schemas_and_subgraphs_per_assistant(client: Any) -> None:
    assistant = await client.assistants.create("slow")
    drawn = await client.assistants.get_graph(assistant["assistant_id"])
    assert {"source": "__start__", "target": "wait"} in drawn["edges"]
    schemas = await client.assistants.get_schemas(assistant["assistant_id"])
    assert schemas["graph_id"] == "slow"
    assert await client.assistants.get_subgraphs(assistant["assistant_id"]) == {}
    subgraphs = await client.assistants.get_subgraphs("pipeline")
    assert list(subgraphs) == ["summarise"]
    assert set(subgraphs["summarise"]) == {
        "input_schema",
        "output_schema",
        "state_schema",
        "config_schema",
        "context_schema",
    }
    assert await client.assistants.get_subgraphs("pipeline", namespace="summarise") == subgraphs
    assert await client.assistants.get_subgraphs("pipeline", namespace="gather") == {}
    with pytest.raises(NotFoundError):
        await client.assistants.get_graph(str(uuid.uuid4()))
    # a schema that cannot be made (echo's context: a typing.TypedDict, which pydantic
    # refuses before Python 3.12) is null, the others are answered, as LangGraph's server
    echo = await client.assistants.get_schemas("echo")
    assert echo["input_schema"]["properties"]["input"]["type"] == "string"
    if sys.version_info < (3, 12):
        assert echo["context_schema"] is None


async def test_deleting_an_assistant_cancels_its_runs_and_with_delete_threads_its_threads(
    client: Any, server: Server
) -> None:
    assistant = await client.assistants.create("slow")
    aid = assistant["assistant_id"]
    await client.crons.create(aid, schedule="0 0 1 1 *", enabled=False)
    assert await client.crons.count(assistant_id=aid) == 1
    thread = await client.threads.create(metadata={"assistant_id": aid})
    parts = client.runs.stream(thread["thread_id"], aid, input={"input": "x"}, stream_mode="custom")
    async for part in parts:
        if part.event == "custom":
            run_id = part.data["started"]
            break
    await client.assistants.delete(aid, delete_threads=True)
    await parts.aclose()
    assert await client.crons.count(assistant_id=aid) == 0  # its crons went with it
    with pytest.raises(NotFoundError):
        await client.threads.get(thread["thread_id"])
    assert f"cleanup {run_id}" in server.cleanups()
    with pytest.raises(NotFoundError):
        await client.runs.create(None, aid, input={"input": "x"})


async def test_assistants_survive_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    with running_server(tmp_path, graphs=GRAPHS, db=db) as first:
        async with get_client(url=first.url) as client:
            made = await client.assistants.create("echo", context={"model": "kept"})
            await client.assistants.update(made["assistant_id"], name="renamed")
            await client.assistants.delete(ECHO_DEFAULT)
    with running_server(tmp_path, graphs=GRAPHS, db=db) as again:
        async with get_client(url=again.url) as client:
            kept = await client.assistants.get(made["assistant_id"])
            assert (kept["name"], kept["version"]) == ("renamed", 2)
            assert kept["context"] == {"model": "kept"}
            # A deleted default assistant is back, as LangGraph re-creates it on start.
            assert (await client.assistants.get("echo"))["assistant_id"] == ECHO_DEFAULT


# -- threads -------------------------------------------------------------------------------


async def until(check: Any, what: str, seconds: float = 15.0) -> None:
    """Poll ``await check()`` until it is true (a TTL is a matter of time: bounded tries)."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await anyio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


async def gone(client: Any, thread_id: str) -> bool:
    try:
        await client.threads.get(thread_id)
    except NotFoundError:
        return True
    return False


async def test_thread_count_by_metadata_and_status(client: Any) -> None:
    t = tag()
    threads = [await client.threads.create(metadata={"t": t}) for _ in range(3)]
    assert await client.threads.count(metadata={"t": t}) == 3
    assert await client.threads.count(metadata={"t": t}, status="idle") == 3
    assert await client.threads.count(metadata={"t": t}, status="busy") == 0
    await client.threads.delete(threads[0]["thread_id"])
    assert await client.threads.count(metadata={"t": t}) == 2
    assert await client.threads.count(metadata={"t": "no such tag"}) == 0


async def search_ids(client: Any, **filters: Any) -> list[str]:
    return [t["thread_id"] for t in await client.threads.search(**filters)]


async def test_thread_search_sorts_filters_on_values_and_ids_selects_and_extracts(
    client: Any, server: Server
) -> None:
    t = tag()
    made = [(await client.threads.create(metadata={"t": t, "i": i}))["thread_id"] for i in range(3)]
    first, second, bare = made
    await client.runs.wait(first, "echo", input={"input": "a"})
    await client.runs.wait(second, "echo", input={"input": "b"})
    await client.threads.update(first, metadata={"touched": True})
    mine = {"metadata": {"t": t}}

    assert await search_ids(client, **mine) == made[::-1]  # newest first
    assert await search_ids(client, **mine, sort_order="asc") == made
    assert await search_ids(client, **mine, sort_by="thread_id", sort_order="asc") == sorted(made)
    assert (await search_ids(client, **mine, sort_by="updated_at"))[0] == first
    # the checkpoint's time; a thread without state: its creation
    assert await search_ids(client, **mine, sort_by="state_updated_at") == [second, first, bare]
    by_status = await client.threads.search(**mine, sort_by="status", sort_order="asc")
    assert [x["status"] for x in by_status] == ["idle"] * 3
    page = await search_ids(client, **mine, sort_by="state_updated_at", limit=1, offset=1)
    assert page == [first]

    # values: containment, as metadata's (with the other filters, and paged)
    assert await search_ids(client, **mine, values={"log": ["a"]}) == [first]
    assert await search_ids(client, values={"log": ["b"], "input": "b"}, ids=made) == [second]
    assert await search_ids(client, **mine, values={"log": ["a"]}, status="busy") == []
    assert await search_ids(client, **mine, values={"input": "b"}, status="idle") == [second]
    assert await search_ids(client, values={"log": []}, ids=made, limit=1, offset=1) == [first]
    assert await client.threads.count(**mine, values={"log": ["b"]}) == 1
    assert await client.threads.count(values={"input": "nothing like it"}) == 0

    # ids: only those threads (with the other filters)
    assert await search_ids(client, ids=[bare, first]) == [bare, first]
    assert await search_ids(client, ids=[bare, first], metadata={"i": 0, "t": t}) == [first]

    # select: only those fields; extract: values at paths (null where none)
    selected = await client.threads.search(**mine, select=["thread_id", "status"], limit=1)
    assert selected == [{"thread_id": bare, "status": "idle"}]
    extracted = await client.threads.search(
        **mine,
        select=["thread_id"],
        extract={"last": "values.log[-1]", "who": "metadata.i", "none": "values.nope.x"},
    )
    assert [x["extracted"] for x in extracted] == [
        {"last": None, "who": 2, "none": None},
        {"last": "b", "who": 1, "none": None},
        {"last": "a", "who": 0, "none": None},
    ]
    assert set(extracted[0]) == {"thread_id", "extracted"}

    # pagination headers, as LangGraph's server sends them
    async with httpx.AsyncClient(base_url=server.url) as http:
        more = await http.post("/threads/search", json={**mine, "limit": 2})
        last = await http.post("/threads/search", json={**mine, "limit": 2, "offset": 2})
        bad = [
            await http.post("/threads/search", json=body)
            for body in (
                {"sort_by": "nope"},
                {"sort_order": "up"},
                {"select": ["nope"]},
                {"extract": {"values": "values.log"}},
                {"extract": {"x": "run.log"}},
                {"extract": {f"k{i}": "values.log" for i in range(11)}},
            )
        ]
    assert (more.headers["X-Pagination-Next"], more.headers["X-Pagination-Total"]) == ("2", "3")
    assert "X-Pagination-Next" not in last.headers
    assert last.headers["X-Pagination-Total"] == "3"
    assert [r.status_code for r in bad] == [422] * len(bad)
    assert "extract" in bad[4].json()["detail"]


async def test_list_runs_selects_fields(client: Any) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "echo", input={"input": "x"})
    await client.runs.join(thread["thread_id"], run["run_id"])
    runs = await client.runs.list(thread["thread_id"], select=["run_id", "status"])
    assert runs == [{"run_id": run["run_id"], "status": "success"}]
    with pytest.raises(UnprocessableEntityError):
        await client.runs.list(thread["thread_id"], select=["nope"])


async def test_state_select_and_a_subgraphs_state(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    await client.runs.wait(tid, "echo", input={"input": "a"})
    state = await client.threads.get_state(tid)
    picked = await client.threads.get_state(tid, select=["values.log", "next"])
    assert picked == {"values": {"log": state["values"]["log"]}, "next": []}
    at = await client.threads.get_state(tid, checkpoint=state["checkpoint"], select=["metadata"])
    assert at == {"metadata": state["metadata"]}
    by_id = await client.threads.get_state(
        tid, checkpoint_id=state["checkpoint_id"], select=["values"]
    )
    assert by_id == {"values": state["values"]}
    history = await client.threads.get_history(tid, limit=2, select=["checkpoint_id"])
    assert history[0] == {"checkpoint_id": state["checkpoint_id"]}
    assert len(history) == 2
    with pytest.raises(UnprocessableEntityError, match="nope"):
        await client.threads.get_state(tid, select=["nope"])

    # a subgraph's task: its checkpoint; with subgraphs=True, its state
    nid = (await client.threads.create())["thread_id"]
    await client.runs.wait(nid, "nested", input={"input": "n"})
    [task] = (await client.threads.get_state(nid))["tasks"]
    assert task["state"] is None
    assert task["checkpoint"]["checkpoint_ns"].startswith("sub:")
    [deep] = (await client.threads.get_state(nid, subgraphs=True))["tasks"]
    assert deep["checkpoint"] is None
    assert deep["state"]["values"]["input"] == "n"
    assert deep["state"]["next"] == ["ask"]
    assert deep["state"]["tasks"][0]["interrupts"][0]["value"] == "inner question"


async def test_a_subgraphs_history_and_one_checkpoints(client: Any) -> None:
    """``get_history(checkpoint=...)``: a subgraph's own checkpoints (its task's
    ``checkpoint_ns``) and one checkpoint (``checkpoint_id``), as LangGraph's server
    lists them; the same graph on LangGraph in process gives the same history."""
    nid = (await client.threads.create())["thread_id"]
    await client.runs.wait(nid, "nested", input={"input": "n"})
    [task] = (await client.threads.get_state(nid))["tasks"]
    sub = await client.threads.get_history(nid, checkpoint=task["checkpoint"])
    assert {s["checkpoint"]["checkpoint_ns"] for s in sub} == {task["checkpoint"]["checkpoint_ns"]}
    expected = await _langgraph_nested_history()
    assert [(s["values"], s["next"], s["metadata"]["step"]) for s in sub] == expected
    root = await client.threads.get_history(nid)
    assert {s["checkpoint"]["checkpoint_ns"] for s in root} == {""}
    one = await client.threads.get_history(
        nid, checkpoint={"checkpoint_id": root[1]["checkpoint_id"]}
    )
    assert [s["checkpoint_id"] for s in one] == [root[1]["checkpoint_id"]]
    with pytest.raises(UnprocessableEntityError, match="checkpoint_ns"):
        await client.threads.get_history(nid, checkpoint={"checkpoint_ns": 5})


async def _langgraph_nested_history() -> list[Any]:
    """The ``nested`` graph of the resource graphs, built and run on LangGraph: its
    subgraph's history as (values, next, step)."""
    from langgraph.checkpoint.memory import InMemorySaver as LangGraphSaver
    from langgraph.graph import StateGraph as LangGraphStateGraph
    from langgraph.types import interrupt as langgraph_interrupt

    class State(TypedDict, total=False):  # the resource graphs' keys this graph writes
        input: str
        log: Annotated[list[str], operator.add]

    def ask(state: State) -> State:  # the resource graph's, with LangGraph's interrupt
        return {"log": [f"answered {langgraph_interrupt('inner question')}"]}

    inner = LangGraphStateGraph(State)
    inner.add_node("ask", ask)
    inner.add_edge(START_NAME, "ask")
    outer = LangGraphStateGraph(State)
    outer.add_node("sub", inner.compile())
    outer.add_edge(START_NAME, "sub")
    graph: Any = outer.compile(checkpointer=LangGraphSaver())
    config = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"input": "n"}, config)
    [task] = (await graph.aget_state(config)).tasks
    return [
        (s.values, list(s.next), s.metadata["step"])
        async for s in graph.aget_state_history(task.state)
    ]


async def test_update_with_return_minimal_answers_no_body(client: Any) -> None:
    tid = (await client.threads.create())["thread_id"]
    assert await client.threads.update(tid, metadata={"m": 1}, return_minimal=True) is None
    assert (await client.threads.get(tid))["metadata"]["m"] == 1


async def test_copy_a_thread_with_its_checkpoints(client: Any) -> None:
    t = tag()
    source = await client.threads.create(metadata={"t": t})
    sid = source["thread_id"]
    await client.runs.wait(sid, "echo", input={"input": "one"})
    await client.runs.wait(sid, "echo", input={"input": "two"})
    copy = await client.threads.copy(sid)
    cid = copy["thread_id"]
    assert cid != sid
    assert copy["metadata"]["t"] == t
    assert copy["values"]["log"] == ["one", "two"]
    history = await client.threads.get_history(cid, limit=100)
    assert len(history) == len(await client.threads.get_history(sid, limit=100))
    assert {h["checkpoint"]["thread_id"] for h in history} == {cid}
    # The copy goes its own way.
    await client.runs.wait(cid, "echo", input={"input": "three"})
    assert (await client.threads.get_state(cid))["values"]["log"] == ["one", "two", "three"]
    assert (await client.threads.get_state(sid))["values"]["log"] == ["one", "two"]
    with pytest.raises(NotFoundError):
        await client.threads.copy(str(uuid.uuid4()))


async def test_prune_deletes_or_keeps_the_latest_checkpoint(client: Any) -> None:
    kept = await client.threads.create()
    dropped = await client.threads.create()
    for tid in (kept["thread_id"], dropped["thread_id"]):
        await client.runs.wait(tid, "echo", input={"input": "a"})
        await client.runs.wait(tid, "echo", input={"input": "b"})
    assert len(await client.threads.get_history(kept["thread_id"], limit=100)) > 1
    result = await client.threads.prune([kept["thread_id"]], strategy="keep_latest")
    assert result == {"pruned_count": 1}
    history = await client.threads.get_history(kept["thread_id"], limit=100)
    assert len(history) == 1
    assert history[0]["values"]["log"] == ["a", "b"]
    await client.runs.wait(kept["thread_id"], "echo", input={"input": "c"})  # resumes from it
    assert (await client.threads.get_state(kept["thread_id"]))["values"]["log"] == ["a", "b", "c"]
    missing = str(uuid.uuid4())
    result = await client.threads.prune([dropped["thread_id"], missing])
    assert result == {"pruned_count": 1}
    assert await gone(client, dropped["thread_id"])
    with pytest.raises(UnprocessableEntityError):
        await client.threads.prune(["not-a-uuid"])


async def test_a_thread_with_a_ttl_is_swept(client: Any) -> None:
    short = await client.threads.create(ttl=0.002)  # minutes: 0.12 s
    kept = await client.threads.create(ttl={"ttl": 60, "strategy": "delete"})
    await until(lambda: gone(client, short["thread_id"]), "the thread is swept")
    assert not await gone(client, kept["thread_id"])
    # include=["ttl"] shows it, as LangGraph's server
    shown = (await client.threads.get(kept["thread_id"], include=["ttl"]))["ttl"]
    assert (shown["strategy"], shown["ttl_minutes"]) == ("delete", 60)
    expires = datetime.datetime.fromisoformat(shown["expires_at"])
    left = expires - datetime.datetime.now(datetime.UTC)
    assert datetime.timedelta(minutes=59) < left <= datetime.timedelta(minutes=60)
    assert "ttl" not in await client.threads.get(kept["thread_id"])
    assert "ttl" not in await client.threads.get(
        (await client.threads.create())["thread_id"], include=["ttl"]
    )
    # update sets a new TTL
    await client.threads.update(kept["thread_id"], metadata={"x": 1}, ttl=0.002)
    await until(lambda: gone(client, kept["thread_id"]), "the updated thread is swept")


def test_an_earlier_ttl_table_gets_its_minutes_column(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute(
            "CREATE TABLE scopegraph_server_thread_ttl (thread_id TEXT PRIMARY KEY, "
            "strategy TEXT NOT NULL, expires_at TEXT NOT NULL)"
        )
        conn.execute("INSERT INTO scopegraph_server_thread_ttl VALUES ('t', 'delete', 'x')")
        conn.commit()
    open_backend(str(db)).close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT thread_id, ttl_minutes FROM scopegraph_server_thread_ttl")
        assert rows.fetchall() == [("t", None)]


async def test_a_keep_latest_ttl_prunes_the_threads_history(client: Any) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    await client.runs.wait(tid, "echo", input={"input": "a"})
    await client.runs.wait(tid, "echo", input={"input": "b"})
    await client.threads.update(tid, metadata={}, ttl={"ttl": 0.002, "strategy": "keep_latest"})

    async def pruned() -> bool:
        return len(await client.threads.get_history(tid, limit=100)) == 1

    await until(pruned, "the history is pruned")
    assert (await client.threads.get_state(tid))["values"]["log"] == ["a", "b"]


async def test_create_a_thread_with_supersteps(client: Any) -> None:
    thread = await client.threads.create(
        graph_id="echo",
        supersteps=[
            {"updates": [{"values": {"log": ["first"]}, "as_node": "see"}]},
            {"updates": [{"values": {"log": ["second"]}, "as_node": "see"}]},
        ],
    )
    assert thread["values"]["log"] == ["first", "second"]
    history = await client.threads.get_history(thread["thread_id"], limit=100)
    assert [h["values"].get("log") for h in history][:2] == [["first", "second"], ["first"]]
    with pytest.raises(UnprocessableEntityError, match="graph_id"):
        await client.threads.create(
            supersteps=[{"updates": [{"values": {"log": ["x"]}, "as_node": "see"}]}]
        )


# -- runs --------------------------------------------------------------------------------


async def received(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    return await anyio.to_thread.run_sync(receiver.wait_for, count)


async def test_a_webhook_gets_the_runs_record_and_final_state(client: Any) -> None:
    thread = await client.threads.create()
    with receiving() as receiver:
        run = await client.runs.create(
            thread["thread_id"], "echo", input={"input": "hooked"}, webhook=receiver.url
        )
        assert run["kwargs"]["webhook"] == receiver.url
        [body] = await received(receiver, 1)
    assert (body["run_id"], body["thread_id"]) == (run["run_id"], thread["thread_id"])
    assert body["status"] == "success"
    assert body["values"]["log"] == ["hooked"]
    assert body["assistant_id"] == ECHO_DEFAULT
    assert body["run_started_at"] <= body["run_ended_at"] <= body["webhook_sent_at"]
    assert "error" not in body


async def test_a_webhook_is_retried_and_never_fails_the_run(client: Any) -> None:
    with receiving(failures=2) as receiver:
        values = await client.runs.wait(None, "echo", input={"input": "x"}, webhook=receiver.url)
        assert values["log"] == ["x"]
        bodies = await received(receiver, 3)  # two 500s, then taken
    assert {b["run_id"] for b in bodies} == {bodies[0]["run_id"]}
    # A receiver that is not there: the run is not affected.
    nobody = f"http://127.0.0.1:{free_port()}/hook"
    thread = await client.threads.create()
    values = await client.runs.wait(
        thread["thread_id"], "echo", input={"input": "y"}, webhook=nobody
    )
    assert values["log"] == ["y"]
    assert (await client.runs.list(thread["thread_id"]))[0]["status"] == "success"


async def test_a_failed_or_cancelled_runs_webhook(client: Any) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    with receiving() as receiver:
        failed = await client.runs.create(
            tid, "echo", input={"input": "fail"}, webhook=receiver.url
        )
        [body] = await received(receiver, 1)
        assert (body["run_id"], body["status"]) == (failed["run_id"], "error")
        assert body["error"] == {"error": "ValueError", "message": "asked to fail"}
        assert body["values"] is None
        run_id = await started_run(client, tid, webhook=receiver.url)
        await client.runs.cancel(tid, run_id, wait=True)
        bodies = await received(receiver, 2)
    assert (bodies[1]["run_id"], bodies[1]["status"]) == (run_id, "interrupted")


async def test_a_webhook_url_is_checked_when_the_run_is_created(
    client: Any, tmp_path: Path
) -> None:
    thread = await client.threads.create()
    with pytest.raises(UnprocessableEntityError, match="absolute"):
        await client.runs.create(thread["thread_id"], "echo", input={}, webhook="/runs/hook")
    with running_server(tmp_path, graphs=GRAPHS) as plain:  # loopback not allowed
        async with get_client(url=plain.url) as other:
            with pytest.raises(httpx.HTTPStatusError, match="422"):
                await other.runs.wait(None, "echo", input={}, webhook="http://localhost:9/h")
    assert await client.runs.list(thread["thread_id"]) == []


async def test_after_seconds_delays_the_start(client: Any) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(
        thread["thread_id"], "echo", input={"input": "later"}, after_seconds=1
    )
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "pending"
    await client.runs.join(thread["thread_id"], run["run_id"])
    ended = await client.runs.get(thread["thread_id"], run["run_id"])
    assert ended["status"] == "success"
    created = datetime.datetime.fromisoformat(ended["created_at"])
    started = next(e["at"] for e in ended["lifecycle"] if "started" in e["event"])
    assert (datetime.datetime.fromisoformat(started) - created).total_seconds() >= 1
    # A delayed run can be cancelled before it starts.
    run = await client.runs.create(thread["thread_id"], "echo", input={}, after_seconds=60)
    await client.runs.cancel(thread["thread_id"], run["run_id"], wait=True)
    assert (await client.runs.get(thread["thread_id"], run["run_id"]))["status"] == "interrupted"


def started_after(run: Any) -> float:
    """Seconds from the run's creation to its start (its lifecycle's ``run started``)."""
    created = datetime.datetime.fromisoformat(run["created_at"])
    started = next(e["at"] for e in run["lifecycle"] if "started" in e["event"])
    return (datetime.datetime.fromisoformat(started) - created).total_seconds()


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_a_delayed_run_survives_a_crash_and_a_restart(
    tmp_path: Path, database: str, request: pytest.FixtureRequest
) -> None:
    db = str(tmp_path / "server.db")
    if database == "postgres":
        db = as_url(_pg.create_database(request.getfixturevalue("pg_server")))
    # 1. killed (SIGKILL) while a run waits for its after_seconds
    with running_server(tmp_path, graphs=GRAPHS, db=db, expect_status=-9) as first:
        async with get_client(url=first.url) as client:
            tid = (await client.threads.create())["thread_id"]
            run = await client.runs.create(tid, "echo", input={"input": "later"}, after_seconds=2)
            first.process.kill()
            first.process.wait()
    # 2. after the restart it starts at its time; a second delayed run waits through a
    #    graceful restart (SIGTERM), and a third, cancelled while waiting, does not
    with running_server(tmp_path, graphs=GRAPHS, db=db) as second:
        async with get_client(url=second.url) as client:
            await client.runs.join(tid, run["run_id"])
            ended = await client.runs.get(tid, run["run_id"])
            assert ended["status"] == "success"
            assert started_after(ended) >= 2
            state: Any = await client.threads.get_state(tid)
            assert state["values"]["log"] == ["later"]
            other = (await client.threads.create())["thread_id"]
            kept = await client.runs.create(other, "echo", input={"input": "k"}, after_seconds=3)
            dropped = await client.runs.create(other, "echo", input={}, after_seconds=3600)
            await client.runs.cancel(other, dropped["run_id"], wait=True)
    with running_server(tmp_path, graphs=GRAPHS, db=db) as third:
        async with get_client(url=third.url) as client:
            assert (await client.runs.get(other, kept["run_id"]))["status"] in (
                "pending",
                "running",
                "success",
            )
            await client.runs.join(other, kept["run_id"])
            ended = await client.runs.get(other, kept["run_id"])
            assert ended["status"] == "success"
            assert started_after(ended) >= 3
            cancelled = await client.runs.get(other, dropped["run_id"])
            assert cancelled["status"] == "interrupted"
            state = await client.threads.get_state(other)
            assert state["values"]["log"] == ["k"]
            assert (await client.threads.get(other))["status"] == "idle"


async def thread_stream(
    server: Server, thread_id: str, modes: str | None, until_done: int
) -> list[tuple[str, Any]]:
    """``GET /threads/{id}/stream`` read until ``until_done`` runs are done; its events."""
    params = {} if modes is None else {"stream_modes": modes}
    seen: list[tuple[str, Any]] = []
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        http.stream("GET", f"/threads/{thread_id}/stream", params=params) as response,
    ):
        assert response.status_code == 200
        async for event, data in sse_events(response):
            seen.append((event, data))
            if event == "metadata" and data.get("status") == "run_done":
                until_done -= 1
                if not until_done:
                    return seen
    raise AssertionError(f"the thread stream ended: {seen}")


@pytest.mark.parametrize("modes", [None, "lifecycle"])
async def test_a_threads_stream_follows_its_runs(
    client: Any, server: Server, modes: str | None
) -> None:
    tid = (await client.threads.create())["thread_id"]
    first = await started_run(client, tid)  # runs until cancelled
    # queued behind it; resumable: its events are all there when the stream gets to it
    queued = await client.runs.create(tid, "echo", input={"input": "q"}, stream_resumable=True)
    async with anyio.create_task_group() as tg:
        reading: list[list[tuple[str, Any]]] = []

        async def read() -> None:
            reading.append(await thread_stream(server, tid, modes, until_done=2))

        tg.start_soon(read)
        await until(lambda: running(client, tid, first), "the first run runs")
        await client.runs.cancel(tid, first)
    [seen] = reading
    starts = [d["run_id"] for e, d in seen if e == "metadata" and "status" not in d]
    done = [d["run_id"] for e, d in seen if e == "metadata" and d.get("status") == "run_done"]
    assert starts[0] == first
    assert queued["run_id"] in starts
    assert done == [first, queued["run_id"]]
    values = [d for e, d in seen if e == "values"]
    if modes is None:  # every event of each run
        assert values[-1]["log"] == ["q"]
    else:  # only the runs' starts and ends
        assert {e for e, _ in seen} == {"metadata"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = [
            await http.get(f"/threads/{tid}/stream", params={"stream_modes": "state_update"}),
            await http.get(f"/threads/{tid}/stream", headers={"Last-Event-ID": "3"}),
            await http.get(f"/threads/{uuid.uuid4()}/stream"),
        ]
    assert [r.status_code for r in refused] == [422, 422, 404]


async def test_a_threads_stream_ends_when_the_server_drains(tmp_path: Path) -> None:
    with running_server(tmp_path, graphs=GRAPHS) as server:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            tid = (await http.post("/threads", json={})).json()["thread_id"]
            async with http.stream("GET", f"/threads/{tid}/stream") as response:
                assert response.status_code == 200
                server.process.send_signal(signal.SIGTERM)
                # it ends by itself, before uvicorn would cut it (5 s) and delay the stop
                with anyio.fail_after(3):
                    async for _ in response.aiter_bytes():
                        pass


async def running(client: Any, thread_id: str, run_id: str) -> bool:
    return bool((await client.runs.get(thread_id, run_id))["status"] == "running")


async def test_runs_batch_creates_stateless_runs(client: Any) -> None:
    runs = await client.runs.create_batch(
        [
            {"assistant_id": "echo", "input": {"input": "a"}},
            {"assistant_id": "echo", "input": {"input": "b"}, "metadata": {"n": 2}},
        ]
    )
    assert len(runs) == 2
    assert [r["assistant_id"] for r in runs] == [ECHO_DEFAULT, ECHO_DEFAULT]
    assert runs[1]["metadata"]["n"] == 2
    assert len({r["thread_id"] for r in runs}) == 2
    with pytest.raises(UnprocessableEntityError):
        await client.runs.create_batch([{"input": {}}])


async def started_run(client: Any, thread_id: str, **kwargs: Any) -> str:
    """A ``slow`` run on the thread, once its node is running; its id."""
    parts = client.runs.stream(thread_id, "slow", input={}, stream_mode="custom", **kwargs)
    async for part in parts:
        if part.event == "custom":
            await parts.aclose()
            return str(part.data["started"])
    raise AssertionError("the run ended before it started")


async def test_bulk_cancel_by_ids_and_by_status(client: Any, server: Server) -> None:
    one, two = await client.threads.create(), await client.threads.create()
    first = await started_run(client, one["thread_id"])
    second = await started_run(client, two["thread_id"])
    queued = await client.runs.create(two["thread_id"], "echo", input={"input": "q"})
    await client.runs.cancel_many(thread_id=one["thread_id"], run_ids=[first])
    await client.runs.join(one["thread_id"], first)
    assert (await client.runs.get(one["thread_id"], first))["status"] == "interrupted"
    assert (await client.runs.get(two["thread_id"], second))["status"] == "running"
    await client.runs.cancel_many(status="pending")  # the queued run only
    await client.runs.join(two["thread_id"], queued["run_id"])
    assert (await client.runs.get(two["thread_id"], queued["run_id"]))["status"] == "interrupted"
    assert (await client.runs.get(two["thread_id"], second))["status"] == "running"
    await client.runs.cancel_many(status="running")
    await client.runs.join(two["thread_id"], second)
    assert (await client.runs.get(two["thread_id"], second))["status"] == "interrupted"
    assert {f"cleanup {first}", f"cleanup {second}"} <= set(server.cleanups())
    with pytest.raises(NotFoundError):
        await client.runs.cancel_many(thread_id=one["thread_id"], run_ids=[first])
    with pytest.raises(UnprocessableEntityError):
        await client.runs.cancel_many(status="all", thread_id=one["thread_id"])


async def test_the_servers_messages_mode(client: Any) -> None:
    said = "hello there"
    parts = [
        p
        async for p in client.runs.stream(
            None,
            "chat",
            input={"messages": [{"type": "human", "content": said}]},
            stream_mode=["messages", "messages-tuple"],
        )
    ]
    events = [p.event for p in parts]
    assert events[0] == "metadata"
    assert "messages/metadata" in events
    partials = [p.data[0] for p in parts if p.event == "messages/partial"]
    assert len(partials) > 3
    assert all(m["type"] == "AIMessageChunk" for m in partials)
    ids = {m["id"] for m in partials}
    assert len(ids) == 1
    first_meta = next(p.data for p in parts if p.event == "messages/metadata")
    assert set(first_meta) == ids
    assert first_meta[next(iter(ids))]["metadata"]["langgraph_node"] == "model"
    contents = [m["content"] for m in partials]
    assert all(b.startswith(a) for a, b in itertools.pairwise(contents))
    assert contents[-1] == (
        f"You said: {said}. This is turn 1 of our chat, and every word of this reply "
        "streams as a token."
    )
    assert "messages" in events  # messages-tuple, beside it
    tuples = [p.data for p in parts if p.event == "messages"]
    assert "".join(t[0]["content"] for t in tuples) == contents[-1]


async def test_the_lifecycle_mode_is_taken_and_sends_nothing_as_langgraphs(client: Any) -> None:
    """The SDK's ``lifecycle`` mode: LangGraph's server passes it to the graph, whose
    stream (LangGraph 1.2) has nothing in it; the run streams its other modes."""
    parts = [
        p
        async for p in client.runs.stream(
            None, "echo", input={"input": "x"}, stream_mode=["lifecycle", "updates"]
        )
    ]
    assert [p.event for p in parts] == ["metadata", "updates"]


# -- crons -------------------------------------------------------------------------------

EVERY_SECOND = "* * * * * *"  # croniter's sixth field: seconds


async def test_crons_create_get_search_count_update_delete(client: Any) -> None:
    t = tag()
    thread = await client.threads.create()
    on_thread = await client.crons.create_for_thread(
        thread["thread_id"],
        "echo",
        schedule="0 9 * * 1-5",
        input={"input": "x"},
        metadata={"t": t, "k": 1},
        enabled=False,
    )
    stateless = await client.crons.create(
        "echo",
        schedule="30 6 * * *",
        timezone="Europe/Paris",
        metadata={"t": t, "k": 2},
        enabled=False,
        on_run_completed="keep",
    )
    assert on_thread["thread_id"] == thread["thread_id"]
    assert on_thread["assistant_id"] == ECHO_DEFAULT
    assert on_thread["payload"]["input"] == {"input": "x"}
    assert on_thread["payload"]["config"]["configurable"]["cron_id"] == on_thread["cron_id"]
    assert on_thread["on_run_completed"] is None
    assert (stateless["thread_id"], stateless["on_run_completed"]) == (None, "keep")
    next_run = datetime.datetime.fromisoformat(stateless["next_run_date"])
    paris = next_run.astimezone(zoneinfo.ZoneInfo("Europe/Paris"))
    assert (paris.hour, paris.minute) == (6, 30)
    assert await client.crons.count(metadata={"t": t}) == 2
    assert await client.crons.count(thread_id=thread["thread_id"]) == 1
    found = await client.crons.search(metadata={"t": t})
    assert [c["cron_id"] for c in found] == [stateless["cron_id"], on_thread["cron_id"]]
    oldest = await client.crons.search(metadata={"t": t}, sort_by="created_at", sort_order="asc")
    assert [c["cron_id"] for c in oldest] == [on_thread["cron_id"], stateless["cron_id"]]
    assert [c["cron_id"] for c in await client.crons.search(metadata={"t": t}, limit=1)] == [
        stateless["cron_id"]
    ]
    selected = await client.crons.search(metadata={"t": t, "k": 1}, select=["cron_id", "schedule"])
    assert selected == [{"cron_id": on_thread["cron_id"], "schedule": "0 9 * * 1-5"}]
    updated = await client.crons.update(
        on_thread["cron_id"], schedule="15 10 * * *", metadata={"k": 3}, input={"input": "y"}
    )
    assert updated["schedule"] == "15 10 * * *"
    assert updated["metadata"] == {"t": t, "k": 3}
    assert updated["payload"]["input"] == {"input": "y"}
    assert updated["next_run_date"] != on_thread["next_run_date"]
    assert datetime.datetime.fromisoformat(updated["next_run_date"]).minute == 15
    await client.crons.delete(stateless["cron_id"])
    assert await client.crons.count(metadata={"t": t}) == 1
    with pytest.raises(NotFoundError):
        await client.crons.delete(stateless["cron_id"])
    # Deleting the thread deletes its crons.
    await client.threads.delete(thread["thread_id"])
    assert await client.crons.count(metadata={"t": t}) == 0


async def test_crons_refuse_bad_schedules_timezones_assistants_and_threads(client: Any) -> None:
    with pytest.raises(UnprocessableEntityError, match="cron schedule"):
        await client.crons.create("echo", schedule="every day")
    with pytest.raises(UnprocessableEntityError, match="timezone"):
        await client.crons.create("echo", schedule="* * * * *", timezone="Mars/Olympus")
    with pytest.raises(NotFoundError):
        await client.crons.create(str(uuid.uuid4()), schedule="* * * * *")
    with pytest.raises(NotFoundError):
        await client.crons.create_for_thread(str(uuid.uuid4()), "echo", schedule="* * * * *")
    thread = await client.threads.create()
    with pytest.raises(UnprocessableEntityError, match="stateless crons"):
        await client.http.post(
            f"/threads/{thread['thread_id']}/runs/crons",
            json={"assistant_id": "echo", "schedule": "* * * * *", "on_run_completed": "keep"},
        )


async def runs_of(client: Any, thread_id: str) -> list[dict[str, Any]]:
    return list(await client.runs.list(thread_id, limit=100))


async def test_a_thread_cron_runs_on_schedule_until_disabled(client: Any) -> None:
    t = tag()
    thread = await client.threads.create()
    tid = thread["thread_id"]
    cron = await client.crons.create_for_thread(
        tid, "echo", schedule=EVERY_SECOND, input={"input": "tick"}, metadata={"t": t}
    )

    async def two() -> bool:
        return len([r for r in await runs_of(client, tid) if r["status"] == "success"]) >= 2

    await until(two, "two runs of the cron")
    runs = await runs_of(client, tid)
    assert all(r["metadata"]["t"] == t for r in runs)
    assert all(r["kwargs"]["config"]["configurable"]["cron_id"] == cron["cron_id"] for r in runs)
    await client.crons.update(cron["cron_id"], enabled=False)
    made = len(await runs_of(client, tid))
    await anyio.sleep(2.5)  # two ticks of the schedule pass: no more runs (one was in flight)
    assert len(await runs_of(client, tid)) <= made + 1
    assert (await client.threads.get_state(tid))["values"]["log"][:2] == ["tick", "tick"]


async def test_a_stateless_cron_runs_each_tick_on_a_new_thread(client: Any) -> None:
    with receiving() as receiver:
        cron = await client.crons.create(
            "echo", schedule=EVERY_SECOND, input={"input": "s"}, webhook=receiver.url
        )
        bodies = await received(receiver, 2)
        await client.crons.delete(cron["cron_id"])
    assert len({b["run_id"] for b in bodies}) == len(bodies)
    assert len({b["thread_id"] for b in bodies}) == len(bodies)
    assert all(b["status"] == "success" and b["values"]["log"] == ["s"] for b in bodies)


async def test_a_cron_whose_ticks_were_missed_while_down_runs_once(tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    every_five = "* * * * * */5"  # the sixth field: seconds
    with running_server(tmp_path, graphs=GRAPHS, db=db, extra_args=SWEEP) as first:
        async with get_client(url=first.url) as client:
            tid = (await client.threads.create())["thread_id"]
            await client.crons.create_for_thread(tid, "echo", schedule=every_five, input={})
            before = len(await runs_of(client, tid))
    await anyio.sleep(11)  # two or three ticks pass while no server runs
    with running_server(tmp_path, graphs=GRAPHS, db=db, extra_args=SWEEP) as again:
        async with get_client(url=again.url) as client:

            async def fired() -> bool:
                return len(await runs_of(client, tid)) > before

            await until(fired, "the missed tick's run")
            assert len(await runs_of(client, tid)) == before + 1  # once, not per missed tick


# -- scale-out -----------------------------------------------------------------------------


async def test_scale_out_assistants_threads_and_runs_across_processes(
    pg_server: str, redis_url: str, tmp_path: Path
) -> None:
    db = as_url(_pg.create_database(pg_server))
    with running_cluster(
        tmp_path, db, redis_url, apis=2, workers=1, extra_graphs=GRAPHS, api_args=SWEEP
    ) as cluster:
        async with get_client(url=cluster.apis[0]) as one, get_client(url=cluster.apis[1]) as two:
            a: Any = one  # scopegraph's answers carry more than the SDK's types say
            b: Any = two
            made = await a.assistants.create("echo", context={"model": "shared"}, name="s")
            aid = made["assistant_id"]
            assert await b.assistants.get(aid) == made
            await b.assistants.update(aid, context={"model": "v2"})
            assert [v["version"] for v in await a.assistants.get_versions(aid)] == [2, 1]
            thread = await a.threads.create()
            result: Any = await b.runs.wait(thread["thread_id"], aid, input={"input": "x"})
            assert result["context"] == {"model": "v2"}
            assert await a.assistants.count(graph_id="echo") == 2
            await a.assistants.set_latest(aid, 1)
            result = await b.runs.wait(thread["thread_id"], aid, input={"input": "y"})
            assert result["context"] == {"model": "shared"}
            await b.assistants.delete(aid)
            with pytest.raises(NotFoundError):
                await a.assistants.get(aid)

            # threads: count, copy, prune, TTL, supersteps across the processes
            t = tag()
            copy = await b.threads.copy(thread["thread_id"])
            assert copy["values"]["log"] == ["x", "y"]
            await a.threads.update(copy["thread_id"], metadata={"t": t})
            assert await b.threads.count(metadata={"t": t}) == 1
            assert await b.threads.count(metadata={"t": t}, status="idle") == 1
            both = [thread["thread_id"], copy["thread_id"]]
            found = await b.threads.search(
                ids=both,
                values={"log": ["y"]},
                status="idle",
                sort_by="status",
                select=["thread_id"],
            )
            assert sorted(x["thread_id"] for x in found) == sorted(both)
            assert await b.threads.count(metadata={"t": t}, values={"log": ["x"]}) == 1
            shown = [await a.threads.get(x) for x in both]  # a copy: the same checkpoints
            newest = max(shown, key=lambda x: (x["state_updated_at"], x["thread_id"]))
            first = await b.threads.search(ids=both, sort_by="state_updated_at", limit=1)
            assert [x["thread_id"] for x in first] == [newest["thread_id"]]
            in_order = await a.threads.search(ids=both, sort_by="thread_id", sort_order="asc")
            assert [x["thread_id"] for x in in_order] == sorted(both)
            pruned = await a.threads.prune([thread["thread_id"]], strategy="keep_latest")
            assert pruned == {"pruned_count": 1}
            assert len(await b.threads.get_history(thread["thread_id"], limit=100)) == 1
            swept = await a.threads.create(ttl=0.002)
            await until(lambda: gone(b, swept["thread_id"]), "swept by one of the processes")
            made = await b.threads.create(
                graph_id="echo",
                supersteps=[{"updates": [{"values": {"log": ["s"]}, "as_node": "see"}]}],
            )
            assert (await a.threads.get_state(made["thread_id"]))["values"]["log"] == ["s"]

            # runs: webhook (sent by the worker), after_seconds, batch, bulk cancel, messages
            tid = (await a.threads.create())["thread_id"]
            with receiving() as receiver:
                run = await a.runs.create(
                    tid, "echo", input={"input": "w"}, webhook=receiver.url, after_seconds=1
                )
                assert (await b.runs.get(tid, run["run_id"]))["status"] == "pending"
                [body] = await received(receiver, 1)
            assert (body["run_id"], body["status"]) == (run["run_id"], "success")
            assert body["values"]["log"] == ["w"]
            ended = await b.runs.get(tid, run["run_id"])
            created = datetime.datetime.fromisoformat(ended["created_at"])
            started = datetime.datetime.fromisoformat(body["run_started_at"])
            assert (started - created).total_seconds() >= 1
            batch = await b.runs.create_batch([{"assistant_id": "echo", "input": {"input": "b"}}])
            assert batch[0]["assistant_id"] == ECHO_DEFAULT
            first = await started_run(a, tid)
            queued = await a.runs.create(tid, "echo", input={"input": "q"})
            await b.runs.cancel_many(status="pending")
            await a.runs.join(tid, queued["run_id"])
            assert (await b.runs.get(tid, queued["run_id"]))["status"] == "interrupted"
            await b.runs.cancel_many(thread_id=tid, run_ids=[first])
            await a.runs.join(tid, first)
            assert (await b.runs.get(tid, first))["status"] == "interrupted"
            assert f"cleanup {first}" in cluster.cleanup_log.read_text()
            events = [
                p.event
                async for p in b.runs.stream(
                    None,
                    "chat",
                    input={"messages": [{"type": "human", "content": "hi"}]},
                    stream_mode="messages",
                )
            ]
            assert "messages/metadata" in events
            assert events.count("messages/partial") > 3

            # crons: one run per tick although both API processes schedule, and on after
            # one of them is killed
            crid = (await a.threads.create())["thread_id"]
            cron = await a.crons.create_for_thread(crid, "echo", schedule=EVERY_SECOND, input={})

            async def three() -> bool:
                return len(await runs_of(b, crid)) >= 3

            await until(three, "three ticks")
            cluster.kill("API1")
            made = len(await runs_of(b, crid))

            async def more() -> bool:
                return len(await runs_of(b, crid)) >= made + 2

            await until(more, "two more ticks with one API process left")
            await b.crons.update(cron["cron_id"], enabled=False)
            runs = await runs_of(b, crid)
            starts = sorted(datetime.datetime.fromisoformat(r["created_at"]) for r in runs)
            gaps = [(y - x).total_seconds() for x, y in itertools.pairwise(starts)]
            assert min(gaps) > 0.5, gaps  # one run per tick: never two for one second
