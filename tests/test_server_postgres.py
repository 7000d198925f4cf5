"""``scopegraph serve --db postgresql://...``: checkpoints, threads and runs in PostgreSQL.

A real ``scopegraph serve`` process on a throwaway PostgreSQL server (``tests/_pg.py``),
driven by the LangGraph SDK: a run is cancelled by a client that disconnects, its
checkpoint is in PostgreSQL, and a second server process on the same database knows
the thread and the run and resumes the thread. asyncio only (the SDK is).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pytest
from langgraph_sdk import get_client
from psycopg.conninfo import conninfo_to_dict

import _pg
from _server import running_server

pytestmark = pytest.mark.anyio
pg_server = _pg.pg_server


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def as_url(dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    return f"postgresql://{params['user']}@{params['host']}:{params['port']}/{params['dbname']}"


async def test_serve_on_postgresql(pg_server: str, tmp_path: Path) -> None:
    url = as_url(_pg.create_database(pg_server))
    client: Any
    with running_server(tmp_path, db=url, interval=0.02) as server:
        async with get_client(url=server.url) as client:
            tid = (await client.threads.create(metadata={"db": "pg"}))["thread_id"]
            async with contextlib.aclosing(
                client.runs.stream(
                    tid,
                    "agent",
                    input={"prompt": "pg"},
                    stream_mode="custom",
                    on_disconnect="cancel",
                )
            ) as parts:
                run_id = None
                seen = 0
                async for part in parts:
                    if part.event == "metadata":
                        run_id = part.data["run_id"]
                    elif part.event == "custom":
                        seen += 1
                        if seen == 3:
                            break
            assert run_id is not None
            await client.runs.join(tid, run_id)
            run = await client.runs.get(tid, run_id)
            assert run["status"] == "interrupted"
            assert f"cleanup-done think {run_id}" in server.cleanups()
    # A new process on the same database: the thread, its run and its checkpoint are there.
    with running_server(tmp_path, db=url, interval=0.001) as again:
        async with get_client(url=again.url) as client:
            assert (await client.threads.get(tid))["metadata"]["db"] == "pg"
            assert (await client.runs.get(tid, run_id))["status"] == "interrupted"
            assert (await client.threads.get_state(tid))["next"] == ["think"]
            result = await client.runs.wait(tid, "agent", input=None)
            assert len(result["tokens"]) == 32
