"""The run server's metadata filter is the same on SQLite and on PostgreSQL.

Issue 13 (left over from item 9): ``/threads/search`` filters metadata in SQL; on
PostgreSQL with ``metadata @> filter`` (as LangGraph's server does), on SQLite with a
function that compared top-level values for equality, so a nested filter
(``{"user": {"id": 1}}`` against ``{"user": {"id": 1, "name": "a"}}``) or an element of a
list found a thread on PostgreSQL and none on SQLite. Now SQLite's function decides as
``jsonb @>`` does; the property test checks that against a real PostgreSQL server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import _pg
from scopegraph.server._store import Documents, json_contains, open_backend
from test_server_postgres_reconnect import as_url

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn

METADATA: dict[str, Any] = {
    "user": {"id": 1, "name": "ada", "roles": ["admin", "dev"]},
    "tags": ["a", "b", ["nested"]],
    "flag": True,
    "count": 1,
    "ratio": 0.5,
    "none": None,
}

CASES: list[tuple[dict[str, Any], bool]] = [
    ({}, True),
    ({"user": {"id": 1}}, True),  # a nested subset: the old SQLite filter missed it
    ({"user": {"roles": ["dev"]}}, True),
    ({"user": {"id": 2}}, False),
    ({"tags": ["b"]}, True),  # an element of a list
    ({"tags": [["nested"]]}, True),
    ({"tags": ["c"]}, False),
    ({"tags": "a"}, False),  # a scalar is not contained in a nested list
    ({"flag": True}, True),
    ({"flag": 1}, False),  # JSON true is not 1
    ({"count": True}, False),
    ({"count": 1.0}, True),  # 1 and 1.0 are the same JSON number
    ({"ratio": 0.5}, True),
    ({"none": None}, True),
    ({"missing": None}, False),
    ({"user": {}}, True),
    ({"user": []}, False),
]


def pg_contains(conn: psycopg.Connection[Any], have: Any, want: Any) -> bool:
    row = conn.execute(
        "SELECT %s::jsonb @> %s::jsonb", (orjson.dumps(have).decode(), orjson.dumps(want).decode())
    ).fetchone()
    assert row is not None
    return bool(row[0])


@pytest.mark.parametrize(("wanted", "expected"), CASES)
def test_sqlite_filter_decides_as_postgresql(
    pg_dsn: str, wanted: dict[str, Any], expected: bool
) -> None:
    with psycopg.connect(pg_dsn) as conn:
        assert pg_contains(conn, METADATA, wanted) is expected  # the reference
    assert json_contains(METADATA, wanted) is expected


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.5, 1.0])
    | st.text("ab", max_size=2),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text("ab", max_size=2), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(have=st.dictionaries(st.text("abc", max_size=2), json_values, max_size=3), want=json_values)
def test_containment_matches_postgresql_for_any_json(pg_dsn: str, have: Any, want: Any) -> None:
    want = {"k": want}
    have = {**have, "k": have.get("k")}
    with psycopg.connect(pg_dsn) as conn:
        assert json_contains(have, want) is pg_contains(conn, have, want)


@pytest.mark.anyio
async def test_thread_search_finds_the_same_threads_on_sqlite_and_postgresql(
    pg_server: str, tmp_path: Path
) -> None:
    found: dict[str, list[list[str]]] = {}
    for name, target in (
        ("sqlite", str(tmp_path / "server.db")),
        ("postgres", as_url(_pg.create_database(pg_server))),
    ):
        docs = Documents(open_backend(target))
        docs.load()
        try:
            await docs.save("thread", {"thread_id": "t1", "metadata": METADATA})
            await docs.save("thread", {"thread_id": "t2", "metadata": {"user": {"id": 2}}})
            found[name] = [
                [t["thread_id"] for t in await docs.threads(wanted, None, 10, 0)]
                for wanted, _ in CASES
            ]
        finally:
            docs.close()
    assert found["sqlite"] == found["postgres"]
    assert found["sqlite"][1] == ["t1"]  # {"user": {"id": 1}}
