"""The documentation site's programs: each ``--8<-- "examples/....py"`` that a page in
``docs/`` includes runs, and prints the ``text`` block that follows it on the page. (The
includes sit between ``<!-- fmt: off -->`` and ``<!-- fmt: on -->``, which keeps ruff's
Markdown formatter from reading them as Python.)

(``make docs`` checks links and references: ``mkdocs build --strict``.)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from _server import ROOT

DOCS = ROOT / "docs"
_INCLUDE = re.compile(
    r'^```python\n--8<-- "([^"]+)"\n```\n(?:<!-- fmt: on -->\n)?(?:\n```text\n(.*?)^```\n)?',
    re.MULTILINE | re.DOTALL,
)


def includes() -> list[tuple[str, str, str | None]]:
    """(page, included path, the output block after it or None)."""
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for match in _INCLUDE.finditer(page.read_text(encoding="utf-8")):
            found.append((page.name, match.group(1), match.group(2)))
    return found


INCLUDES = includes()


def test_the_pages_include_programs() -> None:
    assert {path for _, path, _ in INCLUDES} >= {
        "examples/cancel_scopegraph.py",
        "examples/quickstart_stream.py",
        "examples/quickstart_interrupt.py",
    }


@pytest.mark.parametrize(
    ("page", "path", "output"), INCLUDES, ids=[f"{p}:{f}" for p, f, _ in INCLUDES]
)
def test_included_program_runs_and_prints_what_the_page_shows(
    page: str, path: str, output: str | None, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / path)], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"{path} (included by docs/{page}):\n{result.stderr}"
    if output is not None:
        assert result.stdout == output, f"docs/{page} shows another output for {path}"
