"""Capture exact LangGraph 1.2.24 output shapes for scopegraph reference.

Run: /work/main/.venv/bin/python tests/reference/capture_langgraph.py > tests/reference/capture_output.txt
Prints reprs (uuids/timestamps left in).
"""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import pprint
import sys
import traceback
from typing import Annotated, Any, Optional

from typing_extensions import TypedDict

from langchain_core.callbacks.manager import adispatch_custom_event
from langchain_core.runnables import RunnableConfig
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, RetryPolicy, Send

SECTIONS: list[str] = sys.argv[1:]


def hdr(t: str) -> None:
    print("\n" + "=" * 100 + f"\n## {t}\n" + "=" * 100, flush=True)


def show(label: str, obj: Any) -> None:
    print(f"--- {label}:")
    print(pprint.pformat(obj, width=140, sort_dicts=False), flush=True)


def exc_info(e: BaseException) -> str:
    notes = getattr(e, "__notes__", None)
    return f"{type(e).__module__}.{type(e).__qualname__}: {e!s}" + (
        f"  NOTES={notes}" if notes else ""
    )


async def collect(agen) -> list:
    out = []
    async for c in agen:
        out.append(c)
    return out


async def try_(label: str, coro_or_fn):
    try:
        r = coro_or_fn() if callable(coro_or_fn) else coro_or_fn
        if asyncio.iscoroutine(r):
            r = await r
        show(label + " -> OK", r)
        return r
    except BaseException as e:  # noqa
        print(f"--- {label} -> RAISES {exc_info(e)}", flush=True)
        return e


def want(n: str) -> bool:
    return not SECTIONS or n in SECTIONS


# ---------------------------------------------------------------- 1
class S(TypedDict):
    x: int
    log: Annotated[list, operator.add]


def chain_graph():
    async def a(s: S):
        return {"x": s["x"] + 1, "log": ["a"]}

    async def b(s: S):
        return {"x": s["x"] + 1, "log": ["b"]}

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    g.add_edge("b", END)
    return g.compile()


async def sec1():
    hdr("1. chain a -> b")
    app = chain_graph()
    inp = {"x": 0, "log": []}
    show("astream() default stream_mode", await collect(app.astream(inp)))
    show("app.stream_mode attribute", app.stream_mode)
    for m in ["values", "updates", "custom", "debug", "tasks", "checkpoints"]:
        await try_(
            f"astream(stream_mode={m!r})", lambda m=m: collect(app.astream(inp, stream_mode=m))
        )
    await try_(
        "astream(stream_mode=['values','updates'])",
        lambda: collect(app.astream(inp, stream_mode=["values", "updates"])),
    )
    await try_(
        "astream(stream_mode=['updates']) (list of one)",
        lambda: collect(app.astream(inp, stream_mode=["updates"])),
    )
    await try_(
        "astream(stream_mode=['updates'], subgraphs=True)",
        lambda: collect(app.astream(inp, stream_mode=["updates"], subgraphs=True)),
    )
    await try_(
        "astream(stream_mode='updates', subgraphs=True)",
        lambda: collect(app.astream(inp, stream_mode="updates", subgraphs=True)),
    )
    await try_("ainvoke", lambda: app.ainvoke(inp))
    await try_("ainvoke(stream_mode='updates')", lambda: app.ainvoke(inp, stream_mode="updates"))
    await try_("ainvoke input {'x': 0} (log missing)", lambda: app.ainvoke({"x": 0}))
    await try_(
        "astream values input {'x':0}", lambda: collect(app.astream({"x": 0}, stream_mode="values"))
    )
    await try_(
        "astream(stream_mode='messages')", lambda: collect(app.astream(inp, stream_mode="messages"))
    )
    # with checkpointer
    from langgraph.checkpoint.memory import InMemorySaver

    g = chain_graph().builder.compile(checkpointer=InMemorySaver())
    cfg = {"configurable": {"thread_id": "t1"}}
    await try_(
        "WITH InMemorySaver astream(stream_mode='checkpoints')",
        lambda: collect(g.astream(inp, cfg, stream_mode="checkpoints")),
    )
    await try_(
        "WITH InMemorySaver astream(stream_mode='debug') (thread t2)",
        lambda: collect(g.astream(inp, {"configurable": {"thread_id": "t2"}}, stream_mode="debug")),
    )


# ---------------------------------------------------------------- 2
async def sec2():
    hdr("2. custom stream writer + adispatch_custom_event")

    async def writer_node(s: S):
        w = get_stream_writer()
        w({"chunk": 1})
        w("chunk-2-string")
        return {"x": s["x"] + 1, "log": ["writer"]}

    async def evt_node(s: S, config: RunnableConfig):
        await adispatch_custom_event("my_evt", {"text": "hi"}, config=config)
        return {"x": s["x"] + 10, "log": ["evt"]}

    g = StateGraph(S)
    g.add_node("writer_node", writer_node)
    g.add_node("evt_node", evt_node)
    g.add_edge(START, "writer_node")
    g.add_edge("writer_node", "evt_node")
    g.add_edge("evt_node", END)
    app = g.compile()
    inp = {"x": 0, "log": []}
    await try_(
        "astream(stream_mode='custom')", lambda: collect(app.astream(inp, stream_mode="custom"))
    )
    await try_(
        "astream(stream_mode=['custom','updates'])",
        lambda: collect(app.astream(inp, stream_mode=["custom", "updates"])),
    )
    await try_(
        "astream_events(version='v2') FULL", lambda: collect(app.astream_events(inp, version="v2"))
    )
    await try_(
        "astream_events(version='v2', config run_name/tags/metadata)",
        lambda: collect(
            app.astream_events(
                inp, {"run_name": "MyRun", "tags": ["t0"], "metadata": {"m": 1}}, version="v2"
            )
        ),
    )
    await try_("app.name", lambda: app.name)
    await try_("get_stream_writer() outside graph", lambda: get_stream_writer())
    await try_("get_stream_writer() outside graph then call", lambda: get_stream_writer()("x"))
    # writer under ainvoke (no custom mode)
    await try_("ainvoke (custom writes ignored?)", lambda: app.ainvoke(inp))


