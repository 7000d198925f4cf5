"""The import rewrite: LangGraph's public API becomes scopegraph's, nothing else changes.

A ``from langgraph.X import a, b`` statement whose module has a scopegraph equivalent
(:data:`MODULE_MAP`) is split by name: each name the scopegraph module exports (its
``__all__``, or else the package's ``scopegraph.__all__``) is imported from scopegraph,
every other name stays LangGraph's. So
``from langgraph.types import Command, Durability`` becomes
``from scopegraph.types import Command; from langgraph.types import Durability`` while
scopegraph has no ``Durability``, and the second half disappears on the day it gets one.
The rewritten statement keeps the line numbers of the original (tracebacks point at the
same lines as in LangGraph's sources).

Only ``from ... import`` statements are rewritten; ``import langgraph.x`` is left as it is
(the 22 files do not use it for a mapped module).
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass

__all__ = ("MODULE_MAP", "ImportMap", "patch_memory_checkpointer", "rewrite_source")

MODULE_MAP: dict[str, str] = {
    "langgraph.graph": "scopegraph.graph",
    "langgraph.graph.state": "scopegraph.graph",
    "langgraph.graph.message": "scopegraph.graph.message",
    "langgraph.types": "scopegraph.types",
    "langgraph.config": "scopegraph.config",
    "langgraph.errors": "scopegraph.errors",
    "langgraph.runtime": "scopegraph.runtime",
    "langgraph.managed": "scopegraph.managed",
    "langgraph.callbacks": "scopegraph.callbacks",
    "langgraph.checkpoint.memory": "scopegraph.checkpoint.memory",
    "langgraph.func": "scopegraph.func",
    "langgraph.store.base": "scopegraph.store.base",
    "langgraph.store.memory": "scopegraph.store.memory",
    "langgraph.constants": "scopegraph",
}
"""LangGraph module -> the scopegraph module that provides its public names."""

CONSTANTS = frozenset({"START", "END", "Send"})
"""The names of ``langgraph.constants`` that are public API (the rest is internal)."""


@dataclass(frozen=True)
class ImportMap:
    """Which ``(langgraph module, name)`` pairs scopegraph provides, read from its modules."""

    exported: dict[str, frozenset[str]]
    top_level: frozenset[str] = frozenset()
    """``scopegraph.__all__``: a LangGraph name that scopegraph exports from its package
    rather than from the matching module (``langgraph.types.StateSnapshot`` is
    ``scopegraph.StateSnapshot``)."""

    @classmethod
    def from_scopegraph(cls) -> ImportMap:
        """Read every target module's ``__all__`` (so a name added to scopegraph is mapped
        from then on, with no change here)."""
        exported: dict[str, frozenset[str]] = {}
        for source, target in MODULE_MAP.items():
            names = frozenset(getattr(importlib.import_module(target), "__all__", ()))
            if source == "langgraph.constants":
                names &= CONSTANTS
            exported[source] = names
        top_level = frozenset(importlib.import_module("scopegraph").__all__)
        return cls(exported, top_level)

    def target(self, module: str, name: str) -> str | None:
        """The scopegraph module that provides ``module.name``, or None."""
        if name in self.exported.get(module, frozenset()):
            return MODULE_MAP[module]
        if module in MODULE_MAP and module != "langgraph.constants" and name in self.top_level:
            return "scopegraph"
        return None


def _statement(module: str, aliases: list[ast.alias]) -> str:
    names = ", ".join(a.name if a.asname is None else f"{a.name} as {a.asname}" for a in aliases)
    return f"from {module} import {names}"


def rewrite_source(source: str, imports: ImportMap) -> str:
    """``source`` with its public-API imports taken from scopegraph (same line numbers)."""
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom) or node.module not in MODULE_MAP:
            continue
        if node.level != 0 or node.end_lineno is None:
            continue
        targets: dict[str, list[ast.alias]] = {}
        for alias in node.names:
            target = imports.target(node.module, alias.name) or node.module
            targets.setdefault(target, []).append(alias)
        if list(targets) == [node.module]:
            continue
        # scopegraph's modules first, then what stays LangGraph's
        order = sorted(targets, key=lambda t: t == node.module)
        parts = [_statement(target, targets[target]) for target in order]
        edits.append((node.lineno, node.end_lineno, node.col_offset, "; ".join(parts)))
    for first, last, col, text in sorted(edits, reverse=True):
        # Keep the indentation; a trailing comment on the last line is dropped.
        head = lines[first - 1][:col]
        lines[first - 1 : last] = [f"{head}{text}\n", *(["\n"] * (last - first))]
    return "".join(lines)


MEMORY_FIXTURE = """\
@contextmanager
def _checkpointer_memory():
    # scopegraph's in-memory saver (rewritten by tools/langgraph_suite): LangGraph's
    # MemorySaverAssertImmutable subclasses LangGraph's own saver.
    from scopegraph.checkpoint.memory import InMemorySaver

    yield InMemorySaver()
"""


def patch_memory_checkpointer(source: str) -> str:
    """``conftest_checkpointer.py`` with its ``memory`` checkpointer made scopegraph's.

    Raises:
        ValueError: if the function is no longer there (a new LangGraph version moved it):
            update :data:`MEMORY_FIXTURE` and this function to the new conftest.
    """
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "_checkpointer_memory":
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            end = node.end_lineno or node.lineno
            lines = source.splitlines(keepends=True)
            body = MEMORY_FIXTURE.splitlines(keepends=True)
            padding = ["\n"] * max(0, (end - start + 1) - len(body))
            return "".join([*lines[: start - 1], *body, *padding, *lines[end:]])
    raise ValueError(
        "conftest_checkpointer.py has no top-level _checkpointer_memory(): LangGraph's test "
        "fixtures changed; update tools/langgraph_suite/_rewrite.py to yield scopegraph's "
        "InMemorySaver from the new memory fixture"
    )
