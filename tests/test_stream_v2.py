"""``astream(..., version="v2")``: LangGraph 1.2's typed stream parts, compared with
LangGraph's own output for every stream mode, subgraphs, several modes, interrupts,
pydantic and dataclass states; and ``ainvoke(..., version="v2")``'s ``GraphOutput``."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import operator
import re
from typing import Annotated, Any, TypedDict, cast

import anyio.to_thread
import langgraph.checkpoint.memory
import langgraph.errors
import langgraph.runtime
import langgraph.types
import pydantic
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

import scopegraph
import scopegraph.errors
import scopegraph.runtime
from _compare import LG, SG, compare
from scopegraph.checkpoint.memory import InMemorySaver
from scopegraph.types import GraphOutput, StreamPart

pytestmark = pytest.mark.anyio

_HEX = re.compile(r"^[0-9a-f]{32}$")


def _plain(obj: Any) -> Any:
    """What differs by design between the two libraries, out: interrupt ids (hashes of
    different checkpoint namespaces) and the classes of ``Interrupt`` / ``GraphOutput``."""
    kind = type(obj).__name__
    if kind == "Interrupt":
        return ("Interrupt", _plain(obj.value))
    if kind == "GraphOutput":
        return ("GraphOutput", _plain(obj.value), _plain(obj.interrupts))
    if isinstance(obj, dict):
        return {
            k: "<hex>" if isinstance(v, str) and _HEX.match(v) else _plain(v)
            for k, v in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    return obj


class S(TypedDict):
    log: Annotated[list[str], operator.add]


def _saver(lib: Any) -> Any:
    return langgraph.checkpoint.memory.InMemorySaver() if lib is LG else InMemorySaver()


def _interrupting(lib: Any) -> Any:
    """start -> sub (a subgraph: a, which writes custom) -> ask (interrupts)."""

    def a(state: S) -> dict[str, Any]:
        lib.get_stream_writer()({"from": "a"})
        return {"log": ["a"]}

    def ask(state: S) -> dict[str, Any]:
        return {"log": [lib.interrupt("why?")]}

    sub = lib.StateGraph(S).add_node("a", a).add_edge(lib.START, "a").compile()
    builder = lib.StateGraph(S).add_node("sub", sub).add_node("ask", ask)
    builder.add_edge(lib.START, "sub").add_edge("sub", "ask")
    return builder.compile(checkpointer=_saver(lib))


MODES: list[Any] = ["values", "updates", "custom", "tasks", ["values", "updates", "custom"]]
CASES = [
    *((mode, subgraphs) for mode in MODES for subgraphs in (False, True)),
    # (a subgraph's checkpoints differ from LangGraph's in v1 already: their metadata has
    # the calling node's langgraph_* keys; not a matter of the parts' shape)
    ("checkpoints", False),
    ("debug", False),
]


@pytest.mark.parametrize(("stream_mode", "subgraphs"), CASES, ids=str)
async def test_parts_are_langgraphs(anyio_backend: str, stream_mode: Any, subgraphs: bool) -> None:
    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "t"}}
        first = [
            part
            async for part in graph.astream(
                {"log": []}, config, stream_mode=stream_mode, subgraphs=subgraphs, version="v2"
            )
        ]
        resume = lib.Command(resume="because")
        second = [
            part
            async for part in graph.astream(
                resume, config, stream_mode=stream_mode, subgraphs=subgraphs, version="v2"
            )
        ]
        return _plain(first), _plain(second)

    expected, actual = await compare(_interrupting, scenario)
    assert actual == expected
    first, _ = actual
    assert all(set(part) >= {"type", "ns", "data"} for part in first)
    # (the only custom chunk is the subgraph's)
    assert bool(first) is (subgraphs or stream_mode != "custom")
    assert any(part["ns"] for part in first) is subgraphs
    if "values" in stream_mode:  # the interrupt moved out of the state
        last = [p for p in first if p["type"] == "values"][-1]
        assert last["interrupts"] == (("Interrupt", "why?"),)
        assert "__interrupt__" not in last["data"]


class Model(pydantic.BaseModel):
    count: int = 0
    note: str = ""


@dataclasses.dataclass
class Data:
    count: int
    note: str = ""


@pytest.mark.parametrize("schema", [Model, Data], ids=["pydantic", "dataclass"])
async def test_values_and_checkpoints_are_the_schema_class(anyio_backend: str, schema: Any) -> None:
    """As LangGraph: values parts are the output schema's class, checkpoint values (but
    the input checkpoint's) the state schema's; invoke's GraphOutput.value too."""

    def build(lib: Any) -> Any:
        def inc(state: Any) -> dict[str, Any]:
            return {"count": state.count + 1}

        def note(state: Any) -> dict[str, Any]:
            return {"note": "done"}

        builder = lib.StateGraph(schema).add_node("inc", inc).add_node("note", note)
        builder.add_edge(lib.START, "inc").add_edge("inc", "note")
        return builder.compile(checkpointer=_saver(lib))

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "p"}}
        modes = ["values", "checkpoints", "debug"]
        stream = graph.astream({"count": 1}, config, stream_mode=modes, version="v2")
        parts = [p async for p in stream]
        config = {"configurable": {"thread_id": "q"}}
        return parts, await graph.ainvoke({"count": 5}, config, version="v2")

    expected, actual = await compare(build, scenario)
    assert _plain(actual) == _plain(expected)
    parts, output = actual
    values = [p["data"] for p in parts if p["type"] == "values"]
    assert values == [schema(count=1), schema(count=2), schema(count=2, note="done")]
    checkpoints = [p["data"]["values"] for p in parts if p["type"] == "checkpoints"]
    assert isinstance(checkpoints[0], dict)  # the input checkpoint: as is
    assert all(isinstance(v, schema) for v in checkpoints[1:])
    assert output.value == schema(count=6, note="done")
    assert output.interrupts == ()


