"""What only the server sets, a client cannot: a request's ``config.configurable``,
``configurable`` and ``context`` lose LangGraph's reserved keys (the user custom auth
authenticated: ``langgraph_auth_user``, ``langgraph_auth_user_id``,
``langgraph_auth_permissions``; and LangGraph's bookkeeping), as LangGraph's server strips
them, so that without custom auth no client passes itself off as a user to the graph.
Through the Python SDK, in one process (SQLite) and in scale-out (PostgreSQL + Redis).

Asyncio only: the SDK is an asyncio library."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client

import _pg
import _redis
from _cluster import running_cluster
from _server import running_server

pytestmark = pytest.mark.anyio

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

PEEK = f"peek={Path(__file__).resolve().parent / '_auth_app.py'}:peek_graph"
POSING = {
    "langgraph_auth_user": {"identity": "admin", "permissions": ["all"]},
    "langgraph_auth_user_id": "admin",
    "langgraph_auth_permissions": ["all"],
    "custom": "kept",
}
"""A client's configurable posing as a user (and a key of its own, which is kept)."""
RESERVED_METADATA_KEYS = (
    "thread_id",
    "assistant_id",
    "run_id",
    "cron_id",
    "counters_since_delta_snapshot",
)
NOBODY: dict[str, Any] = {"auth_keys": [], "user_id": None, "custom": "kept"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def one_process(tmp_path: Path) -> AsyncIterator[str]:
    with running_server(tmp_path, graphs=(PEEK,)) as server:
        yield server.url


@pytest.fixture
async def scale_out(tmp_path: Path, pg_dsn: str, redis_url: str) -> AsyncIterator[str]:
    with running_cluster(
        tmp_path,
        pg_dsn,
        redis_url,
        apis=1,
        workers=1,
        worker_backend="asyncio",
        extra_graphs=(PEEK,),
    ) as cluster:
        yield cluster.apis[0]


async def no_client_poses_as_a_user(url: str) -> None:
    async with get_client(url=url) as client:
        thread = await client.threads.create()
        tid = thread["thread_id"]
        config: Any = {"configurable": POSING}
        run = await client.runs.create(tid, "peek", input={}, config=config)
        assert (await client.runs.join(tid, run["run_id"]))["seen"] == NOBODY
        stored: Any = await client.runs.get(tid, run["run_id"])
        assert "langgraph_auth_user" not in stored["kwargs"]["config"]["configurable"]
        stateless: Any = await client.runs.wait(None, "peek", input={}, config=config)
        assert stateless["seen"] == NOBODY
        # an assistant's config and context lose them too (its runs would get them)
        assistant = await client.assistants.create("peek", config=config)
        assert assistant["config"]["configurable"] == {"custom": "kept"}
        ran: Any = await client.runs.wait(tid, assistant["assistant_id"], input={})
        assert ran["seen"] == NOBODY
        context: Any = {"langgraph_auth_user_id": "admin", "x": 1}
        assistant = await client.assistants.create("peek", context=context)
        assert assistant["context"] == {"x": 1}

        # nor the metadata keys only the server sets (LangGraph's server's list)
        forged = {key: "forged" for key in RESERVED_METADATA_KEYS}
        meta = await client.threads.create(metadata={**forged, "k": 1})
        mid = meta["thread_id"]
        assert meta["metadata"] == {"k": 1}
        patched: Any = await client.threads.update(mid, metadata={**forged, "k": 2})
        assert not set(forged) & set(patched["metadata"])
        forged_config: Any = {"metadata": forged}
        made = await client.runs.create(
            mid, "peek", input={}, metadata={**forged, "m": 1}, config=forged_config
        )
        await client.runs.join(mid, made["run_id"])
        run_meta: Any = (await client.runs.get(mid, made["run_id"]))["metadata"]
        assert run_meta["m"] == 1
        assert "forged" not in run_meta.values(), run_meta
        thread_meta: Any = (await client.threads.get(mid))["metadata"]
        assert "forged" not in thread_meta.values(), thread_meta
        owned = await client.assistants.create("peek", metadata={**forged, "a": 1})
        assert owned["metadata"] == {"a": 1}
        cron = await client.crons.create_for_thread(
            mid, "peek", schedule="0 9 * * 1", metadata={**forged, "c": 1}, enabled=False
        )
        assert "forged" not in (cron.get("metadata") or {}).values(), cron


async def test_no_client_poses_as_a_user_in_one_process(one_process: str) -> None:
    await no_client_poses_as_a_user(one_process)


async def test_no_client_poses_as_a_user_in_scale_out(scale_out: str) -> None:
    await no_client_poses_as_a_user(scale_out)
