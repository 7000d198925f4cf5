"""Stream shapes of every stream_mode, astream_events v2, the sync APIs and open_stream.

Where LangGraph's behaviour is sound the test builds the same graph with ``langgraph`` and
with ``scopegraph`` (``build(lib)``) and asserts equal output after normalizing ids and
timestamps. LangGraph's reference runs with ``asyncio.run`` in a worker thread, so every
test also runs on trio. Parallel nodes are ordered by the stream consumer (it releases the
next node when it has seen the previous one's last chunk), never by sleeps.
"""

from __future__ import annotations

import datetime
import operator
import re
from typing import Annotated, Any, TypedDict, TypeVar

import anyio
import anyio.lowlevel
import pytest
from langchain_core.runnables import RunnableConfig

import scopegraph
from _compare import (
    INPUT,
    LG,
    SG,
    S,
    collect,
    compare,
    drain,
    normalize,
    subgraph_parent,
)

pytestmark = pytest.mark.anyio

T = TypeVar("T")


class Releases:
    """Named events, made lazily inside the running loop: a node waits, the consumer releases."""

    def __init__(self) -> None:
        self.events: dict[str, anyio.Event] = {}

    def _event(self, name: str) -> anyio.Event:
        return self.events.setdefault(name, anyio.Event())

    async def wait(self, name: str) -> None:
        await self._event(name).wait()

    def release(self, name: str) -> None:
        self._event(name).set()


def chain(lib: Any) -> Any:
    async def a(state: S) -> dict[str, Any]:
        return {"x": state["x"] + 1, "log": ["a"]}

    async def b(state: S) -> dict[str, Any]:
        return {"x": state["x"] + 1, "log": ["b"]}

    graph = lib.StateGraph(S)
    graph.add_node("a", a)
    graph.add_node("b", b)
    graph.add_edge(lib.START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", lib.END)
    return graph.compile()


# -- stream modes ------------------------------------------------------------------------------


async def test_stream_mode_values_emits_input_then_state_after_each_step() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT, stream_mode="values"))

    expected, actual = await compare(chain, scenario)
    assert expected == [
        {"x": 0, "log": []},
        {"x": 1, "log": ["a"]},
        {"x": 2, "log": ["a", "b"]},
    ]
    assert actual == expected


async def test_default_stream_mode_is_updates_with_one_chunk_per_task() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [
            app.stream_mode,
            await collect(app.astream(INPUT)),
            await collect(app.astream(INPUT, stream_mode="updates")),
            await app.ainvoke(INPUT, stream_mode="updates"),
        ]

    expected, actual = await compare(chain, scenario)
    updates = [{"a": {"x": 1, "log": ["a"]}}, {"b": {"x": 2, "log": ["b"]}}]
    assert expected == ["updates", updates, updates, updates]
    assert actual == expected


async def test_custom_and_checkpoints_modes_are_empty_without_writers_or_checkpointer() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await collect(app.astream(INPUT, stream_mode="custom")),
            await collect(app.astream(INPUT, stream_mode="checkpoints")),
        ]

    expected, actual = await compare(chain, scenario)
    assert expected == [[], []]
    assert actual == expected


async def test_stream_mode_tasks_emits_start_and_result_payloads() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT, stream_mode="tasks"))

    expected, actual = await compare(chain, scenario)
    assert expected == [
        {"id": "<id0>", "name": "a", "input": INPUT, "triggers": ("branch:to:a",)},
        {
            "id": "<id0>",
            "name": "a",
            "error": None,
            "result": {"x": 1, "log": ["a"]},
            "interrupts": [],
        },
        {"id": "<id1>", "name": "b", "input": {"x": 1, "log": ["a"]}, "triggers": ("branch:to:b",)},
        {
            "id": "<id1>",
            "name": "b",
            "error": None,
            "result": {"x": 2, "log": ["b"]},
            "interrupts": [],
        },
    ]
    assert actual == expected


