"""An ``@entrypoint`` served by ``scopegraph serve`` and driven with the LangGraph SDK:
streamed task updates, an interrupt, a ``Command(resume=...)``, the thread's state."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client

from _server import running_server

pytestmark = pytest.mark.anyio

PROGRAM = """
from scopegraph.func import entrypoint, task
from scopegraph.types import interrupt


@task
async def square(x: int) -> int:
    return x * x


@entrypoint()
async def graph(request: dict) -> dict:
    squares = [await f for f in [square(n) for n in request["numbers"]]]
    approved = interrupt({"squares": squares})
    return {"squares": squares, "approved": approved}
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the SDK's client (httpx) on the test's side; the server is its own


async def test_an_entrypoint_served_to_the_sdk(tmp_path: Path) -> None:
    program = tmp_path / "functional_app.py"
    program.write_text(textwrap.dedent(PROGRAM))
    with running_server(tmp_path, graphs=[f"workflow={program}:graph"]) as server:
        client: Any
        async with get_client(url=server.url) as client:
            thread = await client.threads.create()
            parts = [
                p
                async for p in client.runs.stream(
                    thread["thread_id"],
                    "workflow",
                    input={"numbers": [2, 3]},
                    stream_mode="updates",
                )
            ]
            updates = [p.data for p in parts if p.event == "updates"]
            assert sorted(map(str, updates[:2])) == ["{'square': 4}", "{'square': 9}"]
            assert updates[2]["__interrupt__"][0]["value"] == {"squares": [4, 9]}
            state = await client.threads.get_state(thread["thread_id"])
            assert state["next"] == ["graph"]
            result = await client.runs.wait(
                thread["thread_id"], "workflow", command={"resume": "yes"}
            )
            assert result == {"squares": [4, 9], "approved": "yes"}
            state = await client.threads.get_state(thread["thread_id"])
            assert state["values"] == {"squares": [4, 9], "approved": "yes"}