# ---------------------------------------------------------------- 3
async def sec3():
    hdr("3. conditional edge + parallel fan-out")

    def make(b_delay: float, c_delay: float):
        async def start_n(s: S):
            return {"log": ["start_n"]}

        async def c_node(s: S):
            await asyncio.sleep(c_delay)
            return {"log": ["c_node"]}

        async def b_node(s: S):
            await asyncio.sleep(b_delay)
            return {"log": ["b_node"]}

        async def d(s: S):
            return {"log": ["d"], "x": s["x"] + 1}

        def route(s: S):
            return "fan" if s["x"] == 0 else END

        async def fan(s: S):
            return {"log": ["fan"]}

        g = StateGraph(S)
        g.add_node("start_n", start_n)
        g.add_node("fan", fan)
        g.add_node("c_node", c_node)
        g.add_node("b_node", b_node)
        g.add_node("d", d)
        g.add_edge(START, "start_n")
        g.add_conditional_edges("start_n", route)
        g.add_edge("fan", "c_node")
        g.add_edge("fan", "b_node")
        g.add_edge(["c_node", "b_node"], "d")
        g.add_edge("d", END)
        return g.compile()

    inp = {"x": 0, "log": []}
    app = make(0.05, 0.0)  # c_node finishes first
    await try_("c first: astream updates", lambda: collect(app.astream(inp, stream_mode="updates")))
    await try_("c first: astream values", lambda: collect(app.astream(inp, stream_mode="values")))
    await try_("c first: ainvoke", lambda: app.ainvoke(inp))
    app2 = make(0.0, 0.05)  # b_node finishes first
    await try_(
        "b first: astream updates", lambda: collect(app2.astream(inp, stream_mode="updates"))
    )
    await try_("b first: ainvoke", lambda: app2.ainvoke(inp))
    await try_("route->END: ainvoke x=1", lambda: app.ainvoke({"x": 1, "log": []}))
    await try_("c first: debug", lambda: collect(app.astream(inp, stream_mode="debug")))
    await try_("c first: tasks", lambda: collect(app.astream(inp, stream_mode="tasks")))
    evs = await try_(
        "c first: astream_events v2 FULL", lambda: collect(app.astream_events(inp, version="v2"))
    )
    if isinstance(evs, list):
        show(
            "event summary (event, name, tags, langgraph_node, langgraph_step, len(parent_ids))",
            [
                (
                    e["event"],
                    e["name"],
                    e["tags"],
                    e["metadata"].get("langgraph_node"),
                    e["metadata"].get("langgraph_step"),
                    len(e["parent_ids"]),
                )
                for e in evs
            ],
        )

    # with path_map + simple fan-out START -> [b,c]
    async def b(s):
        return {"log": ["b"]}

    async def c(s):
        return {"log": ["c"]}

    async def d2(s):
        return {"log": ["d"]}

    g = StateGraph(S)
    g.add_node("c_node", c)
    g.add_node("b_node", b)
    g.add_node("d", d2)
    g.add_edge(START, "c_node")
    g.add_edge(START, "b_node")
    g.add_edge("c_node", "d")
    g.add_edge("b_node", "d")
    g.add_edge("d", END)
    app3 = g.compile()
    await try_(
        "START->[c_node,b_node]->d (separate edges, d runs how many times?) updates",
        lambda: collect(app3.astream(inp, stream_mode="updates")),
    )
    # reversed insertion names
    g = StateGraph(S)
    g.add_node("zeta", c)
    g.add_node("alpha", b)
    g.add_edge(START, "zeta")
    g.add_edge(START, "alpha")
    app4 = g.compile()
    await try_(
        "START->[zeta(c), alpha(b)] ainvoke (insertion zeta first)", lambda: app4.ainvoke(inp)
    )
    g = StateGraph(S)
    g.add_node("alpha", b)
    g.add_node("zeta", c)
    g.add_edge(START, "zeta")
    g.add_edge(START, "alpha")
    app5 = g.compile()
    await try_(
        "START->[zeta(c), alpha(b)] ainvoke (insertion alpha first, edges zeta first)",
        lambda: app5.ainvoke(inp),
    )


# ---------------------------------------------------------------- 4
async def sec4():
    hdr("4. Send fan-out")

    class SS(TypedDict, total=False):
        i: int
        out: Annotated[list, operator.add]

    async def w(s: dict):
        await asyncio.sleep(0.01 * (3 - s["i"]))  # i=2 finishes first
        return {"out": [s["i"]]}

    def fan(s):
        return [Send("w", {"i": i}) for i in range(3)]

    g = StateGraph(SS)
    g.add_node("w", w)
    g.add_conditional_edges(START, fan)
    g.add_edge("w", END)
    app = g.compile()
    await try_("ainvoke({'out': []})", lambda: app.ainvoke({"out": []}))
    await try_("updates", lambda: collect(app.astream({"out": []}, stream_mode="updates")))
    await try_("values", lambda: collect(app.astream({"out": []}, stream_mode="values")))
    await try_("tasks", lambda: collect(app.astream({"out": []}, stream_mode="tasks")))
    await try_("debug", lambda: collect(app.astream({"out": []}, stream_mode="debug")))
    evs = await try_(
        "astream_events v2 summary", lambda: collect(app.astream_events({"out": []}, version="v2"))
    )
    if isinstance(evs, list):
        show(
            "summary",
            [
                (
                    e["event"],
                    e["name"],
                    e["tags"],
                    {k: v for k, v in e["metadata"].items() if k.startswith("langgraph")},
                    e["data"],
                )
                for e in evs
            ],
        )
    # Send to unknown node
    g = StateGraph(SS)
    g.add_node("w", w)
    g.add_conditional_edges(START, lambda s: [Send("nope", {"i": 1})])
    await try_("Send to unknown node (compile)", lambda: g.compile())
    try:
        await try_("Send to unknown node (run)", lambda: g.compile().ainvoke({"out": []}))
    except Exception as e:
        print(exc_info(e))


