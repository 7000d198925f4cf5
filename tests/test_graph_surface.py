"""The graph-level API surface LangGraph programs use besides running a graph: the
generic ``StateGraph[...]``, its constructor, ``Runtime`` and what a node finds in it."""

from __future__ import annotations

import dataclasses
from typing import Any, TypedDict

import pytest
import typing_extensions

from scopegraph import END, START, CompiledStateGraph, StateGraph
from scopegraph.checkpoint import InMemorySaver
from scopegraph.runtime import DEFAULT_RUNTIME, ExecutionInfo, Runtime, ServerInfo


class State(TypedDict, total=False):
    message: str


class Narrow(TypedDict, total=False):
    message: str


@dataclasses.dataclass
class Context:
    user: str


def _chain(state: State) -> StateGraph[State, Context, Narrow, Narrow]:
    # A module-level return annotation like this one made LangGraph's test_runtime.py fail
    # to import: it is evaluated here at runtime.
    return StateGraph[State, Context, Narrow, Narrow](State, Context)


def test_state_graph_and_compiled_graph_are_generic_at_runtime() -> None:
    assert StateGraph[State] is not None
    assert StateGraph[State, Context] is not None
    assert CompiledStateGraph[State, Context, Narrow, Narrow] is not None
    builder = StateGraph[State, Context](State, Context)
    assert builder.context_schema is Context
    assert _chain.__annotations__["return"] == "StateGraph[State, Context, Narrow, Narrow]"


def test_constructor_takes_context_schema_positionally_and_schemas_by_keyword() -> None:
    builder = StateGraph(State, Context, input_schema=Narrow, output_schema=Narrow)
    assert builder.context_schema is Context
    assert builder.input_schema.cls is Narrow
    assert builder.output_schema.cls is Narrow
    with pytest.raises(TypeError, match="positional"):
        StateGraph(State, Context, Narrow)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("old", "new"),
    [("config_schema", "context_schema"), ("input", "input_schema"), ("output", "output_schema")],
)
def test_deprecated_constructor_names_warn_and_still_apply(old: str, new: str) -> None:
    value = Context if old == "config_schema" else Narrow
    with pytest.warns(DeprecationWarning, match=f"`{old}` is deprecated.*`{new}`"):
        builder = StateGraph(State, **{old: value})
    got = getattr(builder, new)
    assert (got if old == "config_schema" else got.cls) is value


def test_constructor_rejects_unknown_keywords() -> None:
    with pytest.raises(TypeError, match="'state'"):
        StateGraph(State, state=State)


