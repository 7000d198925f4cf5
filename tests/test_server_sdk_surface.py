"""Issue 16: every public method of the Python SDK's ``client.assistants``,
``client.threads``, ``client.runs``, ``client.crons`` and ``client.store``, called through
the SDK against a real ``scopegraph serve`` (one process, SQLite) and a real scale-out
cluster (two API processes and a worker, PostgreSQL and Redis; what one API process
writes is read at the other).

One call (or a few) per method with a check of its answer: the detailed behaviour of
each is tested in ``test_server_resources.py``, ``test_server_sdk.py``,
``test_server_store.py`` and ``test_server_wire.py``. The test lists the SDK's methods
itself, so a method a new SDK adds fails it until it is covered (or named a gap:
``GAPS``, which the server refuses with 422 naming the alternative). docs/server.md
("The SDK's methods, one by one") has the table.

The SDK is asyncio-only: this runs on asyncio.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError

import _pg
import _redis
from _cluster import as_url, running_cluster
from _server import running_server

pytestmark = pytest.mark.anyio
pg_server = _pg.pg_server
redis_server = _redis.redis_server
redis_url = _redis.redis_url

GRAPHS_FILE = Path(__file__).with_name("_resource_graphs.py")
GRAPHS = (
    f"echo={GRAPHS_FILE}:echo",
    f"slow={GRAPHS_FILE}:slow",
    f"nested={GRAPHS_FILE}:nested",
)
GAPS: dict[str, str] = {}
"""SDK methods this server does not implement (refused with 422 naming the alternative):
none since ``threads.stream`` is served."""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["one-process", "scale-out"])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(the URL writes go to, the URL reads go to): one server's twice, or the two API
    processes of a cluster."""
    if request.param == "one-process":
        with running_server(tmp_path, graphs=GRAPHS) as server:
            yield server.url, server.url
        return
    db = as_url(_pg.create_database(request.getfixturevalue("pg_server")))
    redis = request.getfixturevalue("redis_url")
    with running_cluster(tmp_path, db, redis, apis=2, workers=1, extra_graphs=GRAPHS) as cluster:
        yield cluster.apis[0], cluster.apis[1]


@pytest.fixture
async def clients(urls: tuple[str, str]) -> AsyncIterator[tuple[Any, Any]]:
    async with get_client(url=urls[0]) as a, get_client(url=urls[1]) as b:
        yield a, b


def sdk_methods(client: Any) -> set[str]:
    """``"<resource>.<method>"`` for every public method of the SDK's resource clients."""
    found = set()
    for resource in ("assistants", "threads", "runs", "crons", "store"):
        part = getattr(client, resource)
        for name, _ in inspect.getmembers(type(part), inspect.isfunction):
            if not name.startswith("_"):
                found.add(f"{resource}.{name}")
    return found


