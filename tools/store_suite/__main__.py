"""``python -m tools.store_suite [--files NAME ...]``: see the package docstring."""

from __future__ import annotations

import argparse
import ast
import importlib
import shutil
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

from tools.langgraph_suite._runner import Outcomes, run_pytest
from tools.langgraph_suite._sdist import REPO

CACHE = REPO / ".cache" / "store-suite"

PACKAGES: dict[str, tuple[str, ...]] = {
    "langgraph-checkpoint": ("test_store",),
    "langgraph-checkpoint-sqlite": ("test_store", "test_async_store", "test_ttl"),
}
"""sdist -> its store test files (``tests/<name>.py``)."""

MODULE_MAP: dict[str, str] = {
    "langgraph.store.base": "scopegraph.store.base",
    "langgraph.store.base.batch": "scopegraph.store.base.batch",
    "langgraph.store.memory": "scopegraph.store.memory",
    "langgraph.store.sqlite": "scopegraph.store.sqlite",
    "langgraph.store.sqlite.aio": "scopegraph.store.sqlite.aio",
    "langgraph.store.sqlite.base": "scopegraph.store.sqlite.base",
}
"""LangGraph module -> the scopegraph module whose ``__all__`` names replace its own."""


def _exported(module: str) -> frozenset[str]:
    """The names of ``module`` that replace LangGraph's: its ``__all__``, and the private
    names it defines as LangGraph's module does (``batch._dedupe_ops``, which the tests
    import)."""
    loaded = importlib.import_module(module)
    private = (name for name in vars(loaded) if name.startswith("_") and name[1:2] != "_")
    return frozenset((*getattr(loaded, "__all__", ()), *private))


def rewrite(source: str) -> str:
    """``source`` with the store names scopegraph exports imported from scopegraph (same
    line numbers; other names stay LangGraph's)."""
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom) or node.module not in MODULE_MAP:
            continue
        assert node.end_lineno is not None
        ours: list[str] = []
        theirs: list[str] = []
        exported = _exported(MODULE_MAP[node.module])
        for alias in node.names:
            text = alias.name if alias.asname is None else f"{alias.name} as {alias.asname}"
            (ours if alias.name in exported else theirs).append(text)
        if not ours:
            continue
        parts = [f"from {MODULE_MAP[node.module]} import {', '.join(ours)}"]
        if theirs:
            parts.append(f"from {node.module} import {', '.join(theirs)}")
        edits.append((node.lineno, node.end_lineno, node.col_offset, "; ".join(parts)))
    for first, last, col, text in sorted(edits, reverse=True):
        head = lines[first - 1][:col]
        lines[first - 1 : last] = [f"{head}{text}\n", *(["\n"] * (last - first))]
    return "".join(lines)


def _sdist(package: str) -> Path:
    version = metadata.version(package)
    stem = f"{package.replace('-', '_')}-{version}"
    root = CACHE / stem
    if root.exists():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
         ":all:", f"{package}=={version}", "-d", str(CACHE)],
        check=True,
    )  # fmt: skip
    with tarfile.open(CACHE / f"{stem}.tar.gz") as archive:
        archive.extractall(CACHE, filter="data")
    return root


def _trees(package: str) -> tuple[Path, Path]:
    """(LangGraph's tests, the rewritten copy) of one sdist, refreshed on every run."""
    tests = _sdist(package) / "tests"
    out = CACHE / "trees" / package
    shutil.rmtree(out, ignore_errors=True)
    langgraph, scopegraph = out / "langgraph" / "tests", out / "scopegraph" / "tests"
    for tree in (langgraph, scopegraph):
        tree.mkdir(parents=True)
    for path in tests.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        if "async def test" in source and "import pytest" in source:
            # pytest-asyncio's auto mode, as anyio's plugin takes it (marks set at
            # collection, before the fixtures' parameters are)
            source += "\n\npytestmark = pytest.mark.anyio\n"
        (langgraph / path.name).write_text(source, encoding="utf-8")
        (scopegraph / path.name).write_text(rewrite(source), encoding="utf-8")
    return langgraph.parent, scopegraph.parent


def _short(outcomes: Outcomes) -> dict[str, str]:
    """test id (from ``tests/``) -> outcome."""
    return {
        "tests/" + test.split("/tests/", 1)[-1]: result["outcome"]
        for test, result in outcomes.tests.items()
    }


def _counts(outcomes: Outcomes) -> tuple[int, int]:
    passed = sum(1 for t in outcomes.tests.values() if t["outcome"] == "passed")
    return passed, len(outcomes.tests) + len(outcomes.collection_errors)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.store_suite")
    parser.add_argument("--files", nargs="+", help="test file names, e.g. test_store")
    parser.add_argument("--failures", action="store_true", help="list scopegraph's failures")
    args = parser.parse_args(argv)
    rows: list[str] = []
    for package, files in PACKAGES.items():
        langgraph, scopegraph = _trees(package)
        for name in files:
            if args.files and name not in args.files:
                continue
            pytest_args = [f"tests/{name}.py", "-p", "tools.store_suite._plugin"]
            theirs = run_pytest(langgraph, pytest_args)
            ours = run_pytest(scopegraph, pytest_args)
            (lg_pass, lg_total), (sg_pass, sg_total) = _counts(theirs), _counts(ours)
            lg_short = _short(theirs)
            both = sum(
                1
                for test, outcome in _short(ours).items()
                if outcome == "passed" and lg_short.get(test) == "passed"
            )
            rows.append(
                f"| {package} | {name} | {lg_pass}/{lg_total} | {sg_pass}/{sg_total} | {both} |"
            )
            if args.failures:
                for test, result in sorted(ours.tests.items()):
                    short = "tests/" + test.split("/tests/", 1)[-1]
                    if result["outcome"] not in ("passed", "skipped"):
                        print(
                            f"  {short} [LangGraph: {lg_short.get(short)}]: "
                            f"{result.get('type')}: {result.get('message', '')[:160]}"
                        )
                for test, error in ours.collection_errors.items():
                    print(f"  {test}: {error['message'][:300]}")
    print("| sdist | file | LangGraph passes | scopegraph passes | pass on both |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
