"""Which LangGraph APIs a test of the suite needs that the rewrite does not map.

A test *needs* ``langgraph.M.N`` when its code reaches a name imported from ``langgraph.M``
that scopegraph does not provide (see :mod:`._rewrite`). Its code is, statically (AST):

- the test function: decorators (``parametrize`` values), default values and body,
  including imports inside it; annotations are not code and are skipped (a parameter
  annotated ``BaseCheckpointSaver`` does not use LangGraph's saver);
- the module-level functions, classes, variables and fixtures it names or requests as a
  parameter, transitively, and those of the ``tests.*`` helper modules it imports;
- the conftest fixtures it requests, by :data:`FIXTURE_APIS` (the checkpointer fixtures
  are the in-memory saver, which the scopegraph run replaces with its own).

A *public-API test* needs nothing: every LangGraph name it reaches is one scopegraph maps.
Keyword arguments and methods (``durability=``, ``graph.get_graph()``) are not checked:
a test that calls a method scopegraph lacks is public-API and fails, listed as a cause.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ._rewrite import ImportMap

__all__ = ("FIXTURE_APIS", "Classifier")

FIXTURE_APIS: dict[str, tuple[tuple[str, str], ...]] = {
    "sync_store": (("langgraph.store.base", "BaseStore"),),
    "async_store": (("langgraph.store.base", "BaseStore"),),
    "cache": (("langgraph.cache.base", "BaseCache"),),
}
"""Conftest fixtures that hand a test a LangGraph object. (``durability`` hands it a string
for the ``durability=`` argument: not an import, so not counted.)"""


@dataclass
class _Module:
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    """local name -> (module, name), or (module, None) for ``import module as local``"""
    defs: dict[str, ast.AST] = field(default_factory=dict)
    fixtures: set[str] = field(default_factory=set)


class _Refs(ast.NodeVisitor):
    """Names a piece of code loads (``x`` and ``x.attr``) and the imports inside it."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.attrs: set[tuple[str, str]] = set()
        self.imports: list[ast.ImportFrom | ast.Import] = []

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.names.add(node.id)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.value, ast.Name):
            self.attrs.add((node.value.id, node.attr))
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        pass  # the annotation

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for child in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
            if child is not None:
                self.visit(child)
        for statement in node.body:
            self.visit(statement)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._function(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._function(node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.imports.append(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.imports.append(node)


def _record_import(table: dict[str, tuple[str, str | None]], node: ast.AST) -> None:
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        for alias in node.names:
            table[alias.asname or alias.name] = (node.module, alias.name)
    elif isinstance(node, ast.Import):
        for alias in node.names:
            if alias.asname:
                table[alias.asname] = (alias.name, None)
            else:
                top = alias.name.split(".")[0]
                table[top] = (top, None)


def _is_fixture(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr == "fixture":
            return True
        if isinstance(target, ast.Name) and target.id == "fixture":
            return True
    return False


def _parse(path: Path) -> _Module:
    module = _Module()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            _record_import(module.imports, node)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            module.defs[node.name] = node
            if not isinstance(node, ast.ClassDef) and _is_fixture(node):
                module.fixtures.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name):
                        module.defs[name.id] = node
        elif isinstance(node, ast.Try | ast.If):
            # ``try: import x`` / ``if sys.version_info...: ...`` at module level
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    _record_import(module.imports, inner)
    return module


def _parameters(node: ast.AST) -> list[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        args = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
        return [a.arg for a in args]
    return []


class Classifier:
    """Answers "which unmapped LangGraph APIs does this test need?" for one suite tree."""

    def __init__(self, root: Path, imports: ImportMap) -> None:
        self._root = root
        self._imports = imports
        self._modules: dict[str, _Module] = {}

    def _module(self, dotted: str) -> _Module | None:
        if dotted not in self._modules:
            path = self._root.joinpath(*dotted.split(".")).with_suffix(".py")
            if not path.exists():
                return None
            self._modules[dotted] = _parse(path)
        return self._modules[dotted]

    def _langgraph(self, module: str, name: str | None) -> str | None:
        """The API label of ``module.name`` when it is LangGraph's and not mapped."""
        if module != "langgraph" and not module.startswith("langgraph."):
            return None
        if name is not None and self._imports.target(module, name):
            return None
        return module if name is None else f"{module}.{name}"

    def needs(self, nodeid: str) -> frozenset[str]:
        """The unmapped LangGraph APIs the test ``nodeid`` reaches (empty: public-API)."""
        path, *names = nodeid.split("[")[0].split("::")
        dotted = path.removesuffix(".py").replace("/", ".")
        module = self._module(dotted)
        if module is None or not names:
            return frozenset()
        node = module.defs.get(names[0])
        for name in names[1:]:
            if not isinstance(node, ast.ClassDef):
                break
            node = next(
                (n for n in node.body if getattr(n, "name", None) == name),
                node,
            )
        if node is None:
            return frozenset()
        needed: set[str] = set()
        seen: set[tuple[str, str]] = set()
        self._visit(dotted, node, needed, seen, requests=_parameters(node))
        return frozenset(needed)

    def _visit(
        self,
        dotted: str,
        node: ast.AST,
        needed: set[str],
        seen: set[tuple[str, str]],
        requests: Iterable[str] = (),
    ) -> None:
        module = self._modules[dotted]
        refs = _Refs()
        refs.visit(node)
        local: dict[str, tuple[str, str | None]] = {}
        for statement in refs.imports:
            _record_import(local, statement)
        for source, attr in local.values():
            if label := self._langgraph(source, attr):
                needed.add(label)
        for fixture in requests:
            if fixture in module.fixtures:
                self._name(dotted, fixture, needed, seen)
            else:
                for source, attr in FIXTURE_APIS.get(fixture, ()):
                    if label := self._langgraph(source, attr):
                        needed.add(label)
        for owner, attr in refs.attrs:
            target = local.get(owner) or module.imports.get(owner)
            if (
                target is not None
                and target[1] is None
                and (label := self._langgraph(target[0], attr))
            ):
                needed.add(label)
        for name in refs.names - set(local):
            self._name(dotted, name, needed, seen)

    def _name(self, dotted: str, name: str, needed: set[str], seen: set[tuple[str, str]]) -> None:
        if (dotted, name) in seen:
            return
        seen.add((dotted, name))
        module = self._modules[dotted]
        if name in module.imports:
            source, attr = module.imports[name]
            if attr is None:
                return  # a module: its attributes are checked where they are used
            if label := self._langgraph(source, attr):
                needed.add(label)
            elif source.startswith("tests.") and self._module(source) is not None:
                self._name(source, attr, needed, seen)
        elif name in module.defs:
            node = module.defs[name]
            requests = _parameters(node) if name in module.fixtures else ()
            self._visit(dotted, node, needed, seen, requests=requests)
