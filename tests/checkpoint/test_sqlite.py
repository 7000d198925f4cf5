"""What SqliteSaver guarantees beyond the saver contract, on real SQLite files.

WAL mode, persistence across reopening, concurrent use from threads and tasks, atomic
conflict detection between two connections, corrupted rows, schema versions, migrations,
and clear errors for bad paths. Files are inspected and damaged with sqlite3 directly.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import anyio
import anyio.to_thread
import pytest

from scopegraph.checkpoint import (
    SCHEMA_VERSION,
    Checkpoint,
    CheckpointConflictError,
    CheckpointError,
    CorruptCheckpointError,
    SchemaVersionError,
    SqliteSaver,
    TaskRecord,
)

THREAD = "thread-1"


def make_checkpoint(checkpoint_id: str, parent_id: str | None = None, step: int = 0) -> Checkpoint:
    return Checkpoint(
        id=checkpoint_id,
        parent_id=parent_id,
        step=step,
        created_at="2025-01-01T00:00:00+00:00",
        values={"n": step, "items": list(range(step))},
        next=[],
        barriers={},
        metadata={"step": step},
    )


def make_record(task_id: str, value: Any) -> TaskRecord:
    return TaskRecord(
        task_id=task_id, name="node", path=("node",), status="done", writes=[("n", value)]
    )


def write_chain(saver: SqliteSaver, thread_id: str, length: int) -> None:
    parent: str | None = None
    for step in range(length):
        checkpoint_id = f"{thread_id}-c{step}"
        saver.put(
            thread_id, "", make_checkpoint(checkpoint_id, parent, step), expected_latest=parent
        )
        saver.put_task(thread_id, "", checkpoint_id, make_record("t", step))
        parent = checkpoint_id


async def awrite_chain(saver: SqliteSaver, thread_id: str, length: int) -> None:
    parent: str | None = None
    for step in range(length):
        checkpoint_id = f"{thread_id}-c{step}"
        await saver.aput(
            thread_id, "", make_checkpoint(checkpoint_id, parent, step), expected_latest=parent
        )
        await saver.aput_task(thread_id, "", checkpoint_id, make_record("t", step))
        parent = checkpoint_id


def assert_chain(saver: SqliteSaver, thread_id: str, length: int) -> None:
    listed = saver.list(thread_id)
    assert [t.checkpoint.id for t in listed] == [
        f"{thread_id}-c{step}" for step in reversed(range(length))
    ]
    assert [[r.writes for r in t.tasks] for t in listed] == [
        [[("n", step)]] for step in reversed(range(length))
    ]


@contextlib.contextmanager
def raw(path: pathlib.Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to look at (or damage) the file, committed and closed."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def snapshot(path: pathlib.Path) -> tuple[list[str], str]:
    """Everything stored in the file (schema and rows), and its journal mode."""
    with raw(path) as conn:
        dump = list(conn.iterdump())
        journal_mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    return dump, journal_mode


@pytest.fixture
def db_path(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "state.db"


@pytest.fixture
def saver(db_path: pathlib.Path) -> Iterator[SqliteSaver]:
    with SqliteSaver(db_path) as opened:
        yield opened


# -- opening, closing, persistence -------------------------------------------------------


def test_wal_mode_is_on(saver: SqliteSaver, db_path: pathlib.Path) -> None:
    saver.put(THREAD, "", make_checkpoint("c1"), expected_latest=None)

    with raw(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db_path.with_name("state.db-wal").exists()


def test_the_file_is_opened_lazily_on_first_use(db_path: pathlib.Path) -> None:
    saver = SqliteSaver(db_path)
    try:
        assert not db_path.exists()
        assert saver.get_tuple(THREAD) is None
        assert db_path.exists()
    finally:
        saver.close()


def test_a_file_survives_closing_and_reopening(db_path: pathlib.Path) -> None:
    with SqliteSaver(db_path) as first:
        write_chain(first, THREAD, 3)
        first.put("t2", "sub", make_checkpoint("s1"), expected_latest=None)

    with SqliteSaver(db_path) as second:
        assert_chain(second, THREAD, 3)
        sub = second.get_tuple("t2", "sub")
        assert sub is not None
        assert sub.checkpoint == make_checkpoint("s1")
        # The head pointer survived too: the next write must expect the newest checkpoint.
        with pytest.raises(CheckpointConflictError):
            second.put(THREAD, "", make_checkpoint("x"), expected_latest=None)
        second.put(THREAD, "", make_checkpoint("x"), expected_latest=f"{THREAD}-c2")


def test_from_conn_string_is_a_context_manager_and_accepts_memory() -> None:
    with SqliteSaver.from_conn_string(":memory:") as saver:
        write_chain(saver, THREAD, 2)
        assert_chain(saver, THREAD, 2)


@pytest.mark.anyio
async def test_from_conn_string_is_an_async_context_manager(db_path: pathlib.Path) -> None:
    async with SqliteSaver.from_conn_string(str(db_path)) as saver:
        await awrite_chain(saver, THREAD, 2)
    with SqliteSaver(db_path) as reopened:
        assert_chain(reopened, THREAD, 2)


def test_a_closed_saver_says_so(db_path: pathlib.Path) -> None:
    saver = SqliteSaver(db_path)
    saver.put(THREAD, "", make_checkpoint("c1"), expected_latest=None)
    saver.close()
    saver.close()  # idempotent

    with pytest.raises(CheckpointError, match=r"is closed; create a new saver"):
        saver.get_tuple(THREAD)


# -- concurrency -------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("async_in_thread", [False, True], ids=["direct", "to_thread"])
async def test_8_threads_and_8_tasks_at_once_lose_nothing(
    db_path: pathlib.Path, async_in_thread: bool
) -> None:
    length = 25
    errors: list[BaseException] = []
    with SqliteSaver(db_path, async_in_thread=async_in_thread) as saver:
        start = threading.Barrier(8 + 1)

        def thread_writer(index: int) -> None:
            try:
                start.wait()
                write_chain(saver, f"thread-{index}", length)
                saver.list(f"thread-{index}")
            except BaseException as exc:
                errors.append(exc)
                raise

        threads = [threading.Thread(target=thread_writer, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        await anyio.to_thread.run_sync(start.wait)
        async with anyio.create_task_group() as tg:
            for index in range(8):
                tg.start_soon(awrite_chain, saver, f"task-{index}", length)
        for thread in threads:
            await anyio.to_thread.run_sync(thread.join)

        assert errors == []
        for index in range(8):
            assert_chain(saver, f"thread-{index}", length)
            assert_chain(saver, f"task-{index}", length)


def test_two_savers_on_one_file_detect_conflicts_atomically(db_path: pathlib.Path) -> None:
    # Two connections, as two processes would have: the head check and the write happen
    # in one BEGIN IMMEDIATE transaction, so the second writer sees the first one's head.
    with SqliteSaver(db_path) as first, SqliteSaver(db_path) as second:
        first.put(THREAD, "", make_checkpoint("c1"), expected_latest=None)
        second.put(THREAD, "", make_checkpoint("c2", "c1"), expected_latest="c1")

        with pytest.raises(CheckpointConflictError, match="'c2'"):
            first.put(THREAD, "", make_checkpoint("c2b", "c1"), expected_latest="c1")

        assert [t.checkpoint.id for t in first.list(THREAD)] == ["c2", "c1"]


def test_a_write_blocked_past_busy_timeout_fails_clearly_and_stores_nothing(
    db_path: pathlib.Path,
) -> None:
    with SqliteSaver(db_path, busy_timeout=0.05) as saver:
        saver.put(THREAD, "", make_checkpoint("c1"), expected_latest=None)
        with raw(db_path) as other:
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            with pytest.raises(CheckpointError, match=r"locked.*busy_timeout=0\.05") as raised:
                saver.put(THREAD, "", make_checkpoint("c2", "c1"), expected_latest="c1")
            other.execute("ROLLBACK")

        assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
        assert [t.checkpoint.id for t in saver.list(THREAD)] == ["c1"]
        saver.put(THREAD, "", make_checkpoint("c2", "c1"), expected_latest="c1")


# -- corruption --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    # Not JSON; JSON but not a document; a document without fields; not even a blob.
    [b"\x00\xff\xfe garbage", b"[1, 2]", b'{"v": 1}', 42],
    ids=["binary", "json-list", "empty-document", "integer"],
)
def test_a_corrupted_checkpoint_blob_raises_and_the_row_is_untouched(
    saver: SqliteSaver, db_path: pathlib.Path, garbage: bytes | int
) -> None:
    write_chain(saver, THREAD, 2)
    select = "SELECT data FROM scopegraph_checkpoints WHERE checkpoint_id = ?"
    with raw(db_path) as conn:
        conn.execute(
            "UPDATE scopegraph_checkpoints SET data = ? WHERE checkpoint_id = ?",
            (garbage, f"{THREAD}-c0"),
        )
        before = conn.execute(select, (f"{THREAD}-c0",)).fetchone()

    with pytest.raises(CorruptCheckpointError) as raised:
        saver.get_tuple(THREAD, "", f"{THREAD}-c0")
    with pytest.raises(CorruptCheckpointError):
        saver.list(THREAD)

    message = str(raised.value)
    assert f"'{THREAD}-c0'" in message
    assert f"thread '{THREAD}'" in message
    with raw(db_path) as conn:
        assert conn.execute(select, (f"{THREAD}-c0",)).fetchone() == before
    newest = saver.get_tuple(THREAD)  # the intact checkpoint still reads
    assert newest is not None
    assert newest.checkpoint.id == f"{THREAD}-c1"
    assert saver.list(THREAD, limit=1)[0].checkpoint.id == f"{THREAD}-c1"


def test_a_checkpoint_document_in_the_wrong_row_is_corrupt(
    saver: SqliteSaver, db_path: pathlib.Path
) -> None:
    write_chain(saver, THREAD, 2)
    with raw(db_path) as conn:
        conn.execute(
            "UPDATE scopegraph_checkpoints SET data = "
            "(SELECT data FROM scopegraph_checkpoints WHERE checkpoint_id = ?) "
            "WHERE checkpoint_id = ?",
            (f"{THREAD}-c1", f"{THREAD}-c0"),
        )

    with pytest.raises(CorruptCheckpointError, match=f"'{THREAD}-c0'.*'{THREAD}-c1'"):
        saver.get_tuple(THREAD, "", f"{THREAD}-c0")


def test_a_corrupted_task_record_raises_naming_thread_and_checkpoint(
    saver: SqliteSaver, db_path: pathlib.Path
) -> None:
    write_chain(saver, THREAD, 1)
    with raw(db_path) as conn:
        conn.execute("UPDATE scopegraph_checkpoint_tasks SET data = x'c0ffee'")

    with pytest.raises(CorruptCheckpointError) as raised:
        saver.get_tuple(THREAD)

    message = str(raised.value)
    assert "task 't'" in message
    assert f"checkpoint '{THREAD}-c0'" in message
    assert f"thread '{THREAD}'" in message
    with raw(db_path) as conn:
        assert conn.execute("SELECT data FROM scopegraph_checkpoint_tasks").fetchall() == [
            (b"\xc0\xff\xee",)
        ]


def test_a_file_that_is_not_a_database_raises_corrupt_naming_the_path(
    db_path: pathlib.Path,
) -> None:
    content = b"this is not a SQLite database" * 200
    db_path.write_bytes(content)
    saver = SqliteSaver(db_path)

    with pytest.raises(CorruptCheckpointError, match=str(db_path)):
        saver.setup()

    saver.close()
    assert db_path.read_bytes() == content


# -- schema versions and migrations ------------------------------------------------------


def test_a_newer_schema_version_raises_and_changes_nothing(db_path: pathlib.Path) -> None:
    with SqliteSaver(db_path) as saver:
        write_chain(saver, THREAD, 2)
    with raw(db_path) as conn:
        conn.execute(
            "UPDATE scopegraph_meta SET value = ? WHERE key = 'schema_version'",
            (SCHEMA_VERSION + 1,),
        )
        conn.execute("PRAGMA journal_mode = DELETE")
    before = snapshot(db_path)

    newer = SqliteSaver(db_path)
    with pytest.raises(SchemaVersionError, match=rf"schema version {SCHEMA_VERSION + 1}"):
        newer.setup()
    with pytest.raises(SchemaVersionError):  # every use, not only the first
        newer.get_tuple(THREAD)
    with pytest.raises(SchemaVersionError):
        newer.put(THREAD, "", make_checkpoint("x", f"{THREAD}-c1"), expected_latest=f"{THREAD}-c1")
    newer.close()

    assert snapshot(db_path) == before
    assert before[1] == "delete"


def test_setup_is_idempotent_and_keeps_the_data(db_path: pathlib.Path) -> None:
    with SqliteSaver(db_path) as saver:
        saver.setup()
        saver.setup()
        write_chain(saver, THREAD, 2)
    before = snapshot(db_path)

    with SqliteSaver(db_path) as again:
        again.setup()
        assert_chain(again, THREAD, 2)

    assert snapshot(db_path) == before
    with raw(db_path) as conn:
        assert conn.execute("SELECT key, value FROM scopegraph_meta").fetchall() == [
            ("schema_version", SCHEMA_VERSION)
        ]
        tables = {
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    assert tables == {
        "scopegraph_meta",
        "scopegraph_checkpoints",
        "scopegraph_checkpoint_tasks",
        "scopegraph_heads",
    }


@pytest.mark.anyio
async def test_asetup_migrates_a_new_file(db_path: pathlib.Path) -> None:
    saver = SqliteSaver(db_path)
    await saver.asetup()
    await saver.asetup()
    await saver.aclose()

    with raw(db_path) as conn:
        version = conn.execute("SELECT value FROM scopegraph_meta").fetchone()[0]
    assert version == SCHEMA_VERSION


# -- bad paths ---------------------------------------------------------------------------


def test_a_missing_directory_is_named_with_the_fix(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "missing" / "state.db"
    saver = SqliteSaver(path)

    with pytest.raises(CheckpointError) as raised:
        saver.get_tuple(THREAD)

    message = str(raised.value)
    assert str(path) in message
    assert "does not exist" in message
    assert "os.makedirs" in message
    assert not path.parent.exists()
    saver.close()


def test_a_directory_as_path_is_named_with_the_fix(tmp_path: pathlib.Path) -> None:
    saver = SqliteSaver(tmp_path)

    with pytest.raises(CheckpointError, match="is a directory") as raised:
        saver.setup()

    assert str(tmp_path) in str(raised.value)
    assert str(tmp_path / "checkpoints.db") in str(raised.value)
    saver.close()


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root may write anywhere"
)
def test_a_read_only_directory_is_named_with_the_fix(tmp_path: pathlib.Path) -> None:
    directory = tmp_path / "readonly"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        saver = SqliteSaver(directory / "state.db")
        with pytest.raises(CheckpointError, match="not writable") as raised:
            saver.setup()
        assert str(directory) in str(raised.value)
        saver.close()
    finally:
        directory.chmod(0o755)