# ---------------------------------------------------------------- 5
async def sec5():
    hdr("5. Command(update, goto)")

    async def a(s: S):
        return Command(update={"x": s["x"] + 1, "log": ["a"]}, goto="b")

    async def b(s: S):
        return {"log": ["b"]}

    async def c(s: S):
        return {"log": ["c"]}

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_node("c", c)
    g.add_edge(START, "a")
    g.add_edge("a", "c")  # static edge too: both b and c run?
    app = g.compile()
    inp = {"x": 0, "log": []}
    await try_(
        "updates (a returns Command goto b, static edge a->c)",
        lambda: collect(app.astream(inp, stream_mode="updates")),
    )
    await try_("values", lambda: collect(app.astream(inp, stream_mode="values")))
    await try_("debug", lambda: collect(app.astream(inp, stream_mode="debug")))
    await try_("tasks", lambda: collect(app.astream(inp, stream_mode="tasks")))

    async def a2(s: S):
        return Command(goto=["b", Send("c", {"x": 99, "log": []})])

    g = StateGraph(S)
    g.add_node("a", a2)
    g.add_node("b", b)
    g.add_node("c", c)
    g.add_edge(START, "a")
    await try_(
        "Command(goto=[b, Send(c)]) no update: updates",
        lambda: collect(g.compile().astream(inp, stream_mode="updates")),
    )

    async def a3(s: S):
        return Command(update={"x": 5}, goto=END)

    g = StateGraph(S)
    g.add_node("a", a3)
    g.add_node("b", b)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    await try_(
        "Command(goto=END) with static edge a->b: updates",
        lambda: collect(g.compile().astream(inp, stream_mode="updates")),
    )

    async def a4(s: S):
        return [("x", 3), ("log", ["a4"])]

    g = StateGraph(S)
    g.add_node("a", a4)
    g.add_edge(START, "a")
    await try_("node returns list of (key,val) tuples", lambda: g.compile().ainvoke(inp))

    async def a5(s: S):
        return Command(goto="nope")

    g = StateGraph(S)
    g.add_node("a", a5)
    g.add_edge(START, "a")
    await try_("Command(goto='nope') unknown", lambda: g.compile().ainvoke(inp))


# ---------------------------------------------------------------- 6
async def sec6():
    hdr("6. runtime errors")
    inp = {"x": 0, "log": []}

    def single(fn, name="n"):
        g = StateGraph(S)
        g.add_node(name, fn)
        g.add_edge(START, name)
        return g.compile()

    async def ret_none(s):
        return None

    async def ret_5(s):
        return 5

    async def ret_unknown(s):
        return {"zzz": 1}

    async def ret_empty(s):
        return {}

    await try_("node returns None: ainvoke", lambda: single(ret_none).ainvoke(inp))
    await try_(
        "node returns None: updates",
        lambda: collect(single(ret_none).astream(inp, stream_mode="updates")),
    )
    await try_(
        "node returns {}: updates",
        lambda: collect(single(ret_empty).astream(inp, stream_mode="updates")),
    )
    await try_("node returns 5: ainvoke", lambda: single(ret_5).ainvoke(inp))
    await try_("node returns 'str': ainvoke", lambda: single(lambda s: "str").ainvoke(inp))
    await try_("node returns {'zzz':1}: ainvoke", lambda: single(ret_unknown).ainvoke(inp))
    await try_(
        "node returns {'zzz':1}: updates",
        lambda: collect(single(ret_unknown).astream(inp, stream_mode="updates")),
    )

    async def p1(s):
        return {"x": 1}

    async def p2(s):
        return {"x": 2}

    g = StateGraph(S)
    g.add_node("p1", p1)
    g.add_node("p2", p2)
    g.add_edge(START, "p1")
    g.add_edge(START, "p2")
    await try_("two nodes same step write same non-reducer key", lambda: g.compile().ainvoke(inp))

    async def p3(s):
        return Command(update=[("x", 1), ("x", 2)])

    await try_("single node writes x twice (Command update list)", lambda: single(p3).ainvoke(inp))

    app = chain_graph()
    await try_(
        "ainvoke input with unknown key {'x':0,'log':[],'bogus':1}",
        lambda: app.ainvoke({"x": 0, "log": [], "bogus": 1}),
    )
    await try_(
        "astream values input with unknown key",
        lambda: collect(app.astream({"x": 0, "log": [], "bogus": 1}, stream_mode="values")),
    )
    await try_("ainvoke input {} (missing x -> KeyError in node?)", lambda: app.ainvoke({}))
    await try_("ainvoke input None", lambda: app.ainvoke(None))
    await try_("ainvoke input 5 (non-dict)", lambda: app.ainvoke(5))
    await try_(
        "astream_events version='v1'", lambda: collect(app.astream_events(inp, version="v1"))
    )
    await try_(
        "astream_events version='v3'", lambda: collect(app.astream_events(inp, version="v3"))
    )
    await try_("astream_events no version", lambda: collect(app.astream_events(inp)))
    await try_("stream_mode='foo'", lambda: collect(app.astream(inp, stream_mode="foo")))
    await try_(
        "stream_mode=['values','foo']",
        lambda: collect(app.astream(inp, stream_mode=["values", "foo"])),
    )
    await try_("stream_mode=[] (empty list)", lambda: collect(app.astream(inp, stream_mode=[])))

    async def ret_cmd_bad(s):
        return Command(update=5)

    await try_("Command(update=5)", lambda: single(ret_cmd_bad).ainvoke(inp))


