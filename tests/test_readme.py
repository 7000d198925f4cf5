"""The README's promises: its Python snippets run as pasted, the outputs it shows are the
programs' real outputs, and its links and anchors lead somewhere.

- Every ``python`` block runs in a fresh interpreter. A snippet that talks to
  ``http://127.0.0.1:8000`` gets a real ``scopegraph serve`` (the demo's graphs) at that
  address's place.
- ``<!-- readme-file: PATH -->`` before a block: the block is that file, verbatim.
- ``<!-- readme-output: PATH -->`` before a ``text`` block: running that file prints
  exactly the block.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from _server import ROOT, running_server

README = ROOT / "README.md"
DEMO_URL = "http://127.0.0.1:8000"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.MULTILINE | re.DOTALL)
_MARKER = re.compile(r"<!-- readme-(file|output): (\S+) -->\n$")
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def blocks(text: str) -> list[tuple[str, str, tuple[str, str] | None]]:
    """(language, code, marker) of each fenced block; marker = (kind, path) or None."""
    found = []
    for match in _FENCE.finditer(text):
        before = text[: match.start()]
        marker = _MARKER.search(before)
        found.append(
            (
                match.group(1),
                match.group(2),
                (marker.group(1), marker.group(2)) if marker else None,
            )
        )
    return found


def run_python(code: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = unicodedata.normalize("NFKC", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


README_TEXT = README.read_text(encoding="utf-8")
PYTHON_SNIPPETS = [code for language, code, _ in blocks(README_TEXT) if language == "python"]


def test_the_readme_has_python_snippets_and_marked_outputs() -> None:
    markers = [marker for _, _, marker in blocks(README_TEXT) if marker]
    assert len(PYTHON_SNIPPETS) >= 2
    assert ("file", "examples/cancel_scopegraph.py") in markers
    assert ("output", "examples/cancel_scopegraph.py") in markers
    assert ("output", "examples/cancel_langgraph.py") in markers


@pytest.mark.parametrize(
    "code",
    PYTHON_SNIPPETS,
    ids=[f"snippet{i + 1}" for i in range(len(PYTHON_SNIPPETS))],
)
def test_python_snippet_runs_as_pasted(code: str, tmp_path: Path) -> None:
    if DEMO_URL in code:
        with running_server(tmp_path, interval=0.001, cleanup=0.01) as server:
            result = run_python(code.replace(DEMO_URL, server.url), tmp_path)
    else:
        result = run_python(code, tmp_path)
    assert result.returncode == 0, f"{code}\n--- stderr:\n{result.stderr}"
    assert result.stdout.strip(), "a README snippet should show something"


@pytest.mark.parametrize(
    ("kind", "path", "code"),
    [(m[0], m[1], code) for _, code, m in blocks(README_TEXT) if m],
    ids=lambda value: value if isinstance(value, str) and "\n" not in value else "",
)
def test_marked_block_is_the_file_or_its_real_output(kind: str, path: str, code: str) -> None:
    file = ROOT / path
    if kind == "file":
        assert file.read_text(encoding="utf-8") == code, (
            f"the README's copy of {path} is stale: paste the file into it"
        )
        return
    result = subprocess.run(
        [sys.executable, str(file)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == code, f"{path} printed:\n{result.stdout}"


def test_the_two_cancel_examples_differ_only_in_the_import_and_comments() -> None:
    def essence(path: str) -> list[str]:
        lines = (ROOT / path).read_text(encoding="utf-8").splitlines()
        code = [line.split("  #")[0] for line in lines[1:]]  # the docstring names the library
        return [line for line in code if line and "import END, START, StateGraph" not in line]

    assert essence("examples/cancel_scopegraph.py") == essence("examples/cancel_langgraph.py")


def test_readme_links_and_anchors_lead_somewhere() -> None:
    text = _FENCE.sub("", README_TEXT)
    anchors = {github_anchor(h) for h in re.findall(r"(?m)^#{1,6} (.+)$", text)}
    targets = [a or b for a, b in _LINK.findall(text)]
    assert targets
    for target in targets:
        if target.startswith(("http://", "https://")):
            continue
        path, _, anchor = target.partition("#")
        if not path:
            assert anchor in anchors, f"README link {target!r}: no heading with that anchor"
            continue
        file = ROOT / path
        assert file.exists(), f"README link {target!r}: no file {path!r}"
        if anchor and file.suffix == ".md":
            headings = re.findall(r"(?m)^#{1,6} (.+)$", file.read_text(encoding="utf-8"))
            assert anchor in {github_anchor(h) for h in headings}, (
                f"README link {target!r}: {path} has no heading with that anchor"
            )
