"""Custom auth (``langgraph_sdk.Auth`` handlers) on a real ``scopegraph serve``, through the
official Python SDK: two users by bearer token (``tests/_auth_app.py``, LangGraph's
"resource authorization" example), each of whom never sees, reads, changes, runs on or
finds the other's threads, runs, crons, assistants and store items.

The SDK is an asyncio library: these tests run on asyncio (the server's own trio runs are
covered elsewhere).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import NotFoundError

from _server import EXAMPLE, Server, running_server
from test_server_auth_backends import shared_reads

pytestmark = pytest.mark.anyio

APP = Path(__file__).resolve().parent / "_auth_app.py"
DOCS_EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "custom_auth.py"
GRAPHS = (f"whoami={APP}:graph", f"agent={EXAMPLE}:graph")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("auth")
    args = ["--auth", f"{APP}:auth", "--cron-interval", "0.1"]
    with running_server(tmp, graphs=GRAPHS, extra_args=args) as server:
        yield server


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def alice(server: Server) -> AsyncIterator[Any]:
    async with get_client(url=server.url, headers=bearer("alice-token")) as client:
        yield client


@pytest.fixture
async def bob(server: Server) -> AsyncIterator[Any]:
    async with get_client(url=server.url, headers=bearer("bob-token")) as client:
        yield client


@pytest.fixture
async def carol(server: Server) -> AsyncIterator[Any]:
    async with get_client(url=server.url, headers=bearer("carol-token")) as client:
        yield client


def status_of(exc: pytest.ExceptionInfo[httpx.HTTPStatusError]) -> int:
    return exc.value.response.status_code


async def refused(attempt: Awaitable[Any], status: int = 404) -> None:
    """``attempt`` fails with ``status`` (the SDK raises its NotFoundError for some
    calls, httpx's error for others: both are ``HTTPStatusError``)."""
    with pytest.raises(httpx.HTTPStatusError) as failed:
        await attempt
    assert status_of(failed) == status, failed.value.response.text


# -- authentication ----------------------------------------------------------------------


def test_a_request_without_a_valid_token_is_refused_with_the_handlers_status(
    server: Server,
) -> None:
    missing = httpx.post(f"{server.url}/threads/search", json={}, timeout=10)
    assert missing.status_code == 401
    assert missing.json()["detail"] == "Invalid token"
    wrong = httpx.get(f"{server.url}/assistants/whoami", headers=bearer("nope"), timeout=10)
    assert wrong.status_code == 401
    teapot = httpx.post(
        f"{server.url}/threads", json={}, headers=bearer("teapot-token"), timeout=10
    )
    assert teapot.status_code == 418
    assert teapot.json()["detail"] == "I'm a teapot"
    assert teapot.headers["x-teapot"] == "short and stout"
    # LangGraph's open routes: health, info, docs
    for path in ("/ok", "/info", "/openapi.json"):
        assert httpx.get(f"{server.url}{path}", timeout=10).status_code == 200, path


async def test_the_sdk_gets_401_without_a_token(server: Server) -> None:
    async with get_client(url=server.url, headers={}) as anonymous:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await anonymous.threads.create()
    assert status_of(refused) == 401


# -- threads ------------------------------------------------------------------------------


async def test_a_thread_is_its_creators_only(alice: Any, bob: Any) -> None:
    thread = await alice.threads.create(metadata={"topic": "otters"})
    tid = thread["thread_id"]
    assert thread["metadata"] == {"topic": "otters", "owner": "alice"}  # stamped on create
    assert (await alice.threads.get(tid))["metadata"]["owner"] == "alice"
    for attempt in (
        bob.threads.get(tid),
        bob.threads.update(tid, metadata={"topic": "seals"}),
        bob.threads.delete(tid),
        bob.threads.copy(tid),
        bob.threads.get_state(tid),
        bob.threads.get_history(tid),
        bob.threads.update_state(tid, {"seen": {}}),
        bob.threads.prune([tid]),
    ):
        await refused(attempt)
    # bob's search and count find nothing of alice's, even asking for her metadata
    theirs = await bob.threads.create()
    found = await bob.threads.search(limit=100)
    assert [t["thread_id"] for t in found] == [theirs["thread_id"]]
    # asking for alice's: nothing she has not shared with him
    assert await bob.threads.search(metadata={"owner": "alice"}) == []
    assert await bob.threads.count(metadata={"topic": "otters"}) == 0
    assert await bob.threads.count() == 1
    mine = await alice.threads.search(metadata={"topic": "otters"})
    assert [t["thread_id"] for t in mine] == [tid]
    # a thread id of alice's cannot be taken over by creating it again
    with pytest.raises(httpx.HTTPStatusError) as taken:
        await bob.threads.create(thread_id=tid, if_exists="do_nothing")
    assert status_of(taken) == 409
    # nothing of bob's changed alice's thread
    assert (await alice.threads.get(tid))["metadata"] == {"topic": "otters", "owner": "alice"}
    assert (await alice.threads.prune([tid]))["pruned_count"] == 1


async def test_a_handler_returning_false_is_403(carol: Any) -> None:
    thread = await carol.threads.create()
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await carol.threads.delete(thread["thread_id"])  # carol lacks "delete"
    assert status_of(refused) == 403
    assert refused.value.response.json()["detail"] == "Forbidden"
    assert (await carol.threads.get(thread["thread_id"]))["thread_id"] == thread["thread_id"]


async def test_a_filter_with_an_unknown_operator_is_langgraphs_500(carol: Any) -> None:
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await carol.crons.search()
    assert status_of(refused) == 500
    assert refused.value.response.json()["detail"] == (
        "Your auth handler returned a filter with an invalid key. The key must be one of $eq "
        "or $contains. Check the filter returned by your auth handler (it gave '$ne' for "
        "'owner')."
    )


# -- runs ---------------------------------------------------------------------------------


async def test_a_run_sees_its_user_and_only_its_user_reaches_it(alice: Any, bob: Any) -> None:
    thread = await alice.threads.create()
    tid = thread["thread_id"]
    run = await alice.runs.create(tid, "whoami", input={})
    final = await alice.runs.join(tid, run["run_id"])
    assert final["seen"] == {
        "identity": "alice",
        "item": "alice",
        "display_name": "alice",
        "user_id": "alice",
        "permissions": ["delete"],
        "note": None,
    }
    rid = run["run_id"]
    for attempt in (
        bob.runs.create(tid, "whoami", input={}),
        bob.runs.wait(tid, "whoami", input={}),
        bob.runs.list(tid),
        bob.runs.get(tid, rid),
        bob.runs.join(tid, rid),
        bob.runs.cancel(tid, rid),
        bob.runs.delete(tid, rid),
    ):
        await refused(attempt)
    with pytest.raises(NotFoundError):
        async for _ in bob.runs.stream(tid, "whoami", input={}):
            pass
    with pytest.raises(NotFoundError):
        async for _ in bob.runs.join_stream(tid, rid):
            pass
    assert [r["run_id"] for r in await alice.runs.list(tid)] == [rid]
    # a stateless run of bob's sees bob
    assert (await bob.runs.wait(None, "whoami", input={}))["seen"]["identity"] == "bob"


async def test_a_stateless_run_is_its_users_while_it_runs(
    server: Server, alice: Any, bob: Any
) -> None:
    """Its temporary thread is not stored: the run's own metadata (its owner) decides."""
    body = {"assistant_id": "agent", "input": {"prompt": "one two"}, "stream_mode": "custom"}
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        http.stream("POST", "/runs/stream", json=body, headers=bearer("alice-token")) as stream,
    ):
        _, tid, _, rid = stream.headers["content-location"].strip("/").split("/")
        assert (await alice.runs.get(tid, rid))["run_id"] == rid
        await refused(bob.runs.get(tid, rid))
        await refused(bob.runs.cancel(tid, rid))
        await alice.runs.cancel(tid, rid, wait=True)


