"""``scopegraph.langgraph.adopt``: LangGraph graphs rebuilt on scopegraph's engine give
LangGraph's results and stream chunks (each scenario runs on LangGraph in a worker
thread's asyncio loop, and adopted on the test's backend), and what cannot be rebuilt is
refused with AdoptionError."""

from __future__ import annotations

import operator
import threading
import warnings
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypedDict

import anyio
import anyio.abc
import pytest
from langchain.tools import ToolRuntime
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from langchain_core.tools import tool
from langgraph.channels.delta import DeltaChannel
from langgraph.channels.topic import Topic
from langgraph.checkpoint.memory import InMemorySaver as LangGraphSaver
from langgraph.errors import NodeError
from langgraph.func import entrypoint
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command, RetryPolicy, Send

import _pg
import scopegraph
import scopegraph.store.memory
import scopegraph.types
from _compare import langgraph_reference, normalize
from _helpers import no_task_left
from scopegraph.checkpoint import InMemorySaver
from scopegraph.langgraph import AdoptionError, adopt
from scopegraph.store.postgres import PostgresStore

pytestmark = pytest.mark.anyio

pg_server = _pg.pg_server
pg_dsn = _pg.pg_dsn


def plain(obj: Any) -> Any:
    """Stream chunks and states as plain data: messages as dicts, tuples as lists."""
    if isinstance(obj, BaseMessage):
        return plain(obj.model_dump())
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [plain(v) for v in obj]
    if type(obj).__name__ == "Interrupt":
        return ("Interrupt", plain(obj.value))
    if type(obj).__name__ == "Send":  # LangGraph's or scopegraph's
        return ("Send", obj.node, plain(obj.arg))
    return obj


async def same_on_both(build: Callable[[], Any], scenario: Callable[[Any], Any]) -> tuple[Any, Any]:
    """(LangGraph's, the adopted graph's) normalized results of ``scenario(graph)``; two
    graphs are built, one per engine."""
    expected = await langgraph_reference(lambda: scenario(build()))
    actual = await scenario(adopt(build()))
    return normalize(plain(expected)), normalize(plain(actual))


# -- a hand-built graph: branches, reducers, Send, Command, subgraph, interrupts ----------


class State(TypedDict):
    items: list[str]
    log: Annotated[list[str], operator.add]
    rounds: int


class Rounds(TypedDict):
    rounds: int


class Inner(TypedDict):
    log: Annotated[list[str], operator.add]


def hand_built(checkpointer: Any = None) -> Any:
    def plan(state: State) -> dict[str, Any]:
        return {"log": ["plan"], "rounds": state["rounds"] + 1}

    def fan_out(state: State) -> list[Send]:
        return [Send("work", {"items": [i], "log": [], "rounds": 0}) for i in state["items"]]

    async def work(state: State) -> dict[str, Any]:
        return {"log": [f"work:{state['items'][0]}"]}

    def decide(state: State) -> Command[Literal["review", "__end__"]]:
        goto: Literal["review", "__end__"] = "review" if state["rounds"] < 2 else "__end__"
        return Command(update={"log": ["decide"]}, goto=goto)

    def review_route(state: State) -> str:
        return "again" if len(state["log"]) < 12 else "done"

    inner = StateGraph(Inner)
    inner.add_node("note", lambda s: {"log": [f"note:{len(s['log'])}"]})
    inner.add_edge(START, "note")

    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("work", work, retry_policy=RetryPolicy(max_attempts=2))
    builder.add_node("decide", decide)
    builder.add_node("review", inner.compile())
    builder.add_edge(START, "plan")
    builder.add_conditional_edges("plan", fan_out, ["work"])
    builder.add_edge("work", "decide")
    builder.add_conditional_edges("review", review_route, {"again": "plan", "done": END})
    return builder.compile(checkpointer=checkpointer, interrupt_before=["review"])


