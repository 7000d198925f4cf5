"""The ``store`` and ``checkpointer`` keys of a ``langgraph.json``, as LangGraph's server
reads them, against real ``scopegraph serve`` processes (and their ``scopegraph worker``
processes in scale-out) through the official LangGraph SDK:

- ``store.index``: semantic search in the server's store (``client.store.search_items(...,
  query=...)``), with an embedding function given as a file path, a module path or an
  ``Embeddings`` object, on SQLite, PostgreSQL and in scale-out (where a worker embeds
  what its runs put);
- ``store.ttl``: items expire and the server sweeps them;
- ``checkpointer.ttl``: threads without a ``ttl`` of their own are swept;
- every key this server does not have is refused by name.

TTLs are a matter of time: they are a fraction of a second here, and the tests poll
(bounded) for what the sweeper does, as the thread ``ttl`` tests do. The SDK is asyncio
only.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError

import _pg
import _redis
from _cluster import as_url
from _server import Server, free_port, running_server

pytestmark = pytest.mark.anyio

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

STORE_GRAPH = Path(__file__).with_name("_store_graph.py")
WORDS = ("cat", "dog", "fish")

# One deterministic embedding: how often each word occurs, plus a constant (no zero
# vector). The same function in the three forms a langgraph.json may name.
VECTOR = f"""
WORDS = {WORDS!r}


def vector(text):
    words = text.lower().split()
    return [float(words.count(word)) for word in WORDS] + [0.1]
"""
ASYNC_FUNCTION = (
    VECTOR
    + """

async def aembed(texts):
    return [vector(text) for text in texts]
"""
)
SYNC_FUNCTION = (
    VECTOR
    + """

def embed(texts):
    return [vector(text) for text in texts]
"""
)
EMBEDDINGS_OBJECT = (
    VECTOR
    + """
from langchain_core.embeddings import Embeddings


class Counts(Embeddings):
    def embed_documents(self, texts):
        return [vector(text) for text in texts]

    def embed_query(self, text):
        return vector(text)


embeddings = Counts()
"""
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def project(folder: Path, **keys: Any) -> Path:
    """A project folder with the store test graph and a langgraph.json of ``keys``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "memo.py").write_text(STORE_GRAPH.read_text())
    config = {"graphs": {"memo": "./memo.py:graph"}, "dependencies": ["."], **keys}
    path = folder / "langgraph.json"
    path.write_text(json.dumps(config))
    return path


def index(embed: str) -> dict[str, Any]:
    return {"index": {"embed": embed, "dims": len(WORDS) + 1, "fields": ["text"]}}


