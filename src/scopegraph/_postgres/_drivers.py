"""The two drivers: run an operation's statements on a sync or an async connection."""

from __future__ import annotations

from typing import TypeVar

import psycopg
from psycopg.rows import TupleRow

from ._ops import Op, Result

__all__ = ("adrive", "drive")

_T = TypeVar("_T")


def drive(conn: psycopg.Connection[TupleRow], op: Op[_T]) -> _T:
    """Run an operation's statements; a unique violation is thrown into the operation."""
    try:
        statement, params = next(op)
        while True:
            try:
                cursor = conn.execute(statement, params)
                rows = cursor.fetchall() if cursor.description is not None else []
            except psycopg.errors.UniqueViolation as exc:
                statement, params = op.throw(exc)
                continue
            statement, params = op.send(Result(rows, cursor.rowcount))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        op.close()


async def adrive(conn: psycopg.AsyncConnection[TupleRow], op: Op[_T]) -> _T:
    """The async twin of :func:`drive`. Each connection keeps one cursor (an attribute
    of the connection: the two go away together), which saves a cursor per operation."""
    cursor = getattr(conn, "_scopegraph_cursor", None)
    if cursor is None:
        cursor = conn.cursor()
        conn._scopegraph_cursor = cursor  # type: ignore[attr-defined]
    try:
        statement, params = next(op)
        while True:
            try:
                await cursor.execute(statement, params)
                rows = await cursor.fetchall() if cursor.description is not None else []
            except psycopg.errors.UniqueViolation as exc:
                statement, params = op.throw(exc)
                continue
            statement, params = op.send(Result(rows, cursor.rowcount))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        op.close()
