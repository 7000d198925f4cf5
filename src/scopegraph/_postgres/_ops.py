"""Operations: generators that yield SQL statements and receive their results.

A driver (:mod:`._drivers`) sends each statement to a connection and sends the result
back into the generator; a database error the operation may handle (a unique violation)
is thrown into it. The same operation thus runs on a sync and on an async connection.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import Any, TypeVar

try:
    from psycopg.rows import TupleRow
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "PostgreSQL support needs psycopg: pip install 'scopegraph[postgres]'"
    ) from exc

__all__ = ("Op", "Params", "Result", "Schema")

_T = TypeVar("_T")

Params = Mapping[str, Any] | Sequence[Any] | None
"""Named (``%(name)s``) or positional (``%s``) parameters of a statement."""


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    """What a statement returned: its rows (none for a statement without results) and
    the number of rows it changed."""

    rows: list[TupleRow]
    rowcount: int


Op = Generator[tuple[str, Params], Result, _T]


@dataclasses.dataclass(frozen=True, slots=True)
class Schema:
    """A set of tables and its versioned migrations.

    ``migrations[i]`` upgrades the tables from version ``i`` to ``i + 1`` (a version that
    only changed what is stored in them gets an empty tuple); the version is kept in the
    one-row table ``version_table``. All pending migrations run in one transaction under
    ``pg_advisory_xact_lock(lock_key)``, so processes that start together do not race.
    """

    what: str
    """The tables in messages, e.g. ``"the PostgreSQL run queue tables"``."""
    version_table: str
    lock_key: int
    migrations: tuple[tuple[str, ...], ...]
    error: Callable[[str], Exception]
    """Makes the error raised for tables written by a newer release."""

    @property
    def version(self) -> int:
        return len(self.migrations)

    def newer_error(self, found: int) -> Exception:
        return self.error(
            f"{self.what} were written by a newer scopegraph (schema version {found}; this "
            f"release supports up to {self.version}); upgrade scopegraph to use them. "
            "Nothing was changed."
        )

    def read_version(self) -> Op[int | None]:
        """The stored version (None: never set up)."""
        exists = yield f"SELECT to_regclass('{self.version_table}') IS NOT NULL", None
        if not exists.rows[0][0]:
            return None
        found = yield f"SELECT version FROM {self.version_table}", None
        return int(found.rows[0][0]) if found.rows else None

    def migrate(self) -> Op[None]:
        """Create or upgrade the tables. Run in ONE transaction: the advisory lock is
        released, and every change kept, at commit."""
        yield "SELECT pg_advisory_xact_lock(%(key)s)", {"key": self.lock_key}
        yield (
            (
                f"CREATE TABLE IF NOT EXISTS {self.version_table} ("
                " singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),"
                " version INTEGER NOT NULL,"
                " migrated_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            ),
            None,
        )
        found = yield f"SELECT version FROM {self.version_table}", None
        current = int(found.rows[0][0]) if found.rows else 0
        if current > self.version:
            raise self.newer_error(current)
        for statements in self.migrations[current:]:
            for statement in statements:
                yield statement, None
        if current < self.version:
            yield (
                (
                    f"INSERT INTO {self.version_table} (singleton, version)"
                    " VALUES (TRUE, %(version)s) ON CONFLICT (singleton)"
                    " DO UPDATE SET version = EXCLUDED.version, migrated_at = now()"
                ),
                {"version": self.version},
            )
