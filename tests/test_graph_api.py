"""Behaviour of the graph API, compared with LangGraph wherever LangGraph's behaviour is sound.

Most tests build the same graph twice, once with ``langgraph.graph`` and once with
``scopegraph`` (``build(lib)``), run the same scenario on both and assert that the results
are equal after :func:`normalize` (ids and timestamps differ by design). LangGraph only
runs on asyncio, so its reference result is computed with ``asyncio.run`` in a worker
thread; the same test then also works on trio.
"""

from __future__ import annotations

import dataclasses
import operator
import threading
from collections.abc import Coroutine
from typing import Annotated, Any, Literal, TypedDict, TypeVar

import anyio
import anyio.lowlevel
import langgraph.config
import langgraph.errors
import langgraph.graph
import langgraph.types
import pydantic
import pytest
import typing_extensions
from langchain_core.runnables import RunnableConfig
from langgraph.types import StreamWriter

import scopegraph
import scopegraph.managed
from _compare import (
    INPUT,
    LG,
    SG,
    S,
    collect,
    compare,
    drain,
    subgraph_parent,
)

pytestmark = pytest.mark.anyio

T = TypeVar("T")


async def outcome(coro: Coroutine[Any, Any, Any]) -> Any:
    """The result, or ``("raised", type name, message, notes)``."""
    try:
        return ("returned", await coro)
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc), getattr(exc, "__notes__", []))


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


# -- builder, reducers, edges ------------------------------------------------------------------


async def test_chain_returns_final_state_with_reducer_applied() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [await app.ainvoke(INPUT), await app.ainvoke({"x": 0})]

    expected, actual = await compare(chain, scenario)
    assert expected == [{"x": 2, "log": ["a", "b"]}, {"x": 2, "log": ["a", "b"]}]
    assert actual == expected


async def test_add_node_with_a_function_names_the_node_after_it_and_add_sequence_chains() -> None:
    def build(lib: Any) -> Any:
        async def first(state: S) -> dict[str, Any]:
            return {"log": ["first"]}

        def second(state: S) -> dict[str, Any]:
            return {"log": ["second"]}

        async def third(state: S) -> dict[str, Any]:
            return {"log": ["third"]}

        graph = lib.StateGraph(S)
        graph.add_node(first)
        graph.add_sequence([second, ("third", third)])
        graph.add_edge(lib.START, "first")
        graph.add_edge("first", "second")
        graph.add_edge("third", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT))

    expected, actual = await compare(build, scenario)
    assert expected == [
        {"first": {"log": ["first"]}},
        {"second": {"log": ["second"]}},
        {"third": {"log": ["third"]}},
    ]
    assert actual == expected


async def test_node_returning_none_or_empty_dict_leaves_state_unchanged() -> None:
    def build(lib: Any) -> Any:
        async def none(state: S) -> None:
            return None

        async def empty(state: S) -> dict[str, Any]:
            return {}

        graph = lib.StateGraph(S)
        graph.add_node("none", none)
        graph.add_node("empty", empty)
        graph.add_edge(lib.START, "none")
        graph.add_edge("none", "empty")
        graph.add_edge("empty", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [await app.ainvoke(INPUT), await collect(app.astream(INPUT))]

    expected, actual = await compare(build, scenario)
    assert expected == [INPUT, [{"none": None}, {"empty": None}]]
    assert actual == expected


def test_node_without_an_outgoing_edge_is_rejected_by_compile_strict() -> None:
    # Opt-in: compile(strict=True) asks for the explicit edge, so a forgotten edge is
    # caught early; a plain compile() accepts the graph as LangGraph does.
    import scopegraph

    async def a(state: S) -> dict[str, Any]:
        return {"log": ["a"]}

    graph = scopegraph.StateGraph(S)
    graph.add_node("a", a)
    graph.add_edge(scopegraph.START, "a")
    with pytest.raises(scopegraph.GraphValidationError, match=r"'a' has no way out.*add_edge"):
        graph.compile(strict=True)
    assert graph.compile() is not None
    graph.add_edge("a", scopegraph.END)
    assert graph.compile(strict=True) is not None


async def test_node_without_an_outgoing_edge_ends_its_branch_as_in_langgraph() -> None:
    # "b" has no way out: its branch ends there, while "c" goes on to "d".
    def build(lib: Any) -> Any:
        def step(name: str) -> Any:
            async def run(state: S) -> dict[str, Any]:
                return {"log": [name]}

            return run

        graph = lib.StateGraph(S)
        for name in "abcd":
            graph.add_node(name, step(name))
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", "b")
        graph.add_edge("a", "c")
        graph.add_edge("c", "d")
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await app.ainvoke(INPUT),
            await collect(app.astream(INPUT, stream_mode=["updates", "values"])),
        ]

    expected, actual = await compare(build, scenario)
    assert expected[0] == {"x": 0, "log": ["a", "b", "c", "d"]}
    assert actual == expected


