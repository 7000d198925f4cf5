"""Where the checkpointed benchmarks keep their checkpoints.

A :class:`Store` names one empty database: a SQLite file in a temporary directory, or a
fresh database on a throwaway PostgreSQL server. :class:`Stores` hands out a new one per
measurement, so every library starts from empty tables; the PostgreSQL server (from
``tests/_pg.py``) is started once, on first use, and stopped when the run ends. Without
the server binaries (or psycopg) the PostgreSQL rows are reported as not run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

__all__ = ("Store", "StoreKind", "StoreUnavailable", "Stores")

StoreKind = Literal["sqlite", "postgres"]

_TESTS = Path(__file__).resolve().parent.parent / "tests"


class StoreUnavailable(Exception):
    """The store cannot be had on this machine; the message says why."""


@dataclasses.dataclass(frozen=True)
class Store:
    """One empty database: a SQLite file path, or a PostgreSQL DSN."""

    kind: StoreKind
    target: str


def _import_pg() -> Any:
    # tests/_pg.py must be imported as ``_pg`` (see its docstring): under pytest the
    # tests directory is on sys.path already, and this finds the same module.
    # (By name, not ``import _pg``: mypy checks tests/ as its own tree.)
    if str(_TESTS) not in sys.path:
        sys.path.append(str(_TESTS))
    return importlib.import_module("_pg")


class Stores(contextlib.AbstractContextManager["Stores"]):
    """Fresh stores for one benchmark run; ``with Stores() as stores: stores.new(kind)``."""

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._tmp: Path | None = None
        self._count = 0
        self._pg_dsn: str | None = None
        self._pg_error: str | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    def new(self, kind: StoreKind) -> Store:
        """An empty database of ``kind``; raises :class:`StoreUnavailable` if impossible."""
        if kind == "sqlite":
            if self._tmp is None:
                tmp = tempfile.TemporaryDirectory(prefix="scopegraph-bench-")
                self._tmp = Path(self._stack.enter_context(tmp))
            self._count += 1
            return Store("sqlite", str(self._tmp / f"checkpoints-{self._count}.db"))
        pg = self._postgres()
        return Store("postgres", pg.create_database(self._pg_dsn))

    def _postgres(self) -> Any:
        if self._pg_error is not None:
            raise StoreUnavailable(self._pg_error)
        try:
            pg = _import_pg()
            if self._pg_dsn is None:
                server = self._stack.enter_context(pg.running_pg_server())
                self._pg_dsn = server.dsn()
            return pg
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # also pytest's skip/fail outcomes, raised by _pg
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            self._pg_error = f"no PostgreSQL server: {message}"
            raise StoreUnavailable(self._pg_error) from exc