async def test_a_thread_a_run_creates_is_its_users(alice: Any, bob: Any) -> None:
    tid = "6f1b7a52-8d0e-4a36-9a43-1c2d3e4f5a6b"
    values = await alice.runs.wait(tid, "whoami", input={}, if_not_exists="create")
    assert values["seen"]["identity"] == "alice"
    assert (await alice.threads.get(tid))["metadata"]["owner"] == "alice"
    with pytest.raises(NotFoundError):
        await bob.threads.get(tid)


async def test_a_create_run_handler_changes_the_runs_input(alice: Any) -> None:
    values = await alice.runs.wait(None, "whoami", input={"note": "stamp"})
    assert values["seen"]["note"] == "stamped for alice"
    assert values["note"] == "stamped for alice"


async def test_carol_display_name_reaches_the_graph(carol: Any) -> None:
    values = await carol.runs.wait(None, "whoami", input={})
    assert values["seen"]["display_name"] == "Carol C."
    assert values["seen"]["permissions"] == []


# -- crons --------------------------------------------------------------------------------


async def test_a_cron_is_its_creators_only(alice: Any, bob: Any) -> None:
    thread = await alice.threads.create()
    tid = thread["thread_id"]
    cron = await alice.crons.create_for_thread(tid, "whoami", schedule="0 0 1 1 *")
    stateless = await alice.crons.create("whoami", schedule="0 0 1 1 *")
    for made in (cron, stateless):
        assert made["metadata"]["owner"] == "alice"
        assert made["user_id"] == "alice"  # its maker, as LangGraph's records show
    for attempt in (
        bob.crons.delete(cron["cron_id"]),
        bob.crons.update(cron["cron_id"], schedule="0 0 2 1 *"),
        bob.crons.create_for_thread(tid, "whoami", schedule="0 0 1 1 *"),
    ):
        await refused(attempt)
    assert await bob.crons.search() == []
    assert await bob.crons.count() == 0
    found = {c["cron_id"] for c in await alice.crons.search()}
    assert found == {cron["cron_id"], stateless["cron_id"]}
    assert await alice.crons.count() == 2
    for made in (cron, stateless):
        await alice.crons.delete(made["cron_id"])


