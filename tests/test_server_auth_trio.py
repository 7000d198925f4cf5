"""Custom auth in ``create_app`` served in-process by hypercorn, under asyncio and under
trio: a plain ``def`` authenticate handler (run in a worker thread), the owner filter of
the global handler, the user in the node's config, and a ``$contains`` filter that
shares threads with their participants (reads, searches and counts)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from langgraph_sdk import Auth

from _auth_app import graph as whoami
from _server import free_port
from scopegraph.checkpoint import SqliteSaver
from scopegraph.server import create_app
from test_server_trio import serve, wait_until_serving

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning"),
]


def make_auth() -> Auth:
    auth = Auth()

    @auth.authenticate
    def authenticate(
        headers: dict[bytes, bytes],
        method: str,
        path: str,
        path_params: dict[str, str],
        query_params: Any,
    ) -> Any:
        if "deny" in query_params:
            raise Auth.exceptions.HTTPException(403, detail=f"denied {path_params}")
        token = headers.get(b"x-user")
        if token is None:
            raise Auth.exceptions.HTTPException(detail=f"{method} {path}: who are you?")
        return (["p"], {"identity": token.decode()})

    @auth.on
    async def owner(ctx: Auth.types.AuthContext, value: dict[str, Any]) -> dict[str, Any]:
        value.setdefault("metadata", {})["owner"] = ctx.user.identity
        return {"owner": ctx.user.identity}

    return auth


async def test_custom_auth_on_both_backends(anyio_backend: str, tmp_path: Path) -> None:
    app = create_app(
        {"whoami": whoami},
        SqliteSaver(tmp_path / "checkpoints.db"),
        database=str(tmp_path / "server.db"),
        auth=make_auth(),
    )
    port = free_port()
    shutdown = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(serve, app, port, shutdown, anyio_backend))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await wait_until_serving(http)
            anonymous = await http.post("/threads", json={})
            assert anonymous.status_code == 401
            assert anonymous.json()["detail"] == "POST /threads: who are you?"
            ann = {"x-user": "ann"}
            tid = (await http.post("/threads", json={}, headers=ann)).json()["thread_id"]
            done = await http.post(
                f"/threads/{tid}/runs/wait",
                json={"assistant_id": "whoami", "input": {}},
                headers=ann,
            )
            assert done.json()["seen"] == {
                "identity": "ann",
                "item": "ann",
                "display_name": "ann",
                "user_id": "ann",
                "permissions": ["p"],
                "note": None,
            }
            other = {"x-user": "ben"}
            assert (await http.get(f"/threads/{tid}", headers=other)).status_code == 404
            found = await http.post("/threads/search", json={}, headers=other)
            assert found.json() == []
            mine = await http.post("/threads/search", json={}, headers=ann)
            assert [t["thread_id"] for t in mine.json()] == [tid]
            denied = await http.get(f"/threads/{tid}/history?deny=1", headers=ann)
            assert denied.status_code == 403
            assert denied.json()["detail"] == f"denied {{'thread_id': '{tid}'}}"
        shutdown.set()


def sharing_auth() -> Auth:
    """Threads shared by a participants list: ``$contains`` filters."""
    auth = Auth()

    @auth.authenticate
    async def authenticate(headers: dict[bytes, bytes]) -> str:
        return headers[b"x-user"].decode()

    @auth.on.threads.create
    async def join(ctx: Auth.types.AuthContext, value: Any) -> None:
        people = value.setdefault("metadata", {}).setdefault("participants", [])
        if ctx.user.identity not in people:
            people.append(ctx.user.identity)

    @auth.on.threads
    async def shared(ctx: Auth.types.AuthContext, value: Any) -> Any:
        return {"participants": {"$contains": ctx.user.identity}}

    @auth.on.store
    async def labels(ctx: Auth.types.AuthContext, value: Any) -> Any:
        if value.get("key") == "forbidden":
            return False
        value["namespace"] = (f"{ctx.user.identity}.home", *value["namespace"])  # a dot
        return None

    return auth


async def test_a_contains_filter_shares_a_thread_with_its_participants(
    anyio_backend: str, tmp_path: Path
) -> None:
    app = create_app(
        {"whoami": whoami},
        SqliteSaver(tmp_path / "checkpoints.db"),
        database=str(tmp_path / "server.db"),
        auth=sharing_auth(),
    )
    port = free_port()
    shutdown = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(serve, app, port, shutdown, anyio_backend))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await wait_until_serving(http)
            body = {"metadata": {"participants": ["ben"], "topic": "t"}}
            made = await http.post("/threads", json=body, headers={"x-user": "ann"})
            tid = made.json()["thread_id"]
            assert made.json()["metadata"]["participants"] == ["ben", "ann"]
            for user, sees in (("ann", True), ("ben", True), ("cat", False)):
                got = await http.get(f"/threads/{tid}", headers={"x-user": user})
                assert got.status_code == (200 if sees else 404), user
                found = await http.post(
                    "/threads/search", json={"metadata": {"topic": "t"}}, headers={"x-user": user}
                )
                assert [t["thread_id"] for t in found.json()] == ([tid] if sees else []), user
                count = await http.post("/threads/count", json={}, headers={"x-user": user})
                assert count.json() == (1 if sees else 0), user
            # a store handler that refuses (403), or leaves a namespace that is not one (422)
            item = {"namespace": ["notes"], "key": "forbidden", "value": {}}
            put = await http.put("/store/items", json=item, headers={"x-user": "ann"})
            assert put.status_code == 403
            item["key"] = "k"
            put = await http.put("/store/items", json=item, headers={"x-user": "ann"})
            assert put.status_code == 422
            assert "the store auth handler left namespace" in put.json()["detail"]
        shutdown.set()
