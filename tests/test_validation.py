"""Bad input gets a clear error that names the problem and the fix.

Where LangGraph also raises, the test checks that both raise the same kind of error.
Where scopegraph deliberately raises and LangGraph silently ignores the mistake, the test
is scopegraph-only and says so.
"""

from __future__ import annotations

import asyncio
import operator
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict, cast

import anyio
import langgraph.errors
import langgraph.graph
import langgraph.types
import pydantic
import pytest

import scopegraph
import scopegraph.func
from scopegraph import (
    END,
    START,
    Command,
    GraphValidationError,
    InvalidInputError,
    InvalidUpdateError,
    Send,
    StateGraph,
)
from scopegraph.errors import ParentCommand

pytestmark = pytest.mark.anyio

LGG: Any = langgraph.graph
"""LangGraph's graph module, untyped: the tests hand it the same loosely typed nodes."""


class S(TypedDict):
    x: int
    log: Annotated[list[str], operator.add]


INPUT: dict[str, Any] = {"x": 0, "log": []}


async def noop(state: S) -> dict[str, Any]:
    return {}


def single(fn: Callable[..., Any], name: str = "n") -> Any:
    graph = StateGraph(S)
    graph.add_node(name, fn)
    graph.add_edge(START, name)
    graph.add_edge(name, END)
    return graph.compile()


def langgraph_raises(make: Callable[[Any], Any]) -> BaseException:
    """The exception LangGraph raises for the same mistake (it must raise one)."""
    try:
        make(LGG)
    except Exception as exc:
        return exc
    raise AssertionError("LangGraph accepted it")


# -- invalid graphs, at build / compile time -----------------------------------------------


def test_edge_to_an_unknown_node_fails_at_compile_naming_the_node_and_the_fix() -> None:
    def make(lib: Any) -> Any:
        graph = lib.StateGraph(S)
        graph.add_node("a", noop)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", "nope")
        return graph.compile()

    assert isinstance(langgraph_raises(make), ValueError)
    with pytest.raises(GraphValidationError, match=r"'nope' is not defined.*add_node\('nope'"):
        make(scopegraph)


def test_edge_from_an_unknown_node_fails_at_compile() -> None:
    def make(lib: Any) -> Any:
        graph = lib.StateGraph(S)
        graph.add_node("a", noop)
        graph.add_edge(lib.START, "a")
        graph.add_edge("a", lib.END)
        graph.add_edge("nope", "a")
        return graph.compile()

    assert isinstance(langgraph_raises(make), ValueError)
    with pytest.raises(GraphValidationError, match=r"add_edge\('nope', 'a'\).*'nope'"):
        make(scopegraph)


def test_entry_point_or_conditional_source_that_is_unknown_fails_at_compile() -> None:
    graph = StateGraph(S)
    graph.add_node("a", noop)
    graph.add_edge("a", END)
    graph.set_entry_point("nope")
    with pytest.raises(GraphValidationError, match="'nope' is not defined"):
        graph.compile()

    graph = StateGraph(S)
    graph.add_node("a", noop)
    graph.add_edge(START, "a")
    graph.add_edge("a", END)
    graph.add_conditional_edges("nope", lambda s: END)
    with pytest.raises(GraphValidationError, match="'nope' is not defined"):
        graph.compile()


def test_duplicate_node_name_is_rejected_by_add_node() -> None:
    def make(lib: Any) -> Any:
        graph = lib.StateGraph(S)
        graph.add_node("a", noop)
        graph.add_node("a", noop)

    assert isinstance(langgraph_raises(make), ValueError)
    with pytest.raises(GraphValidationError, match=r"'a' is already in the graph.*another name"):
        make(scopegraph)


@pytest.mark.parametrize("name", [START, END, "a:b", "a|b"])
def test_reserved_node_names_and_characters_are_rejected(name: str) -> None:
    def make(lib: Any) -> Any:
        lib.StateGraph(S).add_node(name, noop)

    assert isinstance(langgraph_raises(make), ValueError)
    with pytest.raises(GraphValidationError, match="reserved"):
        make(scopegraph)


@pytest.mark.parametrize("with_nodes", [True, False], ids=["nodes", "empty"])
def test_graph_without_entry_point_fails_at_compile_naming_the_fix(with_nodes: bool) -> None:
    def make(lib: Any) -> Any:
        graph = lib.StateGraph(S)
        if with_nodes:
            graph.add_node("a", noop)
            graph.add_edge("a", lib.END)
        return graph.compile()

    assert isinstance(langgraph_raises(make), ValueError)
    with pytest.raises(GraphValidationError, match=r"no entry point.*add_edge\(START"):
        make(scopegraph)