async def test_stream_mode_debug_wraps_task_payloads_with_step_timestamp_and_type() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT, stream_mode="debug"))

    raw = await collect(chain(SG).astream(INPUT, stream_mode="debug"))
    for chunk in raw:
        stamp = datetime.datetime.fromisoformat(chunk["timestamp"])
        assert chunk["timestamp"].endswith("+00:00")
        assert stamp.utcoffset() == datetime.timedelta(0)
    expected, actual = await compare(chain, scenario)
    assert [(c["step"], c["type"], c["payload"]["name"]) for c in expected] == [
        (1, "task", "a"),
        (1, "task_result", "a"),
        (2, "task", "b"),
        (2, "task_result", "b"),
    ]
    assert actual == expected


async def test_list_of_modes_yields_mode_chunk_tuples_even_for_one_mode() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await collect(app.astream(INPUT, stream_mode=["values", "updates"])),
            await collect(app.astream(INPUT, stream_mode=["updates"])),
            await collect(app.astream(INPUT, stream_mode=["tasks", "debug"])),
        ]

    expected, actual = await compare(chain, scenario)
    assert expected[0] == [
        ("values", {"x": 0, "log": []}),
        ("updates", {"a": {"x": 1, "log": ["a"]}}),
        ("values", {"x": 1, "log": ["a"]}),
        ("updates", {"b": {"x": 2, "log": ["b"]}}),
        ("values", {"x": 2, "log": ["a", "b"]}),
    ]
    assert expected[1] == [
        ("updates", {"a": {"x": 1, "log": ["a"]}}),
        ("updates", {"b": {"x": 2, "log": ["b"]}}),
    ]
    assert actual == expected


async def test_subgraphs_true_prefixes_root_chunks_with_empty_namespace() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await collect(app.astream(INPUT, stream_mode="updates", subgraphs=True)),
            await collect(app.astream(INPUT, stream_mode=["updates"], subgraphs=True)),
        ]

    expected, actual = await compare(chain, scenario)
    assert expected == [
        [((), {"a": {"x": 1, "log": ["a"]}}), ((), {"b": {"x": 2, "log": ["b"]}})],
        [
            ((), "updates", {"a": {"x": 1, "log": ["a"]}}),
            ((), "updates", {"b": {"x": 2, "log": ["b"]}}),
        ],
    ]
    assert actual == expected


async def test_values_mode_skips_steps_without_writes_but_not_repeated_values() -> None:
    def build(lib: Any) -> Any:
        async def nothing(state: S) -> None:
            return None

        async def same(state: S) -> dict[str, Any]:
            return {"x": state["x"]}

        graph = lib.StateGraph(S)
        graph.add_node("nothing", nothing)
        graph.add_node("same", same)
        graph.add_edge(lib.START, "nothing")
        graph.add_edge("nothing", "same")
        graph.add_edge("same", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT, stream_mode=["values", "updates"]))

    expected, actual = await compare(build, scenario)
    assert expected == [
        ("values", INPUT),
        ("updates", {"nothing": None}),
        ("updates", {"same": {"x": 0}}),
        ("values", INPUT),
    ]
    assert actual == expected


def writer_graph(lib: Any) -> Any:
    async def writer_node(state: S) -> dict[str, Any]:
        write = lib.get_stream_writer()
        write({"chunk": 1})
        write("chunk-2-string")
        return {"x": state["x"] + 1, "log": ["writer"]}

    async def evt_node(state: S, config: RunnableConfig) -> dict[str, Any]:
        await lib.adispatch_custom_event("my_evt", {"text": "hi"}, config=config)
        return {"x": state["x"] + 10, "log": ["evt"]}

    graph = lib.StateGraph(S)
    graph.add_node("writer_node", writer_node)
    graph.add_node("evt_node", evt_node)
    graph.add_edge(lib.START, "writer_node")
    graph.add_edge("writer_node", "evt_node")
    graph.add_edge("evt_node", lib.END)
    return graph.compile()


