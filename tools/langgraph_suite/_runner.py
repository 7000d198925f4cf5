"""Runs test files of one suite tree, one pytest process per call, and reads the outcomes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._sdist import REPO

__all__ = ("Outcomes", "run_pytest")

TEST_TIMEOUT = 60
"""Seconds per test (pytest-timeout): a test that hangs fails instead of stopping the run."""


@dataclass
class Outcomes:
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    """nodeid -> {"outcome", and for a failure "type", "message", "where"}"""
    collection_errors: dict[str, dict[str, str]] = field(default_factory=dict)
    seconds: float = 0.0


def run_pytest(
    tree: Path, args: Sequence[str], *, select: Sequence[str] = (), timeout: float = 1800
) -> Outcomes:
    """``pytest args`` in ``tree`` with the result plugin; never raises for failing tests.

    The scopegraph of this repository (``src/``) comes first on the path, whatever is
    installed; ``NO_DOCKER=true`` keeps LangGraph's conftest from listing the
    PostgreSQL and Redis parameters, which the plugin deselects anyway. ``select``: run
    only these test ids of the files in ``args``.
    """
    with tempfile.TemporaryDirectory(prefix="langgraph-suite-") as scratch:
        results = Path(scratch) / "results.json"
        selection = Path(scratch) / "selected.txt"
        selection.write_text("\n".join(select), encoding="utf-8")
        paths = [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in paths if p),
            "NO_DOCKER": "true",
            "LANGGRAPH_SUITE_RESULTS": str(results),
        }
        if select:
            env["LANGGRAPH_SUITE_SELECT"] = str(selection)
        command = [
            sys.executable, "-m", "pytest", *args,
            "-p", "tools.langgraph_suite._plugin",
            "-p", "no:cacheprovider",
            "-p", "no:asyncio",  # LangGraph's suite runs on the anyio plugin
            "-o", "addopts=--strict-markers",
            f"--timeout={TEST_TIMEOUT}",
            "-q", "--tb=no", "--no-header", "-rN",
        ]  # fmt: skip
        started = time.monotonic()
        done = subprocess.run(
            command, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout,
            check=False,
        )  # fmt: skip
        seconds = time.monotonic() - started
        if not results.exists():
            # pytest stopped before the session finished (a usage error, a crash)
            return Outcomes(
                collection_errors={
                    " ".join(args): {
                        "type": "PytestError",
                        "message": (done.stderr or done.stdout).strip()[-500:],
                    }
                },
                seconds=seconds,
            )
        data = json.loads(results.read_text(encoding="utf-8"))
        return Outcomes(data["tests"], data["collection_errors"], seconds)