def test_edges_from_end_or_to_start_are_rejected_by_add_edge() -> None:
    makers: list[Callable[[Any], Any]] = [
        lambda lib: lib.StateGraph(S).add_edge(lib.END, "a"),
        lambda lib: lib.StateGraph(S).add_edge("a", lib.START),
    ]
    for make in makers:
        assert isinstance(langgraph_raises(make), ValueError)
        with pytest.raises(GraphValidationError, match="cannot be"):
            make(scopegraph)
    with pytest.raises(GraphValidationError, match="at least one start node"):
        StateGraph(S).add_edge([], "a")


@pytest.mark.parametrize("path_map", [{"go": "nope"}, ["nope"]], ids=["dict", "list"])
def test_path_map_naming_an_unknown_node_fails_at_compile(path_map: Any) -> None:
    def make(lib: Any) -> Any:
        def route(state: S) -> str:
            return "go"

        graph = lib.StateGraph(S)
        graph.add_node("a", noop)
        graph.add_edge(lib.START, "a")
        graph.add_conditional_edges("a", route, path_map)
        return graph.compile()

    assert isinstance(langgraph_raises(make), ValueError)
    with pytest.raises(GraphValidationError, match=r"route.*path_map names 'nope'"):
        make(scopegraph)


def test_path_map_of_the_wrong_type_is_rejected() -> None:
    graph = StateGraph(S)
    with pytest.raises(GraphValidationError, match="path_map must be a dict or a list"):
        graph.add_conditional_edges("a", lambda s: END, "a")
    with pytest.raises(GraphValidationError, match="path must be callable"):
        graph.add_conditional_edges("a", "a")  # type: ignore[arg-type]


def test_same_path_function_twice_on_one_node_is_rejected() -> None:
    def route(state: S) -> str:
        return END

    def make(lib: Any) -> Any:
        graph = lib.StateGraph(S)
        graph.add_node("a", noop)
        graph.add_conditional_edges("a", route)
        graph.add_conditional_edges("a", route)

    assert isinstance(langgraph_raises(make), ValueError)
    with pytest.raises(GraphValidationError, match="already has a conditional edge named 'route'"):
        make(scopegraph)


def one_arg(a: list[str]) -> list[str]:
    return a


class Bad(TypedDict):
    log: Annotated[list[str], one_arg]


def test_reducer_with_the_wrong_arity_is_rejected_naming_the_key() -> None:
    assert isinstance(langgraph_raises(lambda lib: lib.StateGraph(Bad)), ValueError)
    with pytest.raises(
        GraphValidationError, match=r"reducer of Bad\.log \('one_arg'\) must take two"
    ):
        StateGraph(Bad)


def test_unreachable_node_fails_compile_strict_when_every_route_is_declared() -> None:
    # Opt-in: LangGraph compiles the graph and the node never runs; so does compile().
    graph = StateGraph(S)
    graph.add_node("a", noop)
    graph.add_node("island", noop)
    graph.add_edge(START, "a")
    graph.add_edge("a", END)
    graph.add_edge("island", END)
    with pytest.raises(GraphValidationError, match=r"'island' has no way in.*add_edge"):
        graph.compile(strict=True)
    assert graph.compile() is not None


def test_check_returns_the_findings_without_raising() -> None:
    graph = StateGraph(S)
    graph.add_node("a", noop)
    graph.add_node("dead_end", noop)
    graph.add_node("island", noop)
    graph.add_edge(START, "a")
    graph.add_edge("a", "dead_end")
    graph.add_edge("island", END)
    found = scopegraph.check(graph)
    assert [(f.kind, f.node) for f in found] == [
        ("no_way_out", "dead_end"),
        ("no_way_in", "island"),
    ]
    assert "add_edge('dead_end', END)" in str(found[0])
    # A compiled graph is checked like its builder.
    graph.add_edge("dead_end", END)
    compiled = graph.compile()
    found = scopegraph.check(compiled)
    assert [(f.kind, f.node) for f in found] == [("no_way_in", "island")]
    assert "has no way in" in found[0].message
    with pytest.raises(GraphValidationError, match=r"compile\(strict=True\): node 'island'"):
        graph.compile(strict=True)