async def test_custom_mode_yields_the_raw_values_passed_to_the_writer() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await collect(app.astream(INPUT, stream_mode="custom")),
            await collect(app.astream(INPUT, stream_mode=["custom", "updates"])),
            await app.ainvoke(INPUT),
        ]

    expected, actual = await compare(writer_graph, scenario)
    assert expected == [
        [{"chunk": 1}, "chunk-2-string"],
        [
            ("custom", {"chunk": 1}),
            ("custom", "chunk-2-string"),
            ("updates", {"writer_node": {"x": 1, "log": ["writer"]}}),
            ("updates", {"evt_node": {"x": 11, "log": ["evt"]}}),
        ],
        {"x": 11, "log": ["writer", "evt"]},
    ]
    assert actual == expected


def parallel_graph(lib: Any, releases: Releases) -> Any:
    """START -> (c_node, b_node) -> d; b_node waits until the consumer releases it."""

    async def c_node(state: S) -> dict[str, Any]:
        return {"log": ["c_node"]}

    async def b_node(state: S) -> dict[str, Any]:
        await releases.wait("b_node")
        return {"log": ["b_node"]}

    async def d(state: S) -> dict[str, Any]:
        return {"log": ["d"]}

    graph = lib.StateGraph(S)
    graph.add_node("c_node", c_node)
    graph.add_node("b_node", b_node)
    graph.add_node("d", d)
    graph.add_edge(lib.START, "c_node")
    graph.add_edge(lib.START, "b_node")
    graph.add_edge(["c_node", "b_node"], "d")
    graph.add_edge("d", lib.END)
    return graph.compile()


async def test_parallel_tasks_start_in_name_order_and_stream_results_in_completion_order() -> None:
    async def scenario(lib: Any, releases: Releases) -> Any:
        app = parallel_graph(lib, releases)
        chunks = []
        async for chunk in app.astream(INPUT, stream_mode=["updates", "tasks", "values"]):
            chunks.append(chunk)
            if chunk == ("updates", {"c_node": {"log": ["c_node"]}}):
                releases.release("b_node")
        return chunks

    expected, actual = await compare(lambda lib: Releases(), scenario)
    assert [(c[0], c[1].get("name", c[1])) for c in expected] == [
        ("values", INPUT),
        ("tasks", "b_node"),
        ("tasks", "c_node"),
        ("updates", {"c_node": {"log": ["c_node"]}}),
        ("tasks", "c_node"),
        ("updates", {"b_node": {"log": ["b_node"]}}),
        ("tasks", "b_node"),
        ("values", {"x": 0, "log": ["b_node", "c_node"]}),
        ("tasks", "d"),
        ("updates", {"d": {"log": ["d"]}}),
        ("tasks", "d"),
        ("values", {"x": 0, "log": ["b_node", "c_node", "d"]}),
    ]
    assert expected[8][1]["triggers"] == ("branch:to:d", "join:c_node+b_node:d")
    assert actual == expected


async def test_send_tasks_have_push_triggers_and_the_send_arg_as_input() -> None:
    class SendState(TypedDict, total=False):
        i: int
        out: Annotated[list[int], operator.add]

    def build(lib: Any) -> Any:
        async def w(arg: dict[str, Any]) -> dict[str, Any]:
            return {"out": [arg["i"]]}

        graph = lib.StateGraph(SendState)
        graph.add_node("w", w)
        graph.add_conditional_edges(lib.START, lambda s: [lib.Send("w", {"i": 0})])
        graph.add_edge("w", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream({"out": []}, stream_mode=["tasks", "values"]))

    expected, actual = await compare(build, scenario)
    assert expected == [
        ("values", {"out": []}),
        ("tasks", {"id": "<id0>", "name": "w", "input": {"i": 0}, "triggers": ("__pregel_push",)}),
        (
            "tasks",
            {"id": "<id0>", "name": "w", "error": None, "result": {"out": [0]}, "interrupts": []},
        ),
        ("values", {"out": [0]}),
    ]
    assert actual == expected


