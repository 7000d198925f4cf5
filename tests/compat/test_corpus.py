"""The LangGraph compatibility corpus: every program in ``programs/`` runs on both libraries.

Each ``programs/pNN_short_name.py`` is written once, against LangGraph's real imports, and
defines ``async def main()`` returning JSON-like results. This module loads each program
twice from source: as written (LangGraph) and with its ``from langgraph`` / ``import
langgraph`` lines rewritten to ``scopegraph`` (no other change). On asyncio it runs both
and asserts identical results after normalizing ids and timestamps; on trio it runs the
scopegraph version, asserts that it gives exactly what it gives on asyncio, and checks it
against LangGraph's result (computed on asyncio in a worker thread) the same way.

Module constants of a program change what is asserted:

* ``DIFFERENCE = "why"``: a deliberate difference. The results must differ, and the
  program's ``expected_difference(langgraph_result, scopegraph_result)`` (normalized
  results) asserts the precise difference.
* ``MISSING = "what"``: a feature scopegraph lacks. LangGraph's run must succeed and
  scopegraph's must raise an exception with a message.
* ``KNOWN_BUG = "what"``: a recorded scopegraph bug; the test is ``xfail(strict=True)``.
* ``ASYNCIO_ONLY = "why"``: the program uses a third-party API that needs asyncio (not a
  scopegraph limitation), so it is not run on trio.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import anyio.to_thread
import pytest
from langchain_core.messages import BaseMessage

from _compare import Normalizer
from compat.table import constants, program_files, render_table

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS = program_files()
TABLE_START = "<!-- compat-table:start -->"
TABLE_END = "<!-- compat-table:end -->"

# `from langgraph...` / `import langgraph...` at the start of a line (any indentation).
_LANGGRAPH_IMPORT = re.compile(r"^([ \t]*)(from|import)([ \t]+)langgraph(?=[.\s])", re.MULTILINE)
# Interrupt ids: 32 hex digits (a hash in LangGraph, another hash in scopegraph).
_HEX_ID = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")


def scopegraph_source(source: str) -> str:
    """The program with its LangGraph imports swapped for scopegraph's, nothing else."""
    return _LANGGRAPH_IMPORT.sub(r"\1\2\3scopegraph", source)


class CorpusNormalizer(Normalizer):
    """``_compare.Normalizer``, plus interrupt ids, ``Interrupt`` objects and messages.

    ``Interrupt`` becomes ``("Interrupt", value, id)`` (LangGraph's also has a
    ``response_schema`` field) and a LangChain message becomes its ``model_dump()``.
    """

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, str):
            return _HEX_ID.sub(self._label, super().__call__(obj))
        if type(obj).__name__ == "Interrupt" and hasattr(obj, "value") and hasattr(obj, "id"):
            return ("Interrupt", self(obj.value), self(obj.id))
        if isinstance(obj, BaseMessage):
            return ("message", self(obj.model_dump()))
        return super().__call__(obj)


def normalize(obj: Any) -> Any:
    return CorpusNormalizer()(obj)


class _SourceLoader(importlib.abc.Loader):
    """Executes a module from a source string (the program, possibly rewritten)."""

    def __init__(self, source: str, path: Path) -> None:
        self.source = source
        self.path = path

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        exec(compile(self.source, str(self.path), "exec"), module.__dict__)


def load(path: Path, library: str) -> ModuleType:
    """The program as a module, for ``library`` ("langgraph" or "scopegraph"), loaded once.

    It is registered in ``sys.modules`` under a unique name, as typing and dataclasses
    resolve string annotations through it.
    """
    name = f"compat_corpus_{library}_{path.stem}"
    if name in sys.modules:
        return sys.modules[name]
    source = path.read_text(encoding="utf-8")
    if library == "scopegraph":
        source = scopegraph_source(source)
    loader = _SourceLoader(source, path)
    spec = importlib.util.spec_from_loader(name, loader, origin=str(path))
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(path)
    sys.modules[name] = module
    try:
        loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


class Outcome:
    """What ``main()`` returned, or the exception it raised (loading included)."""

    def __init__(self, value: Any = None, error: Exception | None = None) -> None:
        self.value = value
        self.error = error

    def normalized(self) -> Any:
        if self.error is not None:
            return {"main() raised": normalize(self.error)}
        return normalize(self.value)


async def run(path: Path, library: str) -> Outcome:
    """Load the program and run its ``main()`` in the current event loop."""
    try:
        main: Callable[[], Any] = load(path, library).main
        return Outcome(value=await main())
    except Exception as exc:
        return Outcome(error=exc)


async def run_on_asyncio_in_thread(path: Path, library: str) -> Outcome:
    """Run the program on asyncio in a worker thread (the caller may be on trio)."""
    call = functools.partial(anyio.run, run, path, library, backend="asyncio")
    outcome: Outcome = await anyio.to_thread.run_sync(call)
    return outcome