def test_check_of_a_clean_graph_is_empty() -> None:
    assert scopegraph.check(single(noop)) == []


def test_reachability_is_not_checked_when_a_route_is_dynamic() -> None:
    graph = StateGraph(S)
    graph.add_node("a", noop)
    graph.add_node("b", noop)
    graph.add_edge(START, "a")
    graph.add_conditional_edges("a", lambda s: "b")
    graph.add_edge("b", END)
    assert scopegraph.check(graph) == []
    graph.compile(strict=True)


def test_node_reached_through_declared_command_destinations_is_reachable() -> None:
    graph = StateGraph(S)
    graph.add_node("a", noop, destinations=("b",))
    graph.add_node("b", noop)
    graph.add_edge(START, "a")
    graph.add_edge("b", END)
    assert scopegraph.check(graph) == []
    graph.compile(strict=True)


async def command_to_b(state: S) -> Command[Literal["b"]]:
    return Command(goto="b")


def test_node_reached_through_a_command_return_annotation_is_reachable() -> None:
    # LangGraph's documented way to declare Command destinations.
    graph = StateGraph(S)
    graph.add_node("a", command_to_b)
    graph.add_node("b", noop)
    graph.add_edge(START, "a")
    graph.add_edge("b", END)
    assert scopegraph.check(graph) == []
    graph.compile(strict=True)


def test_declared_destinations_must_be_known_nodes() -> None:
    graph = StateGraph(S)
    graph.add_node("a", noop, destinations=("nope",))
    graph.add_edge(START, "a")
    with pytest.raises(GraphValidationError, match=r"destinations.*'nope' is not defined"):
        graph.compile()


def test_add_node_misuse_is_rejected_with_the_fix() -> None:
    graph = StateGraph(S)
    with pytest.raises(
        GraphValidationError, match=r"has no function; pass one: add_node\('a', fn\)"
    ):
        graph.add_node("a")
    graph.add_node(lambda s: {})  # named "<lambda>", as in LangGraph
    assert "<lambda>" in graph.nodes
    with pytest.raises(TypeError, match="Expected a Runnable, callable or dict"):
        graph.add_node("a", 5)  # type: ignore[arg-type]
    # LangGraph's ValueError and message (TimeoutPolicy.coerce).
    with pytest.raises(ValueError, match="run_timeout must be greater than 0"):
        graph.add_node("a", noop, timeout=0)
    with pytest.raises(
        GraphValidationError, match=r"retry_policy must be a scopegraph.RetryPolicy"
    ):
        graph.add_node("a", noop, retry_policy=cast(Any, langgraph.types.RetryPolicy()))


def test_compile_with_something_that_is_not_a_saver_names_the_savers() -> None:
    graph = StateGraph(S)
    graph.add_node("a", noop)
    graph.add_edge(START, "a")
    graph.add_edge("a", END)
    # LangGraph's type and first words, so that code written for it catches it
    with pytest.raises(TypeError, match=r"^Invalid checkpointer provided.*InMemorySaver, Sqlite"):
        graph.compile(checkpointer=object())


def test_interrupt_before_compiles_without_a_checkpointer_for_a_subgraph() -> None:
    # A subgraph compiled so uses its parent's checkpointer (LangGraph's rule).
    graph = StateGraph(S)
    graph.add_node("a", noop)
    graph.add_edge(START, "a")
    graph.add_edge("a", END)
    assert graph.compile(interrupt_before=["a"]).interrupt_before_nodes == {"a"}
    with pytest.raises(GraphValidationError, match="names 'b', which is not a node"):
        graph.compile(interrupt_before=["b"])


# -- node return values --------------------------------------------------------------------


@pytest.mark.parametrize(("value", "shown"), [(5, "5"), ("hello", "hello"), ([1, 2], "[1, 2]")])
async def test_node_returning_a_non_dict_raises_invalid_update_error_naming_the_node(
    value: Any, shown: str
) -> None:
    async def n(state: S) -> Any:
        return value

    with pytest.raises(InvalidUpdateError, match=re.escape(f"Expected dict, got {shown}")) as info:
        await single(n, "returns_junk").ainvoke(INPUT)
    assert "'returns_junk'" in str(info.value)
    assert "INVALID_GRAPH_NODE_RETURN_VALUE" in str(info.value)
    assert info.value.__notes__[0].startswith("During task with name 'returns_junk' and id ")