async def test_command_result_in_tasks_mode_is_the_update_dict() -> None:
    def build(lib: Any) -> Any:
        async def a(state: S) -> Any:
            return lib.Command(update={"x": 1}, goto="b")

        async def b(state: S) -> dict[str, Any]:
            return {"log": ["b"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a, destinations=("b",))
        graph.add_node("b", b)
        graph.add_edge(lib.START, "a")
        graph.add_edge("b", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await collect(app.astream(INPUT, stream_mode="tasks")),
            await collect(app.astream_events(INPUT, version="v2")),
        ]

    expected, actual = await compare(build, scenario)
    assert expected[0][1]["result"] == {"x": 1}
    node_a = [e for e in expected[1] if e["name"] == "a" and e["event"] == "on_chain_end"]
    assert node_a[0]["data"]["output"] == ("Command", None, {"x": 1}, None, "b")
    assert actual == expected


async def test_failed_task_result_carries_the_error_and_no_updates_chunk() -> None:
    def build(lib: Any) -> Any:
        async def boom(state: S) -> dict[str, Any]:
            raise ValueError("boom!")

        graph = lib.StateGraph(S)
        graph.add_node("boom", boom)
        graph.add_edge(lib.START, "boom")
        graph.add_edge("boom", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        chunks: list[Any] = []
        with pytest.raises(ValueError, match="boom!"):
            await drain(app.astream(INPUT, stream_mode=["tasks", "updates"]), chunks)
        return chunks

    expected, actual = await compare(build, scenario)
    assert expected == [
        ("tasks", {"id": "<id0>", "name": "boom", "input": INPUT, "triggers": ("branch:to:boom",)}),
        (
            "tasks",
            {
                "id": "<id0>",
                "name": "boom",
                "error": ("error", "ValueError", "boom!"),
                "result": {},
                "interrupts": [],
            },
        ),
    ]
    assert actual == expected


# -- subgraphs --------------------------------------------------------------------------------


async def test_subgraph_chunks_carry_the_child_task_namespace_with_subgraphs_true() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return {
            "updates": await collect(app.astream(INPUT, stream_mode="updates", subgraphs=True)),
            "values": await collect(app.astream(INPUT, stream_mode="values", subgraphs=True)),
            "updates+custom": await collect(
                app.astream(INPUT, stream_mode=["updates", "custom"], subgraphs=True)
            ),
            "tasks": await collect(app.astream(INPUT, stream_mode="tasks", subgraphs=True)),
            "custom without subgraphs": await collect(app.astream(INPUT, stream_mode="custom")),
            "updates without subgraphs": await collect(app.astream(INPUT)),
        }

    expected, actual = await compare(subgraph_parent, scenario)
    child_ns = expected["updates"][1][0]
    assert re.fullmatch(r"child:<id\d+>", child_ns[0])
    assert expected["updates"] == [
        ((), {"p": {"log": ["p"]}}),
        (child_ns, {"c1": {"x": 100, "log": ["c1"]}}),
        (child_ns, {"c2": {"log": ["c2"]}}),
        ((), {"child": {"x": 100, "log": ["p", "c1", "c2"]}}),
    ]
    assert [(len(ns), mode, chunk) for ns, mode, chunk in expected["updates+custom"]][1:4] == [
        (1, "updates", {"c1": {"x": 100, "log": ["c1"]}}),
        (1, "custom", {"from": "c2"}),
        (1, "updates", {"c2": {"log": ["c2"]}}),
    ]
    assert expected["custom without subgraphs"] == []
    assert actual == expected


async def test_subgraph_namespace_is_the_parent_task_name_and_id() -> None:
    app = subgraph_parent(SG)
    chunks = await collect(app.astream(INPUT, stream_mode="tasks", subgraphs=True))
    child_task = next(c for ns, c in chunks if ns == () and c["name"] == "child")
    inner = [ns for ns, _ in chunks if ns != ()]
    assert inner
    assert set(inner) == {(f"child:{child_task['id']}",)}


async def test_subgraph_called_from_a_function_node_streams_under_that_nodes_namespace() -> None:
    def build(lib: Any) -> Any:
        async def inner(state: S) -> dict[str, Any]:
            return {"log": ["inner"]}

        child = lib.StateGraph(S)
        child.add_node("inner", inner)
        child.add_edge(lib.START, "inner")
        child.add_edge("inner", lib.END)
        child_app = child.compile()

        async def wrap(state: S, config: RunnableConfig) -> dict[str, Any]:
            result = await child_app.ainvoke(state, config)
            return {"log": result["log"]}

        graph = lib.StateGraph(S)
        graph.add_node("wrap", wrap)
        graph.add_edge(lib.START, "wrap")
        graph.add_edge("wrap", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT, stream_mode="updates", subgraphs=True))

    expected, actual = await compare(build, scenario)
    assert expected == [
        (("wrap:<id0>",), {"inner": {"log": ["inner"]}}),
        ((), {"wrap": {"log": ["inner"]}}),
    ]
    assert actual == expected


# -- astream_events v2 ---------------------------------------------------------------------------


async def test_astream_events_v2_full_event_sequence_with_custom_event() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream_events(INPUT, version="v2"))

    expected, actual = await compare(writer_graph, scenario)
    summary = [(e["event"], e["name"], tuple(e["tags"]), len(e["parent_ids"])) for e in expected]
    assert summary == [
        ("on_chain_start", "LangGraph", (), 0),
        ("on_chain_start", "writer_node", ("graph:step:1",), 1),
        ("on_chain_stream", "writer_node", ("graph:step:1",), 1),
        ("on_chain_end", "writer_node", ("graph:step:1",), 1),
        ("on_chain_stream", "LangGraph", (), 0),
        ("on_chain_start", "evt_node", ("graph:step:2",), 1),
        ("on_custom_event", "my_evt", ("seq:step:1",), 1),
        ("on_chain_stream", "evt_node", ("graph:step:2",), 1),
        ("on_chain_end", "evt_node", ("graph:step:2",), 1),
        ("on_chain_stream", "LangGraph", (), 0),
        ("on_chain_end", "LangGraph", (), 0),
    ]
    assert expected[0]["metadata"] == {"ls_integration": "langgraph"}
    assert expected[-1]["data"] == {"output": {"x": 11, "log": ["writer", "evt"]}}
    assert expected[4]["data"] == {"chunk": {"writer_node": {"x": 1, "log": ["writer"]}}}
    assert expected[6]["data"] == {"text": "hi"}
    for event in expected:
        assert set(event) == {"event", "name", "run_id", "tags", "metadata", "data", "parent_ids"}
    assert actual == expected


