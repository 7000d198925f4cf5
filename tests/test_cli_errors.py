"""One-line CLI errors instead of tracebacks (issue 13, item 11).

``scopegraph serve`` and ``scopegraph worker`` name the mistake and the fix in one line
(exit status 2) for a port already in use, a ``--db`` that cannot be used (unreachable
PostgreSQL, a directory, a file that is not SQLite, a folder that cannot be created) and
the same graph name given twice; a graph file that fails to import shows only the user's
own frames. ``scopegraph worker`` takes the positional ``FILE.py:GRAPH`` form too.
Real processes, as a user runs them.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from _server import EXAMPLE, free_port


def scopegraph(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scopegraph._cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """The process failed with status 2 and one line on stderr holding ``words``."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_port_in_use_is_named_with_the_option_to_change_it(
    tmp_path: Path, busy_port: int
) -> None:
    result = scopegraph(
        "serve", f"{EXAMPLE}:graph", "--port", str(busy_port), "--db", "x.db", cwd=tmp_path
    )
    one_line_error(result, f"port {busy_port}", "already in use", "--port")


def test_a_directory_as_db_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "folder").mkdir()
    result = scopegraph("serve", f"{EXAMPLE}:graph", "--db", "folder", cwd=tmp_path)
    one_line_error(result, "--db 'folder' is a directory")


def test_a_file_that_is_not_sqlite_as_db_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("these are my notes, not a database\n" * 20)
    result = scopegraph("serve", f"{EXAMPLE}:graph", "--db", "notes.txt", cwd=tmp_path)
    one_line_error(result, "--db 'notes.txt' is not a SQLite database")


def test_a_db_path_that_cannot_be_created_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    result = scopegraph("serve", f"{EXAMPLE}:graph", "--db", "file/sub/x.db", cwd=tmp_path)
    one_line_error(result, "--db 'file/sub/x.db': cannot create its folder")


def test_an_unreachable_postgresql_is_a_one_line_error(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    db = f"postgresql://nobody@127.0.0.1:{port}/nothing"
    result = scopegraph("serve", f"{EXAMPLE}:graph", "--db", db, cwd=tmp_path)
    one_line_error(result, f"cannot connect to PostgreSQL at 127.0.0.1:{port}")


def test_the_same_graph_name_twice_is_a_one_line_error(tmp_path: Path) -> None:
    result = scopegraph(
        "serve",
        "--graph",
        f"agent={EXAMPLE}:graph",
        "--graph",
        f"agent={EXAMPLE}:approval",
        cwd=tmp_path,
    )
    one_line_error(result, "graph name 'agent' is given twice")


def test_a_graph_file_that_fails_to_import_shows_only_the_users_frames(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("def load():\n    return 1 / 0\n")
    (tmp_path / "app.py").write_text("import helpers\n\nVALUE = helpers.load()\n")
    result = scopegraph("serve", "app.py:graph", "--db", "x.db", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    err = result.stderr
    assert "failed to import" in err
    assert 'app.py", line 3' in err, err
    assert 'helpers.py", line 2' in err, err
    assert err.strip().endswith("ZeroDivisionError: division by zero"), err
    assert "scopegraph" not in err.replace("scopegraph serve:", ""), err  # no frame of ours
    assert "importlib" not in err, err
    assert "<frozen" not in err, err


def test_worker_takes_the_positional_file_graph_form(tmp_path: Path) -> None:
    port = free_port()
    db = f"postgresql://nobody@127.0.0.1:{port}/nothing"
    result = scopegraph(
        "worker", f"{EXAMPLE}:graph", "--db", db, "--redis", "redis://127.0.0.1:1/0", cwd=tmp_path
    )
    # the graph was taken: the worker went on to its database
    one_line_error(
        result, "scopegraph worker:", f"cannot connect to PostgreSQL at 127.0.0.1:{port}"
    )