async def test_node_writing_an_unknown_key_is_dropped_and_strict_raises_naming_it() -> None:
    # LangGraph drops the write; compile(strict=True) raises naming node and key.
    async def n(state: S) -> dict[str, Any]:
        return {"x": 1, "zzz": 2}

    assert await single(n, "writer").ainvoke(INPUT) == {"x": 1, "log": []}
    with pytest.raises(InvalidUpdateError, match=r"node 'writer' wrote the key 'zzz'.*add 'zzz'"):
        await single_strict(n, "writer").ainvoke(INPUT)


async def test_two_writes_to_a_last_value_key_in_one_step_raise() -> None:
    async def one(state: S) -> dict[str, Any]:
        return {"x": 1}

    async def two(state: S) -> dict[str, Any]:
        return {"x": 2}

    def make(lib: Any) -> Any:
        graph = lib.StateGraph(S)
        graph.add_node("one", one)
        graph.add_node("two", two)
        graph.add_edge(lib.START, "one")
        graph.add_edge(lib.START, "two")
        graph.add_edge("one", lib.END)
        graph.add_edge("two", lib.END)
        return graph.compile()

    def reference() -> str:
        with pytest.raises(langgraph.errors.InvalidUpdateError) as info:
            asyncio.run(make(LGG).ainvoke(INPUT))
        return str(info.value)

    message = await anyio.to_thread.run_sync(reference)
    assert message.startswith("At key 'x': Can receive only one value per step.")
    with pytest.raises(InvalidUpdateError) as info:
        await make(scopegraph).ainvoke(INPUT)
    assert str(info.value).startswith("At key 'x': Can receive only one value per step.")
    assert "'one'" in str(info.value)
    assert "'two'" in str(info.value)
    assert "INVALID_CONCURRENT_GRAPH_UPDATE" in str(info.value)


# -- routing to unknown nodes ---------------------------------------------------------------


async def test_command_goto_unknown_node_raises_naming_node_and_target() -> None:
    # Deliberate difference: LangGraph logs a warning and ignores the goto.
    async def n(state: S) -> Any:
        return Command(goto="nope")

    with pytest.raises(InvalidUpdateError, match=r"node 'n' returned Command\(goto='nope'\).*'n'"):
        await single(n).ainvoke(INPUT)


async def test_command_goto_send_to_unknown_node_raises() -> None:
    async def n(state: S) -> Any:
        return Command(goto=Send("nope", {}))

    with pytest.raises(InvalidUpdateError, match="'nope' is not a node"):
        await single(n).ainvoke(INPUT)


async def test_command_with_an_invalid_update_raises() -> None:
    # Deliberate difference: LangGraph silently ignores Command(update=5).
    async def n(state: S) -> Any:
        return Command(update=5)

    with pytest.raises(InvalidUpdateError, match=r"Command\(update=5\).*must be a dict"):
        await single(n).ainvoke(INPUT)


async def test_command_parent_in_a_root_graph_raises() -> None:
    # As LangGraph: the command leaves the root run as ParentCommand, for its caller.
    async def n(state: S) -> Any:
        return Command(graph=Command.PARENT, goto="x", update={"k": 1})

    with pytest.raises(ParentCommand) as raised:
        await single(n).ainvoke(INPUT)
    assert (raised.value.args[0].goto, raised.value.args[0].update) == ("x", {"k": 1})
    assert "not a subgraph" in "".join(raised.value.__notes__)


def routed(path: Callable[..., Any], path_map: Any = None) -> Any:
    graph = StateGraph(S)
    graph.add_node("a", noop)
    graph.add_node("b", noop)
    graph.add_edge(START, "a")
    graph.add_conditional_edges("a", path, path_map)
    graph.add_edge("b", END)
    return graph.compile()


async def test_conditional_edge_returning_an_unknown_node_raises_naming_edge_and_value() -> None:
    # Deliberate difference: LangGraph logs a warning and ignores the destination.
    def route(state: S) -> str:
        return "nope"

    with pytest.raises(
        InvalidUpdateError, match=r"conditional edge 'route' from 'a' returned 'nope'.*'b'"
    ):
        await routed(route).ainvoke(INPUT)


async def test_conditional_edge_sending_to_an_unknown_node_raises() -> None:
    def route(state: S) -> Any:
        return [Send("nope", {})]

    with pytest.raises(InvalidUpdateError, match=r"Send\('nope', \.\.\.\)"):
        await routed(route).ainvoke(INPUT)