async def test_every_sdk_method(clients: tuple[Any, Any]) -> None:
    a, b = clients
    called: set[str] = set()

    def did(*names: str) -> None:
        called.update(names)

    # -- assistants ------------------------------------------------------------------
    made = await a.assistants.create("echo", context={"model": "m"}, name="one", metadata={"k": 1})
    aid = made["assistant_id"]
    assert (await b.assistants.get(aid))["name"] == "one"
    drawn = await b.assistants.get_graph(aid)
    assert {n["id"] for n in drawn["nodes"]} >= {"__start__", "see", "__end__"}
    nested = (await a.assistants.search(graph_id="nested"))[0]["assistant_id"]
    deep = await b.assistants.get_graph(nested, xray=True)
    assert "sub:ask" in {n["id"] for n in deep["nodes"]}
    schemas = await b.assistants.get_schemas(aid)
    assert schemas["input_schema"]["properties"]["input"]["type"] == "string"
    assert list(await b.assistants.get_subgraphs(nested)) == ["sub"]
    updated = await a.assistants.update(aid, name="two")
    assert updated["version"] == 2
    assert [v["version"] for v in await b.assistants.get_versions(aid)] == [2, 1]
    assert (await a.assistants.set_latest(aid, 1))["name"] == "one"
    found = await b.assistants.search(metadata={"k": 1}, select=["assistant_id"])
    assert found == [{"assistant_id": aid}]
    assert await b.assistants.count(metadata={"k": 1}) == 1
    did(
        "assistants.create",
        "assistants.get",
        "assistants.get_graph",
        "assistants.get_schemas",
        "assistants.get_subgraphs",
        "assistants.update",
        "assistants.get_versions",
        "assistants.set_latest",
        "assistants.search",
        "assistants.count",
    )

    # -- threads ---------------------------------------------------------------------
    thread = await a.threads.create(metadata={"t": "sweep"}, graph_id="echo", ttl=60)
    tid = thread["thread_id"]
    assert (await b.threads.get(tid))["metadata"]["t"] == "sweep"
    assert (await b.threads.get(tid, include=["ttl"]))["ttl"]["ttl_minutes"] == 60
    assert await a.threads.update(tid, metadata={"u": 1}, return_minimal=True) is None
    assert (await a.threads.update(tid, metadata={"u": 2}))["metadata"]["u"] == 2
    await a.threads.update_state(tid, {"log": ["s"]}, as_node="see")
    state = await b.threads.get_state(tid, select=["values.log"])
    assert state == {"values": {"log": ["s"]}}
    assert len(await b.threads.get_history(tid, limit=5)) == 1
    found = await b.threads.search(metadata={"t": "sweep"}, values={"log": ["s"]})
    assert [t["thread_id"] for t in found] == [tid]
    assert await b.threads.count(metadata={"t": "sweep"}) == 1
    copy = await a.threads.copy(tid)
    assert (await b.threads.get_state(copy["thread_id"]))["values"]["log"] == ["s"]
    assert await a.threads.prune([copy["thread_id"]]) == {"pruned_count": 1}
    did(
        "threads.create",
        "threads.get",
        "threads.update",
        "threads.update_state",
        "threads.get_state",
        "threads.get_history",
        "threads.search",
        "threads.count",
        "threads.copy",
        "threads.prune",
    )

    # -- runs ------------------------------------------------------------------------
    run = await a.runs.create(tid, aid, input={"input": "c"})
    assert (await b.runs.join(tid, run["run_id"]))["log"] == ["s", "c"]
    assert (await b.runs.get(tid, run["run_id"]))["status"] == "success"
    waited = await a.runs.wait(tid, aid, input={"input": "w"})
    assert waited["log"] == ["s", "c", "w"]
    events = [p.event async for p in a.runs.stream(tid, aid, input={"input": "s"})]
    assert events[0] == "metadata"
    assert "values" in events
    listed = await b.runs.list(tid, select=["status"])
    assert listed == [{"status": "success"}] * 3
    [batched] = await a.runs.create_batch([{"assistant_id": "echo", "input": {"input": "b"}}])
    assert batched["status"] == "pending"
    slow = await a.runs.create(tid, "slow", input={}, stream_mode="custom", stream_resumable=True)
    joined = b.runs.join_stream(tid, slow["run_id"], stream_mode="custom", last_event_id="-1")
    async for part in joined:
        if part.event == "custom":
            break
    await joined.aclose()
    await b.runs.cancel(tid, slow["run_id"], wait=True)
    assert (await a.runs.get(tid, slow["run_id"]))["status"] == "interrupted"
    queued = await a.runs.create(tid, "echo", input={"input": "q"}, after_seconds=3600)
    await b.runs.cancel_many(thread_id=tid, run_ids=[queued["run_id"]])
    await a.runs.join(tid, queued["run_id"])
    await b.runs.delete(tid, queued["run_id"])
    with pytest.raises(NotFoundError):
        await a.runs.get(tid, queued["run_id"])
    did(
        "runs.create",
        "runs.join",
        "runs.get",
        "runs.wait",
        "runs.stream",
        "runs.list",
        "runs.create_batch",
        "runs.join_stream",
        "runs.cancel",
        "runs.cancel_many",
        "runs.delete",
    )

    # -- crons -----------------------------------------------------------------------
    on_thread = await a.crons.create_for_thread(tid, aid, schedule="0 0 1 1 *", input={})
    stateless = await a.crons.create(aid, schedule="0 0 1 1 *", input={}, enabled=False)
    found = await b.crons.search(assistant_id=aid, sort_by="created_at", sort_order="asc")
    assert [c["cron_id"] for c in found] == [on_thread["cron_id"], stateless["cron_id"]]
    assert await b.crons.count(assistant_id=aid) == 2
    assert (await a.crons.update(stateless["cron_id"], enabled=True))["enabled"] is True
    await b.crons.delete(on_thread["cron_id"])
    assert await a.crons.count(assistant_id=aid) == 1
    did(
        "crons.create_for_thread",
        "crons.create",
        "crons.search",
        "crons.count",
        "crons.update",
        "crons.delete",
    )

    # -- store -----------------------------------------------------------------------
    await a.store.put_item(["sweep", "x"], "k", {"v": 1})
    assert (await b.store.get_item(["sweep", "x"], "k"))["value"] == {"v": 1}
    found = await b.store.search_items(["sweep"], filter={"v": 1})
    assert [i["key"] for i in found["items"]] == ["k"]
    assert ["sweep", "x"] in (await b.store.list_namespaces(prefix=["sweep"]))["namespaces"]
    await a.store.delete_item(["sweep", "x"], "k")
    assert await b.store.get_item(["sweep", "x"], "k") is None
    did(
        "store.put_item",
        "store.get_item",
        "store.search_items",
        "store.list_namespaces",
        "store.delete_item",
    )

    # -- deleting last, and the gaps ---------------------------------------------------
    await a.threads.delete(tid)
    with pytest.raises(NotFoundError):
        await b.threads.get(tid)
    await a.assistants.delete(aid)
    with pytest.raises(NotFoundError):
        await b.assistants.get(aid)
    did("threads.delete", "assistants.delete")
    other = (await a.threads.create())["thread_id"]
    watched = await a.runs.create(other, "slow", input={}, stream_mode="custom")
    parts = await b.threads.join_stream(other)
    async for part in parts:  # the run's start, then (once cancelled) its end
        if part.event == "metadata" and "status" not in part.data:
            assert part.data["run_id"] == watched["run_id"]
            await a.runs.cancel(other, watched["run_id"])
        if part.event == "metadata" and part.data.get("status") == "run_done":
            assert part.data["run_id"] == watched["run_id"]
            break
    await parts.aclose()
    did("threads.join_stream")
    async with b.threads.stream(assistant_id="echo") as session:  # the thread is made here
        await session.run.start(input={"input": "x"})
        output = await session.output
    assert output == (await a.threads.get_state(session.thread_id))["values"]
    did("threads.stream")  # in detail: test_server_thread_stream_v3.py

    assert called | set(GAPS) == sdk_methods(a)
    assert not called & set(GAPS)
