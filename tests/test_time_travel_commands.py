"""A ``Command`` as run input where the thread has no such checkpoint as it expects: one
addressed at a checkpoint the thread moved past, and one on a thread with no checkpoint;
compared with LangGraph on asyncio and trio."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import langgraph.checkpoint.memory
import pytest

from _compare import LG, compare
from scopegraph.checkpoint.memory import InMemorySaver

pytestmark = pytest.mark.anyio


class S(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    extra: Annotated[list[str], operator.add]
    flag: bool


def _saver(lib: Any) -> Any:
    return langgraph.checkpoint.memory.InMemorySaver() if lib is LG else InMemorySaver()


def _paused(lib: Any) -> Any:
    """START -> done, START -> ask (asks): done finishes in the step ask stops in; done
    writes ``extra`` once ``flag`` is set."""

    def done(state: S) -> dict[str, Any]:
        return {"log": ["done"], **({"extra": ["new"]} if state.get("flag") else {})}

    def ask(state: S) -> dict[str, Any]:
        return {"log": [f"ask: {lib.interrupt('approve?')}"]}

    builder = lib.StateGraph(S)
    builder.add_node("done", done).add_node("ask", ask)
    builder.add_edge(lib.START, "done").add_edge(lib.START, "ask")
    return builder.compile(checkpointer=_saver(lib))


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_a_resume_addressed_at_a_checkpoint_the_thread_moved_past_reruns_its_finished_tasks(
    anyio_backend: str, durability: str
) -> None:
    """The thread moves on (update_state), then a resume with an update is addressed at
    the paused checkpoint: as in LangGraph, the update applies, the finished task runs
    again (and sees it), the interrupted one gets the answer. The command used to be
    dropped: the run forked, ran done again without the update, and asked again."""

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "t"}}
        await graph.ainvoke({"log": ["in"]}, config, durability=durability)
        paused = (await graph.aget_state(config)).config
        await graph.aupdate_state(config, None)
        command = lib.Command(resume="yes", update={"flag": True})
        live = await graph.ainvoke(command, paused, durability=durability)
        state = await graph.aget_state(config)
        return live, state.values, state.next

    expected, actual = await compare(_paused, scenario)
    assert actual == expected
    live, values, next_ = actual
    assert live == values == {"log": ["in", "ask: yes", "done"], "extra": ["new"], "flag": True}
    assert next_ == ()


async def test_a_command_addressed_at_an_older_checkpoint_forks_with_its_update_and_goto(
    anyio_backend: str,
) -> None:
    """Time travel with ``Command(update=..., goto=...)`` (no resume): the fork holds the
    update and plans the goto node beside the checkpoint's own, as in LangGraph (the
    command used to be dropped)."""

    def build(lib: Any) -> Any:
        builder = lib.StateGraph(S)
        for name in ("a", "b", "c"):
            builder.add_node(name, lambda state, name=name: {"log": [name]})
        builder.add_edge(lib.START, "a").add_edge("a", "b")
        return builder.compile(checkpointer=_saver(lib))

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "t"}}
        await graph.ainvoke({"log": ["in"]}, config)
        history = [s async for s in graph.aget_state_history(config)]
        before_b = next(s for s in history if s.next == ("b",))
        updated = await graph.ainvoke(lib.Command(update={"log": ["u"]}), before_b.config)
        command = lib.Command(update={"log": ["u2"]}, goto="c")
        routed = await graph.ainvoke(command, before_b.config)
        forks = [
            (s.values, s.next)
            async for s in graph.aget_state_history(config)
            if s.metadata["source"] == "fork"
        ]
        return updated, routed, forks

    expected, actual = await compare(build, scenario)
    assert actual == expected
    updated, routed, forks = actual
    assert updated["log"] == ["in", "a", "u", "b"]
    assert routed["log"] == ["in", "a", "u2", "b", "c"]
    assert [(v["log"], n) for v, n in forks] == [
        (["in", "a", "u2"], ("b", "c")),
        (["in", "a", "u"], ("b",)),
    ]


async def test_a_resumed_runs_first_values_chunk_holds_its_commands_update(
    anyio_backend: str,
) -> None:
    """``Command(resume=..., update=...)`` on the head, and ``Command(update=...)``
    addressed at an older checkpoint: the first ``values`` chunk shows the update, as in
    LangGraph (it used to show the state before it)."""

    def build(lib: Any) -> Any:
        def ask(state: S) -> dict[str, Any]:
            return {"log": [f"ask: {lib.interrupt('q')}"]}

        builder = lib.StateGraph(S)
        builder.add_node("a", lambda state: {"log": ["a"]}).add_node("b", ask)
        builder.add_edge(lib.START, "a").add_edge("a", "b")
        return builder.compile(checkpointer=_saver(lib))

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "t"}}
        await graph.ainvoke({"log": ["in"]}, config)
        command = lib.Command(resume="y", update={"log": ["u"]})
        resumed = [c async for c in graph.astream(command, config, stream_mode="values")]
        history = [s async for s in graph.aget_state_history(config)]
        before_b = next(s for s in history if s.next == ("b",) and s.metadata["step"] == 1)
        command = lib.Command(update={"log": ["u2"]})
        forked = [
            c["log"] async for c in graph.astream(command, before_b.config, stream_mode="values")
        ]
        return [c["log"] for c in resumed], forked

    expected, actual = await compare(build, scenario)
    assert actual == expected
    resumed, forked = actual
    assert resumed == [["in", "a", "u"], ["in", "a", "u", "ask: y"]]
    assert forked[0] == ["in", "a", "u", "u2"]


def _chain(lib: Any, *, saver: bool = True) -> Any:
    """START -> node; other is reached only by a goto or a Send."""
    builder = lib.StateGraph(S)
    builder.add_node("node", lambda state: {"log": ["node"]})
    builder.add_node("other", lambda state: {"log": ["other"]})
    builder.add_edge(lib.START, "node")
    return builder.compile(checkpointer=_saver(lib) if saver else None)


@pytest.mark.parametrize("durability", ["sync", "async", "exit"])
async def test_a_command_on_a_thread_with_no_checkpoint_starts_it(
    anyio_backend: str, durability: str
) -> None:
    """As LangGraph: the update is applied to the empty state (the input checkpoint),
    then again as the ``__start__`` task's input (so a reducer key gets it twice), and
    the first step runs START's edges and the goto (a node and a Send); a resume alone
    has no interrupt to answer: the graph runs from START. It used to raise
    CheckpointNotFoundError."""

    async def scenario(lib: Any, graph: Any) -> Any:
        results = []
        for thread, command in [
            ("update", lib.Command(update={"log": ["cmd"], "flag": True})),
            ("goto", lib.Command(update={"log": ["cmd"]}, goto=["other", lib.Send("other", {})])),
            ("resume", lib.Command(resume="yes")),
        ]:
            config: Any = {"configurable": {"thread_id": thread}}
            chunks = [
                c
                async for c in graph.astream(
                    command, config, stream_mode="values", durability=durability
                )
            ]
            history = [
                (s.values, s.next, s.metadata["source"])
                async for s in graph.aget_state_history(config)
            ]
            results.append((chunks, history))
        return results

    expected, actual = await compare(_chain, scenario)
    assert actual == expected
    (chunks, history), (routed, _), (resumed, _) = actual
    assert chunks == [
        {"log": ["cmd", "cmd"], "extra": [], "flag": True},
        {"log": ["cmd", "cmd", "node"], "extra": [], "flag": True},
    ]
    if durability != "exit":
        assert [(v["log"], n, s) for v, n, s in history][1:] == [
            (["cmd", "cmd"], ("node",), "loop"),
            (["cmd"], ("__start__",), "input"),
        ]
    assert routed[-1]["log"] == ["cmd", "cmd", "node", "other", "other"]
    assert resumed == [{"log": ["node"], "extra": []}]


async def test_a_command_without_a_checkpointer_starts_the_run(anyio_backend: str) -> None:
    """LangGraph runs a graph without a checkpointer from ``Command(update=, goto=)`` (it
    used to be refused as a None input); ``Command(resume=...)`` raises its RuntimeError."""

    async def scenario(lib: Any, graph: Any) -> Any:
        plain = await graph.ainvoke(lib.Command(update={"log": ["cmd"]}, goto="other"))
        try:
            await graph.ainvoke(lib.Command(resume="yes"))
        except RuntimeError as exc:
            return plain, type(exc).__name__, str(exc).split(":")[0]
        return plain, None, None

    expected, actual = await compare(lambda lib: _chain(lib, saver=False), scenario)
    assert actual[:2] == expected[:2]
    assert actual == (
        {"log": ["cmd", "cmd", "node", "other"], "extra": []},
        "RuntimeError",
        "Cannot use Command(resume=...) without checkpointer",
    )


async def test_a_resume_whose_goto_sends_replaces_the_pending_sends(anyio_backend: str) -> None:
    """START sends to p and q; p finishes, q asks. ``Command(resume=, goto=[Send("q")])``
    replaces both pending sends, as in LangGraph (its sends are one channel the command
    overwrites): p's write is dropped, and the new q takes the answer. It used to keep
    p, and the new q asked again."""

    def build(lib: Any) -> Any:
        def q(state: S) -> dict[str, Any]:
            return {"log": [f"q: {lib.interrupt('continue?')}"]}

        builder = lib.StateGraph(S)
        builder.add_node("p", lambda state: {"log": ["p"]}).add_node("q", q)
        builder.add_conditional_edges(
            lib.START, lambda state: [lib.Send("p", state), lib.Send("q", state)], ["p", "q"]
        )
        return builder.compile(checkpointer=_saver(lib))

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "t"}}
        await graph.ainvoke({"log": ["in"]}, config)
        command = lib.Command(resume="yes", goto=[lib.Send("q", {"log": ["unused"]})])
        live = await graph.ainvoke(command, config)
        return live, (await graph.aget_state(config)).values

    expected, actual = await compare(build, scenario)
    assert actual == expected
    assert actual == ({"log": ["in", "q: yes"], "extra": []},) * 2