async def test_conditional_edge_returning_a_key_missing_from_path_map_raises() -> None:
    # LangGraph raises a bare KeyError('zz'); scopegraph names the path_map.
    def route(state: S) -> str:
        return "zz"

    with pytest.raises(InvalidUpdateError, match="'zz', which is not a key of its path_map"):
        await routed(route, {"go": "b"}).ainvoke(INPUT)


async def test_conditional_edge_returning_none_raises_a_value_error() -> None:
    def route(state: S) -> Any:
        return None

    def reference() -> BaseException:
        graph = LGG.StateGraph(S)
        graph.add_node("a", noop)
        graph.add_edge(LGG.START, "a")
        graph.add_conditional_edges("a", route)
        with pytest.raises(ValueError, match="did not return a valid destination") as info:
            asyncio.run(graph.compile().ainvoke(INPUT))
        return info.value

    assert isinstance(await anyio.to_thread.run_sync(reference), ValueError)
    with pytest.raises(InvalidUpdateError, match="returned None; return a node name"):
        await routed(route).ainvoke(INPUT)


# -- run input -----------------------------------------------------------------------------


async def test_input_that_is_not_a_dict_raises_invalid_input_error() -> None:
    with pytest.raises(InvalidInputError, match="must be a dict with keys of S, not int"):
        await single(noop).ainvoke(5)


async def test_input_none_raises_naming_the_fix() -> None:
    with pytest.raises(ValueError, match="the input is None"):
        await single(noop).ainvoke(None)


async def test_a_command_to_an_entrypoint_without_a_checkpointer_names_the_fix() -> None:
    """A graph starts from Command(update=...) without a checkpointer (LangGraph's); an
    @entrypoint has no keys to update (LangGraph raises EmptyInputError)."""

    @scopegraph.func.entrypoint()
    async def echo(value: Any) -> Any:
        return value

    with pytest.raises(ValueError, match="takes its input value, not a Command"):
        await echo.ainvoke(scopegraph.Command(update={"a": 1}))


def single_strict(fn: Callable[..., Any], name: str = "n") -> Any:
    graph = StateGraph(S)
    graph.add_node(name, fn)
    graph.add_edge(START, name)
    graph.add_edge(name, END)
    return graph.compile(strict=True)


async def test_input_with_an_unknown_key_raises_under_strict_naming_the_key_and_schema_keys() -> (
    None
):
    # Opt-in: by default (as LangGraph) unknown input keys are dropped.
    with pytest.raises(InvalidInputError, match=r"'zzz'.*the schema's keys are 'x', 'log'"):
        await single_strict(noop).ainvoke({"x": 0, "zzz": 1})


async def test_input_with_an_unknown_key_is_dropped_as_in_langgraph() -> None:
    async def bump(state: Any) -> dict[str, Any]:
        return {"x": state["x"] + 1, "log": sorted(state)}

    def make(lib: Any) -> Any:
        graph = lib.StateGraph(S)
        graph.add_node("n", bump)
        graph.add_edge(lib.START, "n")
        graph.add_edge("n", lib.END)
        return graph.compile()

    async def run(lib: Any) -> Any:
        app = make(lib)
        inp = {"x": 0, "log": [], "zzz": 1}
        return [
            await app.ainvoke(inp),
            [c async for c in app.astream(inp, stream_mode=["updates", "values"])],
        ]

    expected = await anyio.to_thread.run_sync(lambda: asyncio.run(run(LGG)))
    assert expected[0] == {"x": 1, "log": ["log", "x"]}
    assert await run(scopegraph) == expected


async def test_input_key_outside_the_input_schema_raises() -> None:
    class Overall(TypedDict, total=False):
        q: str
        scratch: str

    class In(TypedDict):
        q: str

    graph = StateGraph(Overall, input_schema=In)
    graph.add_node("n", noop)
    graph.add_edge(START, "n")
    graph.add_edge("n", END)
    with pytest.raises(InvalidInputError, match="'scratch'"):
        await graph.compile(strict=True).ainvoke({"q": "hi", "scratch": "zz"})
    # By default, as in LangGraph, the key outside the input schema is dropped.
    assert await graph.compile().ainvoke({"q": "hi", "scratch": "zz"}) == {"q": "hi"}


class PS(pydantic.BaseModel):
    x: int = 0


