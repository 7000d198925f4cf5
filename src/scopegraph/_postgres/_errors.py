"""psycopg's errors, mapped to the caller's scopegraph errors at one boundary.

Each user of :class:`~._database.Database` names its two error classes (one for any
failure, one for "PostgreSQL cannot be reached") in an :class:`ErrorKinds`; every
psycopg error leaves this package as one of them, ``raise X(...) from exc``, with a
message that says what happened and what to fix.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout

__all__ = ("ErrorKinds", "explain_connect_failure", "is_connection_failure")

# SQLSTATE classes that mean "the connection is gone", not "the statement failed".
_CONNECTION_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def is_connection_failure(exc: psycopg.Error) -> bool:
    """True when ``exc`` says the connection broke (or never was), not the statement."""
    return exc.sqlstate is None or exc.sqlstate.startswith(_CONNECTION_SQLSTATES)


def explain_connect_failure(message: str, params: Mapping[str, Any]) -> tuple[str, str]:
    """(what happened, what to fix) for a failed connection attempt."""
    lowered = message.lower()
    dbname = params.get("dbname") or params.get("user") or os.environ.get("PGDATABASE")
    user = params.get("user") or os.environ.get("PGUSER")
    if "connection refused" in lowered:
        return "connection refused", (
            "check host and port in the connection string, and that the server is running"
        )
    if "timeout expired" in lowered or "timed out" in lowered:
        return "no answer in time", (
            "check host and port in the connection string, and the network in between; "
            "raise connect_timeout if the server is slow to answer"
        )
    if "resolve host" in lowered or "translate host name" in lowered:
        return "unknown host name", "check host in the connection string"
    if "database" in lowered and "does not exist" in lowered:
        return f"database {dbname!r} does not exist", (
            "check dbname in the connection string, or create the database "
            f"(CREATE DATABASE {dbname})"
        )
    if "role" in lowered and "does not exist" in lowered:
        return f"user {user!r} does not exist", "check user in the connection string"
    if "password" in lowered or "authentication" in lowered:
        return "authentication failed", "check user and password in the connection string"
    return message.strip().splitlines()[0], "check the connection string"


@dataclasses.dataclass(frozen=True, slots=True)
class ErrorKinds:
    """How one user of the database names itself and its errors."""

    label: str
    """The user's class in messages, e.g. ``"PostgresSaver"``."""
    error: type[Exception]
    """Raised for any other failure (a statement failed, the user is closed)."""
    connection_error: type[Exception]
    """Raised when PostgreSQL cannot be reached or the connection broke."""
    prefix: str = ""
    """What every message starts with, e.g. ``"run queue: "``."""

    def malformed(self, exc: psycopg.Error) -> Exception:
        return self.connection_error(
            f"{self.prefix}malformed PostgreSQL connection string: {str(exc).strip()}; "
            "write it as 'host=... port=... dbname=... user=...' or "
            "'postgresql://user:password@host:port/dbname'"
        )

    def connect(self, exc: psycopg.Error, target: str, params: Mapping[str, Any]) -> Exception:
        """The error for a failed attempt to connect."""
        what, fix = explain_connect_failure(str(exc), params)
        return self.connection_error(
            f"{self.prefix}cannot connect to PostgreSQL at {target}: {what}; {fix}"
        )

    def translate(self, exc: psycopg.Error, target: str, pool: tuple[int, float]) -> Exception:
        """The error for a failed operation (``pool``: the pool's size and timeout)."""
        if isinstance(exc, PoolTimeout):
            size, timeout = pool
            return self.connection_error(
                f"{self.prefix}no connection to PostgreSQL at {target} within {timeout}s: "
                f"the server is unreachable, or all {size} connections of the pool are "
                "busy (raise pool_size or pool_timeout)"
            )
        if isinstance(exc, psycopg.OperationalError) and is_connection_failure(exc):
            return self.connection_error(
                f"{self.prefix}lost the connection to PostgreSQL at {target}: "
                f"{str(exc).strip()}; the operation may not have completed"
            )
        return self.error(f"{self.prefix}PostgreSQL error: {str(exc).strip()}")

    def closed(self) -> Exception:
        return self.error(f"this {self.label} is closed; create a new one")
