"""Assistants, thread TTLs, webhooks, delayed runs, bulk cancel and crons on both
backends: ``create_app`` served in-process by hypercorn under asyncio and under trio,
driven over HTTP by httpx (which runs on both). The SDK-driven tests of every endpoint
are in ``test_server_resources.py`` (asyncio only: the SDK is an asyncio library); this
file proves that the sweeper, the scheduler, webhook delivery (httpx) and the delays run
on trio too.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from _receiver import receiving
from _resource_graphs import echo, slow
from _server import free_port
from scopegraph.checkpoint import SqliteSaver
from scopegraph.server import ServerSettings, create_app
from test_server_trio import serve, wait_until_serving

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Async generator 'http(core|x)[.]:ResourceWarning"),
]


async def poll(check: Any, what: str, seconds: float = 15.0) -> None:
    """Bounded tries: a TTL, a schedule and a delay are matters of time."""
    for _ in range(int(seconds / 0.05)):
        if await check():
            return
        await anyio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


async def test_resources_on_both_backends(anyio_backend: str, tmp_path: Path) -> None:
    app = create_app(
        {"echo": echo, "slow": slow},
        SqliteSaver(tmp_path / "checkpoints.db"),
        database=str(tmp_path / "server.db"),
        settings=ServerSettings(
            shutdown_grace_seconds=0,
            ttl_sweep_seconds=0.05,
            cron_interval_seconds=0.1,
            webhook_loopback=True,
        ),
    )
    port = free_port()
    shutdown = anyio.Event()
    async with anyio.create_task_group() as tg:
        tg.start_soon(functools.partial(serve, app, port, shutdown, anyio_backend))
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await wait_until_serving(http)

            # an assistant's context under the run's
            made = (
                await http.post("/assistants", json={"graph_id": "echo", "context": {"model": "m"}})
            ).json()
            values = (
                await http.post(
                    "/runs/wait",
                    json={"assistant_id": made["assistant_id"], "input": {"input": "a"}},
                )
            ).json()
            assert values["context"] == {"model": "m"}

            # a webhook, sent after a delayed start
            tid = (await http.post("/threads", json={})).json()["thread_id"]
            with receiving() as receiver:
                run = (
                    await http.post(
                        f"/threads/{tid}/runs",
                        json={
                            "assistant_id": "echo",
                            "input": {"input": "w"},
                            "webhook": receiver.url,
                            "after_seconds": 0.5,
                        },
                    )
                ).json()
                assert run["status"] == "pending"
                [body] = await anyio.to_thread.run_sync(receiver.wait_for, 1)
            assert (body["run_id"], body["status"]) == (run["run_id"], "success")

            # bulk cancel by status: the running run's cleanup completes
            stid = (await http.post("/threads", json={})).json()["thread_id"]
            running = (
                await http.post(f"/threads/{stid}/runs", json={"assistant_id": "slow", "input": {}})
            ).json()

            async def is_running() -> bool:
                found = await http.get(f"/threads/{stid}/runs/{running['run_id']}")
                return bool(found.json()["status"] == "running")

            await poll(is_running, "the slow run runs")
            cancel = await http.post("/runs/cancel", json={"status": "running"})
            assert cancel.status_code == 204, cancel.text
            await http.get(f"/threads/{stid}/runs/{running['run_id']}/join")
            ended = (await http.get(f"/threads/{stid}/runs/{running['run_id']}")).json()
            assert ended["status"] == "interrupted"
            assert "cleanup finished" in [e["event"] for e in ended["lifecycle"]]

            # a cron on a thread, every second
            ctid = (await http.post("/threads", json={})).json()["thread_id"]
            cron = await http.post(
                f"/threads/{ctid}/runs/crons",
                json={"assistant_id": "echo", "schedule": "* * * * * *", "input": {"input": "c"}},
            )
            assert cron.status_code == 200, cron.text

            async def two_runs() -> bool:
                return len((await http.get(f"/threads/{ctid}/runs")).json()) >= 2

            await poll(two_runs, "two runs of the cron")
            await http.delete(f"/runs/crons/{cron.json()['cron_id']}")

            # a thread's TTL
            short = (await http.post("/threads", json={"ttl": {"ttl": 0.002}})).json()

            async def swept() -> bool:
                return (await http.get(f"/threads/{short['thread_id']}")).status_code == 404

            await poll(swept, "the thread is swept")
        shutdown.set()