def pydantic_app(*, strict: bool = False) -> Any:
    async def n(state: PS) -> dict[str, Any]:
        return {"x": state.x + 1}

    graph = StateGraph(PS)
    graph.add_node("n", n)
    graph.add_edge(START, "n")
    graph.add_edge("n", END)
    return graph.compile(strict=strict)


async def test_pydantic_input_is_validated_when_a_node_reads_it_and_strict_checks_it_first() -> (
    None
):
    # As LangGraph: the input is stored as given, the model validates it on reading.
    with pytest.raises(pydantic.ValidationError, match=r"(?s)\nx\n"):
        await pydantic_app().ainvoke({"x": "notint"})
    with pytest.raises(
        InvalidInputError, match=r"(?s)does not match the state schema PS.*\nx\n"
    ) as info:
        await pydantic_app(strict=True).ainvoke({"x": "notint"})
    assert isinstance(info.value.__cause__, pydantic.ValidationError)


async def test_pydantic_input_of_the_wrong_type_raises_invalid_input_error() -> None:
    with pytest.raises(InvalidInputError, match="must be a PS or a dict of its fields, not int"):
        await pydantic_app().ainvoke(5)


# -- run API arguments ---------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v3", "v9"])
async def test_astream_events_with_a_version_other_than_v1_or_v2_raises_value_error(
    version: str,
) -> None:
    # Deliberate difference: LangGraph also serves an experimental v3.
    with pytest.raises(ValueError, match=rf"version='{version}'.*pass version='v2'"):
        single(noop).astream_events(INPUT, version=version)


@pytest.mark.parametrize("stream_mode", ["foo", ["values", "foo"]], ids=["str", "list"])
async def test_unknown_stream_mode_raises_value_error_naming_the_mode(stream_mode: Any) -> None:
    # Deliberate difference: LangGraph yields nothing for an unknown mode.
    app = single(noop)
    with pytest.raises(ValueError, match=r"unknown stream_mode 'foo'; use one of .*'values'"):
        app.astream(INPUT, stream_mode=stream_mode)
    with pytest.raises(ValueError, match="unknown stream_mode 'foo'"):
        await app.ainvoke(INPUT, stream_mode=stream_mode)
    with pytest.raises(ValueError, match="unknown stream_mode 'foo'"):
        async with app.open_stream(INPUT, stream_mode=stream_mode):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="unknown stream_mode 'foo'"):
        app.astream_events(INPUT, version="v2", stream_mode=stream_mode)


async def test_stream_mode_of_the_wrong_type_raises_value_error() -> None:
    with pytest.raises(ValueError, match="stream_mode must be a mode name or a list"):
        single(noop).astream(INPUT, stream_mode=5)


@pytest.mark.parametrize("limit", [0, -1, "10"])
async def test_invalid_recursion_limit_raises_value_error(limit: Any) -> None:
    with pytest.raises(ValueError, match="recursion_limit must be"):
        await single(noop).ainvoke(INPUT, {"recursion_limit": limit})


async def test_recursion_limit_zero_is_a_value_error_in_langgraph_too() -> None:
    def reference() -> None:
        graph = LGG.StateGraph(S)
        graph.add_node("n", noop)
        graph.add_edge(LGG.START, "n")
        app = graph.compile()
        with pytest.raises(ValueError, match="recursion_limit must be at least 1"):
            asyncio.run(app.ainvoke(INPUT, {"recursion_limit": 0}))

    await anyio.to_thread.run_sync(reference)


async def test_unknown_keyword_arguments_and_non_dict_config_raise_type_error() -> None:
    app = single(noop)
    with pytest.raises(TypeError, match="unsupported arguments: bogus"):
        await app.ainvoke(INPUT, bogus=1)
    with pytest.raises(TypeError, match="unsupported arguments: bogus"):
        app.astream(INPUT, bogus=1)
    with pytest.raises(TypeError, match="config must be a dict"):
        await app.ainvoke(INPUT, ["not", "a", "dict"])


async def test_helpers_outside_a_node_raise_context_error_naming_the_fix() -> None:
    for helper in (scopegraph.get_config, scopegraph.get_stream_writer):
        with pytest.raises(scopegraph.ContextError, match="call it from inside a node"):
            helper()
    with pytest.raises(scopegraph.ContextError):
        await scopegraph.adispatch_custom_event("e", {})
    assert issubclass(scopegraph.ContextError, RuntimeError)
