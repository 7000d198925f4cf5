"""Custom auth through LangGraph's official JS SDK (``tests/js/auth_scenarios.mjs``): two
users by bearer token never reach each other's threads, runs, crons, assistants or store
items, but what one shares with the other (an ``$or`` filter); 401, 403 and a handler's
own status. In one process (SQLite) and in scale-out
(PostgreSQL + Redis, an API-only process and a worker)."""

from __future__ import annotations

from pathlib import Path

import pytest

import _pg
import _redis
from _cluster import running_cluster
from _server import running_server
from test_server_js_sdk import run_scenarios

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url

APP = Path(__file__).resolve().parent / "_auth_app.py"
WHOAMI = f"whoami={APP}:graph"
AUTH = ("--auth", f"{APP}:auth")
SCENARIOS = ("two_users_apart", "shared_with", "refusals")


def failures(url: str) -> dict[str, object]:
    reports = run_scenarios(url, script="auth_scenarios.mjs", expected=SCENARIOS)
    return {name: r.get("error") for name, r in reports.items() if r["ok"] is not True}


def test_js_sdk_two_users_in_one_process(tmp_path: Path) -> None:
    with running_server(tmp_path, graphs=(WHOAMI,), extra_args=AUTH) as server:
        assert failures(server.url) == {}


@pytest.mark.timeout(300)
def test_js_sdk_two_users_in_scale_out(tmp_path: Path, pg_dsn: str, redis_url: str) -> None:
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
        assert failures(cluster.apis[0]) == {}