# ---------------------------------------------------------------- 7
async def sec7():
    hdr("7. compile-time validation")

    async def f(s):
        return {}

    def new():
        return StateGraph(S)

    def t_edge_unknown():
        g = new()
        g.add_node("a", f)
        g.add_edge(START, "a")
        g.add_edge("a", "nope")
        print("    (add_edge a->nope succeeded; compiling)")
        return g.compile()

    def t_edge_unknown_src():
        g = new()
        g.add_node("a", f)
        g.add_edge(START, "a")
        g.add_edge("nope", "a")
        print("    (add_edge nope->a succeeded; compiling)")
        return g.compile()

    def t_dup():
        g = new()
        g.add_node("a", f)
        g.add_node("a", f)

    def t_name(n):
        def t():
            g = new()
            g.add_node(n, f)
            print(f"    (add_node({n!r}) succeeded; compiling)")
            g.add_edge(START, n)
            return g.compile()

        return t

    def t_no_entry():
        g = new()
        g.add_node("a", f)
        return g.compile()

    def t_no_nodes():
        return new().compile()

    def t_dead_end():
        g = new()
        g.add_node("a", f)
        g.add_node("b", f)
        g.add_edge(START, "a")
        g.add_edge("a", "b")
        return g.compile()

    def t_unreachable():
        g = new()
        g.add_node("a", f)
        g.add_node("orphan", f)
        g.add_edge(START, "a")
        return g.compile()

    def t_pathmap_unknown():
        g = new()
        g.add_node("a", f)
        g.add_edge(START, "a")
        g.add_conditional_edges("a", lambda s: "x", {"x": "nope"})
        print("    (add_conditional_edges succeeded; compiling)")
        return g.compile()

    def t_pathmap_list_unknown():
        g = new()
        g.add_node("a", f)
        g.add_edge(START, "a")
        g.add_conditional_edges("a", lambda s: "nope", ["nope"])
        print("    (add_conditional_edges succeeded; compiling)")
        return g.compile()

    def t_edge_from_end():
        g = new()
        g.add_node("a", f)
        g.add_edge(START, "a")
        g.add_edge(END, "a")

    def t_edge_to_start():
        g = new()
        g.add_node("a", f)
        g.add_edge("a", START)

    def t_set_entry_unknown():
        g = new()
        g.set_entry_point("nope")
        print("    (set_entry_point succeeded; compiling)")
        return g.compile()

    def t_cond_from_unknown():
        g = new()
        g.add_node("a", f)
        g.add_edge(START, "a")
        g.add_conditional_edges("nope", lambda s: END)
        print("    (add_conditional_edges from unknown succeeded; compiling)")
        return g.compile()

    def t_add_after_compile():
        g = new()
        g.add_node("a", f)
        g.add_edge(START, "a")
        g.compile()
        g.add_node("b", f)

    def t_node_named_like_state_key():
        g = new()
        g.add_node("x", f)

    def t_dup_cond_name():
        g = new()
        g.add_node("a", f)
        g.add_edge(START, "a")

        def route(s):
            return END

        g.add_conditional_edges("a", route)
        g.add_conditional_edges("a", route)

    for label, fn in [
        ("add_edge('a','nope')", t_edge_unknown),
        ("add_edge('nope','a')", t_edge_unknown_src),
        ("duplicate add_node('a')", t_dup),
        ("add_node('__start__')", t_name("__start__")),
        ("add_node('__end__')", t_name("__end__")),
        ("add_node('a|b')", t_name("a|b")),
        ("add_node('a:b')", t_name("a:b")),
        ("add_node('')", t_name("")),
        ("add_node('a b') (space)", t_name("a b")),
        ("no entry point", t_no_entry),
        ("no nodes at all", t_no_nodes),
        ("node b with no outgoing edge (dead end)", t_dead_end),
        ("unreachable node 'orphan'", t_unreachable),
        ("path_map dict naming unknown node", t_pathmap_unknown),
        ("path_map list naming unknown node", t_pathmap_list_unknown),
        ("add_edge(END,'a')", t_edge_from_end),
        ("add_edge('a',START)", t_edge_to_start),
        ("set_entry_point('nope')", t_set_entry_unknown),
        ("add_conditional_edges from unknown source", t_cond_from_unknown),
        ("add_node after compile", t_add_after_compile),
        ("node named same as state key 'x'", t_node_named_like_state_key),
        ("same conditional edge fn added twice", t_dup_cond_name),
    ]:
        await try_(label, fn)

    # dead-end run
    g = new()
    g.add_node("a", f)
    g.add_node("b", f)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    await try_("dead-end graph ainvoke", lambda: g.compile().ainvoke({"x": 0, "log": []}))
    g = new()
    g.add_node("a", f)
    g.add_node("orphan", f)
    g.add_edge(START, "a")
    await try_("unreachable graph ainvoke", lambda: g.compile().ainvoke({"x": 0, "log": []}))
    # path fn returns unknown at runtime, no path_map
    g = new()
    g.add_node("a", f)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "nope")
    await try_(
        "path fn returns unknown 'nope' (no path_map) compile+ainvoke",
        lambda: g.compile().ainvoke({"x": 0, "log": []}),
    )
    g = new()
    g.add_node("a", f)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "k", {"k": END})
    await try_("path_map {'k': END} ainvoke", lambda: g.compile().ainvoke({"x": 0, "log": []}))
    g = new()
    g.add_node("a", f)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "zz", {"k": END})
    await try_(
        "path fn returns key not in path_map", lambda: g.compile().ainvoke({"x": 0, "log": []})
    )
    g = new()
    g.add_node("a", f)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: None)
    await try_("path fn returns None", lambda: g.compile().ainvoke({"x": 0, "log": []}))
    g = new()
    g.add_node("a", f)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: [])
    await try_("path fn returns []", lambda: g.compile().ainvoke({"x": 0, "log": []}))
    g = new()
    g.add_node("a", f)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: 5)
    await try_("path fn returns 5", lambda: g.compile().ainvoke({"x": 0, "log": []}))


