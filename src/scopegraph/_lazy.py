"""Optional integrations the core calls without importing them.

An integration module (it imports a third-party package the core never imports) is
registered here by ``scopegraph/__init__.py`` under the name of what it does, with the
package it needs; the core asks :func:`integration` when a user calls an API that needs
it (``get_graph()``, ``get_input_jsonschema()``), which loads the integration only if
that package is installed. (Node hooks, asked on every node, have their own faster
registry: :mod:`scopegraph._pregel._hooks`.)
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

__all__ = ("integration", "register_integration")

_loaders: dict[str, tuple[str, Callable[[], Any]]] = {}


def register_integration(what: str, package: str, load: Callable[[], Any]) -> None:
    """``integration(what)`` is ``load()`` when ``package`` is installed."""
    _loaders[what] = (package, load)


def integration(what: str) -> Any | None:
    """The registered integration for ``what``, or None when its package is missing."""
    registered = _loaders.get(what)
    if registered is None or importlib.util.find_spec(registered[0]) is None:
        return None
    return registered[1]()
