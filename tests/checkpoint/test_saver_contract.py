"""The contract every checkpoint saver meets, run against each one in ``SAVER_FACTORIES``.

Sync and async APIs both: round trips, newest-first listing, task records, optimistic
concurrency (``expected_latest``), unknown ids, deletion, serialization errors, and use
as a context manager. Whatever fails, nothing of the failed write may be stored.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import threading
import uuid
from typing import Any

import anyio
import pydantic
import pytest

from scopegraph import Send
from scopegraph.checkpoint import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointConflictError,
    CheckpointNotFoundError,
    CheckpointTuple,
    SerializationError,
    TaskRecord,
)

THREAD = "thread-1"


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: float


class User(pydantic.BaseModel):
    name: str
    tags: list[str]
    home: Point | None = None


def make_checkpoint(
    checkpoint_id: str,
    parent_id: str | None = None,
    *,
    step: int = 0,
    values: dict[str, Any] | None = None,
) -> Checkpoint:
    return Checkpoint(
        id=checkpoint_id,
        parent_id=parent_id,
        step=step,
        created_at="2025-01-01T00:00:00+00:00",
        values={"n": step} if values is None else values,
        next=[("pull", "node", ("n",)), ("push", "worker", {"item": step})],
        barriers={"join": ["a", "b"]},
        metadata={"source": "loop", "step": step},
    )


def make_record(task_id: str, value: Any = 1, *, status: Any = "done") -> TaskRecord:
    return TaskRecord(
        task_id=task_id,
        name="node",
        path=("pull", "node"),
        status=status,
        writes=[("n", value)],
        next=["other", Send("worker", {"item": value})],
    )


def put_chain(saver: BaseCheckpointSaver, ids: list[str], ns: str = "") -> None:
    """Store ``ids`` as a chain, each checkpoint the child of the previous one."""
    parent: str | None = None
    for step, checkpoint_id in enumerate(ids):
        saver.put(
            THREAD, ns, make_checkpoint(checkpoint_id, parent, step=step), expected_latest=parent
        )
        parent = checkpoint_id


def ids_of(tuples: Any) -> list[str]:
    return [t.checkpoint.id for t in tuples]


RICH_VALUES: dict[str, Any] = {
    "none": None,
    "bool": True,
    "int": -(2**63),
    "float": 1.5,
    "str": "héllo \u2603 \x00",
    "list": [1, "two", [3.0, None]],
    "nested": {"a": {"b": [{"c": (1, 2)}]}},
    "tuple": (1, ("nested",), []),
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", "b"}),
    "bytes": b"\x00\xffbinary",
    "datetime": datetime.datetime(2025, 3, 4, 5, 6, 7, 8, tzinfo=datetime.UTC),
    "naive_datetime": datetime.datetime(2025, 3, 4, 5, 6, 7),
    "date": datetime.date(2025, 3, 4),
    "time": datetime.time(5, 6, 7, tzinfo=datetime.timezone(datetime.timedelta(hours=-3))),
    "timedelta": datetime.timedelta(days=-1, seconds=5, microseconds=7),
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "decimal": decimal.Decimal("3.14159265358979323846"),
    "enum": Color.BLUE,
    "dataclass": Point(1, 2.5),
    "pydantic": User(name="ada", tags=["x"], home=Point(3, 4.0)),
    "send": Send("worker", {"item": (1, 2)}),
    "int_keys": {1: "one", (2, 3): "tuple key", Color.RED: "enum key"},
    "tag_key": {"$t": "not a tag", "v": 1},
}


# -- sync API --------------------------------------------------------------------------


def test_get_tuple_of_a_thread_without_checkpoints_is_none(saver: BaseCheckpointSaver) -> None:
    assert saver.get_tuple(THREAD) is None
    assert saver.list(THREAD) == []


def test_put_then_get_tuple_round_trips_values_of_many_types(saver: BaseCheckpointSaver) -> None:
    checkpoint = make_checkpoint("c1", values=RICH_VALUES)
    saver.put(THREAD, "", checkpoint, expected_latest=None)
    saver.put_task(THREAD, "", "c1", make_record("t1", RICH_VALUES))

    found = saver.get_tuple(THREAD)

    assert found is not None
    assert found.checkpoint == checkpoint
    assert found.checkpoint.values["set"] == {1, 2, 3}
    assert type(found.checkpoint.values["frozenset"]) is frozenset
    assert type(found.checkpoint.values["tuple"]) is tuple
    assert list(found.tasks) == [make_record("t1", RICH_VALUES)]
    assert (found.thread_id, found.ns) == (THREAD, "")
    assert found.config == {
        "configurable": {"thread_id": THREAD, "checkpoint_ns": "", "checkpoint_id": "c1"}
    }


def test_values_read_back_are_copies_not_the_stored_objects(saver: BaseCheckpointSaver) -> None:
    values: dict[str, Any] = {"items": [1, 2]}
    saver.put(THREAD, "", make_checkpoint("c1", values=values), expected_latest=None)
    values["items"].append(3)

    first = saver.get_tuple(THREAD)
    assert first is not None
    first.checkpoint.values["items"].append(4)

    again = saver.get_tuple(THREAD)
    assert again is not None
    assert again.checkpoint.values == {"items": [1, 2]}


def test_get_tuple_by_id_returns_that_checkpoint_with_its_task_records(
    saver: BaseCheckpointSaver,
) -> None:
    put_chain(saver, ["c1", "c2"])
    saver.put_task(THREAD, "", "c1", make_record("t1", "first"))
    saver.put_task(THREAD, "", "c2", make_record("t2", "second"))

    older = saver.get_tuple(THREAD, "", "c1")

    assert older is not None
    assert older.checkpoint.id == "c1"
    assert [r.task_id for r in older.tasks] == ["t1"]
    assert older.tasks[0].writes == [("n", "first")]
    newest = saver.get_tuple(THREAD)
    assert newest is not None
    assert newest.checkpoint.id == "c2"
    assert newest.parent_config == {
        "configurable": {"thread_id": THREAD, "checkpoint_ns": "", "checkpoint_id": "c1"}
    }


def test_list_is_newest_first_by_insertion_not_by_id(saver: BaseCheckpointSaver) -> None:
    # Ids that sort backwards: the order must come from insertion, not from the ids.
    put_chain(saver, ["e", "d", "c", "b", "a"])

    assert ids_of(saver.list(THREAD)) == ["a", "b", "c", "d", "e"]
    assert saver.get_tuple(THREAD) is not None
    assert saver.get_tuple(THREAD).checkpoint.id == "a"  # type: ignore[union-attr]


def test_list_honours_before_and_limit(saver: BaseCheckpointSaver) -> None:
    put_chain(saver, ["c1", "c2", "c3", "c4", "c5"])

    assert ids_of(saver.list(THREAD, limit=2)) == ["c5", "c4"]
    assert ids_of(saver.list(THREAD, before="c4")) == ["c3", "c2", "c1"]
    assert ids_of(saver.list(THREAD, before="c4", limit=2)) == ["c3", "c2"]
    assert ids_of(saver.list(THREAD, before="c1")) == []
    assert saver.list(THREAD, limit=0) == []
    with pytest.raises(ValueError, match="limit"):
        saver.list(THREAD, limit=-1)


def test_list_returns_the_task_records_of_each_checkpoint(saver: BaseCheckpointSaver) -> None:
    put_chain(saver, ["c1", "c2", "c3"])
    saver.put_task(THREAD, "", "c1", make_record("a"))
    saver.put_task(THREAD, "", "c3", make_record("b"))
    saver.put_task(THREAD, "", "c3", make_record("c"))

    listed = saver.list(THREAD)

    assert [[r.task_id for r in t.tasks] for t in listed] == [["b", "c"], [], ["a"]]


def test_namespaces_of_a_thread_are_separate(saver: BaseCheckpointSaver) -> None:
    saver.put(THREAD, "", make_checkpoint("root"), expected_latest=None)
    saver.put(THREAD, "sub:1", make_checkpoint("child"), expected_latest=None)

    root = saver.get_tuple(THREAD)
    child = saver.get_tuple(THREAD, "sub:1")

    assert root is not None
    assert child is not None
    assert (root.checkpoint.id, child.checkpoint.id) == ("root", "child")
    assert child.config["configurable"]["checkpoint_ns"] == "sub:1"
    with pytest.raises(CheckpointNotFoundError):
        saver.get_tuple(THREAD, "", "child")


def test_put_task_replaces_the_record_with_the_same_task_id_in_place(
    saver: BaseCheckpointSaver,
) -> None:
    put_chain(saver, ["c1"])
    saver.put_task(THREAD, "", "c1", make_record("t1", "old", status="interrupted"))
    saver.put_task(THREAD, "", "c1", make_record("t2", "other"))
    saver.put_task(THREAD, "", "c1", make_record("t1", "new"))

    found = saver.get_tuple(THREAD)

    assert found is not None
    assert [(r.task_id, r.status, r.writes) for r in found.tasks] == [
        ("t1", "done", [("n", "new")]),
        ("t2", "done", [("n", "other")]),
    ]


def test_task_record_fields_round_trip(saver: BaseCheckpointSaver) -> None:
    put_chain(saver, ["c1"])
    record = TaskRecord(
        task_id="t1",
        name="node",
        path=("push", 0, ("nested",)),
        status="error",
        writes=[],
        next=[],
        interrupts=[{"value": "approve?", "id": "i1"}],
        error="ValueError('boom')",
    )
    saver.put_task(THREAD, "", "c1", record)

    found = saver.get_tuple(THREAD)

    assert found is not None
    assert list(found.tasks) == [record]


def test_put_with_a_stale_expected_latest_raises_conflict_and_stores_nothing(
    saver: BaseCheckpointSaver,
) -> None:
    put_chain(saver, ["c1", "c2"])

    with pytest.raises(CheckpointConflictError, match=r"'c2'.*'c1'") as raised:
        saver.put(THREAD, "", make_checkpoint("late", "c1"), expected_latest="c1")
    with pytest.raises(CheckpointConflictError):
        saver.put(THREAD, "", make_checkpoint("fresh"), expected_latest=None)

    assert THREAD in str(raised.value)
    assert ids_of(saver.list(THREAD)) == ["c2", "c1"]


def test_put_expecting_a_head_on_an_empty_thread_raises_conflict(
    saver: BaseCheckpointSaver,
) -> None:
    with pytest.raises(CheckpointConflictError):
        saver.put(THREAD, "", make_checkpoint("c2", "c1"), expected_latest="c1")

    assert saver.get_tuple(THREAD) is None


def test_put_of_an_id_the_thread_already_has_raises_conflict(saver: BaseCheckpointSaver) -> None:
    put_chain(saver, ["c1", "c2"])

    with pytest.raises(CheckpointConflictError, match="already exists"):
        saver.put(THREAD, "", make_checkpoint("c1", "c2", step=9), expected_latest="c2")

    assert ids_of(saver.list(THREAD)) == ["c2", "c1"]
    c1 = saver.get_tuple(THREAD, "", "c1")
    assert c1 is not None
    assert c1.checkpoint.step == 0


@pytest.mark.parametrize("expected", [None, "c1"])
def test_of_writers_from_threads_with_the_same_expected_latest_exactly_one_wins(
    saver: BaseCheckpointSaver, expected: str | None
) -> None:
    if expected is not None:
        put_chain(saver, [expected])
    writers = 8
    start = threading.Barrier(writers)
    outcomes: dict[str, str] = {}

    def write(name: str) -> None:
        start.wait()
        try:
            saver.put(THREAD, "", make_checkpoint(name, expected), expected_latest=expected)
        except CheckpointConflictError:
            outcomes[name] = "conflict"
        else:
            outcomes[name] = "won"

    threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(outcomes) == writers
    assert len(winners) == 1
    assert ids_of(saver.list(THREAD)) == winners + ([] if expected is None else [expected])


def test_unknown_checkpoint_id_raises_not_found_naming_thread_and_id(
    saver: BaseCheckpointSaver,
) -> None:
    put_chain(saver, ["c1"])

    with pytest.raises(CheckpointNotFoundError) as raised:
        saver.get_tuple(THREAD, "", "missing")
    with pytest.raises(CheckpointNotFoundError, match="'missing'"):
        saver.get_tuple("other-thread", "", "missing")
    with pytest.raises(CheckpointNotFoundError, match="'missing'"):
        saver.list(THREAD, before="missing")

    assert "'missing'" in str(raised.value)
    assert repr(THREAD) in str(raised.value)
    assert isinstance(raised.value, KeyError)


def test_put_task_for_an_unknown_checkpoint_raises_not_found_and_stores_nothing(
    saver: BaseCheckpointSaver,
) -> None:
    put_chain(saver, ["c1"])

    with pytest.raises(CheckpointNotFoundError, match="'missing'"):
        saver.put_task(THREAD, "", "missing", make_record("t1"))
    with pytest.raises(CheckpointNotFoundError):
        saver.put_task(THREAD, "other-ns", "c1", make_record("t1"))

    found = saver.get_tuple(THREAD)
    assert found is not None
    assert list(found.tasks) == []


def test_delete_thread_removes_everything_of_the_thread_only(saver: BaseCheckpointSaver) -> None:
    put_chain(saver, ["c1", "c2"])
    saver.put(THREAD, "sub", make_checkpoint("s1"), expected_latest=None)
    saver.put_task(THREAD, "", "c2", make_record("t1"))
    saver.put_task(THREAD, "sub", "s1", make_record("t2"))
    saver.put("other", "", make_checkpoint("o1"), expected_latest=None)
    saver.put_task("other", "", "o1", make_record("t3"))

    saver.delete_thread(THREAD)

    assert saver.get_tuple(THREAD) is None
    assert saver.get_tuple(THREAD, "sub") is None
    assert saver.list(THREAD) == []
    with pytest.raises(CheckpointNotFoundError):
        saver.get_tuple(THREAD, "", "c1")
    other = saver.get_tuple("other")
    assert other is not None
    assert [r.task_id for r in other.tasks] == ["t3"]
    # The thread starts afresh: no head, and old task records do not come back.
    saver.put(THREAD, "", make_checkpoint("c2"), expected_latest=None)
    fresh = saver.get_tuple(THREAD)
    assert fresh is not None
    assert list(fresh.tasks) == []
    saver.delete_thread("never-existed")


def test_unserializable_value_names_channel_and_type_and_stores_nothing(
    saver: BaseCheckpointSaver,
) -> None:
    put_chain(saver, ["c1"])
    bad = make_checkpoint("c2", "c1", values={"ok": 1, "payload": {"inner": [object()]}})

    with pytest.raises(SerializationError) as raised:
        saver.put(THREAD, "", bad, expected_latest="c1")

    assert "channel 'payload'" in str(raised.value)
    assert "builtins.object" in str(raised.value)
    assert isinstance(raised.value, TypeError)
    assert ids_of(saver.list(THREAD)) == ["c1"]
    # The head did not move: the next writer still expects c1.
    saver.put(THREAD, "", make_checkpoint("c2", "c1"), expected_latest="c1")


def test_a_value_past_the_stores_limits_names_channel_and_path_and_stores_nothing(
    saver: BaseCheckpointSaver,
) -> None:
    put_chain(saver, ["c1"])
    bad = make_checkpoint("c2", "c1", values={"ok": 1, "payload": {"inner": [2**64]}})

    with pytest.raises(SerializationError, match=r"channel 'payload': at inner\[0\]: integer"):
        saver.put(THREAD, "", bad, expected_latest="c1")

    assert ids_of(saver.list(THREAD)) == ["c1"]


def test_unserializable_task_write_names_channel_and_type_and_stores_nothing(
    saver: BaseCheckpointSaver,
) -> None:
    put_chain(saver, ["c1"])
    saver.put_task(THREAD, "", "c1", make_record("t1", "kept"))

    with pytest.raises(SerializationError, match=r"channel 'n'.*builtins\.function"):
        saver.put_task(THREAD, "", "c1", make_record("t1", lambda: None))

    found = saver.get_tuple(THREAD)
    assert found is not None
    assert [r.writes for r in found.tasks] == [[("n", "kept")]]


def test_usable_as_a_sync_context_manager(saver: BaseCheckpointSaver) -> None:
    with saver as entered:
        assert entered is saver
        entered.put(THREAD, "", make_checkpoint("c1"), expected_latest=None)
        found = entered.get_tuple(THREAD)
        assert found is not None
        assert found.checkpoint.id == "c1"


# -- async API -------------------------------------------------------------------------


async def aput_chain(saver: BaseCheckpointSaver, ids: list[str]) -> None:
    parent: str | None = None
    for step, checkpoint_id in enumerate(ids):
        await saver.aput(
            THREAD, "", make_checkpoint(checkpoint_id, parent, step=step), expected_latest=parent
        )
        parent = checkpoint_id


@pytest.mark.anyio
async def test_async_put_then_aget_tuple_round_trips(saver: BaseCheckpointSaver) -> None:
    checkpoint = make_checkpoint("c1", values=RICH_VALUES)
    await saver.aput(THREAD, "", checkpoint, expected_latest=None)
    await saver.aput_task(THREAD, "", "c1", make_record("t1", RICH_VALUES))

    found = await saver.aget_tuple(THREAD)
    by_id = await saver.aget_tuple(THREAD, "", "c1")

    assert found is not None
    assert found.checkpoint == checkpoint
    assert list(found.tasks) == [make_record("t1", RICH_VALUES)]
    assert by_id == found
    assert saver.get_tuple(THREAD) == found  # the sync twin reads the same store


@pytest.mark.anyio
async def test_async_alist_is_newest_first_with_before_and_limit(
    saver: BaseCheckpointSaver,
) -> None:
    assert await saver.aget_tuple(THREAD) is None
    await aput_chain(saver, ["e", "d", "c", "b", "a"])

    assert ids_of(await saver.alist(THREAD)) == ["a", "b", "c", "d", "e"]
    assert ids_of(await saver.alist(THREAD, limit=2)) == ["a", "b"]
    assert ids_of(await saver.alist(THREAD, before="b", limit=2)) == ["c", "d"]


@pytest.mark.anyio
async def test_async_aput_task_replaces_the_record_with_the_same_task_id(
    saver: BaseCheckpointSaver,
) -> None:
    await aput_chain(saver, ["c1"])
    await saver.aput_task(THREAD, "", "c1", make_record("t1", "old"))
    await saver.aput_task(THREAD, "", "c1", make_record("t1", "new"))

    found = await saver.aget_tuple(THREAD)

    assert found is not None
    assert [r.writes for r in found.tasks] == [[("n", "new")]]


@pytest.mark.anyio
async def test_async_of_tasks_with_the_same_expected_latest_exactly_one_wins(
    saver: BaseCheckpointSaver,
) -> None:
    await aput_chain(saver, ["c1"])
    outcomes: dict[str, str] = {}

    async def write(name: str) -> None:
        try:
            await saver.aput(THREAD, "", make_checkpoint(name, "c1"), expected_latest="c1")
        except CheckpointConflictError:
            outcomes[name] = "conflict"
        else:
            outcomes[name] = "won"

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(write, f"w{i}")

    winners = [name for name, outcome in outcomes.items() if outcome == "won"]
    assert len(outcomes) == 8
    assert len(winners) == 1
    assert ids_of(await saver.alist(THREAD)) == [*winners, "c1"]


@pytest.mark.anyio
async def test_async_unknown_checkpoint_id_raises_not_found(saver: BaseCheckpointSaver) -> None:
    await aput_chain(saver, ["c1"])

    with pytest.raises(CheckpointNotFoundError, match=r"'missing'.*'thread-1'"):
        await saver.aget_tuple(THREAD, "", "missing")
    with pytest.raises(CheckpointNotFoundError):
        await saver.alist(THREAD, before="missing")
    with pytest.raises(CheckpointNotFoundError):
        await saver.aput_task(THREAD, "", "missing", make_record("t1"))


@pytest.mark.anyio
async def test_async_adelete_thread_removes_everything_of_the_thread(
    saver: BaseCheckpointSaver,
) -> None:
    await aput_chain(saver, ["c1", "c2"])
    await saver.aput_task(THREAD, "", "c2", make_record("t1"))

    await saver.adelete_thread(THREAD)

    assert await saver.aget_tuple(THREAD) is None
    assert await saver.alist(THREAD) == []


@pytest.mark.anyio
async def test_async_unserializable_value_names_channel_and_type_and_stores_nothing(
    saver: BaseCheckpointSaver,
) -> None:
    await aput_chain(saver, ["c1"])

    with pytest.raises(SerializationError, match=r"channel 'fn'.*builtins\.function"):
        await saver.aput(
            THREAD,
            "",
            make_checkpoint("c2", "c1", values={"fn": lambda: None}),
            expected_latest="c1",
        )
    with pytest.raises(SerializationError, match=r"channel 'n'.*builtins\.object"):
        await saver.aput_task(THREAD, "", "c1", make_record("t1", object()))

    found: CheckpointTuple | None = await saver.aget_tuple(THREAD)
    assert found is not None
    assert (found.checkpoint.id, list(found.tasks)) == ("c1", [])


@pytest.mark.anyio
async def test_usable_as_an_async_context_manager(saver: BaseCheckpointSaver) -> None:
    async with saver as entered:
        assert entered is saver
        await entered.aput(THREAD, "", make_checkpoint("c1"), expected_latest=None)
        found = await entered.aget_tuple(THREAD)
        assert found is not None
        assert found.checkpoint.id == "c1"