# ---------------------------------------------------------------- 8
async def sec8():
    hdr("8. recursion limit")
    from langgraph._internal._config import DEFAULT_RECURSION_LIMIT

    show("DEFAULT_RECURSION_LIMIT", (int(DEFAULT_RECURSION_LIMIT), type(DEFAULT_RECURSION_LIMIT)))
    count = {"n": 0}

    async def a(s: S):
        count["n"] += 1
        return {"x": s["x"] + 1}

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "a")
    app = g.compile()
    for lim in [1, 2, 5]:
        count["n"] = 0
        r = await try_(
            f"loop recursion_limit={lim}",
            lambda: app.ainvoke({"x": 0, "log": []}, {"recursion_limit": lim}),
        )
        print(f"    node ran {count['n']} times; type={type(r).__mro__}")
        if isinstance(r, BaseException):
            print("    attrs:", {k: getattr(r, k, None) for k in ("lc_error_code", "args")})
    count["n"] = 0
    ups = []
    try:
        async for c in app.astream(
            {"x": 0, "log": []}, {"recursion_limit": 5}, stream_mode="updates"
        ):
            ups.append(c)
    except Exception as e:
        print("    astream raised", exc_info(e))
    show("updates emitted before recursion error (limit 5)", ups)
    # non-looping 2-step chain with recursion_limit=2 / 1
    app2 = chain_graph()
    await try_(
        "chain a->b recursion_limit=2",
        lambda: app2.ainvoke({"x": 0, "log": []}, {"recursion_limit": 2}),
    )
    await try_(
        "chain a->b recursion_limit=1",
        lambda: app2.ainvoke({"x": 0, "log": []}, {"recursion_limit": 1}),
    )
    await try_(
        "chain a->b recursion_limit=0",
        lambda: app2.ainvoke({"x": 0, "log": []}, {"recursion_limit": 0}),
    )


# ---------------------------------------------------------------- 9
async def sec9():
    hdr("9. exception in parallel sibling")
    state = {"sib_finished": False, "sib_cancelled": False}

    async def boom(s):
        await asyncio.sleep(0.01)
        raise ValueError("boom!")

    async def sib(s):
        try:
            await asyncio.sleep(0.5)
            state["sib_finished"] = True
            return {"log": ["sib"]}
        except asyncio.CancelledError:
            state["sib_cancelled"] = True
            raise

    g = StateGraph(S)
    g.add_node("boom", boom)
    g.add_node("sib", sib)
    g.add_edge(START, "boom")
    g.add_edge(START, "sib")
    app = g.compile()
    r = await try_("ainvoke", lambda: app.ainvoke({"x": 0, "log": []}))
    if isinstance(r, BaseException):
        print(
            "    type:",
            type(r),
            "args:",
            r.args,
            "notes:",
            getattr(r, "__notes__", None),
            "cause:",
            repr(r.__cause__),
            "context:",
            repr(r.__context__),
        )
    show("sibling state", state)
    ups = []
    try:
        async for c in app.astream({"x": 0, "log": []}, stream_mode=["updates", "debug", "tasks"]):
            ups.append(c)
    except Exception as e:
        print("    astream raised", exc_info(e))
    show("chunks before error (updates/debug/tasks)", ups)
    evs = []
    try:
        async for e in app.astream_events({"x": 0, "log": []}, version="v2"):
            evs.append(e)
    except Exception as e:
        print("    astream_events raised", exc_info(e))
    show("astream_events before error", [(e["event"], e["name"], e["data"]) for e in evs])

    # two failing concurrently
    async def boom2(s):
        raise KeyError("k2")

    g = StateGraph(S)
    g.add_node("boom", boom)
    g.add_node("boom2", boom2)
    g.add_edge(START, "boom")
    g.add_edge(START, "boom2")
    await try_(
        "two failing nodes (boom sleeps, boom2 immediate)",
        lambda: g.compile().ainvoke({"x": 0, "log": []}),
    )

    # retry policy at runtime
    tries = {"n": 0}

    async def flaky(s):
        tries["n"] += 1
        if tries["n"] < 3:
            raise ConnectionError("flaky")
        return {"log": [f"ok after {tries['n']}"]}

    g = StateGraph(S)
    g.add_node("flaky", flaky, retry_policy=RetryPolicy(initial_interval=0.01, jitter=False))
    g.add_edge(START, "flaky")
    await try_(
        "retry ConnectionError (3 attempts): updates",
        lambda: collect(g.compile().astream({"x": 0, "log": []}, stream_mode=["updates", "tasks"])),
    )
    tries["n"] = 0

    async def vflaky(s):
        tries["n"] += 1
        raise ValueError("never retried")

    g = StateGraph(S)
    g.add_node("vflaky", vflaky, retry_policy=RetryPolicy(initial_interval=0.01, jitter=False))
    g.add_edge(START, "vflaky")
    await try_("retry default on ValueError", lambda: g.compile().ainvoke({"x": 0, "log": []}))
    print("    vflaky attempts:", tries["n"])