async def test_astream_events_inherits_run_name_tags_and_metadata_from_config() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        config = {"run_name": "MyRun", "tags": ["t0"], "metadata": {"m": 1}}
        return await collect(app.astream_events(INPUT, config, version="v2"))

    expected, actual = await compare(writer_graph, scenario)
    assert expected[0]["name"] == "MyRun"
    assert expected[0]["tags"] == ["t0"]
    assert expected[0]["metadata"] == {"m": 1, "ls_integration": "langgraph"}
    assert expected[1]["tags"] == ["graph:step:1", "t0"]
    assert actual == expected


async def test_astream_events_uses_the_compile_name_for_the_root() -> None:
    def build(lib: Any) -> Any:
        async def a(state: S) -> dict[str, Any]:
            return {"log": ["a"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", lib.END)
        return graph.compile(name="my_graph")

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream_events(INPUT, version="v2"))

    expected, actual = await compare(build, scenario)
    assert {e["name"] for e in expected if not e["parent_ids"]} == {"my_graph"}
    assert actual == expected


@pytest.mark.parametrize(
    "stream_mode", ["custom", ["updates", "custom"], "values"], ids=["custom", "list", "values"]
)
async def test_astream_events_stream_mode_kwarg_sets_the_root_stream_chunks(
    stream_mode: Any,
) -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream_events(INPUT, version="v2", stream_mode=stream_mode))

    expected, actual = await compare(writer_graph, scenario)

    def is_root_stream(event: dict[str, Any]) -> bool:
        return event["event"] == "on_chain_stream" and not event["parent_ids"]

    root_chunks = [e["data"]["chunk"] for e in expected if is_root_stream(e)]
    if stream_mode == "custom":
        assert root_chunks == [{"chunk": 1}, "chunk-2-string"]
    elif stream_mode == "values":
        assert root_chunks[0] == INPUT
        assert expected[1]["event"] == "on_chain_stream"
    else:
        assert root_chunks[:3] == [
            ("custom", {"chunk": 1}),
            ("custom", "chunk-2-string"),
            ("updates", {"writer_node": {"x": 1, "log": ["writer"]}}),
        ]
    # When LangGraph yields a root chunk of a custom write relative to the writing node's
    # own events depends on asyncio scheduling (here: after the node ends), so compare the
    # root stream and the other events as two sequences.
    assert [e for e in actual if is_root_stream(e)] == [e for e in expected if is_root_stream(e)]
    assert [e for e in actual if not is_root_stream(e)] == [
        e for e in expected if not is_root_stream(e)
    ]


