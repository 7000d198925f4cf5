"""``python -m benchmarks.scale`` keeps working: a tiny run (``--quick``) of the single
process and of the cluster with 1 and 2 worker processes, on the test harness's
throwaway PostgreSQL server and a Redis the benchmark starts. No timing is asserted: only
that every run and every event arrived, and that every number is there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.scale import QUICK, main
from psycopg.conninfo import conninfo_to_dict

import _pg

pg_server = _pg.pg_server


def test_quick_scale_benchmark_runs_every_setup(
    pg_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    p = conninfo_to_dict(pg_server)
    monkeypatch.setenv(
        "SCOPEGRAPH_BENCH_PG", f"postgresql://{p['user']}@{p['host']}:{p['port']}/{p['dbname']}"
    )
    path = tmp_path / "scale.json"
    assert main(["--quick", "--json", str(path)]) == 0
    table = capsys.readouterr().out
    assert (
        "| measurement | unit | single process | cluster, 1 worker | cluster, 2 workers |" in table
    )
    results = json.loads(path.read_text(encoding="utf-8"))
    assert [r["setup"] for r in results] == ["single", "cluster1", "cluster2"]
    for result in results:
        runs, events, light = result["runs"], result["events"], result["light"]
        for phase in (runs, events, light):
            assert phase["errors"] == []
        assert runs["completed"] == QUICK.runs
        assert events["completed"] == QUICK.clients
        assert events["events"] == QUICK.clients * QUICK.events
        assert light["events"] == QUICK.light_clients * QUICK.light_events
        assert result["runs_per_second"] > 0
        assert 0 <= events["latency_p50"] <= events["latency_p99"]
    cpu = results[2]["cpu_events"]
    assert set(cpu) == {"api", "worker1", "worker2", "postgres", "redis-server", "machine"}
    assert cpu["machine"] >= cpu["api"] > 0