# ---------------------------------------------------------------- 10
async def sec10():
    hdr("10. RetryPolicy / add_node signature")
    import inspect

    show("RetryPolicy()", RetryPolicy())
    show("RetryPolicy._fields", RetryPolicy._fields)
    show("RetryPolicy._field_defaults", RetryPolicy._field_defaults)
    show("add_node signature", str(inspect.signature(StateGraph.add_node)))
    show("StateGraph.__init__ signature", str(inspect.signature(StateGraph.__init__)))
    show("compile signature", str(inspect.signature(StateGraph.compile)))
    show(
        "add_conditional_edges signature", str(inspect.signature(StateGraph.add_conditional_edges))
    )
    from langgraph._internal._retry import default_retry_on

    print(inspect.getsource(default_retry_on))
    try:
        from langgraph.types import TimeoutPolicy

        show("TimeoutPolicy()", TimeoutPolicy())
    except Exception as e:
        print("TimeoutPolicy:", exc_info(e))

    # timeout behaviour
    async def slow(s):
        await asyncio.sleep(1)
        return {}

    g = StateGraph(S)
    try:
        g.add_node("slow", slow, timeout=0.05)
        g.add_edge(START, "slow")
        await try_(
            "add_node(timeout=0.05) slow node", lambda: g.compile().ainvoke({"x": 0, "log": []})
        )
    except Exception as e:
        print("timeout param:", exc_info(e))
    g = StateGraph(S)
    await try_(
        "add_node(retry=RetryPolicy()) deprecated kw",
        lambda: g.add_node("n", slow, retry=RetryPolicy()),
    )


# ---------------------------------------------------------------- 11
async def sec11():
    hdr("11. subgraph")

    async def c1(s: S):
        return {"x": s["x"] + 100, "log": ["c1"]}

    async def c2(s: S):
        w = get_stream_writer()
        w({"from": "c2"})
        return {"log": ["c2"]}

    cg = StateGraph(S)
    cg.add_node("c1", c1)
    cg.add_node("c2", c2)
    cg.add_edge(START, "c1")
    cg.add_edge("c1", "c2")
    child = cg.compile()

    async def p(s: S):
        return {"log": ["p"]}

    pg = StateGraph(S)
    pg.add_node("p", p)
    pg.add_node("child", child)
    pg.add_edge(START, "p")
    pg.add_edge("p", "child")
    app = pg.compile()
    inp = {"x": 0, "log": []}
    await try_("ainvoke", lambda: app.ainvoke(inp))
    await try_("updates subgraphs=False", lambda: collect(app.astream(inp, stream_mode="updates")))
    await try_(
        "updates subgraphs=True",
        lambda: collect(app.astream(inp, stream_mode="updates", subgraphs=True)),
    )
    await try_(
        "values subgraphs=True",
        lambda: collect(app.astream(inp, stream_mode="values", subgraphs=True)),
    )
    await try_(
        "['updates','custom'] subgraphs=True",
        lambda: collect(app.astream(inp, stream_mode=["updates", "custom"], subgraphs=True)),
    )
    await try_("custom subgraphs=False", lambda: collect(app.astream(inp, stream_mode="custom")))
    await try_(
        "tasks subgraphs=True",
        lambda: collect(app.astream(inp, stream_mode="tasks", subgraphs=True)),
    )
    evs = await try_(
        "astream_events v2 FULL", lambda: collect(app.astream_events(inp, version="v2"))
    )
    if isinstance(evs, list):
        show(
            "summary (event,name,tags,node,ns,len parents)",
            [
                (
                    e["event"],
                    e["name"],
                    e["tags"],
                    e["metadata"].get("langgraph_node"),
                    e["metadata"].get("langgraph_checkpoint_ns"),
                    len(e["parent_ids"]),
                )
                for e in evs
            ],
        )

    # subgraph called inside a function node
    async def wrap(s: S, config: RunnableConfig):
        r = await child.ainvoke(s, config)
        return {"x": r["x"]}

    pg = StateGraph(S)
    pg.add_node("wrap", wrap)
    pg.add_edge(START, "wrap")
    await try_(
        "child invoked inside function node: updates subgraphs=True",
        lambda: collect(pg.compile().astream(inp, stream_mode="updates", subgraphs=True)),
    )


# ---------------------------------------------------------------- 12
async def sec12():
    hdr("12. pydantic & dataclass state")
    from pydantic import BaseModel

    class PS(BaseModel):
        x: int = 0
        log: Annotated[list, operator.add] = []

    seen = []

    async def a(s):
        seen.append((type(s).__name__, repr(s)))
        return {"x": s.x + 1, "log": ["a"]}

    async def b(s):
        seen.append((type(s).__name__, repr(s)))
        return PS(x=s.x + 1, log=["b"])  # return a model instance?

    g = StateGraph(PS)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    app = g.compile()
    await try_("pydantic ainvoke({'x':0})", lambda: app.ainvoke({"x": 0}))
    show("pydantic node received", seen)
    seen.clear()
    await try_("pydantic ainvoke(PS(x=0))", lambda: app.ainvoke(PS(x=0)))
    await try_(
        "pydantic values stream", lambda: collect(app.astream({"x": 0}, stream_mode="values"))
    )
    await try_(
        "pydantic updates stream", lambda: collect(app.astream({"x": 0}, stream_mode="updates"))
    )
    await try_("pydantic ainvoke({'x':'notint'}) validation", lambda: app.ainvoke({"x": "notint"}))
    seen.clear()

    async def badw(s):
        return {"x": "notint"}

    g = StateGraph(PS)
    g.add_node("a", badw)
    g.add_node("b", a)
    g.add_edge(START, "a")
    g.add_edge("a", "b")
    await try_("pydantic node writes invalid x", lambda: g.compile().ainvoke({"x": 0}))
    show("seen", seen)

    @dataclasses.dataclass
    class DS:
        x: int = 0
        log: Annotated[list, operator.add] = dataclasses.field(default_factory=list)

    seen.clear()
    g = StateGraph(DS)
    g.add_node("a", a)
    g.add_edge(START, "a")
    app = g.compile()
    await try_("dataclass ainvoke({'x':0})", lambda: app.ainvoke({"x": 0}))
    await try_("dataclass ainvoke(DS(x=0))", lambda: app.ainvoke(DS(x=0)))
    await try_("dataclass values", lambda: collect(app.astream({"x": 0}, stream_mode="values")))
    show("dataclass node received", seen)


