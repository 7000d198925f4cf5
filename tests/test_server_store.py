"""The store API of the run server (``/store/...``) through the official LangGraph SDK's
``client.store``, against a real ``scopegraph serve``: in one process on its SQLite file
and on PostgreSQL, and in scale-out (API processes and workers on one PostgreSQL); the
served graphs get the same store as ``runtime.store``. The SDK runs on asyncio only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

import _pg
import _redis
from _cluster import as_url, running_cluster
from _server import DEFAULT_GRAPHS, Server, running_server

pytestmark = pytest.mark.anyio

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

MEMO = f"memo={Path(__file__).with_name('_store_graph.py')}:graph"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("store"), graphs=(*DEFAULT_GRAPHS, MEMO)) as s:
        yield s


@pytest.fixture
async def client(server: Server) -> AsyncIterator[Any]:
    async with get_client(url=server.url) as client:
        yield client


async def _round_trip(client: Any, prefix: str) -> None:
    """put / get / search / list / delete through ``client.store``, as on LangGraph."""
    store = client.store
    await store.put_item([prefix, "u1"], "prefs", {"theme": "dark", "size": 3})
    await store.put_item([prefix, "u1"], "other", {"theme": "light", "size": 1})
    await store.put_item([prefix, "u2", "deep"], "x", {"theme": "dark", "size": 9})
    item = await store.get_item([prefix, "u1"], "prefs")
    assert item["namespace"] == [prefix, "u1"]
    assert (item["key"], item["value"]) == ("prefs", {"theme": "dark", "size": 3})
    assert item["created_at"]
    assert item["updated_at"]
    assert await store.get_item([prefix, "u1"], "missing") is None
    found = await store.search_items([prefix], filter={"theme": "dark"})
    assert sorted(i["key"] for i in found["items"]) == ["prefs", "x"]
    assert all(i["score"] is None for i in found["items"])
    found = await store.search_items([prefix], filter={"size": {"$lt": 5}}, limit=1)
    assert len(found["items"]) == 1
    listed = await store.list_namespaces(prefix=[prefix])
    assert listed == {"namespaces": [[prefix, "u1"], [prefix, "u2", "deep"]]}
    assert await store.list_namespaces(prefix=[prefix], max_depth=2) == {
        "namespaces": [[prefix, "u1"], [prefix, "u2"]]
    }
    assert await store.list_namespaces(suffix=["deep"]) == {"namespaces": [[prefix, "u2", "deep"]]}
    await store.delete_item([prefix, "u1"], "prefs")
    assert await store.get_item([prefix, "u1"], "prefs") is None


async def test_client_store_round_trip(client: Any) -> None:
    await _round_trip(client, "sqlite")


async def test_served_graphs_share_the_store_with_the_api(client: Any) -> None:
    await client.store.put_item(["notes", "ann"], "from-api", {"text": "from-api"})
    result = await client.runs.wait(None, "memo", input={"user": "ann", "note": "from-run"})
    assert sorted(result["notes"]) == ["from-api", "from-run"]
    assert (await client.store.get_item(["notes", "ann"], "from-run"))["value"] == {
        "text": "from-run"
    }
    assert (await client.store.get_item(["counts"], "ann"))["value"] == {"notes": 2}


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "names"),
    [
        ("PUT", "/store/items", {"namespace": ["a.b"], "key": "k", "value": {}}, None, "namespace"),
        ("PUT", "/store/items", {"namespace": [], "key": "k", "value": {}}, None, "namespace"),
        ("PUT", "/store/items", {"namespace": ["a"], "key": "", "value": {}}, None, "key"),
        ("PUT", "/store/items", {"namespace": ["a"], "key": "k", "value": [1]}, None, "value"),
        (
            "PUT",
            "/store/items",
            {"namespace": ["langgraph"], "key": "k", "value": {}},
            None,
            "langgraph",
        ),
        (
            "PUT",
            "/store/items",
            {"namespace": ["a"], "key": "k", "value": {}, "ttl": -1},
            None,
            "ttl",
        ),
        ("GET", "/store/items", None, {"namespace": "a..b", "key": "k"}, "namespace"),
        ("GET", "/store/items", None, {"namespace": "a"}, "key"),
        ("DELETE", "/store/items", {"namespace": ["a"]}, None, "key"),
        ("POST", "/store/items/search", {"namespace_prefix": ["a"], "limit": -1}, None, "limit"),
        ("POST", "/store/items/search", {"filter": {"x": {"$regex": "."}}}, None, "$regex"),
        ("POST", "/store/namespaces", {"max_depth": 0}, None, "max_depth"),
        ("PUT", "/store/items", {"namespace": ["a"], "key": "k", "value": {"n": 2**70}}, None, "n"),
    ],
)
async def test_bad_store_requests_are_422_naming_the_problem(
    server: Server, method: str, path: str, body: Any, params: Any, names: str
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        response = await http.request(method, path, json=body, params=params)
    assert response.status_code == 422, response.text
    assert names in response.text


async def test_client_store_on_postgres(pg_dsn: str, tmp_path: Path) -> None:
    with running_server(tmp_path, db=as_url(pg_dsn), graphs=(MEMO,)) as server:
        async with get_client(url=server.url) as client:
            await _round_trip(client, "pg")
            result: Any = await client.runs.wait(None, "memo", input={"user": "bo", "note": "hi"})
            assert result["notes"] == ["hi"]


async def test_client_store_in_scale_out(pg_dsn: str, redis_url: str, tmp_path: Path) -> None:
    with running_cluster(
        tmp_path, pg_dsn, redis_url, apis=2, workers=2, worker_backend="mixed", extra_graphs=[MEMO]
    ) as cluster:
        first, second = cluster.apis
        async with get_client(url=first) as a, get_client(url=second) as b:
            await _round_trip(a, "cluster")
            await a.store.put_item(["notes", "cy"], "from-api-1", {"text": "from-api-1"})
            result: Any = await b.runs.wait(None, "memo", input={"user": "cy", "note": "from-run"})
            assert sorted(result["notes"]) == ["from-api-1", "from-run"]  # a worker's view
            item = await b.store.get_item(["notes", "cy"], "from-run")
            assert item["value"] == {"text": "from-run"}