async def test_the_runs_of_a_users_cron_see_that_user(alice: Any) -> None:
    thread = await alice.threads.create()
    tid = thread["thread_id"]
    cron = await alice.crons.create_for_thread(tid, "whoami", schedule="* * * * * *", input={})
    try:
        for _ in range(300):  # a schedule is a matter of time: bounded tries
            runs = await alice.runs.list(tid)
            if any(r["status"] == "success" for r in runs):
                break
            await anyio.sleep(0.05)
        else:
            raise AssertionError("the cron made no run within 15 s")
    finally:
        await alice.crons.delete(cron["cron_id"])
    assert all(r["metadata"]["owner"] == "alice" for r in runs)
    assert (await alice.threads.get_state(tid))["values"]["seen"]["identity"] == "alice"


async def test_a_crons_create_handler_changes_its_payload(alice: Any) -> None:
    cron = await alice.crons.create("whoami", schedule="0 0 1 1 *", input={"note": "stamp"})
    assert cron["payload"]["input"] == {"note": "stamped for alice"}
    assert cron["metadata"]["owner"] == "alice"
    await alice.crons.delete(cron["cron_id"])


async def test_a_cron_read_by_another_user_is_404(server: Server, alice: Any) -> None:
    cron = await alice.crons.create("whoami", schedule="0 0 1 1 *")
    url = f"{server.url}/runs/crons/{cron['cron_id']}"
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.get(url, headers=bearer("bob-token"))).status_code == 404
        assert (await http.get(url, headers=bearer("alice-token"))).status_code == 200
    await alice.crons.delete(cron["cron_id"])


# -- assistants ---------------------------------------------------------------------------


async def test_an_assistant_is_its_creators_only(alice: Any, bob: Any, carol: Any) -> None:
    made = await alice.assistants.create("whoami", name="alices", metadata={"team": "a"})
    aid = made["assistant_id"]
    assert made["metadata"] == {"team": "a", "owner": "alice"}
    for attempt in (
        bob.assistants.get(aid),
        bob.assistants.update(aid, metadata={"team": "b"}),
        bob.assistants.get_graph(aid),
        bob.assistants.get_schemas(aid),
        bob.assistants.delete(aid),
        bob.runs.wait(None, aid, input={}),
    ):
        await refused(attempt)
    await refused(bob.assistants.create("whoami", assistant_id=aid, if_exists="do_nothing"), 409)
    assert await bob.assistants.search(metadata={"team": "a"}) == []
    assert await bob.assistants.count(metadata={"team": "a"}) == 0
    assert await bob.assistants.get_versions(aid) == []
    assert [a["assistant_id"] for a in await alice.assistants.search(metadata={"team": "a"})] == [
        aid
    ]
    assert (await alice.runs.wait(None, aid, input={}))["seen"]["identity"] == "alice"
    # an HTTPException raised by a handler: its status, detail and headers
    with pytest.raises(httpx.HTTPStatusError) as kept:
        await carol.assistants.delete(aid)
    assert status_of(kept) == 451
    assert kept.value.response.json()["detail"] == "assistants are kept for audit"
    assert kept.value.response.json()["error"] == "HTTPError"
    assert kept.value.response.headers["x-audit"] == "1"
    await alice.assistants.delete(aid)
    with pytest.raises(NotFoundError):
        await alice.assistants.get(aid)


# -- store --------------------------------------------------------------------------------


