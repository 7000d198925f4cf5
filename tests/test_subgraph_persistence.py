"""Subgraph persistence, as in LangGraph: a subgraph keeps its checkpoints in its parent's
saver under its ``checkpoint_ns``, so an ``interrupt()`` inside it resumes inside it;
``compile(checkpointer=True)`` keeps one history per thread across calls, ``False`` none.

Each test runs on asyncio and trio, with the in-memory saver and a SQLite file.
"""

from __future__ import annotations

import operator
import pathlib
from collections.abc import AsyncIterator
from typing import Annotated, Any, TypedDict

import anyio
import pytest

from scopegraph import END, START, Command, StateGraph, interrupt
from scopegraph.checkpoint import BaseCheckpointSaver, InMemorySaver, SqliteSaver

pytestmark = pytest.mark.anyio


class State(TypedDict):
    log: Annotated[list[str], operator.add]


@pytest.fixture(params=["memory", "sqlite"])
async def saver(
    request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> AsyncIterator[BaseCheckpointSaver]:
    if request.param == "memory":
        yield InMemorySaver()
        return
    async with SqliteSaver(tmp_path / "threads.db") as sqlite:
        yield sqlite


def _child(calls: list[str], *, checkpointer: Any = None, **compile_kw: Any) -> Any:
    """prepare -> ask (interrupts) -> done."""

    async def prepare(state: State) -> dict[str, Any]:
        calls.append("prepare")
        return {"log": ["prepare"]}

    async def ask(state: State) -> dict[str, Any]:
        calls.append("ask")
        return {"log": [f"answer={interrupt('continue?')}"]}

    async def done(state: State) -> dict[str, Any]:
        calls.append("done")
        return {"log": ["done"]}

    sub = StateGraph(State)
    sub.add_node("prepare", prepare)
    sub.add_node("ask", ask)
    sub.add_node("done", done)
    sub.add_edge(START, "prepare")
    sub.add_edge("prepare", "ask")
    sub.add_edge("ask", "done")
    sub.add_edge("done", END)
    return sub.compile(checkpointer=checkpointer, **compile_kw)


def _parent(child: Any, saver: BaseCheckpointSaver) -> Any:
    builder = StateGraph(State)
    builder.add_node("child", child)
    builder.add_edge(START, "child")
    builder.add_edge("child", END)
    return builder.compile(checkpointer=saver)


async def test_interrupt_in_a_subgraph_resumes_inside_it(saver: BaseCheckpointSaver) -> None:
    calls: list[str] = []
    graph = _parent(_child(calls), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    first = await graph.ainvoke({"log": []}, config)
    assert [i.value for i in first["__interrupt__"]] == ["continue?"]
    assert calls == ["prepare", "ask"]
    calls.clear()
    resumed = await graph.ainvoke(Command(resume="yes"), config)
    # The subgraph's nodes before the interrupt do not run again.
    assert calls == ["ask", "done"]
    assert resumed == {"log": ["prepare", "answer=yes", "done"]}


async def test_subgraph_checkpoints_are_stored_under_its_namespace(
    saver: BaseCheckpointSaver,
) -> None:
    graph = _parent(_child([]), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": []}, config)
    state = await graph.aget_state(config)
    (task,) = state.tasks
    ns = f"child:{task.id}"
    sub = await saver.aget_tuple("t", ns)
    assert sub is not None
    assert sub.checkpoint.values == {"log": ["prepare"]}
    assert [r.status for r in sub.tasks] == ["interrupted"]


async def test_two_interrupts_in_a_subgraph_are_answered_in_turn(
    saver: BaseCheckpointSaver,
) -> None:
    async def twice(state: State) -> dict[str, Any]:
        return {"log": [interrupt("first?"), interrupt("second?")]}

    sub = StateGraph(State)
    sub.add_node("twice", twice)
    sub.add_edge(START, "twice")
    graph = _parent(sub.compile(), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    out = await graph.ainvoke({"log": []}, config)
    assert [i.value for i in out["__interrupt__"]] == ["first?"]
    out = await graph.ainvoke(Command(resume="a"), config)
    assert [i.value for i in out["__interrupt__"]] == ["second?"]
    assert await graph.ainvoke(Command(resume="b"), config) == {"log": ["a", "b"]}


async def test_checkpointer_true_keeps_the_subgraph_history_across_calls(
    saver: BaseCheckpointSaver,
) -> None:
    child = _child([], checkpointer=True)
    seen: list[list[str]] = []

    async def call_child(state: State) -> dict[str, Any]:
        out = await child.ainvoke({"log": ["start"]})
        seen.append(out["log"])
        return {"log": [out["log"][-1]]}

    builder = StateGraph(State)
    builder.add_node("call_child", call_child)
    builder.add_edge(START, "call_child")
    graph = builder.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    for answer in ("1", "2"):
        await graph.ainvoke({"log": []}, config)
        await graph.ainvoke(Command(resume=answer), config)
    first = ["start", "prepare", "answer=1", "done"]
    assert seen == [first, [*first, "start", "prepare", "answer=2", "done"]]
    # One history for the thread, under the namespace without task ids.
    sub = await saver.aget_tuple("t", "call_child")
    assert sub is not None
    assert sub.checkpoint.values["log"] == seen[-1]


async def test_checkpointer_false_stores_nothing_and_reruns_the_subgraph(
    saver: BaseCheckpointSaver,
) -> None:
    calls: list[str] = []
    graph = _parent(_child(calls, checkpointer=False), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": []}, config)
    calls.clear()
    out = await graph.ainvoke(Command(resume="yes"), config)
    assert calls == ["prepare", "ask", "done"]  # no checkpoints: the subgraph starts over
    assert out == {"log": ["prepare", "answer=yes", "done"]}
    state = await graph.aget_state(config)
    assert state.next == ()


async def test_subgraph_static_interrupt_uses_the_parents_checkpointer(
    saver: BaseCheckpointSaver,
) -> None:
    async def step(state: State) -> dict[str, Any]:
        return {"log": ["step"]}

    sub = StateGraph(State)
    sub.add_node("a", step)
    sub.add_node("b", step)
    sub.add_edge(START, "a")
    sub.add_edge("a", "b")
    graph = _parent(sub.compile(interrupt_before=["b"]), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    out = await graph.ainvoke({"log": []}, config)
    assert out == {"log": []}
    assert (await graph.aget_state(config)).next == ("child",)
    assert await graph.ainvoke(None, config) == {"log": ["step", "step"]}
    # As LangGraph: the root reports the subgraph's stop, the subgraph does not.
    other: Any = {"configurable": {"thread_id": "streamed"}}
    chunks = [c async for c in graph.astream({"log": []}, other, subgraphs=True)]
    assert chunks[-1] == ((), {"__interrupt__": ()})
    assert [ns for ns, chunk in chunks if "__interrupt__" in chunk] == [()]


def test_compile_rejects_what_is_not_a_checkpointer() -> None:
    with pytest.raises(TypeError, match="Invalid checkpointer provided"):
        StateGraph(State).add_node("a", lambda s: s).add_edge(START, "a").compile(
            checkpointer=object()
        )


async def test_a_root_graph_compiled_with_checkpointer_true_cannot_run() -> None:
    graph = _child([], checkpointer=True)
    with pytest.raises(RuntimeError, match="checkpointer=True cannot be used for root graphs"):
        await graph.ainvoke({"log": []}, {"configurable": {"thread_id": "t"}})


# -- finding subgraphs, and their state through the parent --------------------------------


LEAF = _child([])


def test_nodes_report_the_graph_they_run_or_call() -> None:
    captured = _child([])

    def calls_captured(state: State) -> Any:
        return captured.invoke(state)

    async def calls_global(state: State) -> Any:
        return await LEAF.ainvoke(state)

    def calls_nothing(state: State) -> Any:
        return {"log": []}

    builder = StateGraph(State)
    builder.add_node("as_node", captured)
    builder.add_node("captured", calls_captured)
    builder.add_node("global", calls_global)
    builder.add_node("nothing", calls_nothing)
    builder.add_node("opted_out", _child([], checkpointer=False))
    builder.add_edge(START, "as_node")
    graph = builder.compile()
    found = {name: node.subgraphs for name, node in graph.nodes.items()}
    assert found == {
        "as_node": [captured],
        "captured": [captured],
        "global": [LEAF],
        "nothing": [],
        "opted_out": [],  # a graph without checkpoints is not a subgraph to inspect
    }
    assert [name for name, _ in graph.get_subgraphs()] == ["as_node", "captured", "global"]


def test_get_subgraphs_finds_a_nested_namespace_by_whole_segments() -> None:
    inner = _child([])
    middle = StateGraph(State).add_node("inner", inner).add_edge(START, "inner").compile()
    outer = StateGraph(State)
    outer.add_node("middle", middle)
    outer.add_node("middle_inner", _child([]))
    outer.add_edge(START, "middle")
    graph = outer.compile()
    assert list(graph.get_subgraphs(namespace="middle|inner", recurse=True)) == [
        ("middle|inner", inner)
    ]
    assert [ns for ns, _ in graph.get_subgraphs(recurse=True)] == [
        "middle",
        "middle|inner",
        "middle_inner",
    ]


async def test_get_state_with_subgraphs_shows_the_paused_subgraphs_state(
    saver: BaseCheckpointSaver,
) -> None:
    graph = _parent(_child([]), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": []}, config)
    (task,) = (await graph.aget_state(config)).tasks
    ns = f"child:{task.id}"
    assert task.state == {"configurable": {"thread_id": "t", "checkpoint_ns": ns}}
    (task,) = (await graph.aget_state(config, subgraphs=True)).tasks
    sub = task.state
    assert sub.values == {"log": ["prepare"]}
    assert sub.next == ("ask",)
    assert sub.config["configurable"]["checkpoint_ns"] == ns
    assert [i.value for i in sub.interrupts] == ["continue?"]


async def test_update_state_on_a_subgraphs_namespace_writes_there(
    saver: BaseCheckpointSaver,
) -> None:
    graph = _parent(_child([]), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": []}, config)
    sub_config = (await graph.aget_state(config)).tasks[0].state
    await graph.aupdate_state(sub_config, {"log": ["edited"]}, as_node="prepare")
    sub = await graph.aget_state(sub_config)
    assert sub.values == {"log": ["prepare", "edited"]}
    history = [s async for s in graph.aget_state_history(sub_config)]
    assert [s.metadata["source"] for s in history][:2] == ["update", "loop"]
    with pytest.raises(ValueError, match="Subgraph nowhere not found"):
        await graph.aupdate_state(
            {"configurable": {"thread_id": "t", "checkpoint_ns": "nowhere:1"}}, {"log": []}
        )


# -- time travel ----------------------------------------------------------------------------


async def test_copy_forks_a_checkpoint_as_a_sibling_that_asks_again(
    saver: BaseCheckpointSaver,
) -> None:
    calls: list[str] = []
    graph = _child(calls, checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": []}, config)
    await graph.ainvoke(Command(resume="first"), config)
    history = [s async for s in graph.aget_state_history(config)]
    before_ask = next(s for s in history if s.next == ("ask",))
    # The interrupt the task stopped at stays visible with its result.
    assert [i.value for t in before_ask.tasks for i in t.interrupts] == ["continue?"]
    fork = await graph.aupdate_state(before_ask.config, None, as_node="__copy__")
    copied = await graph.aget_state(fork)
    assert copied.metadata["source"] == "fork"
    assert copied.parent_config == before_ask.parent_config
    assert (copied.values, copied.next) == (before_ask.values, ("ask",))
    calls.clear()
    out = await graph.ainvoke(None, fork)
    assert [i.value for i in out["__interrupt__"]] == ["continue?"]
    out = await graph.ainvoke(Command(resume="second"), fork)
    assert calls == ["ask", "ask", "done"]
    assert out == {"log": ["prepare", "answer=second", "done"]}


async def test_update_as_input_starts_the_graph_again_with_those_values(
    saver: BaseCheckpointSaver,
) -> None:
    calls: list[str] = []
    graph = _child(calls, checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    new = await graph.aupdate_state(config, {"log": ["given"]}, as_node="__input__")
    state = await graph.aget_state(new)
    assert (state.metadata["source"], state.next) == ("input", ("__start__",))
    out = await graph.ainvoke(None, new)
    assert calls == ["prepare", "ask"]
    assert out["log"] == ["given", "prepare"]


async def test_time_travel_to_a_subgraph_checkpoint_replays_inside_the_subgraph(
    saver: BaseCheckpointSaver,
) -> None:
    calls: list[str] = []
    graph = _parent(_child(calls, checkpointer=True), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": []}, config)
    at_interrupt = (await graph.aget_state(config, subgraphs=True)).tasks[0].state.config
    await graph.ainvoke(Command(resume="first"), config)
    calls.clear()
    out = await graph.ainvoke(None, at_interrupt)
    assert [i.value for i in out["__interrupt__"]] == ["continue?"]
    assert calls == ["ask"]  # prepare ran before that checkpoint: it does not run again
    out = await graph.ainvoke(Command(resume="second"), config)
    assert out["log"][-2:] == ["answer=second", "done"]


async def test_replaying_the_parent_loads_a_stateful_subgraph_as_of_then(
    saver: BaseCheckpointSaver,
) -> None:
    seen: list[list[str]] = []

    async def record(state: State) -> dict[str, Any]:
        seen.append(list(state["log"]))
        return {"log": ["sub"]}

    class Parent(TypedDict):
        results: Annotated[list[str], operator.add]

    sub = StateGraph(State).add_node("record", record).add_edge(START, "record")
    builder = StateGraph(Parent)
    builder.add_node("pre", lambda s: {"results": ["pre"]})
    builder.add_node("sub", sub.compile(checkpointer=True))
    builder.add_edge(START, "pre")
    builder.add_edge("pre", "sub")
    graph = builder.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"results": []}, config)
    await graph.ainvoke({"results": []}, config)
    assert seen == [[], ["sub"]]  # the subgraph keeps its own history across runs
    history = [s async for s in graph.aget_state_history(config)]
    second_before_sub = next(s for s in history if s.next == ("sub",))
    seen.clear()
    await graph.ainvoke(None, second_before_sub.config)
    # As of that checkpoint, the subgraph had run once (not twice).
    assert seen == [["sub"]]


# -- Command.PARENT and namespaces in streams ----------------------------------------------


class Jump(TypedDict):
    jump: bool


async def test_parent_command_from_a_graph_a_node_function_calls() -> None:
    async def child_node(state: Jump) -> Any:
        return Command(graph=Command.PARENT, goto="second") if state["jump"] else state

    child = StateGraph(Jump).add_node("node", child_node).add_edge(START, "node").compile()
    ran: list[str] = []

    async def first(state: Jump) -> Any:
        await child.ainvoke({"jump": True})
        ran.append("after the child")  # never: the child's command ends this node
        return state

    async def second(state: Jump) -> Any:
        ran.append("second")
        return state

    builder = StateGraph(Jump)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    graph = builder.compile()
    assert await graph.ainvoke({"jump": False}) == {"jump": False}
    assert ran == ["second"]


async def test_stream_namespaces_follow_the_checkpoint_namespaces(
    saver: BaseCheckpointSaver,
) -> None:
    async def step(state: State) -> dict[str, Any]:
        return {"log": ["step"]}

    def sub() -> Any:
        return StateGraph(State).add_node("step", step).add_edge(START, "step")

    builder = StateGraph(State)
    builder.add_node("stateful", sub().compile(checkpointer=True))
    builder.add_node("stateless", sub().compile())
    builder.add_edge(START, "stateful")
    builder.add_edge(START, "stateless")
    graph = builder.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    namespaces = [ns async for ns, _ in graph.astream({"log": []}, config, subgraphs=True)]
    assert ("stateful",) in namespaces
    assert any(len(ns) == 1 and ns[0].startswith("stateless:") for ns in namespaces)
    assert await saver.aget_tuple("t", "stateful") is not None


async def test_time_travel_to_a_subgraphs_newest_checkpoint_asks_every_question_again(
    saver: BaseCheckpointSaver,
) -> None:
    async def a(state: State) -> dict[str, Any]:
        return {"log": [f"a:{interrupt('a')}"]}

    async def b(state: State) -> dict[str, Any]:
        return {"log": [f"b:{interrupt('b')}"]}

    sub = StateGraph(State).add_node("a", a).add_node("b", b)
    sub.add_edge(START, "a").add_edge(START, "b")
    graph = _parent(sub.compile(checkpointer=True), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    out = await graph.ainvoke({"log": []}, config)
    question_a = next(i for i in out["__interrupt__"] if i.value == "a")
    await graph.ainvoke(Command(resume={question_a.id: "yes"}), config)
    sub_head = (await graph.aget_state(config, subgraphs=True)).tasks[0].state.config
    assert (
        sub_head["configurable"]["checkpoint_map"][""]
        == ((await graph.aget_state(config)).config["configurable"]["checkpoint_id"])
    )
    out = await graph.ainvoke(None, sub_head)
    # a was answered, but replaying the checkpoint asks it again
    assert sorted(i.value for i in out["__interrupt__"]) == ["a", "b"]


# -- LangGraph's read API on the savers ------------------------------------------------------


async def test_savers_answer_langgraphs_read_api_given_a_config(
    saver: BaseCheckpointSaver,
) -> None:
    graph = _parent(_child([]), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"log": []}, config)
    ours = await saver.aget_tuple("t")
    theirs = await saver.aget_tuple(config)
    assert ours is not None
    assert theirs is not None
    assert theirs.config == ours.config
    assert theirs.checkpoint["id"] == ours.checkpoint.id
    assert theirs.checkpoint["channel_values"] == {"log": []}
    assert theirs.metadata["source"] == "loop"
    assert [(w[1], [i.value for i in w[2]]) for w in theirs.pending_writes or []] == [
        ("__interrupt__", ["continue?"])
    ]
    assert saver.get_tuple(config) == theirs
    assert (saver.get(config) or {})["id"] == ours.checkpoint.id
    listed = [t async for t in saver.alist(config, filter={"source": "input"})]
    assert [t.metadata["source"] for t in listed] == ["input"]
    root_only = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    assert len(saver.list(root_only)) == len(await saver.alist("t"))
    assert saver.list(root_only, limit=1)[0] == theirs
    assert await saver.aget_tuple({"configurable": {"thread_id": "nobody"}}) is None


# -- cancellation ----------------------------------------------------------------------------


async def test_cancelling_a_run_inside_a_subgraph_completes_its_cleanup_and_can_resume(
    saver: BaseCheckpointSaver,
) -> None:
    started = anyio.Event()
    order: list[str] = []
    block = [True]

    async def prepare(state: State) -> dict[str, Any]:
        order.append("prepare")
        return {"log": ["prepare"]}

    async def slow(state: State) -> dict[str, Any]:
        if not block[0]:
            return {"log": ["slow"]}
        try:
            started.set()
            await anyio.sleep_forever()
            raise AssertionError("unreachable")
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.sleep(0.01)  # cleanup that really awaits
                order.append("cleanup done")

    sub = StateGraph(State).add_node("prepare", prepare).add_node("slow", slow)
    sub.add_edge(START, "prepare").add_edge("prepare", "slow")
    graph = _parent(sub.compile(), saver)
    config: Any = {"configurable": {"thread_id": "t"}}
    async with graph.open_stream({"log": []}, config) as stream:
        await started.wait()
        stream.cancel()
        async for _ in stream:
            pass
    order.append("stream closed")
    assert order == ["prepare", "cleanup done", "stream closed"]
    # The subgraph's finished node is kept: resuming runs only what did not finish.
    block[0] = False
    order.clear()
    assert await graph.ainvoke(None, config) == {"log": ["prepare", "slow"]}
    assert order == []


class Text(TypedDict):
    text: Annotated[str, operator.add]


def _inner_paused_beside_a_sibling(saver: BaseCheckpointSaver) -> Any:
    """START -> inner (stops before its 2nd node) and START -> sibling, then -> last."""
    inner = StateGraph(Text)
    inner.add_node("first", lambda s: {"text": "first"})
    inner.add_node("second", lambda s: {"text": " second"})
    inner.add_edge(START, "first")
    inner.add_edge("first", "second")
    inner.add_edge("second", END)
    outer = StateGraph(Text)
    outer.add_node("inner", inner.compile(interrupt_before=["second"]))
    outer.add_node("sibling", lambda s: {"text": " sibling"})
    outer.add_node("last", lambda s: {"text": " last"})
    outer.add_edge(START, "inner")
    outer.add_edge(START, "sibling")
    outer.add_edge(["inner", "sibling"], "last")
    outer.add_edge("last", END)
    return outer.compile(checkpointer=saver)


async def test_values_stream_shows_a_subgraphs_static_stop_without_interrupt_key(
    saver: BaseCheckpointSaver,
) -> None:
    """As LangGraph: a subgraph's interrupt_before stop has no interrupts to report, so
    the values chunk of the step is the plain state (the sibling's write applied)."""
    app = _inner_paused_beside_a_sibling(saver)
    config = {"configurable": {"thread_id": "t"}}
    chunks = [c async for c in app.astream({"text": ""}, config, stream_mode="values")]
    assert chunks == [{"text": ""}, {"text": " sibling"}]
    updates = [c async for c in app.astream(None, config, stream_mode="values")]
    assert updates[-1] == {"text": "first second sibling last"}


async def test_subgraph_history_parent_config_carries_the_checkpoint_map(
    saver: BaseCheckpointSaver,
) -> None:
    """As LangGraph: a subgraph checkpoint's parent_config, like its config, names the
    checkpoint each enclosing graph was at, as the checkpoints stream shows it."""
    app = _inner_paused_beside_a_sibling(saver)
    config = {"configurable": {"thread_id": "t"}}
    events = [
        c
        async for c in app.astream({"text": ""}, config, stream_mode="checkpoints", subgraphs=True)
    ]
    streamed = [payload for ns, payload in events if ns]
    ns = streamed[0]["config"]["configurable"]["checkpoint_ns"]
    sub_config = {"configurable": {"thread_id": "t", "checkpoint_ns": ns}}
    history = [s async for s in app.aget_state_history(sub_config)][::-1]
    assert len(history) == len(streamed) == 3  # input, first, stop before second
    newest = history[-1]
    assert newest.parent_config is not None
    assert newest.parent_config["configurable"]["checkpoint_map"] == {
        "": newest.metadata["parents"][""],
        ns: history[-2].config["configurable"]["checkpoint_id"],
    }
    assert [s.parent_config for s in history] == [e["parent_config"] for e in streamed]


async def test_checkpoints_stream_with_durability_exit_shows_the_stored_parent() -> None:
    """As LangGraph: while durability "exit" stores nothing, the checkpoints stream shows
    the parent of the checkpoint the run started from (none on a new thread), as the one
    checkpoint stored at the end has."""
    app = _inner_paused_beside_a_sibling(InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    events = [
        c
        async for c in app.astream(
            {"text": ""}, config, stream_mode="checkpoints", durability="exit"
        )
    ]
    assert [e["parent_config"] for e in events] == [None] * len(events)
    history = [s async for s in app.aget_state_history(config)]
    assert len(history) == 1
    assert history[0].parent_config is None
    assert (
        history[0].config["configurable"]["checkpoint_id"]
        == (events[-1]["config"]["configurable"]["checkpoint_id"])
    )