async def test_hand_built_graph_gives_langgraphs_chunks_and_state(anyio_backend: str) -> None:
    async def scenario(graph: Any) -> Any:
        config = {"configurable": {"thread_id": "t"}}
        first = [
            c
            async for c in graph.astream(
                {"items": ["a", "b"], "log": [], "rounds": 0},
                config,
                stream_mode=["updates", "values"],
                subgraphs=True,
            )
        ]
        resumed = [c async for c in graph.astream(None, config, subgraphs=True)]
        state = await graph.aget_state(config)
        return first, resumed, state.values, state.next

    expected, actual = await same_on_both(lambda: hand_built(LangGraphSaver()), scenario)
    assert actual == expected
    first, _, values, following = actual
    assert ["updates", {"__interrupt__": []}] in [c[1:] for c in first]  # stopped before review
    assert following == []
    assert values["rounds"] == 2
    log = values["log"]  # resumed: the subgraph ran (once), then a second round
    assert log.count("note:4") == 1
    assert log.count("decide") > 1
    assert log[-1] == "decide"


class Public(TypedDict):
    question: str
    answer: str


class Private(TypedDict):
    question: str
    notes: list[str]


class Answer(TypedDict):
    answer: str


async def test_private_state_and_input_output_schemas_are_carried_over(
    anyio_backend: str,
) -> None:
    def build() -> Any:
        def think(state: Public) -> Private:
            return {"question": state["question"], "notes": ["n1", "n2"]}

        def respond(state: Private) -> dict[str, Any]:
            return {"answer": f"{state['question']}: {len(state['notes'])} notes"}

        builder = StateGraph(Public, input_schema=Public, output_schema=Answer)
        builder.add_node("think", think)
        builder.add_node("respond", respond)
        builder.add_edge(START, "think")
        builder.add_edge("think", "respond")
        return builder.compile()

    async def scenario(graph: Any) -> Any:
        question = {"question": "why", "answer": ""}
        chunks = [c async for c in graph.astream(question, stream_mode=["updates", "values"])]
        return chunks, await graph.ainvoke(question)

    expected, actual = await same_on_both(build, scenario)
    assert actual == expected
    assert actual[1] == {"answer": "why: 2 notes"}


def _merge_batches(state: list[str] | None, writes: list[list[str]]) -> list[str]:
    merged = list(state or [])
    for write in writes:
        merged.extend(write)
    return merged


class WithDelta(TypedDict):
    items: Annotated[list[str], DeltaChannel(_merge_batches)]


async def test_a_delta_channel_is_carried_over(anyio_backend: str) -> None:
    def build() -> Any:
        builder = StateGraph(WithDelta)
        builder.add_node("a", lambda s: {"items": ["a"]})
        builder.add_node("b", lambda s: {"items": ["b"]})
        builder.add_edge(START, "a")
        builder.add_edge("a", "b")
        return builder.compile()

    async def scenario(graph: Any) -> Any:
        return [c async for c in graph.astream({"items": ["x"]}, stream_mode="values")]

    expected, actual = await same_on_both(build, scenario)
    assert actual == expected
    assert actual[-1] == {"items": ["x", "a", "b"]}


async def test_adopted_graph_takes_langgraphs_command_as_input(anyio_backend: str) -> None:
    async def scenario(graph: Any) -> Any:
        config = {"configurable": {"thread_id": "c"}}
        await graph.ainvoke({"items": ["a"], "log": [], "rounds": 0}, config)
        resumed = [c async for c in graph.astream(Command(update={"rounds": 5}), config)]
        return resumed, (await graph.aget_state(config)).values

    expected, actual = await same_on_both(lambda: hand_built(LangGraphSaver()), scenario)
    assert actual == expected
    assert actual[1]["rounds"] == 6  # the update applied (5), then plan ran once more


async def test_adopted_graph_is_scopegraphs_with_the_same_tables(anyio_backend: str) -> None:
    graph = adopt(hand_built(LangGraphSaver()))
    assert isinstance(graph, scopegraph.CompiledStateGraph)
    assert isinstance(graph.checkpointer, InMemorySaver)
    assert isinstance(graph.builder.nodes["review"].fn, scopegraph.CompiledStateGraph)
    assert graph.interrupt_before_nodes == frozenset({"review"})
    work = graph.builder.nodes["work"]
    assert work.retry_policy == (scopegraph.RetryPolicy(max_attempts=2),)
    [branch] = graph.builder.branches["review"]
    assert (branch.name, branch.path_map) == ("review_route", {"again": "plan", "done": END})
    assert graph.builder.nodes["decide"].destinations == ("review", "__end__")


