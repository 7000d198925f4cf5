"""Print the LangGraph compatibility table of the corpus in ``tests/compat/programs``.

``python tests/compat/table.py`` prints a Markdown table, one row per program (sorted by
file name), generated from each program's module constants: ``FEATURE``, and
``DIFFERENCE`` (a deliberate difference), ``MISSING`` (a feature scopegraph lacks) or
``KNOWN_BUG`` (a recorded scopegraph bug; the program's test is an expected failure), and
``ASYNCIO_ONLY`` (the program uses an asyncio-only third-party API, so it is not run on
trio).
docs/migrating.md holds the same table between ``<!-- compat-table:start -->`` and
``<!-- compat-table:end -->``; ``tests/compat/test_corpus.py`` checks that it is current.

The constants are read with :mod:`ast`, so this script needs neither LangGraph nor
scopegraph.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

__all__ = ("PROGRAMS_DIR", "STATUS_KEYS", "constants", "program_files", "render_table")

PROGRAMS_DIR = Path(__file__).resolve().parent / "programs"
STATUS_KEYS = ("FEATURE", "DIFFERENCE", "MISSING", "KNOWN_BUG", "ASYNCIO_ONLY")


def program_files(directory: Path = PROGRAMS_DIR) -> list[Path]:
    """The corpus: ``pNN_short_name.py`` files, sorted by file name."""
    return sorted(directory.glob("p[0-9][0-9]_*.py"))


def constants(path: Path) -> dict[str, str]:
    """The module-level string constants named in ``STATUS_KEYS``."""
    found: dict[str, str] = {}
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id in STATUS_KEYS:
                if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                    raise ValueError(f"{path.name}: {target.id} must be a string literal")
                found[target.id] = value.value
    if "FEATURE" not in found:
        raise ValueError(f"{path.name}: FEATURE is missing")
    if sum(key in found for key in ("DIFFERENCE", "MISSING", "KNOWN_BUG")) > 1:
        raise ValueError(f"{path.name}: set at most one of DIFFERENCE, MISSING, KNOWN_BUG")
    return found


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def status(found: dict[str, str]) -> str:
    if "DIFFERENCE" in found:
        text = f"different: {_cell(found['DIFFERENCE'])}"
    elif "MISSING" in found:
        text = f"missing: {_cell(found['MISSING'])}"
    elif "KNOWN_BUG" in found:
        text = f"bug (expected failure): {_cell(found['KNOWN_BUG'])}"
    else:
        text = "same"
    if "ASYNCIO_ONLY" in found:
        text += f" (asyncio only: {_cell(found['ASYNCIO_ONLY'])})"
    return text


def render_table(directory: Path = PROGRAMS_DIR) -> str:
    """The Markdown table, without a trailing newline."""
    lines = ["| program | feature | scopegraph vs LangGraph |", "|---|---|---|"]
    for path in program_files(directory):
        found = constants(path)
        lines.append(f"| `{path.stem}` | {_cell(found['FEATURE'])} | {status(found)} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(render_table() + "\n")
