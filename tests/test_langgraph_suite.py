"""LangGraph's own test suite as a ratchet, and the instrument that measures it.

``tests/langgraph_suite_passing.txt`` lists the tests of LangGraph's suite (its sdist,
public-API imports rewritten to scopegraph) that pass on scopegraph; the first test runs
exactly those and fails naming any that stopped passing. ``make langgraph-suite`` is the
full measurement (tools/langgraph_suite).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import textwrap
from pathlib import Path
from typing import NoReturn

import pytest
from tools.langgraph_suite._classify import Classifier
from tools.langgraph_suite._ratchet import grow, read_passing, run_listed, stopped_passing
from tools.langgraph_suite._report import cause_of
from tools.langgraph_suite._rewrite import ImportMap, patch_memory_checkpointer, rewrite_source
from tools.langgraph_suite._sdist import SuiteError, pinned_version, prepare

SUITE_PLUGINS = ("syrupy", "pytest_mock", "pytest_timeout")
"""What LangGraph's conftest and snapshots need besides LangGraph (the dev extra has them)."""


def _unavailable(reason: str) -> NoReturn:
    """Skip, or fail on CI, where a suite that cannot run is a setup mistake."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.mark.timeout(900)
def test_listed_langgraph_suite_tests_still_pass_on_scopegraph() -> None:
    listed = read_passing()
    assert listed, "tests/langgraph_suite_passing.txt lists no test: the ratchet guards nothing"
    missing = [name for name in SUITE_PLUGINS if importlib.util.find_spec(name) is None]
    if missing:
        _unavailable(f"LangGraph's suite needs {', '.join(missing)}: run `make install`")
    try:
        trees = prepare()
    except SuiteError as exc:
        _unavailable(f"LangGraph's suite is unavailable: {exc}")
    outcomes = run_listed(trees, listed)
    failing = stopped_passing(listed, outcomes)
    details = [f"{nodeid}: {_why(outcomes.tests.get(nodeid))}" for nodeid in failing]
    errors = [f"{where}: {e['message']}" for where, e in outcomes.collection_errors.items()]
    assert not failing, (
        f"{len(failing)} of LangGraph's tests listed in tests/langgraph_suite_passing.txt no "
        "longer pass on scopegraph (fix the regression; the list never shrinks):\n  "
        + "\n  ".join(details + errors)
    )


def _why(entry: dict[str, str] | None) -> str:
    if entry is None:
        return "not run (no longer collected: renamed in LangGraph's suite, or a collection error)"
    where = f" (at {entry['where']})" if entry.get("where") else ""
    return f"{entry['outcome']}: {entry.get('type', '')}: {entry.get('message', '')}{where}"


def _imports() -> ImportMap:
    return ImportMap.from_scopegraph()


def test_rewrite_takes_the_names_scopegraph_exports_and_keeps_line_numbers() -> None:
    source = textwrap.dedent(
        """\
        from langgraph.types import (
            Command,
            NotAScopegraphName,
        )
        from langgraph.constants import END, TAG_HIDDEN
        from langgraph.types import StateSnapshot
        from langgraph.pregel import Pregel
        def test():
            from langgraph.graph import StateGraph
        """
    )
    rewritten = rewrite_source(source, _imports())
    assert rewritten.splitlines() == [
        "from scopegraph.types import Command; from langgraph.types import NotAScopegraphName",
        "",
        "",
        "",
        "from scopegraph import END; from langgraph.constants import TAG_HIDDEN",
        "from scopegraph import StateSnapshot",
        "from langgraph.pregel import Pregel",
        "def test():",
        "    from scopegraph.graph import StateGraph",
    ]


def test_memory_checkpointer_fixture_becomes_scopegraphs_saver() -> None:
    source = "@contextmanager\ndef _checkpointer_memory():\n    yield Other()\n\nX = 1\n"
    patched = patch_memory_checkpointer(source)
    assert "from scopegraph.checkpoint.memory import InMemorySaver" in patched
    assert "Other()" not in patched
    assert patched.endswith("X = 1\n")
    with pytest.raises(ValueError, match="_checkpointer_memory"):
        patch_memory_checkpointer("def other(): pass\n")


def test_classifier_follows_helpers_and_fixtures_but_not_annotations(tmp_path: Path) -> None:
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "helpers.py").write_text(
        "from langgraph.channels import LastValue\n\ndef make():\n    return LastValue(int)\n"
    )
    (tests / "test_x.py").write_text(
        textwrap.dedent(
            """\
            import pytest
            from langgraph.checkpoint.base import BaseCheckpointSaver
            from langgraph.graph import StateGraph
            from langgraph.types import NotAScopegraphName
            from tests.helpers import make

            def helper():
                return make()

            @pytest.fixture
            def special():
                return NotAScopegraphName

            def test_public(sync_checkpointer: BaseCheckpointSaver) -> None:
                StateGraph(dict)

            def test_via_helper():
                helper()

            def test_via_fixture(special, cache):
                pass

            class TestGroup:
                def test_local_import(self):
                    from langgraph.pregel import Pregel
            """
        )
    )
    classifier = Classifier(tmp_path, _imports())
    assert classifier.needs("tests/test_x.py::test_public[memory]") == frozenset()
    assert classifier.needs("tests/test_x.py::test_via_helper") == {"langgraph.channels.LastValue"}
    assert classifier.needs("tests/test_x.py::test_via_fixture[memory]") == {
        "langgraph.types.NotAScopegraphName",
        "langgraph.cache.base.BaseCache",
    }
    assert classifier.needs("tests/test_x.py::TestGroup::test_local_import") == {
        "langgraph.pregel.Pregel"
    }


def test_failure_causes_group_by_type_and_message_pattern() -> None:
    a = {"type": "GraphValidationError", "message": "node 'a' has no edge out; add 12"}
    b = {"type": "GraphValidationError", "message": "node 'b' has no edge out; add 3"}
    assert cause_of(a) == cause_of(b)
    kwarg = {"type": "TypeError", "message": "compile() got an unexpected keyword argument 'x'"}
    assert "'x'" in cause_of(kwarg)


def test_the_suite_version_is_the_pin_of_the_dev_extra() -> None:
    assert pinned_version() == importlib.metadata.version("langgraph")


def test_the_ratchet_list_grows_and_never_drops_a_test() -> None:
    listed = ["a", "b", "gone"]
    grown, lost = grow(listed, passing=["a", "c"], measured=["a", "b", "c"])
    assert grown == ["a", "b", "c", "gone"]  # "gone" was not measured: kept
    assert lost == ["b"]  # listed, measured, not passing: the update refuses