async def test_uncompiled_builder_is_adopted_with_its_node_defaults(anyio_backend: str) -> None:
    calls: list[str] = []

    class Flaky(Exception):  # retried by the default retry_on (a ValueError is not)
        pass

    def flaky(state: Inner) -> dict[str, Any]:
        calls.append("flaky")
        raise Flaky("boom")

    def handler(state: Inner, error: NodeError) -> dict[str, Any]:
        return {"log": [f"handled {error.node}: {error.error}"]}

    builder = StateGraph(Inner)
    builder.add_node("flaky", flaky)
    builder.add_edge(START, "flaky")
    builder.set_node_defaults(
        retry_policy=RetryPolicy(max_attempts=2, initial_interval=0, jitter=False),
        error_handler=handler,
    )
    graph = adopt(builder, checkpointer=InMemorySaver())
    result = await graph.ainvoke({"log": []}, {"configurable": {"thread_id": "d"}})
    assert result == {"log": ["handled flaky: boom"]}
    assert calls == ["flaky", "flaky"]  # the default retry policy, then the handler


async def test_cache_policy_and_cache_are_carried_over(anyio_backend: str) -> None:
    from langgraph.cache.memory import InMemoryCache as LangGraphCache
    from langgraph.types import CachePolicy

    calls: list[int] = []

    def build() -> Any:
        def slow(state: Inner) -> dict[str, Any]:
            calls.append(len(state["log"]))
            return {"log": ["computed"]}

        builder = StateGraph(Inner)
        builder.add_node("slow", slow, cache_policy=CachePolicy(ttl=60), defer=True)
        builder.add_edge(START, "slow")
        return builder.compile(cache=LangGraphCache())

    async def scenario(graph: Any) -> Any:
        first = [c async for c in graph.astream({"log": []})]
        second = [c async for c in graph.astream({"log": []})]
        return first, second

    expected, actual = await same_on_both(build, scenario)
    assert actual == expected
    assert actual[1] == [{"slow": {"log": ["computed"]}, "__metadata__": {"cached": True}}]
    assert calls == [0, 0]  # once per engine: the second run of each is served by the cache
    graph = adopt(build())
    assert graph.builder.nodes["slow"].defer
    assert graph.builder.nodes["slow"].cache_policy == scopegraph.types.CachePolicy(ttl=60)


async def test_a_store_and_the_store_parameter_are_carried_over(anyio_backend: str) -> None:
    from langgraph.store.memory import InMemoryStore as LangGraphStore

    # LangGraph injects a parameter annotated with the name BaseStore
    def remember(state: Rounds, *, store: BaseStore) -> dict[str, Any]:
        store.put(("memories",), f"m{state['rounds']}", {"round": state["rounds"]})
        return {"rounds": len(store.search(("memories",)))}

    def build() -> Any:
        builder = StateGraph(Rounds)
        builder.add_node("remember", remember)
        builder.add_edge(START, "remember")
        return builder.compile(store=LangGraphStore())

    async def scenario(graph: Any) -> Any:
        return [await graph.ainvoke({"rounds": n}) for n in (1, 2)]

    expected, actual = await same_on_both(build, scenario)
    assert actual == expected
    assert actual == [{"rounds": 1}, {"rounds": 2}]
    assert isinstance(adopt(build()).store, scopegraph.store.memory.InMemoryStore)


async def test_graphs_sharing_a_langgraph_saver_share_the_adopted_one(anyio_backend: str) -> None:
    saver = LangGraphSaver()
    assert adopt(hand_built(saver)).checkpointer is adopt(hand_built(saver)).checkpointer


