"""The results as a markdown table and as JSON."""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._libs import langgraph, scopegraph
from ._suite import Result

__all__ = ("markdown_table", "write_json")


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.0f}x"


def markdown_table(results: Sequence[Result]) -> str:
    """One row per benchmark: both libraries, the ratio, the target and PASS/FAIL (or
    "info" for a row without a target, NOT RUN with the reason below the table)."""
    lines = [
        "| benchmark | unit | scopegraph (asyncio) | LangGraph (asyncio) | ratio "
        "| target | result | scopegraph (trio) |",
        "|---|---|--:|--:|--:|---|---|--:|",
    ]
    notes = []
    for r in results:
        b = r.benchmark
        if r.scopegraph is None or r.langgraph is None or r.ratio is None:
            lines.append(f"| {b.title} | {b.unit} | - | - | - | {b.target} | NOT RUN | - |")
            notes.append(f"- {b.title}: not run ({r.not_run or 'no reason given'})")
            continue
        trio = "n/a" if r.scopegraph_trio is None else _number(r.scopegraph_trio)
        ratio = f"{_ratio(r.ratio)} ({b.ratio})"
        verdict = {True: "PASS", False: "FAIL", None: "info"}[r.passed]
        lines.append(
            f"| {b.title} | {b.unit} | {_number(r.scopegraph)} | {_number(r.langgraph)} "
            f"| {ratio} | {b.target} | {verdict} | {trio} |"
        )
    if notes:
        lines.extend(["", *notes])
    return "\n".join(lines)


def write_json(results: Sequence[Result], path: Path, *, quick: bool) -> None:
    """Write the results, with the versions and sizes they were measured at."""
    doc: dict[str, Any] = {
        "quick": quick,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "versions": {"scopegraph": scopegraph().version, "langgraph": langgraph().version},
        "results": [
            {
                "key": r.benchmark.key,
                "title": r.benchmark.title,
                "unit": r.benchmark.unit,
                "sizes": dict(r.sizes),
                "scopegraph_asyncio": r.scopegraph,
                "langgraph_asyncio": r.langgraph,
                "scopegraph_trio": r.scopegraph_trio,
                "ratio": r.ratio,
                "ratio_of": r.benchmark.ratio,
                "target": r.benchmark.target,
                "passed": r.passed,
                "not_run": r.not_run,
            }
            for r in results
        ],
    }
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
