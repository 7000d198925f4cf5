"""One full measurement: every file on LangGraph and on scopegraph, saved as raw JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._runner import run_pytest
from ._sdist import SuiteTrees

__all__ = ("measure",)


def measure(trees: SuiteTrees, files: Sequence[str], raw: Path) -> dict[str, Any]:
    """Run ``files`` in both trees (one process per file and tree); save and return
    ``{"version", "files": {file: {"langgraph": outcomes, "scopegraph": outcomes}}}``."""
    result: dict[str, Any] = {"version": trees.version, "files": {}}
    for name in files:
        per_file: dict[str, Any] = {}
        for side, tree in (("langgraph", trees.langgraph), ("scopegraph", trees.scopegraph)):
            outcomes = run_pytest(tree, [f"tests/{name}.py"])
            per_file[side] = {
                "tests": outcomes.tests,
                "collection_errors": outcomes.collection_errors,
                "seconds": round(outcomes.seconds, 1),
            }
            passed = sum(t["outcome"] == "passed" for t in outcomes.tests.values())
            print(
                f"  {name} on {side}: {passed}/{len(outcomes.tests)} passed "
                f"({outcomes.seconds:.0f} s)",
                flush=True,
            )
        result["files"][name] = per_file
        raw.parent.mkdir(parents=True, exist_ok=True)
        raw.write_text(json.dumps(result), encoding="utf-8")  # after each file: a partial run
    return result
