"""The benchmark suite keeps working: every measurement runs at tiny sizes, for scopegraph
on both backends and for LangGraph on asyncio. No timing is asserted.

The checkpointed measurements get a SQLite file in ``tmp_path`` or a fresh PostgreSQL
database (``pg_dsn``); scopegraph's PostgreSQL rows run on asyncio only here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from benchmarks.__main__ import main
from benchmarks._libs import Lib, langgraph, scopegraph
from benchmarks._report import markdown_table
from benchmarks._stores import Store, Stores, StoreUnavailable
from benchmarks._suite import BENCHMARKS, Benchmark, Result, measure

import _pg

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn

TINY: Mapping[str, Mapping[str, Any]] = {
    "chain": {"length": 3, "repeats": 3},
    "single": {"batch": 3, "repeats": 3},
    "fanout": {"width": 3, "repeats": 3},
    "stream": {"chunks": 3, "repeats": 3},
    "events": {"events": 3, "repeats": 3},
    "concurrent": {"runs": 3, "repeats": 3},
    "memory": {"runs": 3},
    "agent": {"turns": 2, "repeats": 2},
    "agent-overhead": {"turns": 2, "repeats": 2},
    "agent-memory": {"runs": 2, "turns": 2},
    "cancel": {"trials": 3, "api": "ainvoke"},
    "cancel-stream": {"trials": 3, "api": "astream"},
    "sqlite-step": {"length": 3, "repeats": 2, "durability": "sync"},
    "sqlite-step-async": {"length": 3, "repeats": 2, "durability": "async"},
    "postgres-step": {"length": 3, "repeats": 2, "durability": "sync"},
    "sqlite-get-state": {"checkpoints": 5, "batch": 2, "repeats": 2},
    "postgres-get-state": {"checkpoints": 5, "batch": 2, "repeats": 2},
}

IN_MEMORY = [b for b in BENCHMARKS if b.store is None]
SQLITE = [b for b in BENCHMARKS if b.store == "sqlite"]
POSTGRES = [b for b in BENCHMARKS if b.store == "postgres"]

pytestmark = pytest.mark.anyio


def test_every_benchmark_has_tiny_sizes_matching_its_full_sizes() -> None:
    assert set(TINY) == {b.key for b in BENCHMARKS}
    for benchmark in BENCHMARKS:
        assert set(TINY[benchmark.key]) == set(benchmark.full) == set(benchmark.quick)
    assert len(IN_MEMORY) + len(SQLITE) + len(POSTGRES) == len(BENCHMARKS)


@pytest.mark.parametrize("benchmark", IN_MEMORY, ids=lambda b: b.key)
async def test_benchmark_measures_scopegraph(anyio_backend: str, benchmark: Benchmark) -> None:
    value = await benchmark.measure(scopegraph(), **TINY[benchmark.key])
    assert value > 0


@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # LangGraph is asyncio-only
@pytest.mark.parametrize("benchmark", IN_MEMORY, ids=lambda b: b.key)
async def test_benchmark_measures_langgraph_on_asyncio(
    anyio_backend: str, benchmark: Benchmark
) -> None:
    value = await benchmark.measure(langgraph(), **TINY[benchmark.key])
    assert value > 0


@pytest.mark.parametrize("benchmark", SQLITE, ids=lambda b: b.key)
async def test_sqlite_benchmark_measures_scopegraph(
    anyio_backend: str, benchmark: Benchmark, tmp_path: Path
) -> None:
    store = Store("sqlite", str(tmp_path / "checkpoints.db"))
    value = await benchmark.measure(scopegraph(), store=store, **TINY[benchmark.key])
    assert value > 0


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("benchmark", SQLITE, ids=lambda b: b.key)
async def test_sqlite_benchmark_measures_langgraph_on_asyncio(
    anyio_backend: str, benchmark: Benchmark, tmp_path: Path
) -> None:
    store = Store("sqlite", str(tmp_path / "checkpoints.db"))
    value = await benchmark.measure(langgraph(), store=store, **TINY[benchmark.key])
    assert value > 0


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("lib", [scopegraph, langgraph], ids=["scopegraph", "langgraph"])
@pytest.mark.parametrize("benchmark", POSTGRES, ids=lambda b: b.key)
async def test_postgres_benchmark_measures_on_asyncio(
    anyio_backend: str, benchmark: Benchmark, lib: Any, pg_dsn: str
) -> None:
    store = Store("postgres", pg_dsn)
    value = await benchmark.measure(lib(), store=store, **TINY[benchmark.key])
    assert value > 0


def test_measure_gives_each_checkpointed_run_a_new_empty_store() -> None:
    [benchmark] = [b for b in SQLITE if b.key == "sqlite-step"]
    with Stores() as stores:
        first, second = stores.new("sqlite"), stores.new("sqlite")
        assert first != second
        assert first.kind == second.kind == "sqlite"
        value = measure(benchmark, scopegraph(), "asyncio", TINY["sqlite-step"], stores)
        assert value > 0
        directory = Path(first.target).parent
        assert directory.is_dir()
    assert not directory.exists()  # the temporary directory went with the stores
    with pytest.raises(ValueError, match="needs stores"):
        measure(benchmark, scopegraph(), "asyncio", TINY["sqlite-step"])


def test_unavailable_postgres_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_server() -> Any:
        pytest.skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")

    monkeypatch.setattr(_pg, "running_pg_server", no_server)
    with Stores() as stores:
        for _ in range(2):  # the reason is kept: no second attempt
            with pytest.raises(StoreUnavailable, match="initdb, pg_ctl"):
                stores.new("postgres")


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


def test_table_shows_informational_and_not_run_rows() -> None:
    by_key = {b.key: b for b in BENCHMARKS}
    results = [
        Result(by_key["sqlite-step-async"], {}, 50.0, 500.0, None),
        Result(by_key["postgres-step"], {}, None, None, None, not_run="no PostgreSQL server"),
    ]
    assert results[0].passed is None
    assert results[1].ratio is None
    assert results[1].passed is None
    table = markdown_table(results).splitlines()
    assert "| 50.0 | 500 | 10x (lg/sg) | (info) | info | n/a |" in table[2]
    assert "| - | - | - | ≥ 3x | NOT RUN | - |" in table[3]
    assert "not run (no PostgreSQL server)" in table[-1]


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
