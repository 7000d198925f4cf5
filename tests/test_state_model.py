"""The state model, as LangGraph has it: root states, several writes per node, writes of
state objects, keys of other schemas, the input through the reducers, managed values,
``Overwrite``."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pydantic
import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage

from scopegraph import END, START, Command, InvalidUpdateError, StateGraph, interrupt
from scopegraph.checkpoint import InMemorySaver
from scopegraph.graph.message import add_messages
from scopegraph.managed import IsLastStep, RemainingSteps
from scopegraph.types import Overwrite

pytestmark = pytest.mark.anyio


async def test_root_state_nodes_get_and_return_the_value_and_the_output_is_it() -> None:
    async def first(state: list[str]) -> Any:
        return [Command(update=["a1"]), ["a2"]]

    async def second(state: list[str]) -> list[str]:
        return [f"saw {len(state)}"]

    builder = StateGraph(Annotated[list[str], operator.add])
    builder.add_sequence([first, second])
    builder.add_edge(START, "first")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    assert await graph.ainvoke(["in"], config) == ["in", "a1", "a2", "saw 3"]
    state = await graph.aget_state(config)
    assert state.values == ["in", "a1", "a2", "saw 3"]
    modes = ["updates", "values"]
    chunks = [c async for c in builder.compile().astream(["x"], stream_mode=modes)]
    assert chunks == [
        ("values", ["x"]),
        ("updates", {"first": [["a1"], ["a2"]]}),
        ("values", ["x", "a1", "a2"]),
        ("updates", {"second": ["saw 3"]}),
        ("values", ["x", "a1", "a2", "saw 3"]),
    ]


async def test_root_state_without_a_reducer_keeps_the_last_value() -> None:
    async def double(state: int) -> int:
        return state * 2

    builder = StateGraph(int)
    builder.add_node("double", double)
    builder.add_edge(START, "double")
    builder.add_edge("double", END)
    assert await builder.compile().ainvoke(21) == 42


class Log(TypedDict):
    log: Annotated[str, operator.add]


async def test_several_writes_of_one_key_are_all_applied_and_streamed_one_by_one() -> None:
    async def one(state: Log) -> Any:
        return [Command(update={"log": "1"}), Command(update=[("log", "2")]), {"log": "3"}]

    builder = StateGraph(Log)
    builder.add_node("one", one)
    builder.add_edge(START, "one")
    graph = builder.compile()
    assert await graph.ainvoke({"log": ">"}) == {"log": ">123"}
    updates = [c async for c in graph.astream({"log": ""}, stream_mode="updates")]
    assert updates == [{"one": [{"log": "1"}, {"log": "2"}, {"log": "3"}]}]
    results = [
        c["result"]
        async for mode, c in graph.astream({"log": ""}, stream_mode=["tasks"])
        if "result" in c
    ]
    assert results == [{"log": {"$writes": ["1", "2", "3"]}}]


class Inner(pydantic.BaseModel):
    a: int = 0


class Model(pydantic.BaseModel):
    inner: Inner = Inner()
    outer: int = 0


async def test_a_returned_state_object_writes_its_fields_left_at_a_default() -> None:
    # LangGraph writes every field that is not None (or was set): a node may return its
    # state, changed in place.
    async def node(state: Model) -> Model:
        state.inner.a = 5
        state.outer = 10
        return state

    builder = StateGraph(Model)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    assert await builder.compile().ainvoke({"outer": 1}) == {"outer": 10, "inner": Inner(a=5)}


class Agent(TypedDict):
    log: Annotated[list[Any], operator.add]
    remaining_steps: RemainingSteps
    is_last_step: IsLastStep


async def _agent(state: Agent) -> dict[str, Any]:
    return {"log": [(state["remaining_steps"], state["is_last_step"])]}


def _agent_graph(checkpointer: Any = None) -> Any:
    builder = StateGraph(Agent)
    builder.add_node("agent", _agent)
    builder.add_edge(START, "agent")
    # The guard an agent writes: stop while steps are left (LangGraph's create_react_agent).
    builder.add_conditional_edges(
        "agent", lambda s: END if s["remaining_steps"] <= 2 else "agent", ["agent", END]
    )
    return builder.compile(checkpointer=checkpointer)


async def test_remaining_steps_and_is_last_step_count_down_to_the_recursion_limit() -> None:
    graph = _agent_graph()
    assert await graph.ainvoke({"log": []}, {"recursion_limit": 5}) == {
        "log": [(4, False), (3, False), (2, False)]
    }
    assert await graph.ainvoke({"log": []}, {"recursion_limit": 2}) == {"log": [(1, True)]}
    # Managed keys are not state: not in the output nor in the values stream, and input
    # or node writes to them are dropped.
    chunks = [
        c
        async for c in graph.astream(
            {"log": [], "remaining_steps": 100}, {"recursion_limit": 3}, stream_mode="values"
        )
    ]
    assert chunks == [{"log": []}, {"log": [(2, False)]}]


async def test_a_resumed_run_counts_its_steps_as_langgraph_does() -> None:
    async def ask(state: Agent) -> dict[str, Any]:
        interrupt("go on?")
        return {"log": [("ask", state["remaining_steps"])]}

    builder = StateGraph(Agent)
    builder.add_node("agent", _agent)
    builder.add_node("ask", ask)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "ask")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}, "recursion_limit": 10}
    await graph.ainvoke({"log": []}, config)
    # LangGraph's count restarts at the limit plus one on a resume.
    assert (await graph.ainvoke(Command(resume=True), config))["log"] == [
        (9, False),
        ("ask", 11),
    ]


async def test_overwrite_bypasses_the_reducer_and_wins_over_the_steps_other_writes() -> None:
    class Log(TypedDict):
        log: Annotated[list[str], operator.add]

    async def reset(state: Log) -> dict[str, Any]:
        return {"log": Overwrite(["reset"])}

    async def append(state: Log) -> dict[str, Any]:
        return {"log": ["appended"]}

    builder = StateGraph(Log)
    builder.add_node("reset", reset)
    builder.add_node("append", append)
    builder.add_edge(START, "reset")
    builder.add_edge(START, "append")
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    assert await graph.ainvoke({"log": ["in"]}, config) == {"log": ["reset"]}
    assert (await graph.aget_state(config)).values == {"log": ["reset"]}

    async def twice(state: Log) -> Any:
        return [Command(update={"log": Overwrite(["a"])}), {"log": {"__overwrite__": ["b"]}}]

    builder = StateGraph(Log)
    builder.add_node("twice", twice)
    builder.add_edge(START, "twice")
    with pytest.raises(InvalidUpdateError, match="only one Overwrite value per super-step"):
        await builder.compile().ainvoke({"log": []})


async def test_add_messages_formats_and_a_later_message_brings_a_removed_id_back() -> None:
    merged = add_messages(
        [HumanMessage("a", id="1")],
        [RemoveMessage(id="1"), HumanMessage("again", id="1")],
    )
    assert [(m.id, m.content) for m in merged] == [("1", "again")]
    with pytest.raises(ValueError, match="ID that doesn't exist"):
        add_messages([], [RemoveMessage(id="nope")])
    openai = add_messages(format="langchain-openai")
    content: list[str | dict[Any, Any]] = [{"type": "text", "text": "hi"}]
    assert openai([], [AIMessage(content=content, id="2")])[0].content == "hi"
    with pytest.raises(ValueError, match="Unrecognized format"):
        add_messages([], [], format="other")  # type: ignore[arg-type]


async def test_a_pydantic_state_stores_its_input_as_given_and_reducers_see_it_first() -> None:
    class Chat(pydantic.BaseModel):
        messages: Annotated[list[AnyMessage], add_messages]
        count: int = 0

    async def node(state: Chat) -> dict[str, Any]:
        return {"messages": [HumanMessage("reply")], "count": state.count + 1}

    builder = StateGraph(Chat)
    builder.add_node("node", node)
    builder.add_edge(START, "node")
    graph = builder.compile()
    # ("user", "hi") is no message: add_messages turns it into one before the model reads.
    result = await graph.ainvoke({"messages": [("user", "hi")]})
    assert [m.content for m in result["messages"]] == ["hi", "reply"]
    assert result["count"] == 1
    with pytest.raises(pydantic.ValidationError):
        await graph.ainvoke({"messages": [], "count": "many"})


def _one_arg(a: Any) -> Any:
    return a


class Bad(TypedDict):
    x: Annotated[str, _one_arg]


async def test_str_enum_node_names_and_langgraphs_error_sentences() -> None:
    import enum

    class Name(str, enum.Enum):  # noqa: UP042 - the (str, Enum) form LangGraph's test uses
        BAZ = "baz"

    async def baz(state: Log) -> dict[str, Any]:
        return {"log": "!"}

    builder = StateGraph(Log)
    builder.add_node(Name.BAZ, baz)
    builder.add_edge(START, Name.BAZ)
    builder.add_edge(Name.BAZ, END)
    assert await builder.compile().ainvoke({"log": "hi"}) == {"log": "hi!"}

    builder = StateGraph(Log)
    builder.add_node("a", baz)
    builder.add_edge(START, "a")
    builder.add_edge("nowhere", "a")
    with pytest.raises(ValueError, match="Found edge starting at unknown node 'nowhere'"):
        builder.compile()

    with pytest.raises(ValueError, match="Invalid reducer signature"):
        StateGraph(Bad)


class Overall(TypedDict):
    foo: Annotated[int, operator.add]
    bar: str


class RouterView(TypedDict):
    baz: str


class Node2View(TypedDict):
    foo: Annotated[int, operator.add]
    baz: str


async def test_branches_and_nodes_read_their_own_schemas_and_write_private_keys() -> None:
    async def node_1(state: Overall) -> dict[str, Any]:
        return {"foo": 1, "baz": "meow", "unknown": "dropped"}

    class Node2:  # a callable object is named after its class
        async def __call__(self, state: Node2View) -> dict[str, Any]:
            return {"foo": 1, "bar": state["baz"]}

    seen: list[Any] = []

    def router(state: RouterView) -> str:
        seen.append(state)
        return "Node2"

    builder = StateGraph(Overall)
    builder.add_node(node_1)
    builder.add_node(Node2())
    builder.add_conditional_edges("node_1", router)
    builder.add_edge(START, "node_1")
    assert await builder.compile().ainvoke({"foo": 0}) == {"foo": 2, "bar": "meow"}
    assert seen == [{"baz": "meow"}]


async def test_a_mock_node_is_called_and_a_root_tasks_result_is_its_value() -> None:
    from unittest import mock

    add_one = mock.Mock(side_effect=lambda _: 1)  # has every attribute, ainvoke too
    builder = StateGraph(Annotated[int, operator.add])
    builder.add_node("add_one", add_one)
    builder.add_edge(START, "add_one")
    builder.add_conditional_edges("add_one", lambda n: "add_one" if n < 3 else END)
    graph = builder.compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "t"}}
    assert await graph.ainvoke(1, config) == 3
    history = [s async for s in graph.aget_state_history(config)]
    assert [t.result for s in history for t in s.tasks] == [1, 1, 1]


async def test_a_plain_annotated_class_is_a_dict_state() -> None:
    # As LangGraph: a class that is neither a TypedDict, a dataclass nor a pydantic model
    # declares the keys with its annotations; nodes get and return dicts.
    class Plain:
        log: Annotated[list[str], operator.add]
        name: str

    seen: list[Any] = []

    async def node(state: Any) -> dict[str, Any]:
        seen.append(state)
        return {"log": ["node"], "name": "node", "unknown": 1}

    graph = StateGraph(Plain).add_node("node", node).add_edge(START, "node").compile()
    assert await graph.ainvoke({"log": ["in"], "name": "in"}) == {
        "log": ["in", "node"],
        "name": "node",
    }
    assert seen == [{"log": ["in"], "name": "in"}]
