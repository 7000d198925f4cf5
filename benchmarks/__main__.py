"""``python -m benchmarks [--quick] [--json PATH] [--only KEY ...] [--no-trio] [--profile]``."""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
from collections.abc import Sequence
from pathlib import Path

from ._libs import langgraph, scopegraph
from ._report import markdown_table, write_json
from ._stores import Stores, StoreUnavailable
from ._suite import BENCHMARKS, measure, run_suite


def _parser() -> argparse.ArgumentParser:
    keys = [b.key for b in BENCHMARKS]
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark scopegraph against LangGraph in one run.",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write results here")
    parser.add_argument(
        "--only", action="append", choices=keys, metavar="KEY", help=f"one of {', '.join(keys)}"
    )
    parser.add_argument("--no-trio", action="store_true", help="skip scopegraph on trio")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="instead of comparing, cProfile scopegraph (asyncio) on the selected benchmarks",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    selected = [b for b in BENCHMARKS if not args.only or b.key in args.only]
    if args.profile:
        lib = scopegraph()
        with Stores() as stores:
            for benchmark in selected:
                sizes = benchmark.quick if args.quick else benchmark.full
                profiler = cProfile.Profile()
                profiler.enable()
                try:
                    measure(benchmark, lib, "asyncio", sizes, stores)
                except StoreUnavailable as exc:
                    print(f"\n## {benchmark.title}: not run ({exc})\n")
                    continue
                finally:
                    profiler.disable()
                print(f"\n## {benchmark.title} (scopegraph, asyncio, {dict(sizes)})\n")
                # Only the runtime's own functions: the harness (gc.collect) would dominate.
                stats = pstats.Stats(profiler).sort_stats("tottime")
                stats.print_stats(r"scopegraph[/\\]|anyio[/\\]|psycopg|sqlite3", 25)
        return 0
    print(
        f"scopegraph {scopegraph().version} vs LangGraph {langgraph().version} "
        f"({'quick' if args.quick else 'full'} sizes)",
        file=sys.stderr,
    )
    results = run_suite(selected, quick=args.quick, trio=not args.no_trio)
    print(markdown_table(results))
    if args.json is not None:
        write_json(results, args.json, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