def routed_graph(lib: Any, releases: Releases) -> Any:
    """start_n -route-> fan -> (c_node, b_node) -> d; b_node waits for the consumer."""

    async def start_n(state: S) -> dict[str, Any]:
        return {"log": ["start_n"]}

    async def fan(state: S) -> dict[str, Any]:
        return {"log": ["fan"]}

    async def c_node(state: S) -> dict[str, Any]:
        return {"log": ["c_node"]}

    async def b_node(state: S) -> dict[str, Any]:
        await releases.wait("b_node")
        return {"log": ["b_node"]}

    async def d(state: S) -> dict[str, Any]:
        return {"log": ["d"], "x": state["x"] + 1}

    def route(state: S) -> str:
        return "fan" if state["x"] == 0 else lib.END

    graph = lib.StateGraph(S)
    graph.add_node("start_n", start_n)
    graph.add_node("fan", fan)
    graph.add_node("c_node", c_node)
    graph.add_node("b_node", b_node)
    graph.add_node("d", d)
    graph.add_edge(lib.START, "start_n")
    graph.add_conditional_edges("start_n", route)
    graph.add_edge("fan", "c_node")
    graph.add_edge("fan", "b_node")
    graph.add_edge(["c_node", "b_node"], "d")
    graph.add_edge("d", lib.END)
    return graph.compile()


async def test_astream_events_path_function_is_a_child_run_of_its_node() -> None:
    async def scenario(lib: Any, releases: Releases) -> Any:
        app = routed_graph(lib, releases)
        events = []
        async for event in app.astream_events(INPUT, version="v2"):
            events.append(event)
            if event["event"] == "on_chain_stream" and event["data"]["chunk"] == {
                "c_node": {"log": ["c_node"]}
            }:
                releases.release("b_node")
        return events

    expected, actual = await compare(lambda lib: Releases(), scenario)
    summary = [(e["event"], e["name"], tuple(e["tags"])) for e in expected]
    assert summary[:7] == [
        ("on_chain_start", "LangGraph", ()),
        ("on_chain_start", "start_n", ("graph:step:1",)),
        ("on_chain_start", "route", ("seq:step:3",)),
        ("on_chain_end", "route", ("seq:step:3",)),
        ("on_chain_stream", "start_n", ("graph:step:1",)),
        ("on_chain_end", "start_n", ("graph:step:1",)),
        ("on_chain_stream", "LangGraph", ()),
    ]
    assert expected[3]["data"] == {"output": "fan", "input": {"x": 0, "log": ["start_n"]}}
    assert expected[3]["parent_ids"] == [expected[0]["run_id"], expected[1]["run_id"]]
    assert summary[11:13] == [
        ("on_chain_start", "b_node", ("graph:step:3",)),
        ("on_chain_start", "c_node", ("graph:step:3",)),
    ]
    assert actual == expected


