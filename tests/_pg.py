"""A throwaway PostgreSQL server for tests, started from the installed server binaries.

Use the fixtures by binding them in a test module (no conftest.py needed)::

    import _pg

    pg_server = _pg.pg_server
    pg_dsn = _pg.pg_dsn

    def test_something(pg_dsn: str) -> None:  # a fresh, empty database
        ...

Import this module as ``_pg`` (``tests/`` is on ``sys.path`` under pytest, as for
``_helpers``), never as ``tests._pg``: mypy would see the file under two module names,
and two module objects would start two servers. Binding by assignment rather than
``from _pg import pg_dsn`` keeps ruff quiet (F401, and F811 for every test argument).

- ``pg_server`` (session): the DSN of the ``postgres`` database of the server shared by
  the session (superuser ``postgres``, trust auth, 127.0.0.1 only).
- ``pg_dsn`` (function): a new database on that server for each test.
- :func:`fresh_database_dsn`: the same outside a fixture, e.g. in a saver factory.
- :func:`running_pg_server`: a context manager for a test that needs a server of its
  own (e.g. to restart it); :meth:`PgServer.restart` restarts it, and
  :meth:`PgServer.stop` then :meth:`PgServer.start_again` leave it down in between.

The server is created with ``initdb`` into a temporary directory and started with
``pg_ctl`` on a free port, with ``fsync=off`` for speed; at the end it is stopped and the
directory deleted. As root, the binaries run as the ``postgres`` user (``runuser``),
since PostgreSQL refuses to run as root. Without the binaries the tests are skipped, or
fail when ``CI=true``, naming the Debian package to install.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from _server import free_port as _free_port

__all__ = (
    "PgServer",
    "create_database",
    "fresh_database_dsn",
    "pg_dsn",
    "pg_server",
    "running_pg_server",
    "shared_server",
)

_SUPERUSER = "postgres"
_STARTUP_TIMEOUT = 30.0


def _unavailable(reason: str) -> NoReturn:
    """Skip the test, or fail it on CI, where a missing server is a setup mistake."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def _find_bindir() -> Path | None:
    on_path = shutil.which("initdb")
    if on_path is not None and shutil.which("pg_ctl") is not None:
        return Path(on_path).resolve().parent
    # The newest major version first: /usr/lib/postgresql/<major>/bin
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: (len(Path(p).parent.name), Path(p).parent.name),
        reverse=True,
    )
    for candidate in candidates:
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "pg_ctl").exists():
            return Path(candidate)
    return None


def _require_bindir() -> Path:
    bindir = _find_bindir()
    if bindir is None:
        _unavailable(
            "the PostgreSQL server binaries (initdb, pg_ctl) are not installed, neither on "
            "PATH nor in /usr/lib/postgresql/*/bin; install the Debian package 'postgresql' "
            "(apt-get install postgresql)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed; pip install 'psycopg[binary]' psycopg-pool")
    return bindir


def _run_as() -> pwd.struct_passwd | None:
    """The user to run the server as: ``postgres`` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        user = pwd.getpwnam("postgres")
    except KeyError:
        _unavailable(
            "PostgreSQL refuses to run as root and there is no 'postgres' user to run it "
            "as; create one (the Debian package 'postgresql' does) or run the tests as "
            "another user"
        )
    if shutil.which("runuser") is None:
        _unavailable("running the tests as root needs 'runuser' (Debian package util-linux)")
    return user


class PgServer:
    """One throwaway PostgreSQL server; see the module docstring."""

    def __init__(self, bindir: Path, user: pwd.struct_passwd | None) -> None:
        self.bindir = bindir
        self._user = user
        # /tmp, not pytest's tmp_path: the postgres user must be able to reach it.
        self.base = Path(tempfile.mkdtemp(prefix="scopegraph-pg-", dir="/tmp"))
        if user is not None:
            os.chown(self.base, user.pw_uid, user.pw_gid)
        self.datadir = self.base / "data"
        self.logfile = self.base / "server.log"
        self.port = 0

    def _cmd(self, *args: str, timeout: float = _STARTUP_TIMEOUT) -> None:
        argv = [str(self.bindir / args[0]), *args[1:]]
        if self._user is not None:
            argv = ["runuser", "-u", self._user.pw_name, "--", *argv]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            log = self.logfile.read_text() if self.logfile.exists() else ""
            raise RuntimeError(
                f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout}{done.stderr}\n{log}"
            )

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={_SUPERUSER} dbname={dbname}"

    def start(self) -> None:
        """initdb (once), then start on a free port; retried if the port was taken."""
        if not self.datadir.exists():
            self._cmd(
                "initdb",
                "-D",
                str(self.datadir),
                f"--username={_SUPERUSER}",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            )
        for attempt in range(5):
            self.port = _free_port()
            try:
                self._start_on_port()
            except RuntimeError:
                if attempt == 4:
                    raise
                continue
            self.wait_ready()
            return

    def _start_on_port(self) -> None:
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.base} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._cmd(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.logfile),
            "-o",
            options,
            "-w",
            "-t",
            str(int(_STARTUP_TIMEOUT)),
            "start",
        )

    def start_again(self) -> None:
        """Start a server that :meth:`stop` stopped, on the same port."""
        self._start_on_port()
        self.wait_ready()

    def wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while True:
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def restart(self) -> None:
        """Restart the server on the same port, dropping every connection."""
        # -l again: without it the new server would write to (and hold open) our pipe.
        self._cmd(
            "pg_ctl",
            "-D",
            str(self.datadir),
            "-l",
            str(self.logfile),
            "-m",
            "fast",
            "-w",
            "restart",
        )
        self.wait_ready()

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server; ``mode="fast"`` flushes first (with ``synchronous_commit=off``
        an immediate stop may lose the last commits)."""
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._cmd("pg_ctl", "-D", str(self.datadir), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        """Stop the server and delete its directory; safe to call twice."""
        if self.base.exists():
            self.stop()
            shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def running_pg_server() -> Iterator[PgServer]:
    """A server of one's own: started on entry, stopped and deleted on exit."""
    server = PgServer(_require_bindir(), _run_as())
    try:
        server.start()
        yield server
    finally:
        server.remove()


def create_database(server_dsn: str) -> str:
    """Create a database with a unique name on the server; return its DSN."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(server_dsn, dbname=name)


_shared: PgServer | None = None


def shared_server() -> PgServer:
    """The server shared by the session, started on first use.

    The ``pg_server`` fixture removes it at the end of the session; if only
    :func:`fresh_database_dsn` used it, it is removed when the interpreter exits.
    """
    global _shared
    if _shared is None:
        server = PgServer(_require_bindir(), _run_as())
        atexit.register(server.remove)
        server.start()
        _shared = server
    return _shared


def fresh_database_dsn() -> str:
    """DSN of a new, empty database on the shared server."""
    return create_database(shared_server().dsn())


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """DSN of the ``postgres`` database of the server shared by the session."""
    server = shared_server()
    try:
        yield server.dsn()
    finally:
        global _shared
        _shared = None
        server.remove()


@pytest.fixture
def pg_dsn(pg_server: str) -> str:
    """DSN of a new, empty database, for this test only."""
    return create_database(pg_server)
