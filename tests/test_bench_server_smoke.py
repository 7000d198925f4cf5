"""``python -m benchmarks.server`` keeps working: a tiny run (20 clients, 5 events a run)
against a real ``scopegraph serve`` and the LangGraph seed app under uvicorn, with both
phases (load, disconnect storm). No timing is asserted: only that every number is there
and sane, and that scopegraph ran every node's cleanup after the storm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.server import main

pytestmark = pytest.mark.uvicorn

CLIENTS = 20
EVENTS = 5


def test_quick_server_benchmark_runs_both_servers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "server.json"
    argv = ["--quick", "--clients", str(CLIENTS), "--events", str(EVENTS), "--json", str(path)]
    assert main(argv) == 0

    table = capsys.readouterr().out
    assert "| measurement | unit | scopegraph serve | LangGraph + FastAPI (seed app) |" in table
    for row in ("load: events/s", "load: latency p99", "storm: node cleanups done", "RSS peak"):
        assert f"| {row}" in table
    assert f"| storm: node cleanups done |  | **{CLIENTS}/{CLIENTS}** |" in table

    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["settings"]["clients"] == CLIENTS
    scopegraph, langgraph = doc["results"]
    assert (scopegraph["target"], langgraph["target"]) == ("scopegraph", "langgraph")
    for result in (scopegraph, langgraph):
        load, storm = result["load"], result["storm"]
        assert load["errors"] == []
        assert storm["errors"] == []
        assert load["connected"] == load["completed"] == CLIENTS
        assert load["events"] == CLIENTS * EVENTS
        assert result["events_per_second"] > 0
        assert 0 <= load["latency_p50"] <= load["latency_p99"] <= load["latency_max"]
        assert 0 < load["first_event_p50"] <= load["first_event_p99"]
        assert storm["ready"] == CLIENTS  # every client was streaming when they all left
        assert 0 < result["rss_baseline_mb"] <= result["rss_peak_mb"]
        assert result["rss_after_mb"] > 0
        assert result["server_alive_after_storm"]
        assert result["cleanups"]["start"] == CLIENTS
        assert 0 <= result["cleanups"]["cleanup-done"] <= result["cleanups"]["cleanup-start"]

    # scopegraph cancels every run on disconnect and every shielded cleanup completes.
    assert scopegraph["cleanups"] == {
        "start": CLIENTS,
        "cleanup-start": CLIENTS,
        "cleanup-done": CLIENTS,
    }
    assert scopegraph["still_running"] == 0
    assert scopegraph["cleanups_all_done_after"] is not None
    assert scopegraph["exit_status"] == 0