async def test_astream_events_lambda_path_is_named_unnamed_and_start_branch_is_hidden() -> None:
    class SendState(TypedDict, total=False):
        i: int
        out: Annotated[list[int], operator.add]

    def build(lib: Any) -> Any:
        async def w(arg: dict[str, Any]) -> dict[str, Any]:
            return {"out": [arg["i"]]}

        graph = lib.StateGraph(SendState)
        graph.add_node("w", w)
        graph.add_conditional_edges(lib.START, lambda s: [lib.Send("w", {"i": 7})])
        graph.add_edge("w", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream_events({"out": []}, version="v2"))

    expected, actual = await compare(build, scenario)
    summary = [(e["event"], e["name"], tuple(e["tags"])) for e in expected]
    assert summary[:6] == [
        ("on_chain_start", "LangGraph", ()),
        ("on_chain_start", "__start__", ("graph:step:0", "langsmith:hidden")),
        ("on_chain_start", "Unnamed", ("seq:step:2", "langsmith:hidden")),
        ("on_chain_end", "Unnamed", ("seq:step:2", "langsmith:hidden")),
        ("on_chain_stream", "__start__", ("graph:step:0", "langsmith:hidden")),
        ("on_chain_end", "__start__", ("graph:step:0", "langsmith:hidden")),
    ]
    w_start = expected[6]
    assert w_start["name"] == "w"
    assert w_start["data"] == {"input": {"i": 7}}
    assert w_start["metadata"]["langgraph_path"] == ("__pregel_push", 0, False)
    assert actual == expected


async def test_astream_events_for_a_subgraph_nest_the_child_runs() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream_events(INPUT, version="v2"))

    expected, actual = await compare(subgraph_parent, scenario)
    summary = [(e["event"], e["name"], len(e["parent_ids"])) for e in expected]
    assert ("on_chain_start", "LangGraph", 2) in summary
    assert ("on_chain_start", "c1", 3) in summary
    assert ("on_chain_stream", "LangGraph", 2) not in summary
    assert actual == expected


async def test_astream_events_root_end_carries_the_full_state_not_the_output_schema() -> None:
    class Overall(TypedDict, total=False):
        q: str
        ans: str

    class Out(TypedDict):
        ans: str

    def build(lib: Any) -> Any:
        async def n(state: Overall) -> dict[str, Any]:
            return {"ans": "A"}

        graph = lib.StateGraph(Overall, output_schema=Out)
        graph.add_node("n", n)
        graph.add_edge(lib.START, "n")
        graph.add_edge("n", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream_events({"q": "hi"}, version="v2"))

    expected, actual = await compare(build, scenario)
    assert expected[-1]["data"] == {"output": {"q": "hi", "ans": "A"}}
    assert actual == expected


async def test_astream_events_include_names_filters_events() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream_events(INPUT, version="v2", include_names=["b"]))

    expected, actual = await compare(chain, scenario)
    assert [(e["event"], e["name"]) for e in expected] == [
        ("on_chain_start", "b"),
        ("on_chain_stream", "b"),
        ("on_chain_end", "b"),
    ]
    # LangGraph's filtered on_chain_start shows the graph input instead of the node's
    # input (an artefact of its filtering); scopegraph filters the unfiltered events.
    assert [(e["event"], e["name"]) for e in actual] == [(e["event"], e["name"]) for e in expected]
    app = chain(SG)
    unfiltered = await collect(app.astream_events(INPUT, version="v2"))
    filtered = await collect(app.astream_events(INPUT, version="v2", include_names=["b"]))
    assert normalize(filtered) == normalize([e for e in unfiltered if e["name"] == "b"])


# -- sync APIs -----------------------------------------------------------------------------------