async def test_command_goto_from_a_node_with_no_edge_and_no_annotation_as_in_langgraph() -> None:
    # LangGraph needs neither an edge out of "a" nor destinations= for Command(goto=...);
    # "island" has no way in and never runs.
    def build(lib: Any) -> Any:
        async def a(state: S) -> Any:
            return lib.Command(update={"x": 10, "log": ["a"]}, goto="b")

        async def b(state: S) -> dict[str, Any]:
            return {"log": ["b"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_node("b", b)
        graph.add_node("island", b)
        graph.add_edge(lib.START, "a")
        graph.add_edge("island", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await app.ainvoke(INPUT),
            await collect(app.astream(INPUT, stream_mode=["updates", "values"])),
        ]

    expected, actual = await compare(build, scenario)
    assert expected[0] == {"x": 10, "log": ["a", "b"]}
    assert actual == expected


class Gate:
    """Makes parallel nodes finish in a chosen order, on any backend, without sleeps.

    The events are made lazily, inside the running event loop.
    """

    def __init__(self, *order: str) -> None:
        self.order = order
        self.events: dict[str, anyio.Event] = {}

    def _event(self, name: str) -> anyio.Event:
        return self.events.setdefault(name, anyio.Event())

    async def turn(self, name: str) -> None:
        index = self.order.index(name)
        if index:
            await self._event(self.order[index - 1]).wait()

    def done(self, name: str) -> None:
        self._event(name).set()


async def test_reducer_applies_parallel_writes_in_alphabetical_node_order_not_completion() -> None:
    def build(lib: Any) -> Any:
        gate = Gate("c_node", "b_node")  # c_node finishes first

        async def c_node(state: S) -> dict[str, Any]:
            await gate.turn("c_node")
            gate.done("c_node")
            return {"log": ["c_node"]}

        async def b_node(state: S) -> dict[str, Any]:
            await gate.turn("b_node")
            return {"log": ["b_node"]}

        graph = lib.StateGraph(S)
        graph.add_node("c_node", c_node)
        graph.add_node("b_node", b_node)
        graph.add_edge(lib.START, "c_node")
        graph.add_edge(lib.START, "b_node")
        graph.add_edge("c_node", lib.END)
        graph.add_edge("b_node", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await app.ainvoke(INPUT)

    expected, actual = await compare(build, scenario)
    assert expected == {"x": 0, "log": ["b_node", "c_node"]}
    assert actual == expected


def fan_graph(lib: Any) -> Any:
    """START -> start_n -?route-> fan -> (c_node, b_node) -> join -> d."""

    async def start_n(state: S) -> dict[str, Any]:
        return {"log": ["start_n"]}

    async def fan(state: S) -> dict[str, Any]:
        return {"log": ["fan"]}

    async def c_node(state: S) -> dict[str, Any]:
        return {"log": ["c_node"]}

    async def b_node(state: S) -> dict[str, Any]:
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


async def test_conditional_edge_routes_and_join_edge_waits_for_all_sources() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [await app.ainvoke(INPUT), await app.ainvoke({"x": 1, "log": []})]

    expected, actual = await compare(fan_graph, scenario)
    assert expected == [
        {"x": 1, "log": ["start_n", "fan", "b_node", "c_node", "d"]},
        {"x": 1, "log": ["start_n"]},
    ]
    assert actual == expected


async def test_node_reached_by_two_edges_in_one_step_runs_once() -> None:
    def build(lib: Any) -> Any:
        async def node(state: S, config: RunnableConfig) -> dict[str, Any]:
            return {"log": [config["metadata"]["langgraph_node"]]}

        graph = lib.StateGraph(S)
        for name in ("b_node", "c_node", "d"):
            graph.add_node(name, node)
        graph.add_edge(lib.START, "c_node")
        graph.add_edge(lib.START, "b_node")
        graph.add_edge("c_node", "d")
        graph.add_edge("b_node", "d")
        graph.add_edge("d", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await app.ainvoke(INPUT)

    expected, actual = await compare(build, scenario)
    assert expected == {"x": 0, "log": ["b_node", "c_node", "d"]}
    assert actual == expected


@pytest.mark.parametrize("path_map_kind", ["dict", "list"])
async def test_conditional_edge_with_path_map_maps_return_values_to_nodes(
    path_map_kind: str,
) -> None:
    def build(lib: Any) -> Any:
        async def a(state: S) -> dict[str, Any]:
            return {"log": ["a"]}

        async def yes(state: S) -> dict[str, Any]:
            return {"log": ["yes"]}

        async def no(state: S) -> dict[str, Any]:
            return {"log": ["no"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_node("yes", yes)
        graph.add_node("no", no)
        graph.add_edge(lib.START, "a")
        if path_map_kind == "dict":
            graph.add_conditional_edges(
                "a",
                lambda s: s["x"] > 0,
                {True: "yes", False: "no"},
            )
        else:
            graph.add_conditional_edges("a", lambda s: "yes" if s["x"] > 0 else "no", ["yes", "no"])
        graph.add_edge("yes", lib.END)
        graph.add_edge("no", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [await app.ainvoke({"x": 1, "log": []}), await app.ainvoke({"x": 0, "log": []})]

    expected, actual = await compare(build, scenario)
    assert expected == [{"x": 1, "log": ["a", "yes"]}, {"x": 0, "log": ["a", "no"]}]
    assert actual == expected


async def test_conditional_edge_returning_list_runs_nodes_in_parallel_and_empty_list_ends() -> None:
    def build(lib: Any) -> Any:
        async def node(state: S, config: RunnableConfig) -> dict[str, Any]:
            return {"log": [config["metadata"]["langgraph_node"]]}

        async def route(state: S) -> list[str]:
            return ["c", "b"] if state["x"] else []

        graph = lib.StateGraph(S)
        for name in ("a", "b", "c"):
            graph.add_node(name, node)
        graph.add_edge(lib.START, "a")
        graph.add_conditional_edges("a", route)
        graph.add_edge("b", lib.END)
        graph.add_edge("c", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [await app.ainvoke({"x": 1, "log": []}), await app.ainvoke({"x": 0, "log": []})]

    expected, actual = await compare(build, scenario)
    assert expected == [{"x": 1, "log": ["a", "b", "c"]}, {"x": 0, "log": ["a"]}]
    assert actual == expected


async def test_path_function_sees_the_state_including_the_nodes_own_writes() -> None:
    def build(lib: Any) -> Any:
        seen: list[Any] = []

        async def a(state: S) -> dict[str, Any]:
            return {"x": 7, "log": ["a"]}

        def route(state: S) -> Any:
            seen.append(dict(state))
            return lib.END

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_edge(lib.START, "a")
        graph.add_conditional_edges("a", route)
        return graph.compile(), seen

    async def scenario(lib: Any, built: Any) -> Any:
        app, seen = built
        await app.ainvoke({"x": 0, "log": ["in"]})
        return seen

    expected, actual = await compare(build, scenario)
    assert expected == [{"x": 7, "log": ["in", "a"]}]
    assert actual == expected


async def test_path_function_may_take_config() -> None:
    def build(lib: Any) -> Any:
        async def a(state: S) -> dict[str, Any]:
            return {"log": ["a"]}

        async def b(state: S) -> dict[str, Any]:
            return {"log": ["b"]}

        def route(state: S, config: RunnableConfig) -> str:
            return "b" if config["configurable"]["go"] else lib.END

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_node("b", b)
        graph.add_edge(lib.START, "a")
        graph.add_conditional_edges("a", route, ["b", lib.END])
        graph.add_edge("b", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await app.ainvoke(INPUT, {"configurable": {"go": True}}),
            await app.ainvoke(INPUT, {"configurable": {"go": False}}),
        ]

    expected, actual = await compare(build, scenario)
    assert expected == [{"x": 0, "log": ["a", "b"]}, {"x": 0, "log": ["a"]}]
    assert actual == expected


# -- Send ----------------------------------------------------------------------------------


class SendState(TypedDict, total=False):
    i: int
    out: Annotated[list[Any], operator.add]


async def test_send_fan_out_from_start_applies_results_in_send_order() -> None:
    def build(lib: Any) -> Any:
        gate = Gate("w2", "w1", "w0")  # the last Send finishes first

        async def w(arg: dict[str, Any]) -> dict[str, Any]:
            name = f"w{arg['i']}"
            await gate.turn(name)
            gate.done(name)
            return {"out": [arg["i"]]}

        graph = lib.StateGraph(SendState)
        graph.add_node("w", w)
        graph.add_conditional_edges(
            lib.START, lambda s: [lib.Send("w", {"i": i}) for i in range(3)]
        )
        graph.add_edge("w", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await app.ainvoke({"out": []})

    expected, actual = await compare(build, scenario)
    assert expected == {"out": [0, 1, 2]}
    assert actual == expected


async def test_pull_task_writes_before_send_tasks_of_the_same_step() -> None:
    def build(lib: Any) -> Any:
        async def src(state: SendState) -> dict[str, Any]:
            return {"out": ["src"]}

        async def m(state: Any) -> dict[str, Any]:
            return {"out": [f"m:{state.get('i')}"]}

        async def z(state: Any) -> dict[str, Any]:
            return {"out": [f"z:{state['i']}"]}

        async def a(state: Any) -> dict[str, Any]:
            return {"out": [f"a:{state['i']}"]}

        def route(state: SendState) -> list[Any]:
            return [
                "m",
                lib.Send("z", {"i": 0}),
                lib.Send("a", {"i": 1}),
                lib.Send("z", {"i": 2}),
            ]

        graph = lib.StateGraph(SendState)
        graph.add_node("src", src)
        graph.add_node("m", m)
        graph.add_node("z", z)
        graph.add_node("a", a)
        graph.add_edge(lib.START, "src")
        graph.add_conditional_edges("src", route)
        for name in ("m", "z", "a"):
            graph.add_edge(name, lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await app.ainvoke({"out": []})

    expected, actual = await compare(build, scenario)
    assert expected == {"out": ["src", "m:None", "z:0", "a:1", "z:2"]}
    assert actual == expected


# -- Command -------------------------------------------------------------------------------


async def test_command_goto_adds_to_static_edges_without_return_annotation() -> None:
    # LangGraph needs no `-> Command[Literal[...]]` annotation for goto to work.
    def build(lib: Any) -> Any:
        async def a(state: S) -> Any:  # no `-> Command[Literal["b"]]` annotation
            return lib.Command(update={"x": state["x"] + 1, "log": ["a"]}, goto="b")

        async def b(state: S) -> dict[str, Any]:
            return {"log": ["b"]}

        async def c(state: S) -> dict[str, Any]:
            return {"log": ["c"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_node("b", b)
        graph.add_node("c", c)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", "c")
        graph.add_edge("b", lib.END)
        graph.add_edge("c", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [await app.ainvoke(INPUT), await collect(app.astream(INPUT, stream_mode="values"))]

    expected, actual = await compare(build, scenario)
    assert expected[0] == {"x": 1, "log": ["a", "b", "c"]}
    assert actual == expected


def command_graph(lib: Any) -> Any:
    async def a(state: S) -> Any:
        return lib.Command(update={"x": state["x"] + 1, "log": ["a"]}, goto="b")

    async def b(state: S) -> dict[str, Any]:
        return {"log": ["b"]}

    async def c(state: S) -> dict[str, Any]:
        return {"log": ["c"]}

    graph = lib.StateGraph(S)
    graph.add_node("a", a, destinations=("b",))
    graph.add_node("b", b)
    graph.add_node("c", c)
    graph.add_edge(lib.START, "a")
    graph.add_edge("a", "c")
    graph.add_edge("b", lib.END)
    graph.add_edge("c", lib.END)
    return graph.compile()


async def test_command_update_and_goto_with_declared_destinations() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await app.ainvoke(INPUT),
            await collect(app.astream(INPUT, stream_mode="values")),
            await collect(app.astream(INPUT, stream_mode="updates")),
        ]

    expected, actual = await compare(command_graph, scenario)
    assert expected[0] == {"x": 1, "log": ["a", "b", "c"]}
    assert expected[2] == [
        {"a": {"x": 1, "log": ["a"]}},
        {"b": {"log": ["b"]}},
        {"c": {"log": ["c"]}},
    ]
    assert actual == expected


async def lg_to_b_or_c(state: S) -> langgraph.types.Command[Literal["b", "c"]]:
    return langgraph.types.Command(update={"log": ["a"]}, goto="b" if state["x"] else "c")


async def sg_to_b_or_c(state: S) -> scopegraph.Command[Literal["b", "c"]]:
    return scopegraph.Command(update={"log": ["a"]}, goto="b" if state["x"] else "c")


async def test_command_return_annotation_declares_the_goto_destinations() -> None:
    # `-> Command[Literal["b", "c"]]` is LangGraph's documented way to declare where a
    # node's Command may go; both b and c are reachable only through it.
    def build(lib: Any) -> Any:
        async def b(state: S) -> dict[str, Any]:
            return {"log": ["b"]}

        async def c(state: S) -> dict[str, Any]:
            return {"log": ["c"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", lg_to_b_or_c if lib is LG else sg_to_b_or_c)
        graph.add_node("b", b)
        graph.add_node("c", c)
        graph.add_edge(lib.START, "a")
        graph.add_edge("b", lib.END)
        graph.add_edge("c", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [await app.ainvoke({"x": 1, "log": []}), await app.ainvoke({"x": 0, "log": []})]

    expected, actual = await compare(build, scenario)
    assert expected == [{"x": 1, "log": ["a", "b"]}, {"x": 0, "log": ["a", "c"]}]
    assert actual == expected


async def test_command_goto_end_does_not_suppress_static_edges() -> None:
    def build(lib: Any) -> Any:
        async def a(state: S) -> Any:
            return lib.Command(update={"x": 5}, goto=lib.END)

        async def b(state: S) -> dict[str, Any]:
            return {"log": ["b"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_node("b", b)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", "b")
        graph.add_edge("b", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT))

    expected, actual = await compare(build, scenario)
    assert expected == [{"a": {"x": 5}}, {"b": {"log": ["b"]}}]
    assert actual == expected


async def test_command_goto_list_with_send_and_no_update() -> None:
    def build(lib: Any) -> Any:
        async def a(state: S) -> Any:
            return lib.Command(goto=["b", lib.Send("c", {"x": 99, "log": []})])

        async def b(state: S) -> dict[str, Any]:
            return {"log": [f"b{state['x']}"]}

        async def c(state: S) -> dict[str, Any]:
            return {"log": [f"c{state['x']}"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a, destinations=("b", "c"))
        graph.add_node("b", b)
        graph.add_node("c", c)
        graph.add_edge(lib.START, "a")
        graph.add_edge("b", lib.END)
        graph.add_edge("c", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await app.ainvoke(INPUT)

    expected, actual = await compare(build, scenario)
    assert expected == {"x": 0, "log": ["b0", "c99"]}
    assert actual == expected


# -- subgraphs -----------------------------------------------------------------------------


async def test_compiled_subgraph_as_node_returns_its_full_state_to_the_parent() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [await app.ainvoke(INPUT), await collect(app.astream(INPUT))]

    expected, actual = await compare(subgraph_parent, scenario)
    assert expected == [
        {"x": 100, "log": ["p", "p", "c1", "c2"]},
        [{"p": {"log": ["p"]}}, {"child": {"x": 100, "log": ["p", "c1", "c2"]}}],
    ]
    assert actual == expected


async def test_subgraph_invoked_from_a_function_node_runs_inside_the_parent() -> None:
    def build(lib: Any) -> Any:
        async def inner(state: S) -> dict[str, Any]:
            return {"log": ["inner"]}

        child = lib.StateGraph(S)
        child.add_node("inner", inner)
        child.add_edge(lib.START, "inner")
        child.add_edge("inner", lib.END)
        child_app = child.compile()

        async def wrap(state: S, config: RunnableConfig) -> dict[str, Any]:
            result = await child_app.ainvoke({"x": state["x"], "log": []}, config)
            return {"log": [f"wrap{result['log']}"]}

        graph = lib.StateGraph(S)
        graph.add_node("wrap", wrap)
        graph.add_edge(lib.START, "wrap")
        graph.add_edge("wrap", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await app.ainvoke(INPUT),
            await collect(app.astream(INPUT, stream_mode="updates", subgraphs=True)),
        ]

    expected, actual = await compare(build, scenario)
    assert expected[0] == {"x": 0, "log": ["wrap['inner']"]}
    assert actual == expected


async def test_command_parent_from_a_subgraph_node_routes_in_the_parent() -> None:
    def build(lib: Any) -> Any:
        async def leave(state: S) -> Any:
            return lib.Command(graph=lib.Command.PARENT, goto="after", update={"log": ["leave"]})

        child = lib.StateGraph(S)
        child.add_node("leave", leave)
        child.add_edge(lib.START, "leave")
        child.add_edge("leave", lib.END)

        async def after(state: S) -> dict[str, Any]:
            return {"log": ["after"]}

        graph = lib.StateGraph(S)
        graph.add_node("child", child.compile(), destinations=("after",))
        graph.add_node("after", after)
        graph.add_edge(lib.START, "child")
        graph.add_edge("after", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return [await app.ainvoke(INPUT), await collect(app.astream(INPUT))]

    expected, actual = await compare(build, scenario)
    assert expected == [
        {"x": 0, "log": ["leave", "after"]},
        [{"child": {"log": ["leave"]}}, {"after": {"log": ["after"]}}],
    ]
    assert actual == expected


# -- recursion_limit -------------------------------------------------------------------------


def loop_graph(lib: Any) -> Any:
    async def a(state: S) -> dict[str, Any]:
        return {"x": state["x"] + 1}

    graph = lib.StateGraph(S)
    graph.add_node("a", a)
    graph.add_edge(lib.START, "a")
    graph.add_edge("a", "a")
    return graph.compile()


async def test_recursion_limit_runs_exactly_n_steps_then_raises_graph_recursion_error() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        chunks: list[Any] = []
        with pytest.raises(lib.GraphRecursionError) as info:
            await drain(app.astream(INPUT, {"recursion_limit": 5}), chunks)
        assert isinstance(info.value, RecursionError)
        return chunks, str(info.value)

    expected, actual = await compare(loop_graph, scenario)
    assert expected[0] == [{"a": {"x": n}} for n in range(1, 6)]
    assert "Recursion limit of 5 reached without hitting a stop condition" in expected[1]
    assert actual == expected


async def test_recursion_limit_counts_the_check_after_the_last_step() -> None:
    async def scenario(lib: Any, app: Any) -> Any:
        return [
            await outcome(app.ainvoke(INPUT, {"recursion_limit": 2})),
            await outcome(app.ainvoke(INPUT, {"recursion_limit": 3})),
        ]

    expected, actual = await compare(chain, scenario)
    assert expected[0][:2] == ("raised", "GraphRecursionError")
    assert expected[1] == ("returned", {"x": 2, "log": ["a", "b"]})
    assert actual == expected


async def test_default_recursion_limit_is_langgraphs() -> None:
    app = chain(SG)
    assert app.recursion_limit == 10007


# -- retry and timeout -------------------------------------------------------------------------


async def test_retry_policy_retries_connection_errors_invisibly() -> None:
    def build(lib: Any) -> Any:
        attempts: list[int] = []

        async def flaky(state: S) -> dict[str, Any]:
            attempts.append(1)
            if len(attempts) < 3:
                raise ConnectionError("down")
            return {"log": [f"ok after {len(attempts)}"]}

        graph = lib.StateGraph(S)
        graph.add_node(
            "flaky", flaky, retry_policy=lib.RetryPolicy(initial_interval=0, jitter=False)
        )
        graph.add_edge(lib.START, "flaky")
        graph.add_edge("flaky", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT, stream_mode=["updates", "tasks"]))

    expected, actual = await compare(build, scenario)
    assert [mode for mode, _ in expected] == ["tasks", "updates", "tasks"]
    assert expected[1] == ("updates", {"flaky": {"log": ["ok after 3"]}})
    assert actual == expected


async def test_retry_policy_gives_up_after_max_attempts_or_for_non_retryable_errors() -> None:
    def build(lib: Any) -> Any:
        attempts: dict[str, int] = {"conn": 0, "value": 0}

        async def node(state: S) -> dict[str, Any]:
            kind = "conn" if state["x"] else "value"
            attempts[kind] += 1
            raise ConnectionError("down") if kind == "conn" else ValueError("bad")

        graph = lib.StateGraph(S)
        graph.add_node(
            "node",
            node,
            retry_policy=lib.RetryPolicy(initial_interval=0, jitter=False, max_attempts=2),
        )
        graph.add_edge(lib.START, "node")
        graph.add_edge("node", lib.END)
        return graph.compile(), attempts

    async def scenario(lib: Any, built: Any) -> Any:
        app, attempts = built
        conn = await outcome(app.ainvoke({"x": 1, "log": []}))
        value = await outcome(app.ainvoke({"x": 0, "log": []}))
        return conn, value, dict(attempts)

    expected, actual = await compare(build, scenario)
    assert expected[0][:3] == ("raised", "ConnectionError", "down")
    assert expected[1][:3] == ("raised", "ValueError", "bad")
    assert expected[2] == {"conn": 2, "value": 1}
    assert actual == expected


async def test_retry_policy_retry_on_exception_class() -> None:
    def build(lib: Any) -> Any:
        attempts: list[int] = []

        async def node(state: S) -> dict[str, Any]:
            attempts.append(1)
            if len(attempts) == 1:
                raise KeyError("once")
            return {"log": [str(len(attempts))]}

        graph = lib.StateGraph(S)
        policy = lib.RetryPolicy(initial_interval=0, jitter=False, retry_on=KeyError)
        graph.add_node("node", node, retry_policy=policy)
        graph.add_edge(lib.START, "node")
        graph.add_edge("node", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await app.ainvoke(INPUT)

    expected, actual = await compare(build, scenario)
    assert expected == {"x": 0, "log": ["2"]}
    assert actual == expected


async def test_node_timeout_raises_node_timeout_error_after_the_nodes_cleanup() -> None:
    # scopegraph-only: LangGraph's timeout is a TimeoutPolicy with another message format.
    cleanup: list[str] = []

    async def slow(state: S) -> dict[str, Any]:
        try:
            await anyio.sleep_forever()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.lowlevel.checkpoint()
                cleanup.append("done")
        return {}

    graph = scopegraph.StateGraph(S)
    graph.add_node("slow", slow, timeout=0.01)
    graph.add_edge(scopegraph.START, "slow")
    graph.add_edge("slow", scopegraph.END)
    app = graph.compile()
    with pytest.raises(scopegraph.NodeTimeoutError, match="'slow' exceeded its run") as info:
        await app.ainvoke(INPUT)
    # As in LangGraph, not a TimeoutError (an OSError): the default RetryPolicy retries it.
    assert not isinstance(info.value, TimeoutError)
    assert (info.value.node, info.value.kind, info.value.run_timeout) == ("slow", "run", 0.01)
    assert cleanup == ["done"]


async def test_node_timeout_does_not_affect_a_fast_node() -> None:
    async def fast(state: S) -> dict[str, Any]:
        return {"log": ["fast"]}

    graph = scopegraph.StateGraph(S)
    graph.add_node("fast", fast, timeout=30)
    graph.add_edge(scopegraph.START, "fast")
    graph.add_edge("fast", scopegraph.END)
    assert await graph.compile().ainvoke(INPUT) == {"x": 0, "log": ["fast"]}


# -- node errors -------------------------------------------------------------------------------


async def test_node_error_is_raised_unwrapped_with_a_task_note_and_cancels_siblings() -> None:
    def build(lib: Any) -> Any:
        record: list[str] = []
        events: dict[str, anyio.Event] = {}

        async def boom(state: S) -> dict[str, Any]:
            await events.setdefault("sib", anyio.Event()).wait()
            raise ValueError("boom!")

        async def sib(state: S) -> dict[str, Any]:
            events.setdefault("sib", anyio.Event()).set()
            try:
                await anyio.sleep_forever()
            except anyio.get_cancelled_exc_class():
                record.append("sib cancelled")
                raise
            return {}

        graph = lib.StateGraph(S)
        graph.add_node("boom", boom)
        graph.add_node("sib", sib)
        graph.add_edge(lib.START, "boom")
        graph.add_edge(lib.START, "sib")
        graph.add_edge("boom", lib.END)
        graph.add_edge("sib", lib.END)
        return graph.compile(), record

    async def scenario(lib: Any, built: Any) -> Any:
        app, record = built
        return await outcome(app.ainvoke(INPUT)), record

    expected, actual = await compare(build, scenario)
    assert expected == (
        ("raised", "ValueError", "boom!", ["During task with name 'boom' and id '<id0>'"]),
        ["sib cancelled"],
    )
    assert actual == expected


# -- sync nodes, config, writer ------------------------------------------------------------------


async def test_sync_nodes_and_sync_path_functions_run_in_worker_threads() -> None:
    def build(lib: Any) -> Any:
        threads: list[bool] = []
        loop_thread = threading.get_ident()

        def a(state: S) -> dict[str, Any]:
            threads.append(threading.get_ident() == loop_thread)
            return {"x": state["x"] + 1, "log": ["a"]}

        def route(state: S) -> str:
            return "b"

        def b(state: S) -> dict[str, Any]:
            return {"log": ["b"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_node("b", b)
        graph.add_edge(lib.START, "a")
        graph.add_conditional_edges("a", route, ["b"])
        graph.add_edge("b", lib.END)
        return graph.compile(), threads

    async def scenario(lib: Any, built: Any) -> Any:
        app, threads = built
        return await app.ainvoke(INPUT), await collect(app.astream(INPUT)), threads

    expected, actual = await compare(build, scenario)
    assert expected[0] == {"x": 1, "log": ["a", "b"]}
    assert expected[2] == [False, False]
    assert actual == expected


async def test_node_config_carries_langgraph_metadata_and_user_config() -> None:
    def build(lib: Any) -> Any:
        seen: list[Any] = []

        async def a(state: S, config: RunnableConfig) -> dict[str, Any]:
            from_ctx = lib.get_config()
            seen.append(
                {
                    "metadata": config["metadata"],
                    "ctx_metadata": from_ctx["metadata"],
                    "tags": config.get("tags"),
                    "recursion_limit": config.get("recursion_limit"),
                    "user": config["configurable"].get("user"),
                    "checkpoint_ns": config["configurable"]["checkpoint_ns"],
                    "task_id": config["configurable"]["__pregel_task_id"],
                }
            )
            return {"log": ["a"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", lib.END)
        return graph.compile(), seen

    async def scenario(lib: Any, built: Any) -> Any:
        app, seen = built
        await app.ainvoke(INPUT)
        await app.ainvoke(
            INPUT,
            {
                "configurable": {"user": "u1", "thread_id": "T"},
                "tags": ["mytag"],
                "metadata": {"m": 1},
                "recursion_limit": 50,
            },
        )
        return seen

    expected, actual = await compare(build, scenario)
    plain_md = {
        "langgraph_step": 1,
        "langgraph_node": "a",
        "langgraph_triggers": ("branch:to:a",),
        "langgraph_path": ("__pregel_pull", "a"),
        "langgraph_checkpoint_ns": "a:<id0>",
    }
    assert expected[0] == {
        "metadata": plain_md,
        "ctx_metadata": plain_md,
        "tags": None,
        "recursion_limit": None,
        "user": None,
        "checkpoint_ns": "a:<id0>",
        "task_id": "<id0>",
    }
    assert expected[1]["metadata"]["m"] == 1
    assert expected[1]["metadata"]["thread_id"] == "T"
    assert expected[1]["tags"] == ["mytag"]
    assert expected[1]["recursion_limit"] == 50
    assert expected[1]["user"] == "u1"
    assert actual == expected


async def test_sync_node_can_use_get_config_and_get_stream_writer() -> None:
    def build(lib: Any) -> Any:
        def a(state: S) -> dict[str, Any]:
            writer = lib.get_stream_writer()
            writer({"node": lib.get_config()["metadata"]["langgraph_node"]})
            return {"log": ["a"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT, stream_mode=["custom", "updates"]))

    expected, actual = await compare(build, scenario)
    assert expected == [("custom", {"node": "a"}), ("updates", {"a": {"log": ["a"]}})]
    assert actual == expected


async def test_node_with_writer_parameter_gets_the_stream_writer() -> None:
    def build(lib: Any) -> Any:
        async def a(state: S, writer: StreamWriter) -> dict[str, Any]:
            writer("hello")
            return {"log": ["a"]}

        graph = lib.StateGraph(S)
        graph.add_node("a", a)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await collect(app.astream(INPUT, stream_mode="custom"))

    expected, actual = await compare(build, scenario)
    assert expected == ["hello"]
    assert actual == expected


async def test_get_config_outside_a_node_raises_a_runtime_error() -> None:
    with pytest.raises(scopegraph.ContextError, match="outside a running scopegraph node"):
        scopegraph.get_config()
    with pytest.raises(RuntimeError):
        scopegraph.get_stream_writer()


async def test_max_concurrency_limits_parallel_nodes() -> None:
    running: list[int] = [0]
    peak: list[int] = [0]

    async def node(state: S) -> dict[str, Any]:
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        await anyio.lowlevel.checkpoint()
        running[0] -= 1
        return {"log": ["n"]}

    graph = scopegraph.StateGraph(S)
    for name in ("a", "b", "c", "d"):
        graph.add_node(name, node)
        graph.add_edge(scopegraph.START, name)
        graph.add_edge(name, scopegraph.END)
    result = await graph.compile().ainvoke(INPUT, {"max_concurrency": 1})
    assert result == {"x": 0, "log": ["n", "n", "n", "n"]}
    assert peak == [1]


# -- pydantic, dataclass, typing_extensions state --------------------------------------------


class PS(pydantic.BaseModel):
    x: int = 0
    log: Annotated[list[str], operator.add] = []


def pydantic_graph(lib: Any) -> Any:
    seen: list[Any] = []

    async def a(state: PS) -> dict[str, Any]:
        seen.append((type(state).__name__, state.model_dump()))
        return {"x": state.x + 1, "log": ["a"]}

    async def b(state: PS) -> PS:
        seen.append((type(state).__name__, state.model_dump()))
        return PS(x=state.x + 1, log=["b"])

    graph = lib.StateGraph(PS)
    graph.add_node("a", a)
    graph.add_node("b", b)
    graph.add_edge(lib.START, "a")
    graph.add_edge("a", "b")
    graph.add_edge("b", lib.END)
    return graph.compile(), seen


async def test_pydantic_state_nodes_receive_models_and_the_run_returns_a_dict() -> None:
    async def scenario(lib: Any, built: Any) -> Any:
        app, seen = built
        return [
            await app.ainvoke({"x": 0}),
            await app.ainvoke(PS(x=0)),
            await collect(app.astream({"x": 0}, stream_mode="values")),
            await collect(app.astream({"x": 0}, stream_mode="updates")),
            seen,
        ]

    expected, actual = await compare(pydantic_graph, scenario)
    assert expected[0] == {"x": 2, "log": ["a", "b"]}
    assert expected[1] == expected[0]
    assert expected[4][:2] == [("PS", {"x": 0, "log": []}), ("PS", {"x": 1, "log": ["a"]})]
    assert actual == expected


@dataclasses.dataclass
class DS:
    x: int = 0
    log: Annotated[list[str], operator.add] = dataclasses.field(default_factory=list)


async def test_dataclass_state_nodes_receive_instances_and_the_run_returns_a_dict() -> None:
    def build(lib: Any) -> Any:
        seen: list[Any] = []

        async def a(state: DS) -> dict[str, Any]:
            seen.append(state)
            return {"x": state.x + 1, "log": ["a"]}

        graph = lib.StateGraph(DS)
        graph.add_node("a", a)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", lib.END)
        return graph.compile(), seen

    async def scenario(lib: Any, built: Any) -> Any:
        app, seen = built
        result = await app.ainvoke({"x": 0, "log": []})
        values = await collect(app.astream({"x": 0, "log": []}, stream_mode="values"))
        return result, values, seen

    expected, actual = await compare(build, scenario)
    assert expected[0] == {"x": 1, "log": ["a"]}
    assert expected[2] == [DS(x=0, log=[]), DS(x=0, log=[])]
    assert actual == expected


class TES(typing_extensions.TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


async def test_typing_extensions_typeddict_is_a_valid_state_schema() -> None:
    # LangGraph's docs use `from typing_extensions import TypedDict` (needed before 3.12).
    def build(lib: Any) -> Any:
        async def a(state: TES) -> dict[str, Any]:
            return {"x": state["x"] + 1, "log": ["a"]}

        graph = lib.StateGraph(TES)
        graph.add_node("a", a)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await app.ainvoke({"x": 0})

    expected, actual = await compare(build, scenario)
    assert expected == {"x": 1, "log": ["a"]}
    assert actual == expected


# -- input / output schemas -------------------------------------------------------------------


class Overall(TypedDict, total=False):
    q: str
    ans: str
    scratch: str


class In(TypedDict):
    q: str


class Out(TypedDict):
    ans: str


def io_graph(lib: Any) -> Any:
    seen: list[Any] = []

    async def n1(state: Overall) -> dict[str, Any]:
        seen.append(dict(state))
        return {"scratch": "s-" + state["q"]}

    async def n2(state: Overall) -> dict[str, Any]:
        seen.append(dict(state))
        return {"ans": "A-" + state["scratch"]}

    graph = lib.StateGraph(Overall, input_schema=In, output_schema=Out)
    graph.add_node("n1", n1)
    graph.add_node("n2", n2)
    graph.add_edge(lib.START, "n1")
    graph.add_edge("n1", "n2")
    graph.add_edge("n2", lib.END)
    return graph.compile(), seen


async def test_output_schema_filters_the_result_but_not_the_values_stream() -> None:
    async def scenario(lib: Any, built: Any) -> Any:
        app, seen = built
        return [
            await app.ainvoke({"q": "hi"}),
            await collect(app.astream({"q": "hi"}, stream_mode="values")),
            await collect(app.astream({"q": "hi"}, stream_mode="updates")),
            seen,
        ]

    expected, actual = await compare(io_graph, scenario)
    assert expected[0] == {"ans": "A-s-hi"}
    assert expected[1] == [
        {"q": "hi"},
        {"q": "hi", "scratch": "s-hi"},
        {"q": "hi", "ans": "A-s-hi", "scratch": "s-hi"},
    ]
    assert actual == expected


async def test_run_returns_none_when_no_output_schema_key_was_written() -> None:
    def build(lib: Any) -> Any:
        async def n1(state: Overall) -> dict[str, Any]:
            return {"scratch": "s"}

        graph = lib.StateGraph(Overall, input_schema=In, output_schema=Out)
        graph.add_node("n1", n1)
        graph.add_edge(lib.START, "n1")
        graph.add_edge("n1", lib.END)
        return graph.compile()

    async def scenario(lib: Any, app: Any) -> Any:
        return await app.ainvoke({"q": "hi"})

    expected, actual = await compare(build, scenario)
    assert expected is None
    assert actual == expected


class _In(TypedDict):
    question: str


class _Out(TypedDict):
    answer: str


class _Full(_In, _Out):
    steps: Annotated[list[str], operator.add]
    remaining: scopegraph.managed.RemainingSteps


class _Private(TypedDict):
    scratch: str


def test_builder_channels_are_the_keys_of_every_schema_as_langgraphs() -> None:
    """As LangGraph's ``StateGraph.channels``: the state keys of the state, input,
    output and node input schemas, managed keys left out."""

    def think(state: _Private) -> dict[str, Any]:
        return {}

    builder = scopegraph.StateGraph(_Full, input_schema=_In, output_schema=_Out)
    assert list(builder.channels) == ["question", "answer", "steps"]
    builder.add_node("think", think)
    assert list(builder.channels) == ["question", "answer", "steps", "scratch"]
