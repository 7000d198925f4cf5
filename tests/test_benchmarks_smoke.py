"""The benchmark suite keeps working: every measurement runs at tiny sizes, for scopegraph
on both backends and for LangGraph on asyncio. No timing is asserted."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from benchmarks.__main__ import main
from benchmarks._libs import Lib, langgraph, scopegraph
from benchmarks._report import markdown_table
from benchmarks._suite import BENCHMARKS, Benchmark, Result

TINY: Mapping[str, Mapping[str, Any]] = {
    "chain": {"length": 3, "repeats": 3},
    "single": {"batch": 3, "repeats": 3},
    "fanout": {"width": 3, "repeats": 3},
    "stream": {"chunks": 3, "repeats": 3},
    "events": {"events": 3, "repeats": 3},
    "concurrent": {"runs": 3, "repeats": 3},
    "memory": {"runs": 3},
    "cancel": {"trials": 3, "api": "ainvoke"},
    "cancel-stream": {"trials": 3, "api": "astream"},
}

pytestmark = pytest.mark.anyio


def test_every_benchmark_has_tiny_sizes_matching_its_full_sizes() -> None:
    assert set(TINY) == {b.key for b in BENCHMARKS}
    for benchmark in BENCHMARKS:
        assert set(TINY[benchmark.key]) == set(benchmark.full) == set(benchmark.quick)


@pytest.mark.parametrize("benchmark", BENCHMARKS, ids=lambda b: b.key)
async def test_benchmark_measures_scopegraph(anyio_backend: str, benchmark: Benchmark) -> None:
    value = await benchmark.measure(scopegraph(), **TINY[benchmark.key])
    assert value > 0


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # LangGraph is asyncio-only
@pytest.mark.parametrize("benchmark", BENCHMARKS, ids=lambda b: b.key)
async def test_benchmark_measures_langgraph_on_asyncio(
    anyio_backend: str, benchmark: Benchmark
) -> None:
    value = await benchmark.measure(langgraph(), **TINY[benchmark.key])
    assert value > 0


def test_both_libraries_expose_what_the_graphs_use() -> None:
    libs: list[Lib] = [scopegraph(), langgraph()]
    for lib in libs:
        assert lib.START == "__start__"
        assert lib.END == "__end__"
        assert callable(lib.get_stream_writer)
        assert callable(lib.adispatch_custom_event)


def test_table_shows_both_libraries_ratio_and_verdict() -> None:
    by_key = {b.key: b for b in BENCHMARKS}
    results = [
        Result(by_key["chain"], {}, scopegraph=10.0, langgraph=300.0, scopegraph_trio=12.0),
        Result(by_key["memory"], {}, scopegraph=20.0, langgraph=40.0, scopegraph_trio=None),
    ]
    table = markdown_table(results).splitlines()
    assert len(table) == 4
    assert "| 10.0 | 300 | 30x (lg/sg) | ≥ 20x | PASS | 12.0 |" in table[2]
    assert "| 20.0 | 40.0 | 0.50x (sg/lg) | ≤ 0.25x | FAIL | n/a |" in table[3]


def test_cli_prints_the_table_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "results.json"
    assert main(["--quick", "--only", "single", "--no-trio", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| 1-node graph, per run (ainvoke) |" in out
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["quick"] is True
    [row] = doc["results"]
    assert row["key"] == "single"
    assert row["scopegraph_asyncio"] > 0
    assert row["langgraph_asyncio"] > 0
    assert row["scopegraph_trio"] is None
