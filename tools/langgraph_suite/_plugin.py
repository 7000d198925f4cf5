"""pytest plugin loaded into each suite run (``-p tools.langgraph_suite._plugin``).

It keeps the in-memory fixture parameters only (LangGraph's conftest parametrizes the
checkpointer, store and cache fixtures over SQLite, PostgreSQL and Redis backends too);
when ``LANGGRAPH_SUITE_SELECT`` names a file of test ids, it keeps only those (an id that
no longer exists is then just not run, instead of a usage error that stops the whole
run). It writes each test's outcome, with the exception's type, message and the place it
was raised, as JSON to the file named by ``LANGGRAPH_SUITE_RESULTS``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

MEMORY_PARAMS: dict[str, str] = {
    "sync_checkpointer": "memory",
    "async_checkpointer": "memory",
    "sync_store": "in_memory",
    "async_store": "in_memory",
    "cache": "memory",
}
"""Fixture -> the one parameter kept: the in-memory backend."""


@pytest.fixture(autouse=True)
def _as_without_langchain(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's expectations are those of LangGraph's CI, where the ``langchain``
    package is not installed. This project's dev set has it (issue 15's agents), and
    then langchain-core records its version too in a chat model's
    ``metadata["lc_versions"]``, which a few tests compare (``test_tags_stream_mode_messages``
    fails on LangGraph itself). Both runs, LangGraph's and scopegraph's, see the
    version lookup of a machine without ``langchain``."""
    try:
        from langchain_core.language_models import base
    except ImportError:
        return
    if hasattr(base, "_get_langchain_version"):
        monkeypatch.setattr(base, "_get_langchain_version", lambda: None)


_results: dict[str, dict[str, Any]] = {}
_collection_errors: dict[str, dict[str, str]] = {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selection = os.environ.get("LANGGRAPH_SUITE_SELECT")
    selected = set(Path(selection).read_text().split()) if selection else None
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        memory = all(params.get(name, value) == value for name, value in MEMORY_PARAMS.items())
        wanted = selected is None or item.nodeid in selected
        (kept if memory and wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


def _failure(excinfo: pytest.ExceptionInfo[BaseException]) -> dict[str, str]:
    lines = str(excinfo.value).strip().splitlines()
    entry = excinfo.traceback[-1] if excinfo.traceback else None
    where = f"{entry.path}:{entry.lineno + 1}" if entry is not None else ""
    return {
        "type": excinfo.type.__name__,
        "message": lines[0][:500] if lines else "",
        "where": where,
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    entry = _results.setdefault(item.nodeid, {"outcome": "passed"})
    if report.failed and entry["outcome"] == "passed":
        entry["outcome"] = "failed" if call.when == "call" else "error"
        if call.excinfo is not None:
            entry.update(_failure(call.excinfo))
    elif report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "xfailed" if hasattr(report, "wasxfail") else "skipped"
    return report


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        text = str(report.longrepr).strip().splitlines()
        error = next((line for line in reversed(text) if line.startswith("E ")), text[-1])
        _collection_errors[report.nodeid] = {
            "type": "CollectionError",
            "message": error.removeprefix("E").strip()[:500],
        }


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("LANGGRAPH_SUITE_RESULTS")
    if target:
        Path(target).write_text(
            json.dumps({"tests": _results, "collection_errors": _collection_errors}, indent=1),
            encoding="utf-8",
        )