# ---------------------------------------------------------------- 13
async def sec13():
    hdr("13. input_schema / output_schema")

    class In(TypedDict):
        q: str

    class Out(TypedDict):
        ans: str

    class Overall(TypedDict, total=False):
        q: str
        ans: str
        scratch: str

    async def n1(s):
        return {"scratch": "s-" + s["q"]}

    async def n2(s: Overall):
        return {"ans": "A-" + s["scratch"]}

    g = StateGraph(Overall, input_schema=In, output_schema=Out)
    g.add_node("n1", n1)
    g.add_node("n2", n2)
    g.add_edge(START, "n1")
    g.add_edge("n1", "n2")
    app = g.compile()
    await try_("values", lambda: collect(app.astream({"q": "hi"}, stream_mode="values")))
    await try_("updates", lambda: collect(app.astream({"q": "hi"}, stream_mode="updates")))
    await try_("ainvoke", lambda: app.ainvoke({"q": "hi"}))
    await try_(
        "ainvoke with key not in input_schema {'q':'hi','scratch':'zz'}",
        lambda: app.ainvoke({"q": "hi", "scratch": "zz"}),
    )
    evs = await try_(
        "astream_events v2 root start/end",
        lambda: collect(app.astream_events({"q": "hi"}, version="v2")),
    )
    if isinstance(evs, list):
        show(
            "root events", [(e["event"], e["name"], e["data"]) for e in evs if not e["parent_ids"]]
        )
    show("n1 input keys (what node sees)", "see n1 print")

    seen = []

    async def n1b(s):
        seen.append(dict(s))
        return {"scratch": "x"}

    g = StateGraph(Overall, input_schema=In, output_schema=Out)
    g.add_node("n1", n1b)
    g.add_edge(START, "n1")
    await try_(
        "output_schema but no ans written: ainvoke", lambda: g.compile().ainvoke({"q": "hi"})
    )
    show("n1b (no type hint) received", seen)


# ---------------------------------------------------------------- 14
async def sec14():
    hdr("14. config passed to node")
    cap = {}

    async def a(s: S, config: RunnableConfig):
        cap["config_keys"] = sorted(config.keys())
        cap["metadata"] = dict(config.get("metadata", {}))
        cap["configurable_keys"] = sorted(config.get("configurable", {}).keys())
        cap["configurable"] = {k: repr(v)[:160] for k, v in config.get("configurable", {}).items()}
        cap["tags"] = config.get("tags")
        cap["run_name"] = config.get("run_name")
        cap["recursion_limit"] = config.get("recursion_limit")
        cap["callbacks"] = repr(config.get("callbacks"))[:200]
        cap["run_id"] = config.get("run_id")
        cap["max_concurrency"] = config.get("max_concurrency")
        return {"x": 1}

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_edge(START, "a")
    app = g.compile()
    await app.ainvoke({"x": 0, "log": []})
    show("config (plain ainvoke)", cap)
    cap.clear()
    await app.ainvoke(
        {"x": 0, "log": []},
        {
            "configurable": {"user": "u1", "thread_id": "T"},
            "tags": ["mytag"],
            "metadata": {"m": 1},
            "recursion_limit": 50,
        },
    )
    show("config (with user config)", cap)
    from langgraph.checkpoint.memory import InMemorySaver

    cap.clear()
    app2 = g.compile(checkpointer=InMemorySaver())
    await app2.ainvoke({"x": 0, "log": []}, {"configurable": {"thread_id": "T"}})
    show("config (with checkpointer thread T)", cap)

    # Runtime injection
    try:
        from langgraph.runtime import Runtime

        async def r(s: S, runtime: Runtime):
            cap["runtime"] = repr(runtime)[:400]
            return {}

        g = StateGraph(S)
        g.add_node("r", r)
        g.add_edge(START, "r")
        await g.compile().ainvoke({"x": 0, "log": []})
        show("runtime", cap.get("runtime"))
    except Exception as e:
        print("runtime:", exc_info(e))


