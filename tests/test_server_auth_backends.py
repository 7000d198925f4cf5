"""Custom auth on the other backends, through the Python SDK: one process on PostgreSQL,
and scale-out (an API-only ``scopegraph serve`` and a ``scopegraph worker`` on
PostgreSQL + Redis), where the API process authorizes and the worker runs the run with
the user the API process put into its config (through the queue row).

Asyncio only: the SDK is an asyncio library."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

APP = Path(__file__).resolve().parent / "_auth_app.py"
WHOAMI = f"whoami={APP}:graph"
AUTH = ["--auth", f"{APP}:auth"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def one_process(tmp_path: Path, pg_dsn: str) -> AsyncIterator[str]:
    with running_server(tmp_path, graphs=(WHOAMI,), db=pg_dsn, extra_args=AUTH) as server:
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
        extra_graphs=(WHOAMI,),
        api_args=AUTH,
    ) as cluster:
        yield cluster.apis[0]


async def two_users_apart(url: str) -> None:
    """Alice's thread, run, assistant and store item are hers: bob reaches none of them,
    and her run's node sees her."""
    alice_headers = {"Authorization": "Bearer alice-token"}
    bob_headers = {"Authorization": "Bearer bob-token"}
    async with (
        get_client(url=url, headers=alice_headers) as alice,
        get_client(url=url, headers=bob_headers) as bob,
    ):
        thread = await alice.threads.create(metadata={"topic": "otters"})
        tid = thread["thread_id"]
        run = await alice.runs.create(tid, "whoami", input={})
        seen = (await alice.runs.join(tid, run["run_id"]))["seen"]
        assert (seen["identity"], seen["user_id"], seen["permissions"]) == (
            "alice",
            "alice",
            ["delete"],
        )
        assistant = await alice.assistants.create("whoami", name="hers")
        await alice.store.put_item(["notes"], "k", {"v": 1})

        attempts: list[Any] = [
            bob.threads.get(tid),
            bob.threads.get_state(tid),
            bob.runs.get(tid, run["run_id"]),
            bob.runs.join(tid, run["run_id"]),
            bob.runs.create(tid, "whoami", input={}),
            bob.assistants.get(assistant["assistant_id"]),
        ]
        for attempt in attempts:
            with pytest.raises(httpx.HTTPStatusError) as failed:
                await attempt
            assert failed.value.response.status_code == 404
        assert await bob.threads.search(metadata={"topic": "otters"}) == []
        assert await bob.threads.count() == 0
        assert await bob.assistants.search(metadata={"owner": "alice"}) == []
        assert await bob.store.get_item(["notes"], "k") is None
        assert [t["thread_id"] for t in await alice.threads.search()] == [tid]
        # bob's own stateless run sees bob, on whichever process runs it
        values: Any = await bob.runs.wait(None, "whoami", input={})
        assert values["seen"]["identity"] == "bob"


async def test_two_users_are_apart_in_one_process_on_postgres(one_process: str) -> None:
    await two_users_apart(one_process)


async def test_two_users_are_apart_in_scale_out(scale_out: str) -> None:
    await two_users_apart(scale_out)
