"""The ratchet: the committed list of suite tests that pass on scopegraph only grows."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ._runner import Outcomes, run_pytest
from ._sdist import REPO, SuiteTrees

__all__ = (
    "PASSING",
    "grow",
    "read_passing",
    "run_listed",
    "stopped_passing",
    "write_passing",
)

PASSING = REPO / "tests" / "langgraph_suite_passing.txt"

_HEADER = """\
# LangGraph's own tests (the sdist of the pinned version, public-API imports rewritten to
# scopegraph, in-memory fixtures) that pass on scopegraph. tests/test_langgraph_suite.py
# runs exactly these in `make test` and fails if one stops passing. The list only grows:
# `make langgraph-suite ARGS=--update` adds the tests that pass now and refuses to drop one.
"""


def read_passing(path: Path = PASSING) -> list[str]:
    if not path.exists():
        return []
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def write_passing(ids: Iterable[str], path: Path = PASSING) -> None:
    path.write_text(_HEADER + "".join(f"{i}\n" for i in sorted(set(ids))), encoding="utf-8")


def run_listed(trees: SuiteTrees, ids: list[str]) -> Outcomes:
    """The listed tests on scopegraph, in one pytest process (faster than one per file)."""
    files = sorted({i.split("::")[0] for i in ids})
    return run_pytest(trees.scopegraph, files, select=ids)


def stopped_passing(listed: Iterable[str], outcomes: Outcomes) -> list[str]:
    """Listed ids that did not pass (a missing id, e.g. a collection error, did not)."""
    return sorted(i for i in listed if outcomes.tests.get(i, {}).get("outcome") != "passed")


def grow(
    listed: Iterable[str], passing: Iterable[str], measured: Iterable[str]
) -> tuple[list[str], list[str]]:
    """``(new list, lost)``: the list plus the tests that pass now, and the listed tests
    that were measured and did not pass (the list never drops them: fix them instead)."""
    listed, passing, measured = set(listed), set(passing), set(measured)
    lost = sorted((listed & measured) - passing)
    return sorted(listed | passing), lost
