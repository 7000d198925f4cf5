from __future__ import annotations

import subprocess
import sys

import scopegraph


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(scopegraph) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(scopegraph, name)).__name__ == "module"}
    assert set(scopegraph.__all__) == public - modules - {"annotations"}
    assert len(scopegraph.__all__) == len(set(scopegraph.__all__))


def test_every_exported_name_resolves() -> None:
    for name in scopegraph.__all__:
        assert getattr(scopegraph, name) is not None


def test_core_import_pulls_in_no_optional_dependency() -> None:
    # anyio is the only hard dependency: importing the core must not import integrations.
    code = (
        "import sys, scopegraph; "
        "bad = [m for m in ('langchain_core', 'langgraph', 'starlette', 'pydantic', "
        "'trio', 'orjson', 'sse_starlette', 'psycopg', 'redis') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()
    assert out == ""


def test_the_opt_in_checks_are_exported() -> None:
    assert "check" in scopegraph.__all__
    assert "Finding" in scopegraph.__all__
    assert scopegraph.check.__module__ == "scopegraph._graph"