async def test_invoke_v2_returns_graph_output(anyio_backend: str) -> None:
    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "i"}}
        stopped = await graph.ainvoke({"log": []}, config, version="v2")
        resumed = await graph.ainvoke(lib.Command(resume="ok"), config, version="v2")
        config = {"configurable": {"thread_id": "u"}}
        chunks = await graph.ainvoke({"log": []}, config, stream_mode="updates", version="v2")
        return _plain(stopped), _plain(resumed), _plain(chunks)

    expected, actual = await compare(_interrupting, scenario)
    assert actual == expected
    stopped, resumed, chunks = actual
    assert stopped == ("GraphOutput", {"log": ["a"]}, (("Interrupt", "why?"),))
    assert resumed == ("GraphOutput", {"log": ["a", "ok"]}, ())
    assert [c["type"] for c in chunks] == ["updates", "updates"]


DEPRECATED = r"Accessing GraphOutput via .* is deprecated\. Use `result\.value`"


async def test_graph_output_item_access_is_deprecated(anyio_backend: str) -> None:
    graph = _interrupting(SG)
    output = await graph.ainvoke({"log": []}, {"configurable": {"thread_id": "d"}}, version="v2")
    assert isinstance(output, GraphOutput)
    interrupts: Any = output.interrupts
    reference = langgraph.types.GraphOutput(value={"log": ["a"]}, interrupts=interrupts)
    for result in (output, reference):
        with pytest.warns(DeprecationWarning, match=DEPRECATED):
            assert result["log"] == ["a"]
        with pytest.warns(DeprecationWarning, match=DEPRECATED):
            assert result["__interrupt__"] == output.interrupts
        with pytest.warns(DeprecationWarning, match=DEPRECATED):
            assert "__interrupt__" in result
        with pytest.warns(DeprecationWarning, match=DEPRECATED):
            assert "nope" not in result


async def test_sync_stream_and_invoke_take_version(anyio_backend: str) -> None:
    graph = _interrupting(SG)
    parts: list[StreamPart[Any, Any]] = list(
        graph.stream({"log": []}, {"configurable": {"thread_id": "s"}}, version="v2")
    )
    assert [(p["type"], p["ns"]) for p in parts] == [("updates", ()), ("updates", ())]
    output = graph.invoke({"log": []}, {"configurable": {"thread_id": "s2"}}, version="v2")
    assert isinstance(output, GraphOutput)
    assert len(output.interrupts) == 1