async def test_store_items_are_scoped_to_their_user(alice: Any, bob: Any) -> None:
    await alice.store.put_item(["notes"], "plan", {"text": "otters", "owner": "alice"})
    mine = await alice.store.get_item(["notes"], "plan")
    assert mine["namespace"] == ["alice", "notes"]  # the handler rewrote it
    assert await bob.store.get_item(["notes"], "plan") is None
    assert await bob.store.get_item(["alice", "notes"], "plan") is None  # -> bob.alice.notes
    assert (await bob.store.search_items(["notes"]))["items"] == []
    assert (await bob.store.search_items(["alice"]))["items"] == []
    assert (await bob.store.list_namespaces())["namespaces"] == []
    await bob.store.delete_item(["notes"], "plan")  # bob's own (none): alice's stays
    found = (await alice.store.search_items(["notes"]))["items"]
    assert [(i["namespace"], i["key"]) for i in found] == [(["alice", "notes"], "plan")]
    assert (await alice.store.list_namespaces())["namespaces"] == [["alice", "notes"]]


# -- the configuration ----------------------------------------------------------------------


async def test_the_docs_example_keeps_its_users_apart(tmp_path: Path) -> None:
    args = ["--auth", f"{DOCS_EXAMPLE}:auth"]
    with running_server(tmp_path, graphs=GRAPHS, extra_args=args) as server:
        async with (
            get_client(url=server.url, headers=bearer("user1-token")) as user1,
            get_client(url=server.url, headers=bearer("user2-token")) as user2,
            get_client(url=server.url, headers={}) as anonymous,
        ):
            thread = await user1.threads.create()
            tid = thread["thread_id"]
            assert thread["metadata"] == {"owner": "user1"}
            values: Any = await user1.runs.wait(tid, "whoami", input={})
            assert values["seen"]["identity"] == "user1"
            await user1.store.put_item(["memories"], "m", {"text": "otters"})
            await refused(user2.threads.get(tid))
            await refused(user2.runs.list(tid))
            assert await user2.threads.search() == []
            assert await user2.store.get_item(["memories"], "m") is None
            assert (await user1.store.get_item(["memories"], "m"))["value"] == {"text": "otters"}
            await refused(anonymous.threads.search(), 401)


def test_api_key_and_custom_auth_both_apply(tmp_path: Path) -> None:
    args = ["--auth", f"{APP}:auth"]
    with running_server(tmp_path, graphs=GRAPHS, api_key="k3y", extra_args=args) as server:
        url = f"{server.url}/threads/search"
        assert (
            httpx.post(url, json={}, headers=bearer("alice-token"), timeout=10).status_code == 401
        )
        with_key = {**bearer("alice-token"), "x-api-key": "k3y"}
        assert httpx.post(url, json={}, headers=with_key, timeout=10).status_code == 200
        assert httpx.post(url, json={}, headers={"x-api-key": "k3y"}, timeout=10).status_code == 401


HTTP_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/hello")
def hello() -> dict[str, str]:
    return {"hello": "world"}
"""


def test_a_langgraph_json_project_with_auth_runs_unchanged(tmp_path: Path) -> None:
    """LangGraph's documented project layout: graphs, env, http.app and auth.path (here a
    module path, found from the file's folder), as ``langgraph dev`` serves it."""
    (tmp_path / "my_agent").mkdir()
    (tmp_path / "my_agent" / "agent.py").write_text(APP.read_text())
    (tmp_path / "my_agent" / "webapp.py").write_text(HTTP_APP)
    (tmp_path / ".env").write_text("UNUSED=1\n")
    (tmp_path / "langgraph.json").write_text(
        json.dumps(
            {
                "dependencies": ["."],
                "graphs": {"whoami": "./my_agent/agent.py:graph"},
                "env": ".env",
                "http": {"app": "./my_agent/webapp.py:app"},
                "auth": {"path": "my_agent.agent:auth", "disable_studio_auth": True},
            }
        )
    )
    with running_server(tmp_path, graphs=()) as server:
        run = httpx.post(
            f"{server.url}/runs/wait",
            json={"assistant_id": "whoami", "input": {}},
            headers=bearer("bob-token"),
            timeout=30,
        )
        assert run.status_code == 200, run.text
        assert run.json()["seen"]["identity"] == "bob"
        anonymous = httpx.post(f"{server.url}/runs/wait", json={"assistant_id": "whoami"})
        assert anonymous.status_code == 401
        # the custom routes of http.app are not behind auth (LangGraph's default)
        assert httpx.get(f"{server.url}/hello", timeout=10).json() == {"hello": "world"}


async def test_an_or_filter_shares_reads_on_sqlite(server: Server) -> None:
    await shared_reads(server.url)
