"""PostgreSQL plumbing shared by the checkpoint saver, the run queue and the server's store.

One home for everything that talks to psycopg:

- :mod:`._ops`: an operation is a generator that yields SQL statements and receives their
  results (:data:`Op`), so its logic exists once for the sync and the async API;
  :class:`Schema` makes the two operations every set of tables needs (read its version,
  migrate it under an advisory lock);
- :mod:`._drivers`: :func:`drive` runs an operation on a sync connection, :func:`adrive`
  on an async one;
- :mod:`._errors`: psycopg's errors become the caller's scopegraph errors at this
  boundary (:class:`ErrorKinds`), with messages that name what to fix;
- :mod:`._database`: :class:`Database`, the pools (sync; async on asyncio), the probe
  connection that creates or migrates the tables, and the runners that retry once on a
  connection a server restart broke. ``scopegraph._backend`` tells which pool to use:
  psycopg's async API works on asyncio only, so on trio the sync pool runs in worker
  threads.

Import it only where psycopg is wanted: it raises ImportError naming the extra.
"""

from __future__ import annotations

from ._database import Database as Database
from ._drivers import adrive as adrive
from ._drivers import drive as drive
from ._errors import ErrorKinds as ErrorKinds
from ._errors import is_connection_failure as is_connection_failure
from ._ops import Op as Op
from ._ops import Result as Result
from ._ops import Schema as Schema

__all__ = (
    "Database",
    "ErrorKinds",
    "Op",
    "Result",
    "Schema",
    "adrive",
    "drive",
    "is_connection_failure",
)
