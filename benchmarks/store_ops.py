"""Store operations per call, scopegraph's stores and LangGraph's:
``python -m benchmarks.store_ops [--pg postgresql://...]``.

2,000 puts and gets in 20 namespaces, then over them 100 searches with a number range, 100
with a string equality, and 20 semantic searches (26-dim letter-count embedding of one
field); microseconds or milliseconds per
call, sync API. LangGraph's ``SqliteStore`` is measured without an index (its semantic
search needs the ``sqlite-vec`` extension), so its query column stays empty.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

N = 2000


def letters(texts: Sequence[str]) -> list[list[float]]:
    out = []
    for text in texts:
        counts = [float(text.count(chr(ord("a") + i))) for i in range(26)]
        norm = math.sqrt(sum(c * c for c in counts)) or 1.0
        out.append([c / norm for c in counts])
    return out


def _per_call(fn: Callable[[int], Any], n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - started) / n


def measure(store: Any, *, query: bool) -> list[str]:
    put = _per_call(
        lambda i: store.put(
            ("users", f"u{i % 20}"), f"k{i}", {"text": f"note {i}", "i": i, "tag": f"t{i % 10}"}
        ),
        N,
    )
    get = _per_call(lambda i: store.get(("users", f"u{i % 20}"), f"k{i}"), N)
    search = _per_call(lambda i: store.search(("users",), filter={"i": {"$gt": 1000}}), 100)
    tagged = _per_call(lambda i: store.search(("users",), filter={"tag": "t7"}), 100)
    ranked = _per_call(lambda i: store.search(("users",), query="note"), 20) if query else None
    return [
        f"{put * 1e6:.0f}",
        f"{get * 1e6:.0f}",
        f"{search * 1e3:.1f}",
        f"{tagged * 1e3:.1f}",
        "" if ranked is None else f"{ranked * 1e3:.1f}",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.store_ops")
    parser.add_argument("--pg", help="a PostgreSQL URL for PostgresStore (an empty database)")
    args = parser.parse_args(argv)
    index = {"dims": 26, "embed": letters, "fields": ["text"]}
    rows: list[tuple[str, list[str]]] = []
    folder = Path(tempfile.mkdtemp(prefix="store-bench-"))

    from scopegraph.store.memory import InMemoryStore
    from scopegraph.store.sqlite import SqliteStore

    rows.append(("scopegraph InMemoryStore", measure(InMemoryStore(index=index), query=True)))  # type: ignore[arg-type]
    with SqliteStore(folder / "sg.db", index=index) as sg_sqlite:
        rows.append(("scopegraph SqliteStore (file)", measure(sg_sqlite, query=True)))
    if args.pg:
        from scopegraph.store.postgres import PostgresStore

        with PostgresStore(args.pg, index=index) as sg_pg:
            rows.append(("scopegraph PostgresStore", measure(sg_pg, query=True)))
    try:
        from langgraph.store.memory import InMemoryStore as LGMemory
        from langgraph.store.sqlite import SqliteStore as LGSqlite
    except ImportError:
        pass
    else:
        rows.append(("LangGraph InMemoryStore", measure(LGMemory(index=index), query=True)))  # type: ignore[arg-type]
        with LGSqlite.from_conn_string(str(folder / "lg.db")) as lg_sqlite:
            lg_sqlite.setup()
            rows.append(("LangGraph SqliteStore (file, no index)", measure(lg_sqlite, query=False)))
    print(
        "| store | put (µs) | get (µs) | search, number range (ms) | search, string equality "
        "(ms) | semantic search (ms) |\n|---|---|---|---|---|---|"
    )
    for name, cells in rows:
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
