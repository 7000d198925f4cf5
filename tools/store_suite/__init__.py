"""LangGraph's own store tests, run on LangGraph's stores and on scopegraph's.

``python -m tools.store_suite`` downloads the sdists of the installed
``langgraph-checkpoint`` (InMemoryStore tests) and ``langgraph-checkpoint-sqlite``
(SqliteStore / AsyncSqliteStore / TTL tests) into ``.cache/store-suite/``, copies their
store tests twice, once as shipped and once with the store imports taken from
``scopegraph.store`` (names scopegraph does not export stay LangGraph's), runs both with
pytest and prints the pass counts per file. See ``docs/store.md``.
"""