def check_against_langgraph(path: Path, langgraph: Outcome, scopegraph: Outcome) -> None:
    if langgraph.error is not None:
        raise AssertionError(f"{path.name} fails on LangGraph") from langgraph.error
    info = constants(path)
    expected = langgraph.normalized()
    actual = scopegraph.normalized()
    if "MISSING" in info:
        assert scopegraph.error is not None, (
            f"{path.name} is marked MISSING ({info['MISSING']}) but runs on scopegraph: "
            f"remove MISSING. Result: {actual!r}"
        )
        assert str(scopegraph.error).strip(), "scopegraph must fail with a clear message"
        return
    if "DIFFERENCE" in info:
        assert actual != expected, (
            f"{path.name} documents a difference ({info['DIFFERENCE']}) but both libraries "
            "give the same result: remove DIFFERENCE"
        )
        expected_difference = getattr(load(path, "langgraph"), "expected_difference", None)
        if expected_difference is not None:
            expected_difference(expected, actual)
        return
    if scopegraph.error is not None:
        raise scopegraph.error
    assert actual == expected


def _param(path: Path) -> Any:
    bug = constants(path).get("KNOWN_BUG")
    marks = [pytest.mark.xfail(strict=True, reason=f"scopegraph bug: {bug}")] if bug else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.mark.anyio
@pytest.mark.parametrize("program", [_param(path) for path in PROGRAMS])
async def test_program(program: Path, anyio_backend: str) -> None:
    asyncio_only = constants(program).get("ASYNCIO_ONLY")
    if asyncio_only and anyio_backend != "asyncio":
        pytest.skip(f"asyncio only: {asyncio_only}")
    if anyio_backend == "asyncio":
        langgraph = await run(program, "langgraph")
        scopegraph = await run(program, "scopegraph")
    else:
        langgraph = await run_on_asyncio_in_thread(program, "langgraph")
        on_asyncio = await run_on_asyncio_in_thread(program, "scopegraph")
        scopegraph = await run(program, "scopegraph")
        assert scopegraph.normalized() == on_asyncio.normalized(), "trio differs from asyncio"
    check_against_langgraph(program, langgraph, scopegraph)


def test_corpus_is_large_enough_and_every_program_is_complete() -> None:
    assert len(PROGRAMS) >= 30
    for path in PROGRAMS:
        info = constants(path)
        assert info["FEATURE"].strip(), path.name
        source = path.read_text(encoding="utf-8")
        assert re.search(r"^async def main\(\) -> ", source, re.MULTILINE), path.name
        if "DIFFERENCE" in info:
            assert "def expected_difference(" in source, path.name


@pytest.mark.parametrize("program", PROGRAMS, ids=[path.stem for path in PROGRAMS])
def test_only_import_lines_are_rewritten(program: Path) -> None:
    before = program.read_text(encoding="utf-8").splitlines()
    after = scopegraph_source("\n".join(before)).splitlines()
    assert len(before) == len(after)
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert changed, f"{program.name} imports nothing from langgraph"
    for old, new in changed:
        assert _LANGGRAPH_IMPORT.match(old), old
        assert new == old.replace("langgraph", "scopegraph", 1)
    assert not any(_LANGGRAPH_IMPORT.match(line) for line in after)


@pytest.mark.parametrize("program", PROGRAMS, ids=[path.stem for path in PROGRAMS])
def test_scopegraph_version_holds_no_langgraph_object(program: Path) -> None:
    try:
        module = load(program, "scopegraph")
    except ImportError:
        info = constants(program)
        assert "MISSING" in info or "KNOWN_BUG" in info, f"{program.name} fails to import"
        return
    leaks = [
        name
        for name, value in vars(module).items()
        if _origin(value).partition(".")[0] == "langgraph" and not _prebuilt(name, value)
    ]
    assert not leaks, f"{program.name} still uses LangGraph after the import swap: {leaks}"


def _prebuilt(name: str, value: Any) -> bool:
    """LangGraph's prebuilt nodes, which scopegraph.prebuilt hands out unchanged (they run
    inside scopegraph graphs by design)."""
    import scopegraph.prebuilt

    return getattr(scopegraph.prebuilt, name, None) is value


def _origin(value: Any) -> str:
    """The module a global comes from: its own name for a module, else its ``__module__``."""
    if isinstance(value, ModuleType):
        return value.__name__
    module = getattr(value, "__module__", None)
    return module if isinstance(module, str) else ""


def test_the_migration_guide_holds_the_generated_table() -> None:
    page = (ROOT / "docs" / "migrating.md").read_text(encoding="utf-8")
    assert page.count(TABLE_START) == 1
    assert page.count(TABLE_END) == 1
    between = page.split(TABLE_START)[1].split(TABLE_END)[0]
    assert between == "\n" + render_table() + "\n", (
        "docs/migrating.md's compatibility table is stale: paste the output of "
        "`python tests/compat/table.py` between the compat-table markers"
    )


def test_table_script_prints_the_table() -> None:
    script = Path(__file__).with_name("table.py")
    out = subprocess.run(
        [sys.executable, str(script)], check=True, capture_output=True, text=True
    ).stdout
    assert out == render_table() + "\n"
