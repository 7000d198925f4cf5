"""The server's store routes on asyncio and on trio: ``create_app`` served in-process by
hypercorn, driven by httpx (both run on either backend), with the store in the server's
SQLite file or in PostgreSQL (whose calls run in worker threads under trio)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from hypercorn.config import Config

import _pg
from _cluster import as_url
from _server import free_port
from _store_graph import graph as memo_graph
from scopegraph.server import create_app, drain

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning"),
]

pg_server = _pg.pg_server


async def _serve(app: Any, port: int, shutdown: anyio.Event, backend: str) -> None:
    async def trigger() -> None:
        await shutdown.wait()
        await drain(app)

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "WARNING"
    config.graceful_timeout = 5
    if backend == "trio":
        from hypercorn.trio import serve
    else:
        from hypercorn.asyncio import serve  # type: ignore[assignment]
    await serve(app, config, shutdown_trigger=trigger)


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
async def test_store_routes_and_served_graphs_on_both_backends(
    anyio_backend: str, tmp_path: Path, database: str
) -> None:
    db = str(tmp_path / "server.db") if database == "sqlite" else as_url(_pg.fresh_database_dsn())
    app = create_app({"memo": memo_graph}, database=db)
    port = free_port()
    shutdown = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(_serve, app, port, shutdown, anyio_backend))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            with anyio.fail_after(20):
                while True:
                    try:
                        if (await http.get("/ok")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await anyio.sleep(0.02)
            item = {"namespace": ["notes", "ann"], "key": "k1", "value": {"text": "from-api"}}
            assert (await http.put("/store/items", json=item)).status_code == 204
            got = await http.get("/store/items", params={"namespace": "notes.ann", "key": "k1"})
            assert got.json()["value"] == {"text": "from-api"}
            run = await http.post(
                "/runs/wait", json={"assistant_id": "memo", "input": {"user": "ann", "note": "n2"}}
            )
            assert run.status_code == 200, run.text
            assert sorted(run.json()["notes"]) == ["from-api", "n2"]
            found = await http.post("/store/items/search", json={"namespace_prefix": ["notes"]})
            assert sorted(i["key"] for i in found.json()["items"]) == ["k1", "n2"]
            listed = await http.post("/store/namespaces", json={"max_depth": 1})
            assert listed.json() == {"namespaces": [["counts"], ["notes"]]}
            gone = await http.request(
                "DELETE", "/store/items", json={"namespace": ["notes", "ann"], "key": "k1"}
            )
            assert gone.status_code == 204
            missing = await http.get("/store/items", params={"namespace": "notes.ann", "key": "k1"})
            assert missing.status_code == 200
            assert missing.json() is None
        shutdown.set()


async def test_a_failing_store_database_is_a_503_naming_no_internals(
    anyio_backend: str, tmp_path: Path
) -> None:
    from scopegraph.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "store.db")
    store.close()  # every call now fails with StoreError
    app = create_app({"memo": memo_graph}, database=str(tmp_path / "server.db"), store=store)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://server") as http:
        response = await http.get("/store/items", params={"namespace": "a", "key": "k"})
    assert response.status_code == 503
    assert "store.db" not in response.text