@pytest.mark.parametrize("api", ["astream", "ainvoke"])
async def test_unknown_version_is_refused(anyio_backend: str, api: str) -> None:
    graph = _interrupting(SG)
    config: Any = {"configurable": {"thread_id": "x"}}
    with pytest.raises(ValueError, match=r"version must be 'v1'.*or 'v2'.*not 'v3'"):
        await _call(getattr(graph, api)({"log": []}, config, version="v3"))


async def _call(result: Any) -> None:
    """Await ``ainvoke``'s coroutine (``astream`` refuses before it returns)."""
    await result


# -- run options of a graph called from inside a node ----------------------------------------


def _calls_inner(lib: Any) -> Any:
    """outer: call -> the inner graph run from inside the node with run options; the
    inner graph records the context it sees and drains when asked to."""
    runtime_of = langgraph.runtime.get_runtime if lib is LG else scopegraph.runtime.get_runtime
    drained_error = langgraph.errors.GraphDrained if lib is LG else scopegraph.errors.GraphDrained
    control_class = langgraph.runtime.RunControl if lib is LG else scopegraph.runtime.RunControl

    def look(state: S) -> dict[str, Any]:
        context: dict[str, Any] = cast(dict[str, Any], runtime_of().context)
        if context.get("drain"):
            context["control"].request_drain()
        return {"log": [f"inner saw {context['who']}"]}

    def after(state: S) -> dict[str, Any]:
        return {"log": ["inner after"]}

    inner = lib.StateGraph(S).add_node("look", look).add_node("after", after)
    inner = inner.add_edge(lib.START, "look").add_edge("look", "after").compile()

    async def call(state: S) -> dict[str, Any]:
        own = await inner.ainvoke({"log": []}, context={"who": "the call"})
        control = control_class()
        context = {"who": "a drained call", "drain": True, "control": control}
        try:
            await inner.ainvoke({"log": []}, context=context, control=control)
        except drained_error as exc:
            return {"log": [*own["log"], f"drained: {exc}"]}
        return {"log": [*own["log"], "not drained"]}

    builder = lib.StateGraph(S).add_node("call", call).add_edge(lib.START, "call")
    return builder.compile()


async def test_graph_called_in_a_node_takes_run_options(anyio_backend: str) -> None:
    """LangGraph takes ``control=`` and ``context=`` on a graph run inside a node (its
    own ``RunControl``: a drain of it stops that run only, with GraphDrained)."""

    async def scenario(lib: Any, graph: Any) -> Any:
        return await graph.ainvoke({"log": []}, context={"who": "the parent"})

    expected, actual = await compare(_calls_inner, scenario)
    assert actual == expected
    drained = "drained: Graph drained: shutdown"
    assert actual["log"] == ["inner saw the call", "inner after", drained]


async def test_graph_called_in_a_node_refuses_unknown_options(anyio_backend: str) -> None:
    inner = _interrupting(SG)

    async def call(state: S) -> dict[str, Any]:
        await inner.ainvoke({"log": []}, colour="red")
        return {}

    graph = SG.StateGraph(S).add_node("call", call).add_edge(SG.START, "call").compile()
    with pytest.raises(TypeError, match=r"unsupported arguments: colour; the supported"):
        await graph.ainvoke({"log": []})


# -- chat tokens of a graph a node runs as a run of its own -----------------------------------


def _summary(part: dict[str, Any]) -> tuple[tuple[str, ...], str, Any]:
    """(namespace without task ids, mode, token text, updated nodes or tool event)."""
    ns = tuple(segment.split(":")[0] for segment in part["ns"])
    data = part["data"]
    if part["type"] == "messages":
        return ns, "messages", data[0].content
    if part["type"] == "updates":  # (which node; messages' ids differ by design)
        return ns, "updates", sorted(data)
    return ns, part["type"], data["event"]


class Chat(TypedDict):
    messages: Annotated[list[Any], operator.add]


