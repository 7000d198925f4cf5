"""LangGraph's official JS SDK (``@langchain/langgraph-sdk`` 1.15, what its React
``useStream`` hook and most chat front-ends use) against a real ``scopegraph serve``, in
one process and in scale-out.

The scenarios are ``tests/js/scenarios.mjs``, run with Node; ``make install`` installs the
SDK (``npm ci`` in ``tests/js``, from its committed ``package-lock.json``). Each scenario
asserts inside Node and reports one JSON line; a test here fails with its message.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

import _pg
import _redis
from _cluster import running_cluster
from _server import DEFAULT_GRAPHS, running_server

JS = Path(__file__).with_name("js")
BOOM = f"boom={Path(__file__).with_name('_wire_graphs.py')}:boom"
SCENARIOS = (
    "stream_closes_without_end",
    "stateless_stream",
    "use_stream_rejoin_minus_one",
    "queued_run_rejoin",
    "join_finished_resumable_run_replays",
    "join_finished_plain_run_closes",
    "error_bodies",
    "cancel_wait_then_cancel_again",
    "metadata_flows_like_langgraph",
    "failed_run_sets_thread_error",
    "interrupt_and_resume",
    "thread_stream_interrupt_and_respond",
)

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn
redis_server = _redis.redis_server
redis_url = _redis.redis_url


def run_scenarios(
    url: str,
    join_url: str | None = None,
    *,
    script: str = "scenarios.mjs",
    expected: tuple[str, ...] = SCENARIOS,
) -> dict[str, dict[str, object]]:
    """Every scenario's report, by name (the Node process must run them all: the
    ``expected`` ones of ``script``); joins go to ``join_url`` when given (another API
    process of a cluster)."""
    node = shutil.which("node")
    assert node is not None, "Node.js is required for the JS SDK scenarios (Node 20)"
    assert (JS / "node_modules" / "@langchain" / "langgraph-sdk").is_dir(), (
        "the JS SDK is not installed: run `make install` (or `npm ci` in tests/js)"
    )
    done = subprocess.run(
        [node, script, url],
        cwd=JS,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **({"JOIN_URL": join_url} if join_url else {})},
    )
    reports = {}
    for line in done.stdout.splitlines():
        report = json.loads(line)
        reports[str(report["scenario"])] = report
    assert set(reports) == set(expected), (done.stdout, done.stderr)
    return reports


def check(report: dict[str, object]) -> None:
    assert report["ok"] is True, report.get("error")


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, object]]]:
    with running_server(
        tmp_path_factory.mktemp("js"),
        graphs=(*DEFAULT_GRAPHS, BOOM),
        interval=0.002,
        cleanup=0.01,
    ) as server:
        yield run_scenarios(server.url)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_js_sdk_scenario(one_process: dict[str, dict[str, object]], scenario: str) -> None:
    check(one_process[scenario])


@pytest.mark.timeout(300)
def test_js_sdk_scenarios_in_scale_out(pg_dsn: str, redis_url: str, tmp_path: Path) -> None:
    """The same answers from two API processes and three workers on PostgreSQL + Redis;
    runs are created through one API process and joined through the other."""
    with running_cluster(
        tmp_path, pg_dsn, redis_url, interval=0.002, cleanup=0.01, extra_graphs=(BOOM,)
    ) as cluster:
        reports = run_scenarios(cluster.apis[0], join_url=cluster.apis[1])
    failed = {name: r.get("error") for name, r in reports.items() if r["ok"] is not True}
    assert failed == {}
