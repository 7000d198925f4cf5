"""Custom auth on the other backends, through the Python SDK: one process on PostgreSQL,
and scale-out (an API-only ``scopegraph serve`` and a ``scopegraph worker`` on
PostgreSQL + Redis), where the API process authorizes and the worker runs the run with
the user the API process put into its config (through the queue row). ``shared_reads``
(an ``$or`` filter: owner or shared with) runs on SQLite too (``test_server_auth.py``).

Asyncio only: the SDK is an asyncio library."""

from __future__ import annotations

import uuid
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


async def shared_reads(url: str) -> None:
    """The handlers' ``$or`` filter for reads and searches (owner, or listed in
    ``metadata.shared_with``): bob reads, finds and counts what alice shares with him,
    never what she does not, in SQL (searches, counts, pages) and record by record (reads,
    runs); what he may not change (a run on her thread, an update) stays 404."""
    async with (
        get_client(url=url, headers={"Authorization": "Bearer alice-token"}) as alice,
        get_client(url=url, headers={"Authorization": "Bearer bob-token"}) as bob,
    ):
        topic = f"seals-{uuid.uuid4()}"  # what this call made (the server may be shared)
        private = await alice.threads.create(metadata={"topic": topic})
        shared = await alice.threads.create(metadata={"topic": topic, "shared_with": ["bob"]})
        sid = shared["thread_id"]
        own = await bob.threads.create(metadata={"topic": topic})
        run = await alice.runs.create(sid, "whoami", input={})
        await alice.runs.join(sid, run["run_id"])

        read: Any = await bob.threads.get(sid)
        assert read["metadata"]["owner"] == "alice"
        state: Any = await bob.threads.get_state(sid)
        assert state["values"]["seen"]["identity"] == "alice"
        assert (await bob.runs.get(sid, run["run_id"]))["status"] == "success"
        assert [r["run_id"] for r in await bob.runs.list(sid)] == [run["run_id"]]
        found = await bob.threads.search(metadata={"topic": topic})
        assert [t["thread_id"] for t in found] == [own["thread_id"], sid]  # newest first
        assert await bob.threads.count(metadata={"topic": topic}) == 2
        paged = await bob.threads.search(metadata={"topic": topic}, limit=1, offset=1)
        assert [t["thread_id"] for t in paged] == [sid]
        # asking for alice's: only the alternative that can match is left
        theirs = await bob.threads.search(metadata={"owner": "alice", "topic": topic})
        assert [t["thread_id"] for t in theirs] == [sid]
        with pytest.raises(httpx.HTTPStatusError) as failed:
            await bob.threads.get(private["thread_id"])
        assert failed.value.response.status_code == 404
        for attempt in (
            bob.runs.create(sid, "whoami", input={}),  # create_run: the owner's only
            bob.threads.update(sid, metadata={"topic": "otters"}),
        ):
            with pytest.raises(httpx.HTTPStatusError) as failed:
                await attempt
            assert failed.value.response.status_code == 404

        lent = await alice.assistants.create(
            "whoami", name="lent", metadata={"topic": topic, "shared_with": ["bob"]}
        )
        await alice.assistants.create("whoami", name="kept", metadata={"topic": topic})
        assert (await bob.assistants.get(lent["assistant_id"]))["name"] == "lent"
        assert [a["name"] for a in await bob.assistants.search(metadata={"topic": topic})] == [
            "lent"
        ]
        assert await bob.assistants.count(metadata={"topic": topic}) == 1
        cron: Any = await alice.crons.create_for_thread(
            sid, "whoami", schedule="0 0 1 1 *", metadata={"shared_with": ["bob"]}
        )
        await alice.crons.create_for_thread(sid, "whoami", schedule="0 0 1 1 *")
        assert [c["cron_id"] for c in await bob.crons.search(thread_id=sid)] == [cron["cron_id"]]
        assert await bob.crons.count(thread_id=sid) == 1

        team = ["team", topic]  # the store.search handler's $or: own items or public ones
        await alice.store.put_item(team, "a-private", {"author": "alice", "public": False})
        await alice.store.put_item(team, "a-public", {"author": "alice", "public": True})
        await bob.store.put_item(team, "b-private", {"author": "bob", "public": False})
        bobs: Any = await bob.store.search_items(team)
        assert sorted(i["key"] for i in bobs["items"]) == ["a-public", "b-private"]
        alices: Any = await alice.store.search_items(team)
        assert sorted(i["key"] for i in alices["items"]) == ["a-private", "a-public"]
        asked: Any = await bob.store.search_items(team, filter={"author": "alice"})
        assert [i["key"] for i in asked["items"]] == ["a-public"]
        either = {"$or": [{"author": "alice"}, {"public": False}]}  # and the handler's $or
        asked = await bob.store.search_items(team, filter=either)
        assert sorted(i["key"] for i in asked["items"]) == ["a-public", "b-private"]


async def test_two_users_are_apart_in_one_process_on_postgres(one_process: str) -> None:
    await two_users_apart(one_process)


async def test_two_users_are_apart_in_scale_out(scale_out: str) -> None:
    await two_users_apart(scale_out)


async def test_an_or_filter_shares_reads_in_one_process_on_postgres(one_process: str) -> None:
    await shared_reads(one_process)


async def test_an_or_filter_shares_reads_in_scale_out(scale_out: str) -> None:
    await shared_reads(scale_out)
