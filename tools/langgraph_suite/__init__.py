"""LangGraph's own test suite, run on LangGraph and on scopegraph (issue 14's instrument).

``make langgraph-suite`` (``python -m tools.langgraph_suite``) downloads the sdist of the
LangGraph version pinned in ``pyproject.toml`` into ``.cache/`` (never into git), rewrites
the public-API imports to scopegraph (:mod:`._rewrite`), runs :data:`FILES` one pytest
process per file with the in-memory fixtures (:mod:`._plugin`), once as shipped and once
rewritten, and reports per file: tests, public-API tests (:mod:`._classify` defines them),
passes on each, and the causes of the failures; it writes ``docs/langgraph-suite.md`` and
``docs/langgraph-suite.json``.

``--prebuilt`` (``make langgraph-prebuilt-suite``) does the same with the tests of the
``langgraph-prebuilt`` sdist (:data:`PREBUILT_FILES`): their graphs become scopegraph's,
``ToolNode``, ``ValidationNode`` and the tools run unchanged inside them; it writes
``docs/langgraph-prebuilt-suite.md`` and ``.json``, and its ratchet list is
``tests/langgraph_prebuilt_suite_passing.txt``.

The ratchet: ``tests/langgraph_suite_passing.txt`` lists the public-API tests that pass on
scopegraph; ``tests/test_langgraph_suite.py`` (in ``make test``) runs exactly those and
fails naming any that stopped passing. ``--update`` adds newly passing tests to the list
and refuses to drop one.
"""

from __future__ import annotations

FILES: tuple[str, ...] = (
    "test_pregel",
    "test_pregel_async",
    "test_state",
    "test_interruption",
    "test_messages_state",
    "test_channels",
    "test_parent_command",
    "test_parent_command_async",
    "test_subgraph_persistence",
    "test_subgraph_persistence_async",
    "test_time_travel",
    "test_time_travel_async",
    "test_runtime",
    "test_type_checking",
    "test_trace_policy",
    "test_config_async",
    "test_graph_callbacks",
    "test_retry",
    "test_large_cases",
    "test_large_cases_async",
    "test_pydantic",
    "test_subgraph_detection",
    # LangGraph 1.2's other public-API files with a good pass rate (streamv2, 2026-12-07)
    "test_stream_namespaces",
    "test_tool_stream_handler",
    "test_interrupt_state",
    "test_managed_values",
    "test_delta_channel_fork",
    "test_delta_channel_subgraph",
    "test_delta_channel_exit_mode",
    "test_delta_channel_parallel_order",
    "test_delta_channel_supersteps_bound",
)
"""The 22 core files of issue 14, and 9 more of the sdist's ``tests/`` whose public-API
tests scopegraph mostly passes (``test_tool_stream_handler``'s all use the prebuilt
``ToolNode``, so none counts as public-API; it runs for the nested-run options it checks)
(``tests/<name>.py`` in the sdist)."""

PREBUILT_FILES: tuple[str, ...] = (
    "test_tool_node",
    "test_on_tool_call",
    "test_injected_state_not_required",
    "test_tool_node_interceptor_unregistered",
    "test_tool_node_validation_error_filtering",
    "test_validation_node",
    "test_react_agent",
    "test_react_agent_graph",
    "test_tool_call_transformer",
    "test_deprecation",
)
"""The test files of the ``langgraph-prebuilt`` sdist (``tests/<name>.py``)."""