async def until(check: Any, what: str, seconds: float = 15.0) -> None:
    """Poll ``await check()`` until it is true (bounded tries)."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await anyio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def serving(config: Path, *, db: str | None = None, extra: tuple[str, ...] = ()) -> Any:
    """``scopegraph serve --config CONFIG`` (a context manager giving the Server)."""
    return running_server(
        config.parent, graphs=(), db=db, extra_args=("--config", str(config), *extra)
    )


@pytest.fixture
async def client_of() -> AsyncIterator[Any]:
    """``client_of(server)``: an SDK client, closed at the end of the test."""
    clients: list[Any] = []

    def make(server: Server) -> Any:
        client = get_client(url=server.url)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def semantic_search(client: Any) -> None:
    """Items put through the API and by a run rank by similarity to the query."""
    store = client.store
    await store.put_item(["pets"], "c", {"text": "cat and cat"})
    await store.put_item(["pets"], "d", {"text": "one dog"})
    await store.put_item(["pets"], "f", {"text": "fish fish dog"})
    await store.put_item(["pets"], "plain", {"text": "dog"}, index=False)  # not embedded
    found = (await store.search_items(["pets"], query="dog"))["items"]
    assert [i["key"] for i in found] == ["d", "f", "c", "plain"]
    scores = [i["score"] for i in found]
    assert scores[0] > scores[1] > scores[2]
    assert scores[3] is None
    found = (await store.search_items(["pets"], query="cat", limit=1))["items"]
    assert [i["key"] for i in found] == ["c"]
    # what a run puts through runtime.store is embedded too (in scale-out: by a worker)
    await store.put_item(["notes", "ann"], "cat nap", {"text": "cat nap"})
    await client.runs.wait(None, "memo", input={"user": "ann", "note": "my fish swims"})
    found = (await store.search_items(["notes", "ann"], query="fish"))["items"]
    assert [i["key"] for i in found] == ["my fish swims", "cat nap"]
    assert found[0]["score"] > found[1]["score"]


async def test_store_index_with_an_async_function_file_on_sqlite(
    tmp_path: Path, client_of: Any
) -> None:
    config = project(tmp_path / "app", store=index("./embeddings.py:aembed"))
    (config.parent / "embeddings.py").write_text(ASYNC_FUNCTION)
    with serving(config) as server:
        await semantic_search(client_of(server))


async def test_store_index_with_a_module_path_function_on_postgres(
    tmp_path: Path, pg_dsn: str, client_of: Any
) -> None:
    config = project(tmp_path / "app", store=index("vectors.counting:embed"))
    package = config.parent / "vectors"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "counting.py").write_text(SYNC_FUNCTION)
    with serving(config, db=as_url(pg_dsn)) as server:
        await semantic_search(client_of(server))


async def test_store_index_with_an_embeddings_object_in_scale_out(
    tmp_path: Path, pg_dsn: str, redis_url: str, client_of: Any
) -> None:
    """The API process and its worker process read the same langgraph.json: the run
    (on the worker) embeds what it puts."""
    config = project(tmp_path / "app", store=index("./embeddings.py:embeddings"))
    (config.parent / "embeddings.py").write_text(EMBEDDINGS_OBJECT)
    extra = ("--redis", redis_url, "--workers", "1")
    with serving(config, db=as_url(pg_dsn), extra=extra) as server:
        await semantic_search(client_of(server))


async def test_store_ttl_expires_items_and_the_server_sweeps_them(
    tmp_path: Path, client_of: Any
) -> None:
    ttl = {"default_ttl": 0.002, "refresh_on_read": False, "sweep_interval_minutes": 0.001}
    config = project(tmp_path / "app", store={"ttl": ttl})  # 0.12 s; swept every 0.06 s
    with serving(config) as server:
        store = client_of(server).store
        await store.put_item(["t"], "short", {"v": 1})
        await store.put_item(["t"], "longer", {"v": 3}, ttl=60)

        async def swept() -> bool:
            return await store.get_item(["t"], "short") is None

        await until(swept, "the expired item is swept")
        assert (await store.get_item(["t"], "longer"))["value"] == {"v": 3}


async def gone(client: Any, thread_id: str) -> bool:
    try:
        await client.threads.get(thread_id)
    except NotFoundError:
        return True
    return False


async def threads_expire(client: Any) -> None:
    """Threads without a ttl of their own expire after default_ttl: one created, one
    created by a run; one with its own (longer) ttl is kept, a run on it included."""
    created = (await client.threads.create())["thread_id"]
    own = (await client.threads.create(ttl=60))["thread_id"]
    await client.runs.wait(own, "memo", input={"user": "own", "note": "kept"})
    by_run = "6f0d1a8e-0c55-4c8e-9a51-1c0b3d1f0a11"
    await client.runs.wait(
        by_run, "memo", input={"user": "bo", "note": "hi"}, if_not_exists="create"
    )
    for thread_id in (created, by_run):
        await until(functools.partial(gone, client, thread_id), f"{thread_id} is swept")
    assert not await gone(client, own)


THREAD_TTL = {"strategy": "delete", "default_ttl": 0.002, "sweep_interval_minutes": 0.001}


async def test_checkpointer_ttl_deletes_threads_on_sqlite(tmp_path: Path, client_of: Any) -> None:
    config = project(tmp_path / "app", checkpointer={"ttl": THREAD_TTL})
    with serving(config) as server:
        await threads_expire(client_of(server))


async def test_checkpointer_ttl_deletes_threads_in_scale_out(
    tmp_path: Path, pg_dsn: str, redis_url: str, client_of: Any
) -> None:
    config = project(tmp_path / "app", checkpointer={"ttl": THREAD_TTL})
    extra = ("--redis", redis_url, "--workers", "1")
    with serving(config, db=as_url(pg_dsn), extra=extra) as server:
        await threads_expire(client_of(server))


async def test_checkpointer_ttl_keep_latest_prunes_the_history(
    tmp_path: Path, pg_dsn: str, client_of: Any
) -> None:
    ttl = {**THREAD_TTL, "strategy": "keep_latest"}
    config = project(tmp_path / "app", checkpointer={"ttl": ttl})
    with serving(config, db=as_url(pg_dsn)) as server:
        client = client_of(server)
        thread_id = (await client.threads.create())["thread_id"]
        await client.runs.wait(thread_id, "memo", input={"user": "cy", "note": "a"})
        await client.runs.wait(thread_id, "memo", input={"user": "cy", "note": "b"})

        async def pruned() -> bool:
            return len(await client.threads.get_history(thread_id, limit=100)) == 1

        await until(pruned, "the history is pruned to the latest checkpoint")
        state = await client.threads.get_state(thread_id)
        assert sorted(state["values"]["notes"]) == ["a", "b"]


def scopegraph_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scopegraph._cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"store": {"path": "./s.py:store"}}, r"store\.path: a custom store is not supported"),
        (
            {"store": {"index": {"embed": "./e.py:f", "distance_type": "l2"}}},
            r"store\.index\.distance_type not supported by scopegraph serve \(it reads "
            r"store\.index\.embed, store\.index\.dims, store\.index\.fields\)",
        ),
        ({"store": {"index": {"dims": 3}}}, r"store\.index\.embed should be a string"),
        ({"store": {"index": {"embed": "./missing.py:f"}}}, r"store\.index\.embed: no file"),
        (
            {"store": {"index": {"embed": "openai:text-embedding-3-small"}}},
            r"store\.index\.embed: .*langchain-openai",
        ),
        ({"store": {"index": {"embed": "./memo.py:State"}, "other": 1}}, r"store\.other"),
        (
            {"store": {"index": {"embed": "./memo.py:graph"}}},
            r"store\.index\.embed '.*memo\.py:graph' is a CompiledStateGraph; expected a "
            r"function",
        ),
        ({"store": {"ttl": {"omit_expired": True}}}, r"store\.ttl\.omit_expired not supported"),
        ({"store": {"ttl": {"default_ttl": -1}}}, r"store\.ttl\.default_ttl should be a positive"),
        (
            {"checkpointer": {"ttl": {"strategy": "archive", "default_ttl": 5}}},
            r"checkpointer\.ttl\.strategy 'archive' is not supported; use 'delete' or "
            r"'keep_latest'",
        ),
        ({"checkpointer": {"serde": {"pickle_fallback": False}}}, r"checkpointer\.serde not"),
        ({"checkpointer": {"backend": "mongo"}}, r"checkpointer\.backend 'mongo' is not"),
        ({"checkpointer": {"ttl": {"ttl": 5}}}, r"checkpointer\.ttl\.ttl not supported"),
        (
            {"checkpointer": {"ttl": {"sweep_interval_minutes": 1}}, "_": ["--ttl-sweep", "9"]},
            r"the TTL sweep interval is set twice",
        ),
    ],
)
def test_store_and_checkpointer_keys_it_cannot_serve_are_refused_by_name(
    tmp_path: Path, keys: dict[str, Any], message: str
) -> None:
    args = keys.pop("_", [])
    config = project(tmp_path / "app", **keys)
    port = str(free_port())
    db = str(tmp_path / "server.db")
    result = scopegraph_cli("serve", "--port", port, "--db", db, *args, cwd=config.parent)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert re.search(message, result.stderr), result.stderr


def test_a_worker_reads_the_same_keys(tmp_path: Path) -> None:
    """``scopegraph worker --config`` refuses what ``serve`` refuses."""
    config = project(tmp_path / "app", store={"index": {"embed": "./missing.py:f"}})
    result = scopegraph_cli("worker", "--config", str(config), cwd=tmp_path)
    assert result.returncode == 2
    assert re.search(r"^scopegraph worker: .*store\.index\.embed: no file", result.stderr)


def test_create_app_takes_a_store_or_its_config_not_both() -> None:
    from _store_graph import graph
    from scopegraph.server import create_app
    from scopegraph.store import InMemoryStore

    with pytest.raises(ValueError, match=r"either store= .* or store_config="):
        create_app({"memo": graph}, store=InMemoryStore(), store_config={"ttl": {}})


def test_the_servers_sqlite_store_refreshes_on_read_unless_told_not_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LangGraph's server refreshes on read by default (``refresh_on_read`` defaults to
    true there); a bare ``SqliteStore`` does not without it (LangGraph's SqliteStore).
    The stores' clock is moved by the test."""
    from scopegraph.server._long_term import open_store
    from scopegraph.store import TTLConfig
    from scopegraph.store.sqlite import SqliteStore

    now = [time.time()]
    monkeypatch.setattr(time, "time", lambda: now[0])
    ttl: TTLConfig = {"default_ttl": 1.0}  # minutes
    stores = {
        "server": open_store(str(tmp_path / "a.db"), ttl=ttl),
        "server, refresh_on_read false": open_store(
            str(tmp_path / "b.db"), ttl={**ttl, "refresh_on_read": False}
        ),
        "bare SqliteStore": SqliteStore(tmp_path / "c.db", ttl=ttl),
    }
    for store in stores.values():
        store.put(("t",), "k", {"v": 1})
    now[0] += 50
    for store in stores.values():
        assert store.get(("t",), "k") is not None  # refreshes the server's only
    now[0] += 20  # 70 s after the write, 20 s after the read
    swept = {name: store.sweep_ttl() for name, store in stores.items()}  # type: ignore[attr-defined]
    assert swept == {"server": 0, "server, refresh_on_read false": 1, "bare SqliteStore": 1}
    for store in stores.values():
        store.close()  # type: ignore[attr-defined]