# ---------------------------------------------------------------- 15
async def sec15():
    hdr("15. extras")
    inp = {"x": 0, "log": []}

    async def writer_node(s: S):
        get_stream_writer()({"chunk": 1})
        return {"x": 1}

    g = StateGraph(S)
    g.add_node("writer_node", writer_node)
    g.add_edge(START, "writer_node")
    app = g.compile()
    evs = await try_(
        "astream_events v2 with stream_mode='custom' kwarg",
        lambda: collect(app.astream_events(inp, version="v2", stream_mode="custom")),
    )
    evs = await try_(
        "astream_events v2 with stream_mode=['updates','custom'] kwarg",
        lambda: collect(app.astream_events(inp, version="v2", stream_mode=["updates", "custom"])),
    )
    if isinstance(evs, list):
        show("summary", [(e["event"], e["name"], e["data"]) for e in evs])
    evs = await try_(
        "astream_events v2 with stream_mode='values' kwarg",
        lambda: collect(app.astream_events(inp, version="v2", stream_mode="values")),
    )
    if isinstance(evs, list):
        show("summary", [(e["event"], e["name"], e["data"]) for e in evs])
    await try_(
        "astream_events version='v9'", lambda: collect(app.astream_events(inp, version="v9"))
    )

    async def v3():
        run = await app.astream_events(inp, version="v3")
        out = {"type": repr(type(run))}
        vals = []
        async for v in run.values:
            vals.append(v)
        out["values"] = vals
        try:
            out["output"] = await run.output if hasattr(run, "output") else None
        except Exception as e:
            out["output_err"] = exc_info(e)
        out["attrs"] = [a for a in dir(run) if not a.startswith("_")]
        return out

    await try_("astream_events v3 (values projection)", v3)

    # Command node + None-return node events
    async def a(s: S):
        return Command(update={"x": 1}, goto="b")

    def b(s: S):  # sync node
        return None

    g = StateGraph(S)
    g.add_node("a", a)
    g.add_node("b", b)
    g.add_edge(START, "a")
    g.add_conditional_edges("b", lambda s: END)
    app = g.compile()
    evs = await try_(
        "Command node + sync None node + lambda path: astream_events v2",
        lambda: collect(app.astream_events(inp, version="v2")),
    )
    if isinstance(evs, list):
        show(
            "summary",
            [(e["event"], e["name"], e["tags"], e["data"], len(e["parent_ids"])) for e in evs],
        )
    await try_(
        "values when node returns None (b)", lambda: collect(app.astream(inp, stream_mode="values"))
    )
    await try_("updates", lambda: collect(app.astream(inp, stream_mode="updates")))

    # node with same value write (values emitted even if unchanged?)
    async def same(s: S):
        return {"x": s["x"]}

    g = StateGraph(S)
    g.add_node("same", same)
    g.add_edge(START, "same")
    await try_(
        "values when node writes identical value",
        lambda: collect(g.compile().astream(inp, stream_mode="values")),
    )

    # input with only unknown key
    app2 = chain_graph()
    await try_("ainvoke({'bogus':1}) only unknown keys", lambda: app2.ainvoke({"bogus": 1}))
    await try_("ainvoke({}) values stream", lambda: collect(app2.astream({}, stream_mode="values")))

    # compile(name=...) root event name
    g = StateGraph(S)
    g.add_node("a", same)
    g.add_edge(START, "a")
    app3 = g.compile(name="MyGraph")
    evs = await collect(app3.astream_events(inp, version="v2"))
    show(
        "compile(name='MyGraph') root names",
        [(e["event"], e["name"]) for e in evs if not e["parent_ids"]],
    )

    # stream_mode=values + subgraphs, debug with subgraphs
    # config passed via with_config / default config recursion limit
    show("chain_graph().config", chain_graph().config)
    show("chain_graph().get_graph().nodes keys", list(chain_graph().get_graph().nodes))
    show(
        "builder.nodes/edges/branches",
        (list(chain_graph().builder.nodes), sorted(chain_graph().builder.edges)),
    )
    show("compiled.nodes keys", list(chain_graph().nodes))
    show("compiled.channels keys", list(chain_graph().channels))

    # Same-step parallel: updates & values ordering when 3 nodes finish in order z,a,m
    async def mk(name, delay):
        pass

    def node(name, delay):
        async def f(s):
            await asyncio.sleep(delay)
            return {"log": [name]}

        return f

    g = StateGraph(S)
    for n, d in [("m", 0.02), ("z", 0.0), ("a", 0.04)]:
        g.add_node(n, node(n, d))
        g.add_edge(START, n)
    app4 = g.compile()
    await try_(
        "parallel m,z,a (finish z,m,a): updates",
        lambda: collect(app4.astream(inp, stream_mode="updates")),
    )
    await try_("parallel m,z,a: values", lambda: collect(app4.astream(inp, stream_mode="values")))
    await try_(
        "parallel m,z,a: tasks (start order)", lambda: [(c["name"], "result" in c) for c in []]
    )
    tasks = await collect(app4.astream(inp, stream_mode="tasks"))
    show("tasks order (name, is_result)", [(c["name"], "result" in c) for c in tasks])

    # Send arg order with name sorting: Send to 'z' and 'a' mixed with pull task 'm'
    class SS(TypedDict, total=False):
        out: Annotated[list, operator.add]

    def w(name):
        async def f(s):
            return {"out": [f"{name}:{s.get('i')}"]}

        return f

    g = StateGraph(SS)
    g.add_node("z", w("z"))
    g.add_node("a", w("a"))
    g.add_node("m", w("m"))
    g.add_node("src", lambda s: {"out": ["src"]})
    g.add_edge(START, "src")
    g.add_edge("src", "m")
    g.add_conditional_edges(
        "src", lambda s: [Send("z", {"i": 0}), Send("a", {"i": 1}), Send("z", {"i": 2})]
    )
    await try_(
        "pull m + sends z0,a1,z2 same step: ainvoke order", lambda: g.compile().ainvoke({"out": []})
    )
    await try_("  tasks", lambda: collect(g.compile().astream({"out": []}, stream_mode="tasks")))


async def main():
    for n, f in [
        ("1", sec1),
        ("2", sec2),
        ("3", sec3),
        ("4", sec4),
        ("5", sec5),
        ("6", sec6),
        ("7", sec7),
        ("8", sec8),
        ("9", sec9),
        ("10", sec10),
        ("11", sec11),
        ("12", sec12),
        ("13", sec13),
        ("14", sec14),
        ("15", sec15),
    ]:
        if want(n):
            try:
                await f()
            except BaseException:
                print(f"!!! section {n} crashed")
                traceback.print_exc(file=sys.stdout)


if __name__ == "__main__":
    asyncio.run(main())