def test_runtime_merge_override_and_default() -> None:
    info = ExecutionInfo(checkpoint_id="c", checkpoint_ns="n", task_id="t")
    server = ServerInfo(assistant_id="a", graph_id="g")
    first = Runtime(context=Context("ann"), execution_info=info)
    merged = first.merge(Runtime(server_info=server))
    assert merged.context == Context("ann")
    assert merged.execution_info is info
    assert merged.server_info is server
    assert first.merge(Runtime(context=Context("bob"))).context == Context("bob")
    assert first.override(context=None).context is None
    assert first.patch_execution_info(node_attempt=2).execution_info == info.patch(node_attempt=2)
    assert DEFAULT_RUNTIME.context is None
    assert DEFAULT_RUNTIME.execution_info is None
    assert DEFAULT_RUNTIME.drain_requested is False
    DEFAULT_RUNTIME.heartbeat()
    with pytest.raises(RuntimeError, match="execution_info"):
        DEFAULT_RUNTIME.patch_execution_info(node_attempt=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.task_id = "x"  # type: ignore[misc]


def _capturing_graph(seen: list[Runtime[Any]], checkpointer: Any = None) -> Any:
    def node(state: State, runtime: Runtime[Context]) -> State:
        seen.append(runtime)
        return {"message": "done"}

    sub = StateGraph(State)
    sub.add_node("inner", node)
    sub.add_edge(START, "inner")
    builder = StateGraph(State, Context)
    builder.add_node("outer", node)
    builder.add_node("sub", sub.compile())
    builder.add_edge(START, "outer")
    builder.add_edge("outer", "sub")
    builder.add_edge("sub", END)
    return builder.compile(checkpointer=checkpointer)


@pytest.mark.anyio
async def test_a_node_finds_where_it_runs_in_runtime_execution_info() -> None:
    seen: list[Runtime[Any]] = []
    graph = _capturing_graph(seen, InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t-1"}, "run_id": "r-1"}
    await graph.ainvoke({"message": "hi"}, config, context={"user": "ann"})
    outer, inner = seen
    assert outer.context == Context("ann")
    assert inner.context == Context("ann")
    state = await graph.aget_state({"configurable": {"thread_id": "t-1"}})
    history = [
        s.config["configurable"]["checkpoint_id"] async for s in graph.aget_state_history(config)
    ]
    for runtime in (outer, inner):
        info = runtime.execution_info
        assert info is not None
        assert info.thread_id == "t-1"
        assert info.node_attempt == 1
        assert isinstance(info.node_first_attempt_time, float)
        assert info.task_id in info.checkpoint_ns.split("|")[-1]
        # The step's checkpoint: the root graph's, or the subgraph's own (its namespace).
        ns = info.checkpoint_ns.rsplit("|", 1)[0] if "|" in info.checkpoint_ns else ""
        sub_config: Any = {"configurable": {"thread_id": "t-1", "checkpoint_ns": ns}}
        ids = [
            s.config["configurable"]["checkpoint_id"]
            async for s in graph.aget_state_history(sub_config)
        ]
        assert info.checkpoint_id in (ids if ns else history)
        assert runtime.server_info is None
    assert outer.execution_info.run_id == "r-1"  # type: ignore[union-attr]
    assert outer.execution_info.checkpoint_ns.startswith("outer:")  # type: ignore[union-attr]
    assert inner.execution_info.checkpoint_ns.startswith("sub:")  # type: ignore[union-attr]
    assert "|inner:" in inner.execution_info.checkpoint_ns  # type: ignore[union-attr]
    assert state.values == {"message": "done"}


@pytest.mark.anyio
async def test_server_info_comes_from_the_configurable_keys() -> None:
    seen: list[Runtime[Any]] = []
    graph = _capturing_graph(seen)
    configurable = {"assistant_id": "asst", "graph_id": "g", "langgraph_auth_user": "u"}
    await graph.ainvoke({"message": "hi"}, {"configurable": configurable})
    assert seen[0].server_info == ServerInfo(assistant_id="asst", graph_id="g", user="u")
    assert seen[0].execution_info.thread_id is None  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_a_context_dict_that_does_not_fit_raises_the_schemas_own_error() -> None:
    graph = _capturing_graph([])
    with pytest.raises(TypeError):
        await graph.ainvoke({"message": "hi"}, context={"nobody": "x"})


def _config_echo() -> Any:
    def node(state: State, config: Any) -> State:
        seen.append(config)
        return {"message": "done"}

    seen: list[Any] = []
    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile(checkpointer=InMemorySaver())
    return graph, seen


@pytest.mark.anyio
async def test_with_config_binds_a_config_merged_into_every_run() -> None:
    graph, seen = _config_echo()
    bound = graph.with_config(
        {"configurable": {"thread_id": "t", "who": "bound"}, "tags": ["bound"]},
        metadata={"user": "U1"},
    )
    assert graph.config is None
    await bound.ainvoke({"message": "hi"}, {"tags": ["run"], "metadata": {"req": "R1"}})
    config = seen[-1]
    assert config["configurable"]["who"] == "bound"
    assert config["configurable"]["thread_id"] == "t"
    assert config["tags"] == ["bound", "run"]
    assert config["metadata"]["user"] == "U1"
    assert config["metadata"]["req"] == "R1"
    # The state APIs see the bound thread too.
    assert (await bound.aget_state({})).values == {"message": "done"}
    await bound.ainvoke({"message": "hi"}, {"configurable": {"who": "run"}})
    assert seen[-1]["configurable"]["who"] == "run"
    with pytest.raises(ValueError, match="thread"):
        await graph.ainvoke({"message": "hi"})


def test_with_config_keyword_keys_win_and_later_calls_keep_earlier_keys() -> None:
    graph, _ = _config_echo()
    bound = graph.with_config({"recursion_limit": 1}, recursion_limit=7).with_config(tags=["t"])
    assert bound.config["recursion_limit"] == 7
    assert bound.config["tags"] == ["t"]
    assert bound.copy().config == bound.config
    assert bound.copy({"name": "other"}).name == "other"
    assert bound.name == graph.name


def _drawn_edges(graph: Any, **kwargs: Any) -> list[tuple[str, str, Any, bool]]:
    drawn = graph.get_graph(**kwargs)
    return [(e.source, e.target, e.data, e.conditional) for e in drawn.edges]


def _step(state: State) -> State:
    return {"message": "x"}


def _route(state: State) -> str:
    return "b"


def test_get_graph_draws_edges_routes_and_joins_as_langgraph() -> None:
    import langgraph.graph

    import scopegraph

    def build(lib: Any) -> Any:
        builder = lib.StateGraph(State)
        for name in ("a", "b", "c", "d"):
            builder.add_node(name, _step)
        builder.add_edge(lib.START, "a")
        builder.add_conditional_edges("a", _route, {"go": "b", "other": "c", "stop": lib.END})
        builder.add_edge(["b", "c"], "d")
        builder.add_edge("d", lib.END)
        return builder.compile()

    ours, theirs = build(scopegraph), build(langgraph.graph)
    assert _drawn_edges(ours) == _drawn_edges(theirs)
    assert ours.get_graph().to_json() == theirs.get_graph().to_json()
    assert ours.get_graph().draw_mermaid() == theirs.get_graph().draw_mermaid()


def test_get_graph_of_a_route_without_declared_destinations_is_langgraphs() -> None:
    # LangGraph 1.2.24 draws no edge for a conditional edge whose destinations are not
    # declared (no path_map, no Literal return): "a" then looks like the last node.
    builder = StateGraph(State)
    builder.add_node("a", _step)
    builder.add_node("b", _step)
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", _route)
    builder.add_edge("b", END)
    assert _drawn_edges(builder.compile()) == [
        ("__start__", "a", None, False),
        ("a", "__end__", None, False),
    ]


def test_get_graph_xray_inlines_subgraphs_and_labels_command_destinations() -> None:
    sub = StateGraph(State)
    sub.add_node("inner", _step)
    sub.add_node("inner2", _step)
    sub.add_edge(START, "inner")
    sub.add_edge("inner", "inner2")
    builder = StateGraph(State)
    builder.add_node("child", sub.compile(), destinations={"b": "yes", END: "no"})
    builder.add_node("b", _step, metadata={"kind": "leaf"})
    builder.add_edge(START, "child")
    graph = builder.compile(checkpointer=InMemorySaver(), interrupt_before=["b"])
    assert _drawn_edges(graph) == [
        ("__start__", "child", None, False),
        ("child", "__end__", "no", True),
        ("child", "b", "yes", True),
        ("b", "__end__", None, False),
    ]
    drawn = graph.get_graph(xray=True)
    assert list(drawn.nodes) == ["__start__", "b", "__end__", "child:inner", "child:inner2"]
    assert drawn.nodes["b"].metadata == {"kind": "leaf", "__interrupt": "before"}
    assert [(e.source, e.target) for e in drawn.edges] == [
        ("__start__", "child:inner"),
        ("child:inner2", "__end__"),
        ("child:inner2", "b"),
        ("b", "__end__"),
        ("child:inner", "child:inner2"),
    ]
    assert "child:inner" not in graph.get_graph(xray=0).nodes


def test_get_graph_without_langchain_is_a_drawing_with_the_same_json() -> None:
    from scopegraph._drawing import Drawing

    builder = StateGraph(State)
    builder.add_node("a", _step)
    builder.add_edge(START, "a")
    graph = builder.compile()
    drawing = graph._drawing(False)
    assert isinstance(drawing, Drawing)
    assert drawing.to_json() == graph.get_graph().to_json()
    assert drawing.draw_mermaid(with_styles=False) == graph.get_graph().draw_mermaid(
        with_styles=False
    )


class _In(typing_extensions.TypedDict):
    question: str
    hint: typing_extensions.NotRequired[str]


class _Out(typing_extensions.TypedDict, total=False):
    answer: str | None


@dataclasses.dataclass
class _Whole:
    question: str
    answer: str | None = None
    tries: int = 0


def test_json_schemas_of_input_output_and_context_are_langgraphs() -> None:
    import langgraph.graph

    import scopegraph

    def build(lib: Any, state: Any, **schemas: Any) -> Any:
        builder = lib.StateGraph(state, Context, **schemas)
        builder.add_node("n", lambda s: {})
        builder.add_edge(lib.START, "n")
        return builder.compile()

    for schemas in ({"input_schema": _In, "output_schema": _Out}, {}):
        ours = build(scopegraph, _Whole, **schemas)
        theirs = build(langgraph.graph, _Whole, **schemas)
        assert ours.get_input_jsonschema() == theirs.get_input_jsonschema()
        assert ours.get_output_jsonschema() == theirs.get_output_jsonschema()
        assert ours.get_context_jsonschema() == theirs.get_context_jsonschema()
    no_context = StateGraph(State)
    no_context.add_node("n", _step)
    no_context.add_edge(START, "n")
    assert no_context.compile().get_context_jsonschema() is None


def _counter() -> Any:
    def add(state: State) -> State:
        return {"message": state["message"] + "!"}

    builder = StateGraph(State)
    builder.add_node("add", add)
    builder.add_edge(START, "add")
    return builder


@pytest.mark.anyio
async def test_debug_prints_updates_and_values_as_langgraph(
    capsys: pytest.CaptureFixture[str],
) -> None:
    graph = _counter().compile()
    assert await graph.ainvoke({"message": "hi"}, debug=True) == {"message": "hi!"}
    assert capsys.readouterr().out == (
        "\x1b[1m[values]\x1b[0m {'message': 'hi'}\n"
        "\x1b[1m[updates]\x1b[0m {'add': {'message': 'hi!'}}\n"
        "\x1b[1m[values]\x1b[0m {'message': 'hi!'}\n"
    )
    chunks = [c async for c in graph.astream({"message": "hi"}, print_mode="values")]
    assert chunks == [{"add": {"message": "hi!"}}]
    assert capsys.readouterr().out.count("[values]") == 2
    await _counter().compile(debug=True).ainvoke({"message": "hi"})
    assert capsys.readouterr().out.count("[updates]") == 1


class _Wide(TypedDict, total=False):
    message: str
    secret: str


class _Callable:
    def __call__(self, state: Any) -> Any:
        return {}


@pytest.mark.anyio
async def test_add_node_input_schema_gives_the_node_its_own_view_of_the_state() -> None:
    seen: list[Any] = []

    def fill(state: _Wide) -> _Wide:
        return {"message": "m", "secret": "s"}

    def look(state: Any) -> _Wide:
        seen.append(dict(state))
        return {}

    builder = StateGraph(_Wide)
    builder.add_node("fill", fill)
    builder.add_node("look", look, input_schema=Narrow)
    builder.add_edge(START, "fill")
    builder.add_edge("fill", "look")
    assert await builder.compile().ainvoke({}) == {"message": "m", "secret": "s"}
    assert seen == [{"message": "m"}]


def test_add_node_names_lambdas_and_callable_objects_as_langgraph() -> None:
    builder = StateGraph(State)
    builder.add_node(lambda state: {})
    builder.add_node(_Callable())
    sub = StateGraph(State)
    sub.add_node("x", _step)
    sub.add_edge(START, "x")
    builder.add_node(sub.compile(name="child"))
    assert list(builder.nodes) == ["<lambda>", "_Callable", "child"]


def _failing_on_boom() -> Any:
    def node(state: State) -> State:
        if state["message"] == "boom":
            raise ValueError("boom")
        return {"message": state["message"] + "!"}

    builder = StateGraph(State)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    return builder.compile()


@pytest.mark.anyio
async def test_abatch_runs_each_input_and_can_return_exceptions() -> None:
    graph = _failing_on_boom()
    inputs = [{"message": "a"}, {"message": "boom"}, {"message": "b"}]
    results = await graph.abatch(inputs, {"max_concurrency": 1}, return_exceptions=True)
    assert results[0] == {"message": "a!"}
    assert results[2] == {"message": "b!"}
    assert isinstance(results[1], ValueError)
    with pytest.raises(ValueError, match="boom"):
        await graph.abatch(inputs)
    configs: Any = [{"tags": ["x"]}, {"tags": ["y"]}]
    assert await graph.abatch(inputs[::2], configs) == [{"message": "a!"}, {"message": "b!"}]
    with pytest.raises(ValueError, match="2 configs for 3 inputs"):
        await graph.abatch(inputs, configs)


def test_batch_is_the_synchronous_abatch() -> None:
    graph = _failing_on_boom()
    assert graph.batch([{"message": "a"}, {"message": "b"}]) == [
        {"message": "a!"},
        {"message": "b!"},
    ]
    assert isinstance(graph.batch([{"message": "boom"}], return_exceptions=True)[0], ValueError)
