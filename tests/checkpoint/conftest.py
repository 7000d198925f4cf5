"""The ``saver`` fixture: every saver that must meet the contract in test_saver_contract.

Add a backend by adding a factory to ``SAVER_FACTORIES`` (e.g. ``"postgres"``, built from
a server the test session starts); the contract tests then run against it too.
"""

from __future__ import annotations

import inspect
import pathlib
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

import _pg
from scopegraph.checkpoint import BaseCheckpointSaver, InMemorySaver, SqliteSaver


def _postgres(tmp_path: pathlib.Path) -> BaseCheckpointSaver:
    from scopegraph.checkpoint import PostgresSaver

    # A fresh database on the session's throwaway server.
    return PostgresSaver(_pg.fresh_database_dsn())


SAVER_FACTORIES: dict[str, Callable[[pathlib.Path], BaseCheckpointSaver]] = {
    "memory": lambda tmp_path: InMemorySaver(),
    "sqlite": lambda tmp_path: SqliteSaver(tmp_path / "checkpoints.db"),
    "postgres": _postgres,
}
"""Builds a fresh, empty saver; its argument is the test's ``tmp_path``."""


@pytest.fixture
async def _aclose_in_loop() -> AsyncIterator[list[BaseCheckpointSaver]]:
    """Savers to close with ``aclose()`` while the test's event loop still runs.

    A PostgresSaver's async pool belongs to the loop that opened it; a sync ``close()``
    after that loop has ended would leave its connections and workers behind.
    """
    savers: list[BaseCheckpointSaver] = []
    yield savers
    for instance in savers:
        await instance.aclose()


@pytest.fixture(params=sorted(SAVER_FACTORIES))
def saver(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Iterator[BaseCheckpointSaver]:
    """A fresh saver of each kind, closed after the test."""
    instance = SAVER_FACTORIES[request.param](tmp_path)
    if inspect.iscoroutinefunction(request.function):
        request.getfixturevalue("_aclose_in_loop").append(instance)
    try:
        yield instance
    finally:
        instance.close()