def sync_chain(lib: Any) -> Any:
    def a(state: S) -> dict[str, Any]:
        return {"x": state["x"] + 1, "log": ["a"]}

    def b(state: S) -> dict[str, Any]:
        return {"x": state["x"] + 1, "log": ["b"]}

    graph = lib.StateGraph(S)
    graph.add_sequence([a, b])
    graph.add_edge(lib.START, "a")
    graph.add_edge("b", lib.END)
    return graph.compile()


def test_sync_invoke_and_stream_match_langgraph() -> None:
    results = []
    for lib in (LG, SG):
        app = sync_chain(lib)
        results.append(
            normalize(
                [
                    app.invoke(INPUT),
                    list(app.stream(INPUT)),
                    list(app.stream(INPUT, stream_mode=["values", "tasks"])),
                ]
            )
        )
    expected, actual = results
    assert expected[0] == {"x": 2, "log": ["a", "b"]}
    assert actual == expected


def test_sync_stream_of_a_graph_with_sync_nodes_and_custom_writes() -> None:
    results = []
    for lib in (LG, SG):

        def a(state: S, lib: Any = lib) -> dict[str, Any]:
            lib.get_stream_writer()("from a")
            return {"log": ["a"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", lib.END)
        app = graph.compile()
        results.append(list(app.stream(INPUT, stream_mode=["custom", "updates"])))
    expected, actual = results
    assert expected == [("custom", "from a"), ("updates", {"a": {"log": ["a"]}})]
    assert actual == expected


async def test_sync_invoke_inside_a_running_event_loop_runs_as_in_langgraph() -> None:
    # As LangGraph: the caller's event loop waits; the run has a loop of its own.
    app = chain(SG)
    assert app.invoke(INPUT) == await app.ainvoke(INPUT)


# -- open_stream ---------------------------------------------------------------------------------


async def test_open_stream_yields_the_same_chunks_as_astream() -> None:
    app = chain(SG)
    for mode in ("updates", "values", ["values", "tasks"]):
        async with app.open_stream(INPUT, stream_mode=mode) as stream:
            assert isinstance(stream.run_id, str)
            chunks = [chunk async for chunk in stream]
        assert normalize(chunks) == normalize(await collect(app.astream(INPUT, stream_mode=mode)))


async def test_leaving_open_stream_early_cancels_the_run_after_its_cleanup() -> None:
    record: list[str] = []

    async def a(state: S) -> dict[str, Any]:
        return {"log": ["a"]}

    async def stuck(state: S) -> dict[str, Any]:
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.lowlevel.checkpoint()
                record.append("stuck cleaned up")
        return {}

    graph = scopegraph.StateGraph(S)
    graph.add_node("a", a)
    graph.add_node("stuck", stuck)
    graph.add_edge(scopegraph.START, "a")
    graph.add_edge("a", "stuck")
    graph.add_edge("stuck", scopegraph.END)
    app = graph.compile()
    async with app.open_stream(INPUT, stream_mode="tasks") as stream:
        async for chunk in stream:
            if chunk["name"] == "stuck":
                break
        record.append("leaving block")
    record.append("left block")
    assert record == ["leaving block", "stuck cleaned up", "left block"]


async def test_open_stream_cancel_ends_iteration_and_runs_cleanup() -> None:
    record: list[str] = []

    async def stuck(state: S) -> dict[str, Any]:
        try:
            await anyio.sleep_forever()
        finally:
            record.append("cleaned up")
        return {}

    graph = scopegraph.StateGraph(S)
    graph.add_node("stuck", stuck)
    graph.add_edge(scopegraph.START, "stuck")
    graph.add_edge("stuck", scopegraph.END)
    app = graph.compile()
    async with app.open_stream(INPUT, stream_mode="tasks") as stream:
        chunks = []
        async for chunk in stream:
            chunks.append(chunk)
            stream.cancel()
        assert stream.cancelled
    assert [c["name"] for c in chunks] == ["stuck"]
    assert record == ["cleaned up"]