# -- agents with a fake chat model -------------------------------------------------------


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two numbers."""
    return a * b


class ToolCallingFake(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def fake_model(**options: Any) -> ToolCallingFake:
    turns = [
        AIMessage(
            "adding",
            id="ai-1",
            tool_calls=[{"name": "add", "args": {"a": 1, "b": 2}, "id": "call-1"}],
        ),
        AIMessage(
            "multiplying",
            id="ai-2",
            tool_calls=[{"name": "multiply", "args": {"a": 3, "b": 4}, "id": "call-2"}],
        ),
        AIMessage("3 and 12", id="ai-3"),
    ]
    return ToolCallingFake(messages=iter(turns), **options)


def react_agent(**model_options: Any) -> Any:
    from langgraph.prebuilt import create_react_agent

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # create_react_agent moved to langchain.agents
        return create_react_agent(fake_model(**model_options), [add, multiply])


def langchain_agent(**model_options: Any) -> Any:
    from langchain.agents import create_agent

    return create_agent(fake_model(**model_options), [add, multiply])


@pytest.mark.parametrize("make", [react_agent, langchain_agent], ids=["react", "create_agent"])
async def test_agent_gives_langgraphs_updates_and_values_chunks(
    anyio_backend: str, make: Callable[[], Any]
) -> None:
    async def scenario(graph: Any) -> Any:
        question = {"messages": [HumanMessage("1+2, then 3*4?", id="human-1")]}
        modes = ["updates", "values"]
        return [c async for c in graph.astream(question, stream_mode=modes)]

    expected, actual = await same_on_both(make, scenario)
    assert actual == expected
    updates = [chunk for mode, chunk in actual if mode == "updates"]
    contents = [m["content"] for c in updates for u in c.values() for m in u["messages"]]
    assert contents == ["adding", "3", "multiplying", "12", "3 and 12"]


@pytest.mark.parametrize("make", [react_agent, langchain_agent], ids=["react", "create_agent"])
async def test_agent_gives_langgraphs_messages_chunks(
    anyio_backend: str, make: Callable[..., Any]
) -> None:
    # Unstreamed, the fake model keeps its tool calls (streamed, it drops them), so the
    # whole loop runs; each chat model answer is one messages chunk, as on LangGraph.
    async def scenario(graph: Any) -> Any:
        question = {"messages": [HumanMessage("1+2, then 3*4?", id="human-1")]}
        return [c async for c in graph.astream(question, stream_mode="messages")]

    expected, actual = await same_on_both(lambda: make(disable_streaming=True), scenario)
    assert actual == expected
    assert [m["content"] for m, _ in actual] == ["adding", "3", "multiplying", "12", "3 and 12"]


@pytest.mark.parametrize("make", [react_agent, langchain_agent], ids=["react", "create_agent"])
async def test_agent_gives_langgraphs_astream_events(
    anyio_backend: str, make: Callable[..., Any]
) -> None:
    async def scenario(graph: Any) -> Any:
        question = {"messages": [HumanMessage("1+2, then 3*4?", id="human-1")]}
        # LangGraph's astream_events goes through langchain_core's ensure_config, whose
        # recursion_limit is 25 (not LangGraph's 10007): given here, both engines agree
        # on create_react_agent's remaining_steps.
        config = {"recursion_limit": 25}
        return [e async for e in graph.astream_events(question, config, version="v2")]

    expected, actual = await same_on_both(lambda: make(disable_streaming=True), scenario)
    assert actual == expected
    names = [(e["event"], e["name"]) for e in actual]
    assert ("on_tool_end", "multiply") in names
    if make is langchain_agent:
        assert ("on_chain_start", "model_to_tools") not in names  # trace=False in LangChain
    else:
        assert ("on_chain_start", "call_model") in names  # a traced RunnableCallable


@pytest.mark.parametrize("make", [react_agent, langchain_agent], ids=["react", "create_agent"])
async def test_agent_final_messages_match_langgraphs(
    anyio_backend: str, make: Callable[[], Any]
) -> None:
    async def scenario(graph: Any) -> Any:
        result = await graph.ainvoke({"messages": [HumanMessage("go", id="human-1")]})
        return result["messages"]

    expected, actual = await same_on_both(make, scenario)
    assert actual == expected
    assert [m["type"] for m in actual] == ["human", "ai", "tool", "ai", "tool", "ai"]


@pytest.mark.parametrize(
    "make",
    [react_agent, langchain_agent, lambda: hand_built(LangGraphSaver())],
    ids=["react", "create_agent", "hand_built"],
)
def test_adopted_graph_draws_as_langgraph_draws_it(make: Callable[[], Any]) -> None:
    expected = make().get_graph().draw_mermaid()
    assert adopt(make()).get_graph().draw_mermaid() == expected


# -- refusals -------------------------------------------------------------------------------


class WithTopic(TypedDict):
    events: Annotated[list[str], Topic(str)]


def test_a_channel_without_an_equivalent_is_refused() -> None:
    builder = StateGraph(WithTopic)
    builder.add_node("n", lambda s: {"events": "e"})
    builder.add_edge(START, "n")
    with pytest.raises(AdoptionError, match=r"state key 'events' is a LangGraph Topic channel"):
        adopt(builder.compile())


def test_a_trace_policy_is_carried_over() -> None:
    from langgraph.types import TracePolicy

    def hidden(value: Any) -> str:
        return "hidden"

    builder = StateGraph(Inner)
    builder.add_node("n", lambda s: {"log": ["n"]}, trace_policy=TracePolicy(process_inputs=hidden))
    builder.add_edge(START, "n")
    policy = adopt(builder.compile()).builder.nodes["n"].trace_policy
    assert policy == scopegraph.types.TracePolicy(process_inputs=hidden)


def test_a_functional_api_program_is_refused() -> None:
    @entrypoint()
    def program(value: int) -> int:
        return value

    with pytest.raises(AdoptionError, match=r"Functional API.*bridge"):
        adopt(program)


def test_a_saver_that_holds_threads_is_refused() -> None:
    graph = hand_built(LangGraphSaver())
    graph.invoke({"items": [], "log": [], "rounds": 0}, {"configurable": {"thread_id": "x"}})
    with pytest.raises(AdoptionError, match="already holds threads"):
        adopt(graph)


async def test_a_create_agent_whose_middleware_jumps_gives_langgraphs_runs(
    anyio_backend: str,
) -> None:
    """``jump_to`` is an ``EphemeralValue``: the edge after the hook that wrote it sees it,
    and the next step (here: the next run's input) clears it. Kept as a last value, the
    second run would jump to the end again without calling the model."""
    from langchain.agents import create_agent
    from langchain.agents.middleware import AgentMiddleware, hook_config

    class StopAfterTools(AgentMiddleware):  # ends the turn once a tool has answered
        @hook_config(can_jump_to=["end"])
        def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
            if state["messages"][-1].type == "tool":
                return {"jump_to": "end"}
            return None

    def build() -> Any:
        return create_agent(
            fake_model(),
            [add, multiply],
            middleware=[StopAfterTools()],
            checkpointer=LangGraphSaver(),
        )

    async def scenario(graph: Any) -> Any:
        config = {"configurable": {"thread_id": "j"}}
        runs = []
        for i, text in enumerate(["1+2?", "and then?"]):
            question = {"messages": [HumanMessage(text, id=f"human-{i}")]}
            modes = ["updates", "values"]
            runs.append([c async for c in graph.astream(question, config, stream_mode=modes)])
        return runs, (await graph.aget_state(config)).values

    expected, actual = await same_on_both(build, scenario)
    assert actual == expected
    (first, second), _ = actual
    nodes = [next(iter(chunk)) for mode, chunk in second if mode == "updates"]
    assert nodes == ["StopAfterTools.before_model", "model", "tools", "StopAfterTools.before_model"]
    assert [next(iter(chunk)) for mode, chunk in first if mode == "updates"][-1] == (
        "StopAfterTools.before_model"
    )


async def test_a_create_agent_with_middleware_that_never_jumps_is_adopted(
    anyio_backend: str,
) -> None:
    from langchain.agents import create_agent
    from langchain.agents.middleware import AgentMiddleware

    class Counter(AgentMiddleware):
        def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
            return None

    def build() -> Any:
        return create_agent(fake_model(), [add, multiply], middleware=[Counter()])

    async def scenario(graph: Any) -> Any:
        question = {"messages": [HumanMessage("go", id="human-1")]}
        return [c async for c in graph.astream(question, stream_mode="updates")]

    expected, actual = await same_on_both(build, scenario)
    assert actual == expected
    assert [next(iter(c)) for c in actual][:3] == ["Counter.before_model", "model", "tools"]


def test_not_a_langgraph_graph_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="adopt\\(\\) takes a LangGraph StateGraph"):
        adopt(object())


# -- cancellation ----------------------------------------------------------------------------


def _stream_in(
    tg: anyio.abc.TaskGroup, graph: Any, inputs: Any, events: list[str]
) -> anyio.CancelScope:
    """Stream ``graph`` on ``inputs`` in ``tg``; the returned scope cancels it. Once
    ``astream`` has returned, with no task of the run left, ``events`` gets
    "astream returned"."""
    scope = anyio.CancelScope()

    async def consume() -> None:
        with scope, no_task_left():
            async for _ in graph.astream(inputs):
                pass
        events.append("astream returned")

    tg.start_soon(consume)
    return scope


def _agent_calling(tool: Any) -> Any:
    """LangGraph's ``create_react_agent``, adopted, whose model calls ``tool`` once."""
    from langgraph.prebuilt import create_react_agent

    call = {"name": tool.name, "args": {"key": "k"}, "id": "call-1"}
    model = ToolCallingFake(messages=iter([AIMessage("looking", id="ai-1", tool_calls=[call])]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LangGraph deprecates create_react_agent
        return adopt(create_react_agent(model, [tool]))


async def test_cancelled_mid_node_the_shielded_cleanup_completes(anyio_backend: str) -> None:
    events: list[str] = []
    started = anyio.Event()

    async def slow(state: Inner) -> dict[str, Any]:
        try:
            events.append("started")
            started.set()
            await anyio.sleep_forever()
            return {}
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.05)
                events.append("cleanup done")

    builder = StateGraph(Inner)
    builder.add_node("slow", slow)
    builder.add_edge(START, "slow")
    graph = adopt(builder.compile())

    async with anyio.create_task_group() as tg:
        scope = _stream_in(tg, graph, {"log": []}, events)
        await started.wait()
        scope.cancel()
    assert events == ["started", "cleanup done", "astream returned"]


async def test_agent_cancelled_mid_tool_the_tools_shielded_cleanup_completes(
    anyio_backend: str,
) -> None:
    """An async tool (no sync twin: on trio too it runs, on an asyncio loop in a worker
    thread, as LangGraph's ainvoke runs it), cancelled: its shielded cleanup completes."""

    events: list[str] = []
    started = threading.Event()  # set on the tool's loop: another thread on trio

    @tool
    async def slow_lookup(key: str) -> str:
        """Look a key up, slowly."""
        try:
            events.append("tool started")
            started.set()
            await anyio.sleep_forever()
            return key
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.05)
                events.append("tool cleanup done")

    graph = _agent_calling(slow_lookup)

    async with anyio.create_task_group() as tg:
        scope = _stream_in(tg, graph, {"messages": [HumanMessage("k?", id="h")]}, events)
        await anyio.to_thread.run_sync(started.wait, 10)
        scope.cancel()
    assert events == ["tool started", "tool cleanup done", "astream returned"]


async def test_async_tools_use_a_postgres_store_run_after_run(
    anyio_backend: str, pg_dsn: str
) -> None:
    """An async tool writing a PostgresStore through ``ToolRuntime``, in run after run.
    On trio the tool runs on an asyncio loop of its own each time: the store's async
    calls there use its sync connections in a thread (its async pool belongs to one
    loop, and refused the second run's)."""
    from langchain.agents import create_agent

    @tool
    async def note(text: str, runtime: ToolRuntime) -> str:
        """Write a note."""
        assert runtime.store is not None
        await runtime.store.aput(("notes",), text, {"text": text})
        return f"noted {text}"

    with PostgresStore(pg_dsn) as store:
        for text in ("one", "two"):
            call = {"name": "note", "args": {"text": text}, "id": f"call-{text}"}
            turns = [AIMessage("", id="ai-1", tool_calls=[call]), AIMessage("done", id="ai-2")]
            model = ToolCallingFake(messages=iter(turns))
            graph = adopt(create_agent(model, [note]), store=store)
            result = await graph.ainvoke({"messages": [HumanMessage(text, id="h")]})
            assert result["messages"][2].content == f"noted {text}"
        keys = [item.key for item in await store.asearch(("notes",))]
    assert sorted(keys) == ["one", "two"]


# -- LangGraph's helpers inside adopted nodes ----------------------------------------------


async def test_langgraphs_interrupt_and_stream_writer_in_an_adopted_graph(
    anyio_backend: str,
) -> None:
    from langgraph.config import get_stream_writer
    from langgraph.types import interrupt

    def ask(state: Inner) -> dict[str, Any]:
        get_stream_writer()({"asking": len(state["log"])})
        answer = interrupt("name?")
        return {"log": [f"hello {answer}"]}

    def build() -> Any:
        builder = StateGraph(Inner)
        builder.add_node("ask", ask)
        builder.add_edge(START, "ask")
        return builder.compile(checkpointer=LangGraphSaver())

    async def scenario(graph: Any) -> Any:
        config = {"configurable": {"thread_id": "i"}}
        modes = ["updates", "custom"]
        first = [c async for c in graph.astream({"log": []}, config, stream_mode=modes)]
        resumed = [c async for c in graph.astream(Command(resume="bob"), config, stream_mode=modes)]
        return first, resumed, (await graph.aget_state(config)).values

    expected, actual = await same_on_both(build, scenario)
    assert actual == expected
    assert actual[2] == {"log": ["hello bob"]}


EDIT_ADD = {"type": "edit", "edited_action": {"name": "add", "args": {"a": 5, "b": 5}}}


@pytest.mark.parametrize(
    ("mode", "answer"),
    [
        ("batched", {"decisions": [{"type": "approve"}]}),  # interrupts in after_model
        ("per_call", EDIT_ADD),  # interrupts in wrap_tool_call, inside ToolNode's tool call
    ],
)
async def test_a_human_in_the_loop_agent_is_adopted_and_resumed(
    anyio_backend: str, mode: Literal["batched", "per_call"], answer: dict[str, Any]
) -> None:
    from langchain.agents import create_agent
    from langchain.agents.middleware import HumanInTheLoopMiddleware

    def build() -> Any:
        middleware = HumanInTheLoopMiddleware(interrupt_on={"add": True}, interrupt_mode=mode)
        return create_agent(
            fake_model(), [add, multiply], middleware=[middleware], checkpointer=LangGraphSaver()
        )

    async def scenario(graph: Any) -> Any:
        config = {"configurable": {"thread_id": "h"}}
        question = {"messages": [HumanMessage("1+2?", id="human-1")]}
        first = [c async for c in graph.astream(question, config, stream_mode="updates")]
        command: Command[Any] = Command(resume=answer)
        resumed = [c async for c in graph.astream(command, config, stream_mode="updates")]
        return first, resumed

    expected, actual = await same_on_both(build, scenario)
    assert actual == expected
    first, resumed = actual
    assert "__interrupt__" in first[-1]
    assert any("tools" in chunk for chunk in resumed)


@pytest.mark.parametrize("anyio_backend", ["trio"])  # LangChain's sync code, in threads
async def test_agent_cancelled_mid_tool_on_trio_returns_once_the_tool_finished(
    anyio_backend: str,
) -> None:

    events: list[str] = []
    started, release = threading.Event(), threading.Event()

    @tool
    def slow_lookup(key: str) -> str:
        """Look a key up, slowly."""
        events.append("tool started")
        started.set()
        release.wait(10)
        events.append("tool finished")
        return key

    graph = _agent_calling(slow_lookup)

    async with anyio.create_task_group() as tg:
        scope = _stream_in(tg, graph, {"messages": [HumanMessage("k?", id="h")]}, events)
        await anyio.to_thread.run_sync(started.wait, 10)
        scope.cancel()
        await anyio.wait_all_tasks_blocked()
        events.append("cancelled")  # astream has not returned: the tool's thread runs
        release.set()
    assert events == ["tool started", "cancelled", "tool finished", "astream returned"]


# -- scopegraph.prebuilt.create_react_agent: LangGraph's, adopted ---------------------------


async def test_prebuilt_create_react_agent_runs_on_scopegraph_with_langgraphs_result(
    anyio_backend: str,
) -> None:
    from langgraph.prebuilt import create_react_agent as langgraphs

    from scopegraph.prebuilt import create_react_agent

    config: Any = {"configurable": {"thread_id": "t"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LangGraph deprecates create_react_agent
        ours = create_react_agent(fake_model(), [add, multiply], checkpointer=InMemorySaver())
    assert isinstance(ours, scopegraph.CompiledStateGraph)  # scopegraph's engine, not LangGraph's

    async def scenario(graph: Any) -> Any:
        result = await graph.ainvoke({"messages": [HumanMessage("go", id="human-1")]}, config)
        return result["messages"]

    def reference() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return langgraphs(fake_model(), [add, multiply], checkpointer=LangGraphSaver())

    expected = normalize(plain(await langgraph_reference(lambda: scenario(reference()))))
    assert normalize(plain(await scenario(ours))) == expected
    state = await ours.aget_state(config)  # the thread is in scopegraph's saver
    assert [m.type for m in state.values["messages"]][-1] == "ai"