def _chatting_child(lib: Any, saver: bool) -> Any:
    def chat(state: Chat) -> dict[str, Any]:
        model = GenericFakeChatModel(messages=iter(["one two"]))
        return {"messages": [model.invoke("hi")]}

    builder = lib.StateGraph(Chat).add_node("chat", chat).add_edge(lib.START, "chat")
    return builder.compile(checkpointer=_saver(lib) if saver else None)


@pytest.mark.parametrize("subgraphs", [False, True], ids=["root", "subgraphs"])
@pytest.mark.parametrize("call", ["own_saver_and_thread", "own_thread", "astream", "stream"])
async def test_tokens_of_a_graph_run_in_a_node_reach_a_caller_streaming_subgraphs(
    anyio_backend: str, call: str, subgraphs: bool
) -> None:
    """LangGraph's callbacks carry a graph's chat tokens to every stream that takes them:
    a node running another graph on a thread of its own (its own checkpointer, or none)
    or streaming it shows its tokens to a caller streaming with ``subgraphs=True``."""

    def build(lib: Any) -> Any:
        child = _chatting_child(lib, saver=call == "own_saver_and_thread")
        own: Any = {"configurable": {"thread_id": "child"}}

        async def node(state: Chat) -> dict[str, Any]:
            if call == "astream":
                tokens = [p async for p in child.astream({"messages": []}, stream_mode="messages")]
                return {"messages": [f"{len(tokens)} tokens"]}
            if call == "stream":
                run = functools.partial(child.stream, {"messages": []}, stream_mode="messages")
                tokens = await anyio.to_thread.run_sync(lambda: list(run()))
                return {"messages": [f"{len(tokens)} tokens"]}
            await child.ainvoke({"messages": []}, own)
            return {}

        builder = lib.StateGraph(Chat).add_node("node", node).add_edge(lib.START, "node")
        return builder.compile(checkpointer=_saver(lib))

    async def scenario(lib: Any, graph: Any) -> Any:
        config: Any = {"configurable": {"thread_id": "parent"}}
        modes = ["messages", "updates"]
        stream = graph.astream(
            {"messages": []}, config, stream_mode=modes, subgraphs=subgraphs, version="v2"
        )
        return [_summary(part) async for part in stream]

    expected, actual = await compare(build, scenario)
    assert actual == expected
    tokens = [part for part in actual if part[1] == "messages"]
    if not subgraphs:
        assert tokens == []
    elif call.startswith("own"):  # its own thread: under its own root
        assert tokens == [((), "messages", "one"), ((), "messages", " "), ((), "messages", "two")]
    else:
        assert [t[0] for t in tokens] == [("node",)] * 3


@pytest.mark.parametrize("option", ["print_mode", "debug"])
async def test_graph_called_in_a_node_prints_its_chunks(anyio_backend: str, option: str) -> None:
    """``print_mode=`` / ``debug=True`` on a graph invoked in a node: as LangGraph, it
    prints its own chunks (the caller's stream is not affected)."""

    def build(lib: Any) -> Any:
        inner = lib.StateGraph(S).add_node("i", lambda state: {"log": ["i"]})
        inner = inner.add_edge(lib.START, "i").compile()
        kwargs: dict[str, Any] = {"print_mode": "updates"} if option == "print_mode" else {}
        if option == "debug":
            kwargs["debug"] = True

        async def call(state: S) -> dict[str, Any]:
            return await inner.ainvoke({"log": []}, **kwargs)  # type: ignore[no-any-return]

        return lib.StateGraph(S).add_node("call", call).add_edge(lib.START, "call").compile()

    async def scenario(lib: Any, graph: Any) -> Any:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            chunks = [c async for c in graph.astream({"log": []}, stream_mode="updates")]
        return printed.getvalue(), chunks

    expected, actual = await compare(build, scenario)
    assert actual == expected
    printed, chunks = actual
    line = "\x1b[1m[updates]\x1b[0m {'i': {'log': ['i']}}\n"
    if option == "print_mode":
        assert printed == line
    else:  # debug: updates and values
        assert line in printed
        assert "\x1b[1m[values]\x1b[0m {'log': ['i']}\n" in printed
    assert chunks == [{"call": {"log": ["i"]}}]
